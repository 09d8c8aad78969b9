"""How a wait ends: the event it fires, and the one mapping of events to results and errors.

Event schema (every value is plain JSON data, never a secret)::

    {
        "status": "success" | "failure" | "timeout" | "error",
        "migration_task_id": "<task id>",
        "task_status": "<last DCS status seen>" | None,
        "task_name": "<task name>" | None,
        "message": "<human sentence>",
        "error_text": "<the API's error text or ERROR log lines>" | None,
        "stats": {"full_migration_progress": ..., "offset": ..., "source_dbsize": ...,
                  "target_dbsize": ...} | None,
    }

:func:`handle_event` maps every event to a result or an exception; ``execute_complete`` of the
sensor and of the operators calls it, and so does every non-deferred path. Polling never stops or
cancels the remote migration, whatever goes wrong while watching it. Only the opt-in paths stop
one, through :func:`stop_quietly` (best effort): ``stop_on_kill`` (a user killed the task) and
``stop_on_deadline`` (:func:`stop_on_timeout`, after a ``timeout`` event).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider.api import statuses
from huaweicloud_dcs_provider.exceptions import DcsError, DcsMigrationFailedError

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.api.models import MigrationStats
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

log = logging.getLogger(__name__)


class EventStatus(StrEnum):
    """The ``status`` of an event: how the wait ended."""

    SUCCESS = "success"  # the task reached one of the awaited statuses
    FAILURE = "failure"  # the task failed, or ended in a status that was not awaited
    TIMEOUT = "timeout"  # the deadline passed (and a last re-check did not show an end)
    ERROR = "error"  # the task could not be watched (bad credentials, too many failed reads)


def stop_quietly(hook: DcsHook, migration_task_id: str, logger: Any, *, reason: str) -> bool:
    """Ask a migration task to stop, best effort: log the outcome, never raise.

    Used only where the user opted in (``stop_on_kill``): polling itself never stops a migration.

    :param hook: the sync hook.
    :param migration_task_id: the task to stop.
    :param logger: where the outcome goes.
    :param reason: why, for the log line (e.g. ``"the sensor was killed"``).
    :return: whether the stop request was accepted.
    """
    try:
        task = hook.stop_migration_task(migration_task_id)
    except Exception as exc:
        logger.error("Could not stop DCS migration task %s (%s): %s", migration_task_id, reason, exc)
        return False
    logger.warning(
        "Stopped DCS migration task %s because %s (status %s)",
        migration_task_id,
        reason,
        task.status or "unknown",
    )
    return True


def stop_on_timeout(
    event: Any, hook: DcsHook, logger: Any, *, timeout_error: Callable[[str], BaseException] = DcsError
) -> None:
    """The wait deadline passed and the user asked for a stop there (``stop_on_deadline``).

    Stops the migration (best effort) and raises ``timeout_error`` with a message saying whether
    it was stopped. Does nothing for events other than ``timeout``.

    :param event: the event that ended the wait.
    :param hook: the sync hook.
    :param logger: where the stop's outcome goes.
    :param timeout_error: builds the exception raised (a sensor passes ``AirflowSensorTimeout``).
    """
    if not isinstance(event, dict) or event.get("status") != EventStatus.TIMEOUT:
        return
    task_id = str(event.get("migration_task_id") or "")
    message = str(event.get("message") or f"Timed out waiting for DCS migration task {task_id}")
    message = message.replace(" The migration itself was left running.", "")
    if stop_quietly(hook, task_id, logger, reason="the wait deadline passed (stop_on_deadline)"):
        raise timeout_error(f"{message} The migration was stopped (stop_on_deadline).")
    raise timeout_error(f"{message} Stopping the migration (stop_on_deadline) failed: see the log.")


def handle_event(
    event: Any,
    *,
    timeout_error: Callable[[str], BaseException] = DcsError,
    expected_task_id: str | None = None,
) -> dict[str, Any]:
    """Map an event to its outcome: return it on success, raise for everything else.

    :param event: the event payload (from the trigger, or from a sync wait).
    :param timeout_error: builds the exception raised for a ``timeout`` event (a sensor passes
        ``AirflowSensorTimeout`` so that ``soft_fail`` applies).
    :param expected_task_id: when given, an event about another task is refused.
    :raises DcsMigrationFailedError: the task failed or ended in a status that was not awaited.
    :raises DcsError: the wait could not be carried out (``error``), or the event is malformed or
        has an unknown status.
    """
    if not isinstance(event, dict) or not isinstance(event.get("status"), str):
        raise DcsError(f"Malformed DCS migration event (expected a dict with a 'status'): {event!r}")
    task_id = str(event.get("migration_task_id") or "")
    if expected_task_id is not None and task_id != expected_task_id:
        raise DcsError(f"DCS migration event is about task {task_id!r}, expected {expected_task_id!r}")
    message = str(event.get("message") or "")
    status = event["status"]
    if status == EventStatus.SUCCESS:
        log.info("%s", message or f"DCS migration task {task_id} reached {event.get('task_status')}.")
        return event
    if status == EventStatus.FAILURE:
        raise DcsMigrationFailedError(
            message or f"DCS migration task {task_id} failed",
            task_id=task_id,
            status=str(event.get("task_status") or ""),
            error_text=event.get("error_text"),
        )
    if status == EventStatus.TIMEOUT:
        raise timeout_error(message or f"Timed out waiting for DCS migration task {task_id}")
    if status == EventStatus.ERROR:
        raise DcsError(message or f"Error while waiting for DCS migration task {task_id}")
    raise DcsError(f"Unknown DCS migration event status {status!r} for task {task_id}: {message}")


def result_of(event: dict[str, Any]) -> dict[str, Any]:
    """The small, secret-free result a sensor returns once the wait succeeded."""
    return {
        "id": event.get("migration_task_id"),
        "name": event.get("task_name"),
        "status": event.get("task_status"),
        "stats": event.get("stats"),
    }


def small_stats(stats: MigrationStats | None) -> dict[str, Any] | None:
    """The few progress figures an event carries."""
    if stats is None:
        return None
    return {
        "full_migration_progress": stats.full_migration_progress,
        "offset": stats.offset,
        "source_dbsize": stats.source_dbsize,
        "target_dbsize": stats.target_dbsize,
    }


def ended_elsewhere_hint(status: str) -> str:
    """A sentence on what an end in an unawaited ``status`` means, and what to do."""
    if status == statuses.TaskStatus.INCRMIGEATING:
        return (
            " The task is in incremental sync, which never ends by itself: wait for "
            "success_statuses=('INCRMIGEATING',) to go on once incremental sync runs, or stop the task."
        )
    if status == statuses.NOT_FOUND:
        return (
            " The API says it does not exist (HTTP 400 DCS.4133): someone or something deleted it "
            "(the console, another DAG, a cleanup job), or the id is wrong. Nothing is left to wait for."
        )
    if status == statuses.TaskStatus.TERMINATED:
        return " The task was stopped before it got there."
    if status == statuses.TaskStatus.TERMINATING:
        return (
            " Someone or something asked it to stop (the console, another DAG, a batch stop); it will "
            "end TERMINATED. Nothing is left to wait for."
        )
    return ""


def describe_error(exc: BaseException) -> str:
    """A failed read in words (the provider's own errors as they are, others with their type)."""
    text = (str(exc) or type(exc).__name__).rstrip(". ")  # callers end the sentence
    return text if isinstance(exc, DcsError) else f"{type(exc).__name__}: {text}"
