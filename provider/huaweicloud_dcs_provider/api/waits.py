"""The plain waits of the API, as plans (:mod:`~huaweicloud_dcs_provider.api.plan`): a job until it
ends, a task until it reaches a status, a task until it is gone from the list.

The richer wait for a migration (progress, lag, error logs, events for the triggerer) is
:mod:`huaweicloud_dcs_provider.waiting`; both are
:func:`~huaweicloud_dcs_provider.api.plan.poll_until`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from huaweicloud_dcs_provider.api import calls, statuses
from huaweicloud_dcs_provider.api.models import (
    Job,
    MigrationLog,
    MigrationStats,
    MigrationTask,
    error_text_of,
)
from huaweicloud_dcs_provider.api.plan import Deadline, Plan, all_pages, call, poll_until
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsError, DcsMigrationFailedError

log = logging.getLogger(__name__)


def task_or_none(task_id: str) -> Plan[MigrationTask | None]:
    """The task's detail; ``None`` when the API says it does not exist (HTTP 400 ``DCS.4133``)."""
    try:
        return (yield from call(calls.show_task(task_id)))
    except DcsApiError as exc:
        if exc.is_not_found:
            return None
        raise


def error_logs(task_id: str) -> Plan[list[MigrationLog]]:
    """The task's ERROR log entries, every page (where the service puts a failure's reason)."""
    entries: list[MigrationLog] = yield from all_pages(
        lambda offset: calls.list_logs_page(
            task_id, offset=offset, limit=calls.DEFAULT_PAGE_SIZE, log_level="ERROR"
        )
    )
    return entries


def tasks_named(
    name: str | None = None, page_size: int = calls.DEFAULT_PAGE_SIZE
) -> Plan[list[MigrationTask]]:
    """Every task of the list (all pages), only those called ``name`` when it is given."""
    tasks: list[MigrationTask] = yield from all_pages(
        lambda offset: calls.list_tasks_page(offset=offset, limit=page_size, name=name)
    )
    return tasks


def listed(task_id: str, name: str | None = None) -> Plan[bool]:
    """True while the task list has the task (filtered by name when it is known).

    The list is the judge of existence: after a delete, the detail call may still answer.
    """
    tasks = yield from tasks_named(name)
    return any(task.task_id == task_id for task in tasks)


def job_done(job_id: str, *, poll_interval: float, timeout: float) -> Plan[Job]:
    """Poll a job until ``SUCCESS``; raise on ``FAIL`` or after ``timeout`` seconds."""

    def read(final: bool) -> Plan[Job | None]:
        job: Job = yield from call(calls.show_job(job_id))
        status = statuses.job_status(job.status)
        if status is not None and status.is_successful:
            return job
        if status is not None and status.is_terminal:
            raise DcsError(f"DCS job {job_id} failed: {job.fail_reason or 'no reason given'}")
        if final:
            raise DcsError(f"DCS job {job_id} still {job.status} after {timeout:.0f} s")
        return None

    return poll_until(read, poll_interval=poll_interval, deadline=Deadline.after(timeout))


def task_reaches(
    task_id: str,
    targets: Collection[str],
    *,
    poll_interval: float,
    timeout: float,
    failure_statuses: Collection[str] = statuses.FAILURE_STATUSES,
    logger: Any = log,
) -> Plan[MigrationTask]:
    """Poll a task until its status is one of ``targets`` (normalized; ``NOT_FOUND`` allowed).

    Raises :class:`DcsMigrationFailedError` on a failure status (with the task's error text), when
    the task is being stopped (``TERMINATING``, unless a stop is awaited) and when a ``SUCCESS``
    cannot be confirmed (the task is gone from the list: it was deleted; ``RELEASED`` without the
    full copy complete), :class:`DcsApiError` when the task does not exist (unless ``NOT_FOUND`` is
    awaited) and :class:`DcsError` after ``timeout`` seconds.
    """
    wanted = statuses.normalize_targets(targets)

    def failed(task: MigrationTask, why: str) -> DcsMigrationFailedError:
        return DcsMigrationFailedError(
            f"DCS migration task {task_id} {why}", task_id=task_id, status=task.status, error_text=task.error
        )

    def read(final: bool) -> Plan[MigrationTask | None]:
        try:
            task: MigrationTask = yield from call(calls.show_task(task_id))
        except DcsApiError as exc:
            if exc.is_not_found and statuses.NOT_FOUND in wanted:
                return MigrationTask.from_api({"status": statuses.NOT_FOUND}, task_id=task_id)
            raise
        if task.status in wanted and task.status != statuses.TaskStatus.SUCCESS:
            return task
        if task.status in wanted or statuses.needs_success_evidence(task.status, wanted):
            if not (yield from listed(task_id, task.name)):
                gone = f"its detail still answers {task.status}, but the task list no longer has it"
                raise failed(task, f"was deleted: {gone}")
            stats: MigrationStats = yield from call(calls.show_task_stats(task_id))
            if task.migration_method == "incremental_migration" or stats.full_copy_done:
                return task
            if task.status == statuses.TaskStatus.RELEASED:
                raise failed(
                    task, f"was released (RELEASED) but its full copy is not complete ({stats.describe()})"
                )
            if final:
                raise failed(task, f"reports SUCCESS but its full copy is not complete ({stats.describe()})")
            return None
        if statuses.stop_under_way(task.status, wanted):
            raise failed(
                task, f"is being stopped (TERMINATING): {', '.join(sorted(wanted))} can no longer come"
            )
        if task.status in failure_statuses:
            error_text = task.error
            if not (error_text or "").strip():  # the reason is in the task's ERROR log entries
                try:
                    error_text = error_text_of(None, (yield from error_logs(task_id)))
                except DcsApiError:
                    error_text = None
            raise DcsMigrationFailedError(
                f"DCS migration task {task_id} is {task.status}: {error_text or 'no error text'}",
                task_id=task_id,
                status=task.status,
                error_text=error_text,
            )
        if final:
            raise DcsError(
                f"DCS migration task {task_id} is still {task.status} after {timeout:.0f} s "
                f"(waiting for {', '.join(sorted(wanted))})"
            )
        logger.info("DCS migration task %s is %s; waiting for %s", task_id, task.status, sorted(wanted))
        return None

    return poll_until(read, poll_interval=poll_interval, deadline=Deadline.after(timeout))
