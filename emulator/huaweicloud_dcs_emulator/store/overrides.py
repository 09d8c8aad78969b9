"""Forced statuses (admin API): a task reports another status than its real one for a while.

Made for testing clients against statuses going backwards or unknown to them; the task's own
lifecycle goes on underneath.
"""

from __future__ import annotations

from typing import Any

from huaweicloud_dcs_emulator.store.records import Task


def force_status(
    task: Task,
    now: float,
    status: str,
    *,
    seconds: float | None = None,
    reads: int | None = None,
    skip_reads: int = 0,
) -> dict[str, Any]:
    """Report ``status`` instead of the real one for ``seconds`` and/or ``reads`` detail reads.

    The task's own lifecycle goes on underneath; when the override ends, the natural status
    shows again (e.g. ``FULLMIGRATING`` -> forced ``MIGRATING`` -> ``FULLMIGRATING``: a status
    going backwards; or a status a client does not know, such as ``RESYNCING``). The
    first ``skip_reads`` detail reads are answered normally. The list (#6) shows the forced
    status too, without using up reads.
    """
    if not isinstance(status, str) or not status.strip():
        raise ValueError("status must be a non-empty string")
    if seconds is None and reads is None:
        raise ValueError("give seconds and/or reads (how long the forced status lasts)")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 86_400
    ):
        raise ValueError("seconds must be a number in (0, 86400]")
    for name, value, low in (("reads", reads, 1), ("skip_reads", skip_reads, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"{name} must be an integer >= {low}")
    task.forced_status = status.strip()
    task.forced_until = None if seconds is None else now + float(seconds)
    task.forced_reads = reads
    task.forced_skip = skip_reads
    return {
        "task_id": task.task_id,
        "forced_status": task.forced_status,
        "real_status": task.status,
        "until": task.forced_until,
        "reads": task.forced_reads,
        "skip_reads": task.forced_skip,
    }


def forced_status(task: Task, now: float, *, consume: bool) -> str | None:
    """The forced status to report now (a detail read uses one up), or ``None``."""
    if task.forced_status is None:
        return None
    if task.forced_until is not None and now >= task.forced_until:
        task.forced_status = None
        return None
    if not consume:
        return task.forced_status if task.forced_skip == 0 else None
    if task.forced_skip > 0:
        task.forced_skip -= 1
        return None
    status = task.forced_status
    if task.forced_reads is not None:
        task.forced_reads -= 1
        if task.forced_reads <= 0:
            task.forced_status = None
    return status
