"""The one wait engine: what to read for a wait (a plan, no I/O), and the loop that repeats it.

:func:`check` is one read of the task (detail; progress figures or ERROR logs when they matter),
judged by a :class:`~huaweicloud_dcs_provider.waiting.tracker.WaitTracker`; a success is confirmed
before it is reported (the task is still in the task list, and a full migration's figures show the
copy complete). :func:`wait` repeats it
with :func:`~huaweicloud_dcs_provider.api.plan.poll_until` until the tracker fires an event. Both
are plans: the sensor's poke and the operators run them with the sync hook
(``hook.run_plan(check(tracker))``), the trigger with the async hook
(``await hook.run_plan(wait(tracker, poll_interval, first_pause=True))``), so every mode of every
wait reads and judges the task the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider.api import statuses
from huaweicloud_dcs_provider.api.plan import Plan, call, poll_until
from huaweicloud_dcs_provider.api.statuses import judge
from huaweicloud_dcs_provider.waiting.events import EventStatus
from huaweicloud_dcs_provider.waiting.tracker import WaitTracker

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.api.models import MigrationLog, MigrationStats, MigrationTask


def check(tracker: WaitTracker, *, final: bool = False) -> Plan[dict[str, Any] | None]:
    """Read the task once; the event if the wait is over, else ``None``. Never raises."""
    # Imported when a wait runs: DAG files import this module, and parsing them sends nothing.
    from huaweicloud_dcs_provider.api import calls, waits

    task_id = tracker.migration_task_id
    task: MigrationTask | None
    try:
        task = yield from waits.task_or_none(task_id)
    except Exception as exc:
        return tracker.on_read_error(exc, final=final)
    status = statuses.NOT_FOUND if task is None else task.status
    # A deleted task's detail can still answer SUCCESS (or RELEASED): before such a status is taken
    # as an end, the task list, the judge of existence, must still have the task.
    listed: bool | None = None
    if task is not None and status in (statuses.TaskStatus.SUCCESS, statuses.TaskStatus.RELEASED):
        try:
            listed = yield from waits.listed(task_id, task.name)
        except Exception as exc:
            return tracker.on_read_error(exc, final=final)
        if not listed:
            return tracker.deleted_event(status)
    error_logs: list[MigrationLog] | None = None
    stats: MigrationStats | None = None
    if tracker.wants_error_logs(task, judge(status, tracker.success_statuses)):
        try:
            error_logs = yield from waits.error_logs(task_id)
        except Exception as exc:
            tracker.logger.warning("Could not read the ERROR logs of DCS task %s: %s", task_id, exc)
    if tracker.wants_stats(status):
        try:
            stats = yield from call(calls.show_task_stats(task_id))
        except Exception as exc:
            tracker.logger.debug("Could not read the progress of DCS task %s: %s", task_id, exc)
    event = tracker.on_task(task, stats=stats, error_logs=error_logs, final=final)
    if task is not None and listed is None and event is not None and event["status"] == EventStatus.SUCCESS:
        try:
            still_listed = yield from waits.listed(task_id, task.name)
        except Exception as exc:
            return tracker.on_read_error(exc, final=final)
        if not still_listed:
            return tracker.deleted_event(task.status)
    return event


def wait(tracker: WaitTracker, poll_interval: float, *, first_pause: bool = False) -> Plan[dict[str, Any]]:
    """Poll until the wait is over; returns the final event (never raises).

    :param first_pause: sleep ``poll_interval`` before the first read (the caller has just read).
    """
    return poll_until(
        lambda final: check(tracker, final=final),
        poll_interval=poll_interval,
        deadline=tracker.timer,
        first_pause=first_pause,
    )
