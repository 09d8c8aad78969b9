"""The trigger that watches a DCS migration task from the triggerer.

Shared by :class:`~huaweicloud_dcs_provider.sensors.migration.DcsMigrationTaskSensor` and the
operators of :mod:`huaweicloud_dcs_provider.operators.migration`. Importing this module does not
import ``aiohttp`` or the HTTP provider: the async hook is imported when the trigger runs.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from huaweicloud_dcs_provider import DEFAULT_CONN_ID, waiting
from huaweicloud_dcs_provider.api import statuses
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.exceptions import DcsValidationError
from huaweicloud_dcs_provider.waiting.engine import wait
from huaweicloud_dcs_provider.waiting.tracker import WaitTracker

#: Retries of one status read inside the triggerer. Kept short: the poll loop itself rides out
#: longer outages (``max_consecutive_errors`` failed reads in a row, ``poll_interval`` apart).
POLL_RETRY_POLICY = RetryPolicy(max_attempts=3, initial_wait=1.0, max_wait=10.0, max_total_seconds=30.0)
#: Seconds between two "still waiting" progress lines while the status does not change (a new
#: status, a warning and the last read are always logged): a triggerer runs up to a thousand
#: triggers, and one line per trigger every few seconds is mostly noise (and CPU).
PROGRESS_LOG_INTERVAL = 60.0


class DcsMigrationTaskTrigger(BaseTrigger):
    """Poll a DCS migration task until it reaches one of ``success_statuses``, fails, or time runs out.

    Runs in the triggerer with one HTTP session for its whole run; the connection is read
    asynchronously by the async hook. It sleeps ``poll_interval`` before its first read (the caller
    has just checked), rides out transient API errors (429, 5xx, network faults: up to
    ``max_consecutive_errors`` failed reads in a row), ends at once on fatal ones (401/403, bad
    input) and reads the status one last time at the deadline before reporting a timeout. It logs
    every change of status, and a progress line at least every ``PROGRESS_LOG_INTERVAL`` seconds
    (every read, when polls are further apart) while the status stays the same. It never
    stops the migration while watching it, whatever goes wrong, and never when it is cancelled or
    cleaned up (a triggerer restart or redistribution must not stop a migration). Only when it was
    created with ``stop_on_kill=True`` does it stop the migration, in :meth:`on_kill`, which Airflow
    calls when a user kills the deferred task (mark failed / success, clear).

    With ``max_offset`` set it is a *lag* wait: reaching a success status (normally
    ``INCRMIGEATING``) is not enough, the incremental ``offset`` must stay ``<= max_offset`` for
    ``consecutive_samples`` reads in a row and the key counts must match within
    ``key_count_tolerance`` (see :class:`~huaweicloud_dcs_provider.WaitTracker`). The samples
    are counted in memory, so a triggerer restart starts counting again.

    Fires exactly one event (schema in :mod:`huaweicloud_dcs_provider.waiting`):
    ``status`` is ``success``, ``failure``, ``timeout`` or ``error``.

    :param migration_task_id: ID of the migration task to watch.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs`` (only its id is stored).
    :param success_statuses: task statuses that end the wait successfully (e.g. ``SUCCESS``, or
        ``INCRMIGEATING`` to go on once incremental sync runs, or ``TERMINATED`` after a stop).
    :param poll_interval: seconds between two status reads.
    :param deadline: absolute time (Unix epoch seconds) at which the wait ends with ``timeout``;
        ``None`` waits without limit. Absolute, so a restarted triggerer does not wait longer.
    :param max_consecutive_errors: failed reads in a row (after the hook's own short retries)
        before the trigger gives up with an ``error`` event.
    :param max_offset: largest incremental offset (replication lag) accepted; ``None`` (default)
        ends the wait as soon as a success status is reached.
    :param consecutive_samples: reads in a row with ``offset <= max_offset`` needed.
    :param key_count_tolerance: largest ``|source_dbsize - target_dbsize|`` accepted on the last read.
    :param max_key_drift: largest change of the source's key count over those reads (a quiet
        source); ``None`` does not check it.
    :param stop_on_kill: stop the migration when a user kills the deferred task (see
        :meth:`on_kill`). Off by default.
    """

    CLASSPATH = "huaweicloud_dcs_provider.triggers.migration.DcsMigrationTaskTrigger"

    def __init__(
        self,
        migration_task_id: str,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        success_statuses: Iterable[str] = (statuses.TaskStatus.SUCCESS.value,),
        poll_interval: float = waiting.DEFAULT_POLL_INTERVAL,
        deadline: float | None = None,
        max_consecutive_errors: int = waiting.DEFAULT_MAX_CONSECUTIVE_ERRORS,
        max_offset: int | None = None,
        consecutive_samples: int = waiting.DEFAULT_CONSECUTIVE_SAMPLES,
        key_count_tolerance: int = 0,
        max_key_drift: int | None = None,
        stop_on_kill: bool = False,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        # Checked here too (the caller checked them already): the triggerer rebuilds the trigger
        # from kwargs stored in the database. Every error is a DcsValidationError (a ValueError).
        self.migration_task_id = v.safe_id("migration_task_id", migration_task_id)
        self.dcs_conn_id = v.text("dcs_conn_id", dcs_conn_id, max_length=250) or ""
        if isinstance(success_statuses, str):
            raise DcsValidationError("success_statuses", "must be a list of status strings")
        self.success_statuses = tuple(sorted(v.statuses_to_wait_for("success_statuses", success_statuses)))
        self.poll_interval = v.seconds("poll_interval", poll_interval)
        self.deadline = None if deadline is None else v.epoch_seconds("deadline", deadline)
        self.max_consecutive_errors = v.non_negative_int(
            "max_consecutive_errors", max_consecutive_errors, minimum=1
        )
        v.lag_settings(
            max_offset=max_offset,
            consecutive_samples=consecutive_samples,
            key_count_tolerance=key_count_tolerance,
            max_key_drift=max_key_drift,
        )
        self.max_offset = max_offset
        self.consecutive_samples = consecutive_samples
        self.key_count_tolerance = key_count_tolerance
        self.max_key_drift = max_key_drift
        self.stop_on_kill = v.boolean("stop_on_kill", stop_on_kill)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Only plain data: ids, the connection id, intervals, statuses and the absolute deadline.

        The lag settings are written only for a lag wait (``max_offset`` set), and ``stop_on_kill``
        only when true, so the kwargs of a plain wait are the same as before they existed.
        """
        kwargs: dict[str, Any] = {
            "migration_task_id": self.migration_task_id,
            "dcs_conn_id": self.dcs_conn_id,
            "success_statuses": list(self.success_statuses),
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
            "max_consecutive_errors": self.max_consecutive_errors,
        }
        if self.max_offset is not None:
            kwargs["max_offset"] = self.max_offset
            kwargs["consecutive_samples"] = self.consecutive_samples
            kwargs["key_count_tolerance"] = self.key_count_tolerance
            if self.max_key_drift is not None:
                kwargs["max_key_drift"] = self.max_key_drift
        if self.stop_on_kill:
            kwargs["stop_on_kill"] = True
        return (self.CLASSPATH, kwargs)

    def _tracker(self) -> WaitTracker:
        return WaitTracker(
            migration_task_id=self.migration_task_id,
            success_statuses=frozenset(self.success_statuses),
            deadline=self.deadline,
            max_consecutive_errors=self.max_consecutive_errors,
            logger=self.log,
            max_offset=self.max_offset,
            consecutive_samples=self.consecutive_samples,
            key_count_tolerance=self.key_count_tolerance,
            max_key_drift=self.max_key_drift,
            progress_log_interval=PROGRESS_LOG_INTERVAL,
        )

    async def on_kill(self) -> None:
        """A user killed the deferred task: stop the migration, only if ``stop_on_kill`` is set.

        Airflow calls this for user actions only (mark failed / success, clear), never on a
        triggerer restart; :meth:`cleanup` and cancellation never stop anything. Best effort: a
        failed stop is logged, never raised.
        """
        if not self.stop_on_kill:
            self.log.info(
                "DCS migration task %s is left running (stop_on_kill is off)", self.migration_task_id
            )
            return
        try:
            hooks = await asyncio.to_thread(importlib.import_module, "huaweicloud_dcs_provider.hooks.dcs")
            async with hooks.DcsAsyncHook(self.dcs_conn_id, retry_policy=POLL_RETRY_POLICY) as hook:
                task = await hook.stop_migration_task(self.migration_task_id)
            self.log.warning(
                "Stopped DCS migration task %s because the task waiting for it was killed (status %s)",
                self.migration_task_id,
                task.status or "unknown",
            )
        except Exception as exc:
            self.log.error(
                "Could not stop DCS migration task %s after the kill: %s: %s",
                self.migration_task_id,
                type(exc).__name__,
                exc,
            )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the wait is over, then yield one event."""
        tracker = self._tracker()
        try:
            # The first import of the hook (HTTP provider, aiohttp, requests) takes a few hundred ms:
            # do it in a thread so the triggerer's event loop is not blocked.
            hooks = await asyncio.to_thread(importlib.import_module, "huaweicloud_dcs_provider.hooks.dcs")
            DcsAsyncHook = hooks.DcsAsyncHook

            self.log.info(
                "Watching DCS migration task %s every %s s for %s%s",
                self.migration_task_id,
                f"{self.poll_interval:g}",
                ", ".join(self.success_statuses),
                f" until {waiting.format_deadline(self.deadline)}" if self.deadline is not None else "",
            )
            async with DcsAsyncHook(self.dcs_conn_id, retry_policy=POLL_RETRY_POLICY) as hook:
                event = await hook.run_plan(wait(tracker, self.poll_interval, first_pause=True))
        except Exception as exc:  # never let the triggerer fail the task with a bare traceback
            event = tracker.event(
                waiting.EventStatus.ERROR,
                f"Watching DCS migration task {self.migration_task_id} failed unexpectedly: "
                f"{type(exc).__name__}: {exc}. The migration itself was left as it is.",
            )
        yield TriggerEvent(event)  # type: ignore[no-untyped-call]
