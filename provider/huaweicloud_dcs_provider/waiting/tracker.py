"""The state of one wait for a migration task: one read in, "keep waiting" or an event out.

What a status means *to a caller waiting for some statuses* is
:func:`huaweicloud_dcs_provider.api.statuses.judge`; :class:`WaitTracker` turns one
read of the task (or one failed read) into either ``None`` (keep waiting) or the final event
(:mod:`~huaweicloud_dcs_provider.waiting.events`), and logs progress. No I/O: what to read, and
when, is :mod:`~huaweicloud_dcs_provider.waiting.engine`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from huaweicloud_dcs_provider.api import statuses
from huaweicloud_dcs_provider.api.models import error_text_of
from huaweicloud_dcs_provider.api.plan import Deadline
from huaweicloud_dcs_provider.api.statuses import Verdict, judge
from huaweicloud_dcs_provider.waiting.events import (
    EventStatus,
    describe_error,
    ended_elsewhere_hint,
    small_stats,
)
from huaweicloud_dcs_provider.waiting.timing import (
    DEFAULT_CONSECUTIVE_SAMPLES,
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    format_deadline,
    human_duration,
)

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.api.models import MigrationLog, MigrationStats, MigrationTask

log = logging.getLogger(__name__)

#: Reads in a row whose success cannot be confirmed (the progress figures do not show the full
#: copy complete) before the wait fails saying so.
DEFAULT_MAX_UNCONFIRMED_READS = 3
#: Offsets shown in the lag trend of a progress line.
LAG_TREND_LENGTH = 5


class _Log(Protocol):
    """The logging calls the tracker makes (stdlib and structlog loggers both fit)."""

    def debug(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    def info(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...


# ------------------------------------------------------------------------------------------------
# Judging statuses
# ------------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------------
# The tracker: one read in, "keep waiting" or an event out
# ------------------------------------------------------------------------------------------------


@dataclass
class WaitTracker:
    """State of one wait for ``migration_task_id`` to reach one of ``success_statuses``.

    :param migration_task_id: the task watched.
    :param success_statuses: normalized statuses that end the wait successfully.
    :param deadline: absolute epoch seconds after which the wait ends with ``timeout`` (after one
        last read made at or after the deadline); ``None`` waits without limit.
    :param max_consecutive_errors: failed reads in a row (transient errors only) before giving up.
    :param logger: where progress goes (the trigger's or operator's logger).
    :param max_offset: when set, reaching a success status is not enough: the incremental
        ``offset`` (the replication lag) must also stay ``<= max_offset`` for
        ``consecutive_samples`` reads in a row, and the key counts of source and target must differ
        by at most ``key_count_tolerance`` on the last read. The samples are counted in memory: a
        new tracker (e.g. after a triggerer restart) starts counting again, which only makes the
        wait more careful.
    :param consecutive_samples: reads in a row with a small enough offset (``max_offset`` only).
    :param key_count_tolerance: largest ``|source_dbsize - target_dbsize|`` accepted on the last
        read (``max_offset`` only).
    :param max_key_drift: when set, the source's key count may change by at most this much over
        the ``consecutive_samples`` reads: a quiet source. ``offset`` is a snapshot, and a migration
        that keeps up with a steady stream of writes shows an offset of 0 at most reads; a growing
        (or shrinking) key count shows the writes. Writes that only update existing keys do not
        change it: freeze writes before relying on it (``max_offset`` only).
    :param progress_log_interval: seconds between two "still waiting" progress lines while the
        status stays the same; a changed status, a warning and the last read are always logged.
        ``0`` (default) logs every read. The trigger sets it, so that a triggerer running
        thousands of waits that poll every few seconds is not flooded with identical lines.
    """

    migration_task_id: str
    success_statuses: frozenset[str]
    deadline: float | None = None
    max_consecutive_errors: int = DEFAULT_MAX_CONSECUTIVE_ERRORS
    logger: _Log = field(default=log)
    clock: Callable[[], float] = field(default=time.time, repr=False)
    consecutive_errors: int = 0
    last_status: str | None = None
    task_name: str | None = None
    last_stats: dict[str, Any] | None = None
    max_offset: int | None = None
    consecutive_samples: int = DEFAULT_CONSECUTIVE_SAMPLES
    key_count_tolerance: int = 0
    max_key_drift: int | None = None
    #: Source key counts of the current run of small-offset reads (``max_key_drift`` only).
    lag_sources: list[int | None] = field(default_factory=list)
    #: Reads in a row whose offset was small enough (``max_offset`` only).
    lag_samples_ok: int = 0
    #: The last few offsets read, oldest first (``None`` when a read had no figure).
    lag_trend: list[int | None] = field(default_factory=list)
    #: Successful reads so far.
    polls: int = 0
    #: Reads in a row that showed the awaited ``SUCCESS`` (or ``RELEASED``) without the evidence of it.
    unconfirmed_reads: int = 0
    max_unconfirmed_reads: int = DEFAULT_MAX_UNCONFIRMED_READS
    progress_log_interval: float = 0.0
    _warned_unknown: set[str] = field(default_factory=set, repr=False)
    #: Status and time (``clock``) of the last progress line logged.
    _logged_status: str | None = field(default=None, repr=False)
    _logged_at: float = field(default=float("-inf"), repr=False)

    @property
    def timer(self) -> Deadline:
        """The wait's deadline as the poll loop reads it (the last read is made at or after it)."""
        return Deadline(self.deadline, self.clock)

    # ---------------------------------------------------------------- what to read

    @staticmethod
    def wants_error_logs(task: MigrationTask | None, verdict: Verdict) -> bool:
        """Fetch the ERROR logs when a failed task's detail has no error text."""
        return verdict is Verdict.FAILED and task is not None and not (task.error or "").strip()

    @staticmethod
    def wants_stats(status: str) -> bool:
        """Read progress figures for statuses that have any."""
        return status in statuses.STATS_STATUSES

    # ---------------------------------------------------------------- lag

    def _reset_lag(self) -> None:
        self.lag_samples_ok = 0
        self.lag_sources = []

    def _key_drift(self) -> int | None:
        """How much the source's key count moved over the last ``consecutive_samples`` reads."""
        window = self.lag_sources[-self.consecutive_samples :]
        if len(window) < self.consecutive_samples or any(value is None for value in window):
            return None
        counts = [value for value in window if value is not None]
        return max(counts) - min(counts)

    def lag_line(self) -> str:
        """``offset 1200 -> 340 -> 0 (1/3 samples ok), keys 50000/49990 (source/target)``."""
        trend = " -> ".join("?" if value is None else str(value) for value in self.lag_trend) or "?"
        stats = self.last_stats or {}
        return (
            f"offset {trend} ({min(self.lag_samples_ok, self.consecutive_samples)}/"
            f"{self.consecutive_samples} samples ok), keys {stats.get('source_dbsize')}/"
            f"{stats.get('target_dbsize')} (source/target)"
        )

    def _on_lag(self, status: str, stats: MigrationStats | None, *, final: bool) -> dict[str, Any] | None:
        """The task is in an awaited status: succeed only once the lag is small and stable."""
        assert self.max_offset is not None
        offset = stats.offset if stats is not None else None
        if stats is None:
            # No figures this time (or a stale set from an earlier status): this read proves nothing.
            self.last_stats = None
        self.lag_trend = [*self.lag_trend, offset][-LAG_TREND_LENGTH:]
        source = stats.source_dbsize if stats is not None else None
        target = stats.target_dbsize if stats is not None else None
        if offset is not None and offset <= self.max_offset:
            self.lag_samples_ok += 1
            self.lag_sources = [*self.lag_sources, source][-self.consecutive_samples :]
        else:
            self._reset_lag()
        keys_match = (
            source is not None and target is not None and abs(source - target) <= self.key_count_tolerance
        )
        drift = self._key_drift()
        quiet = self.max_key_drift is None or (drift is not None and drift <= self.max_key_drift)
        line = self.lag_line()
        if self.max_key_drift is not None and drift is not None:
            line += f", source keys moved by {drift} over {self.consecutive_samples} reads"
        if self.lag_samples_ok >= self.consecutive_samples and keys_match and quiet:
            return self.event(
                EventStatus.SUCCESS,
                f"DCS migration task {self.migration_task_id} is {status} and caught up after "
                f"{self.polls} reads: {line}.",
            )
        self.logger.info(
            "DCS migration task %s: %s; lag %s; waiting for offset <= %d over %d reads and "
            "key counts within %d%s",
            self.migration_task_id,
            status,
            line,
            self.max_offset,
            self.consecutive_samples,
            self.key_count_tolerance,
            (
                f" (deadline in {human_duration(self.deadline - self.clock())})"
                if self.deadline is not None and not final
                else ""
            ),
        )
        if final:
            return self._timeout_event(f" Last lag: {line}.")
        return None

    # ---------------------------------------------------------------- confirming a success

    def _on_success_evidence(
        self, status: str, stats: MigrationStats | None, *, final: bool
    ) -> dict[str, Any] | None:
        """``SUCCESS`` of a full migration, or ``RELEASED`` while ``SUCCESS`` is awaited: succeed only
        when the progress figures show the full copy complete.

        Figures short of 100% are read again (they may lag behind the status) up to
        ``max_unconfirmed_reads`` times in a row, then the wait fails saying why; figures that cannot
        be read at all are retried like a failed read (``max_consecutive_errors``), then the wait
        ends with an ``error`` (not confirmed, not failed).
        """
        task_id = self.migration_task_id
        figures = stats.describe() if stats is not None else "no progress figures could be read"
        released = status == statuses.TaskStatus.RELEASED
        if stats is not None and stats.full_copy_done:
            self.unconfirmed_reads = 0
            if released:
                return self.event(
                    EventStatus.SUCCESS,
                    f"DCS migration task {task_id} finished (SUCCESS) and its migration VM has since been "
                    f"released (RELEASED); the full copy is complete: {figures}.",
                )
            return self.event(
                EventStatus.SUCCESS,
                f"DCS migration task {task_id} reached {status}; the full copy is complete: {figures}.",
            )
        if released and stats is not None:
            return self.event(
                EventStatus.FAILURE,
                f"DCS migration task {task_id} was released (RELEASED) but its full copy is not complete "
                f"({figures}): the migration did not succeed, it ended and its resources were released.",
            )
        self.unconfirmed_reads += 1
        claim = "was released (RELEASED)" if released else f"reports {status}"
        if stats is None and self.unconfirmed_reads >= self.max_consecutive_errors:
            # The figures could not be read at all: the wait cannot confirm, which is not a failure
            # of the migration (the same budget as failed reads).
            return self.event(
                EventStatus.ERROR,
                f"DCS migration task {task_id} {claim}, but its progress figures could not be read "
                f"{self.unconfirmed_reads} times in a row, so the success cannot be confirmed and is "
                "not reported. The migration itself was left as it is; check it in the console.",
            )
        if stats is not None and self.unconfirmed_reads >= self.max_unconfirmed_reads:
            return self.event(
                EventStatus.FAILURE,
                f"DCS migration task {task_id} {claim}, but after {self.unconfirmed_reads} reads its "
                f"progress figures still do not show the full copy complete ({figures}): the success is not "
                "confirmed, so it is not reported. Check the task and the target in the console.",
            )
        self.logger.warning(
            "DCS migration task %s %s but its progress figures do not show the full copy complete yet "
            "(%s); reading again (%d/%d)",
            task_id,
            claim,
            figures,
            self.unconfirmed_reads,
            self.max_unconfirmed_reads,
        )
        return self._timeout_event(f" Its success was not confirmed: {figures}.") if final else None

    def deleted_event(self, status: str) -> dict[str, Any]:
        """The task's detail answers ``status``, but the task list no longer has it: it was deleted."""
        return self.event(
            EventStatus.FAILURE,
            f"DCS migration task {self.migration_task_id} was deleted: its detail still answers {status}, "
            "but the task list no longer has it. A deleted task's detail can read SUCCESS whatever became "
            "of the migration, so this wait does not take it as done; nothing is left to wait for.",
        )

    # ---------------------------------------------------------------- events

    def event(self, status: EventStatus, message: str, *, error_text: str | None = None) -> dict[str, Any]:
        """An event payload with everything known so far."""
        return {
            "status": status.value,
            "migration_task_id": self.migration_task_id,
            "task_status": self.last_status,
            "task_name": self.task_name,
            "message": message,
            "error_text": error_text,
            "stats": self.last_stats,
        }

    def _awaited(self) -> str:
        return ", ".join(sorted(self.success_statuses))

    def _timeout_event(self, extra: str = "") -> dict[str, Any]:
        assert self.deadline is not None
        status = self.last_status or "unknown"
        return self.event(
            EventStatus.TIMEOUT,
            f"DCS migration task {self.migration_task_id} is still {status} at the wait deadline "
            f"({format_deadline(self.deadline)}); it did not reach {self._awaited()} in time.{extra} "
            "The migration itself was left running.",
        )

    def on_read_error(self, exc: BaseException, *, final: bool = False) -> dict[str, Any] | None:
        """A read failed: an ``error`` event if it is fatal or one too many, else keep waiting."""
        # Imported here: ``retry`` pulls in tenacity, which parsing a DAG does not need.
        from huaweicloud_dcs_provider.api.retry import is_retryable

        what = describe_error(exc)
        if not is_retryable(exc):
            return self.event(
                EventStatus.ERROR,
                f"Cannot watch DCS migration task {self.migration_task_id}: {what}. "
                "This error is not transient (credentials, clock, certificate, permissions or input); "
                "the migration itself was left as it is.",
            )
        self.consecutive_errors += 1
        if final:
            return self._timeout_event(f" The last status check failed: {what}.")
        if self.consecutive_errors >= self.max_consecutive_errors:
            return self.event(
                EventStatus.ERROR,
                f"Gave up watching DCS migration task {self.migration_task_id} after "
                f"{self.consecutive_errors} failed status checks in a row (last: {what}). "
                "The migration itself was left running.",
            )
        self.logger.warning(
            "Status check %d/%d of DCS migration task %s failed (transient, will retry): %s",
            self.consecutive_errors,
            self.max_consecutive_errors,
            self.migration_task_id,
            what,
        )
        return None

    def on_task(
        self,
        task: MigrationTask | None,
        *,
        stats: MigrationStats | None = None,
        error_logs: Sequence[MigrationLog] | None = None,
        final: bool = False,
    ) -> dict[str, Any] | None:
        """A read succeeded (``task`` is ``None`` when the API says it does not exist)."""
        self.consecutive_errors = 0
        self.polls += 1
        status = statuses.NOT_FOUND if task is None else task.status
        if statuses.went_backwards(self.last_status, status):
            self.logger.warning(
                "DCS migration task %s went back from %s to %s; still waiting (the API reported the "
                "earlier step again)",
                self.migration_task_id,
                self.last_status,
                status,
            )
        self.last_status = status
        if task is not None and task.name:
            self.task_name = task.name
        if stats is not None:
            self.last_stats = small_stats(stats)
        verdict = judge(status, self.success_statuses)
        task_id = self.migration_task_id
        if verdict is Verdict.REACHED and self.max_offset is not None:
            return self._on_lag(status, stats, final=final)
        if verdict is Verdict.REACHED and status == statuses.TaskStatus.SUCCESS and _copies_once(task):
            return self._on_success_evidence(status, stats, final=final)
        if verdict is Verdict.REACHED:
            return self.event(EventStatus.SUCCESS, f"DCS migration task {task_id} reached {status}.")
        if statuses.needs_success_evidence(status, self.success_statuses):
            return self._on_success_evidence(status, stats, final=final)
        self._reset_lag()
        if verdict is Verdict.FAILED:
            error_text = error_text_of(task.error if task else None, error_logs)
            return self.event(
                EventStatus.FAILURE,
                f"DCS migration task {task_id} failed with status {status}: "
                f"{error_text or 'the API gave no error text'}",
                error_text=error_text,
            )
        if verdict is Verdict.ENDED_ELSEWHERE:
            if status == statuses.NOT_FOUND:
                ended = (
                    f"DCS migration task {task_id} no longer exists (while waiting for {self._awaited()})."
                )
            elif status == statuses.TaskStatus.TERMINATING:
                ended = (
                    f"DCS migration task {task_id} is being stopped (TERMINATING) while waiting for "
                    f"{self._awaited()}, which can no longer come."
                )
            else:
                ended = (
                    f"DCS migration task {task_id} ended in status {status}, which is not an awaited "
                    f"status ({self._awaited()})."
                )
            return self.event(
                EventStatus.FAILURE,
                ended + ended_elsewhere_hint(status),
                error_text=error_text_of(task.error if task else None),
            )
        if verdict is Verdict.UNKNOWN and status not in self._warned_unknown:
            self._warned_unknown.add(status)
            self.logger.warning(
                "DCS migration task %s has status %r, which this provider does not know; "
                "treating it as still in progress (never as success)",
                task_id,
                status,
            )
        if self._progress_due(status, final):
            self.logger.info(
                "DCS migration task %s: %s; %s; waiting for %s%s",
                task_id,
                status or "(no status)",
                stats.describe() if stats is not None else "no progress figures",
                self._awaited(),
                (
                    f" (deadline in {human_duration(self.deadline - self.clock())})"
                    if self.deadline is not None and not final
                    else ""
                ),
            )
        if final:
            return self._timeout_event()
        return None

    def _progress_due(self, status: str, final: bool) -> bool:
        """Whether this read's progress line is logged (see ``progress_log_interval``)."""
        if self.progress_log_interval <= 0:
            return True
        now = self.clock()
        if final or status != self._logged_status or now - self._logged_at >= self.progress_log_interval:
            self._logged_status, self._logged_at = status, now
            return True
        return False


def _copies_once(task: MigrationTask | None) -> bool:
    """True unless the task is an incremental migration (whose success is not a full copy's end)."""
    return task is None or task.migration_method != "incremental_migration"
