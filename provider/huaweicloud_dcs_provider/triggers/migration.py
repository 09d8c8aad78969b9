"""The trigger that watches a DCS migration task from the triggerer.

Shared by :class:`~huaweicloud_dcs_provider.sensors.migration.DcsMigrationTaskSensor` and the
operators of :mod:`huaweicloud_dcs_provider.operators.migration`. Importing this module does not
import ``aiohttp`` or the HTTP provider: the async hook is imported when the trigger runs.
"""

from __future__ import annotations

import asyncio
import importlib
import math
from collections.abc import AsyncIterator, Iterable
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from huaweicloud_dcs_provider import DEFAULT_CONN_ID, statuses, waiting
from huaweicloud_dcs_provider.retry import RetryPolicy
from huaweicloud_dcs_provider.validation import safe_id

#: Retries of one status read inside the triggerer. Kept short: the poll loop itself rides out
#: longer outages (``max_consecutive_errors`` failed reads in a row, ``poll_interval`` apart).
POLL_RETRY_POLICY = RetryPolicy(max_attempts=3, initial_wait=1.0, max_wait=10.0, max_total_seconds=30.0)


class DcsMigrationTaskTrigger(BaseTrigger):
    """Poll a DCS migration task until it reaches one of ``success_statuses``, fails, or time runs out.

    Runs in the triggerer with one HTTP session for its whole run; the connection is read
    asynchronously by the async hook. It sleeps ``poll_interval`` before its first read (the caller
    has just checked), rides out transient API errors (429, 5xx, network faults: up to
    ``max_consecutive_errors`` failed reads in a row), ends at once on fatal ones (401/403, bad
    input) and reads the status one last time at the deadline before reporting a timeout. It never
    stops the migration, neither when watching fails nor when the trigger is cancelled.

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
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.migration_task_id = safe_id("migration_task_id", migration_task_id)
        if not isinstance(dcs_conn_id, str) or not dcs_conn_id:
            raise ValueError(f"dcs_conn_id must be a non-empty string, got {dcs_conn_id!r}")
        self.dcs_conn_id = dcs_conn_id
        if isinstance(success_statuses, str) or not all(isinstance(s, str) for s in success_statuses):
            raise ValueError("success_statuses must be a list of status strings")
        self.success_statuses = tuple(sorted(statuses.normalize_targets(success_statuses)))
        self.poll_interval = _number("poll_interval", poll_interval, positive=True)
        self.deadline = None if deadline is None else _number("deadline", deadline, positive=True)
        if (
            isinstance(max_consecutive_errors, bool)
            or not isinstance(max_consecutive_errors, int)
            or max_consecutive_errors < 1
        ):
            raise ValueError(
                f"max_consecutive_errors must be an integer >= 1, got {max_consecutive_errors!r}"
            )
        self.max_consecutive_errors = max_consecutive_errors

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Only plain data: ids, the connection id, intervals, statuses and the absolute deadline."""
        return (
            self.CLASSPATH,
            {
                "migration_task_id": self.migration_task_id,
                "dcs_conn_id": self.dcs_conn_id,
                "success_statuses": list(self.success_statuses),
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_consecutive_errors": self.max_consecutive_errors,
            },
        )

    def _tracker(self) -> waiting.WaitTracker:
        return waiting.WaitTracker(
            migration_task_id=self.migration_task_id,
            success_statuses=frozenset(self.success_statuses),
            deadline=self.deadline,
            max_consecutive_errors=self.max_consecutive_errors,
            logger=self.log,
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
                await asyncio.sleep(self.poll_interval)
                while True:
                    final = tracker.deadline_passed()
                    event = await waiting.check_async(hook, tracker, final=final)
                    if event is not None:
                        break
                    await asyncio.sleep(tracker.sleep_seconds(self.poll_interval))
        except Exception as exc:  # never let the triggerer fail the task with a bare traceback
            event = tracker.event(
                waiting.EventStatus.ERROR,
                f"Watching DCS migration task {self.migration_task_id} failed unexpectedly: "
                f"{type(exc).__name__}: {exc}. The migration itself was left as it is.",
            )
        yield TriggerEvent(event)  # type: ignore[no-untyped-call]


def _number(name: str, value: Any, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)
