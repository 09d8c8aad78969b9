"""Operators on running migration tasks outside a single migration: resume mode, batch stop, batch restart."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID
from huaweicloud_dcs_provider.api import statuses
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.api.plan import Deadline
from huaweicloud_dcs_provider.api.validation import ResumeMode, enum_value, id_list, safe_id
from huaweicloud_dcs_provider.compat import Context
from huaweicloud_dcs_provider.exceptions import DcsError
from huaweicloud_dcs_provider.operators.base import DcsBaseOperator, check_literal

TaskStatus = statuses.TaskStatus

DEFAULT_BATCH_TIMEOUT = 1800.0


def _resume_mode(parameter: str, value: Any) -> None:
    enum_value(parameter, value, ResumeMode)


def _ids(value: Any, parameter: str = "migration_task_ids") -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    return id_list(parameter, value)


class DcsSetResumeModeOperator(DcsBaseOperator):
    """Set a task's resume mode: ``auto`` (reconnect after a network error) or ``manual``.

    :param migration_task_id: ID of the migration task. Templated.
    :param resume_mode: ``auto`` or ``manual``. Templated.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    template_fields: Sequence[str] = ("migration_task_id", "resume_mode")

    def __init__(
        self, *, migration_task_id: str, resume_mode: str, dcs_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        check_literal("migration_task_id", migration_task_id, v.safe_id)
        check_literal("resume_mode", resume_mode, _resume_mode)
        self.migration_task_id = migration_task_id
        self.resume_mode = resume_mode

    def execute(self, context: Context) -> str:
        """Set the mode; returns it."""
        task_id = safe_id("migration_task_id", self.migration_task_id)
        mode = enum_value("resume_mode", self.resume_mode, ResumeMode)
        self._push_task(context, task_id)
        self.hook.set_resume_mode(task_id, mode)
        self.log.info("DCS migration task %s: resume_mode %s", task_id, mode)
        return mode


class _DcsBatchOperator(DcsBaseOperator):
    template_fields: Sequence[str] = ("migration_task_ids",)
    verb = ""

    def __init__(
        self,
        *,
        migration_task_ids: Sequence[str],
        wait_for_completion: bool = True,
        poll_interval: float | timedelta = 10.0,
        timeout: float | timedelta = DEFAULT_BATCH_TIMEOUT,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        check_literal("migration_task_ids", migration_task_ids, lambda name, value: _ids(value, name))
        self.migration_task_ids = migration_task_ids
        self.wait_for_completion = wait_for_completion
        self.poll_interval = v.seconds("poll_interval", poll_interval)
        self.timeout = v.seconds("timeout", timeout)

    def _wait_all(self, ids: Iterable[str], targets: Sequence[str]) -> dict[str, str]:
        deadline = Deadline.after(self.timeout)
        final: dict[str, str] = {}
        for task_id in ids:
            task = self.hook.wait_for_task_status(
                task_id, targets, timeout=deadline.remaining() or 0.0, poll_interval=self.poll_interval
            )
            final[task_id] = task.status
        return final

    @staticmethod
    def _rejected_text(rejected: Sequence[Any]) -> str:
        return "; ".join(
            f"{r.task_id}: {r.error_code or 'no code'} {r.error_msg or r.result or ''}".strip()
            for r in rejected
        )


class DcsBatchStopMigrationTasksOperator(_DcsBatchOperator):
    """Stop up to 50 migration tasks at once and wait until the accepted ones are ``TERMINATED``.

    The batch call only says which requests were accepted. The operator waits for every accepted
    task, then fails naming the tasks the service rejected (with its error code and message), if
    any. Returns ``{task_id: final status}`` of the accepted tasks.

    :param migration_task_ids: IDs of the tasks (a list, or a comma-separated string). Templated.
    :param wait_for_completion: wait until the accepted tasks are ``TERMINATED`` (default).
    :param poll_interval: seconds between two reads of a task.
    :param timeout: seconds (or ``timedelta``) to wait for all of them.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    def execute(self, context: Context) -> dict[str, str]:
        """Ask, wait for the accepted, fail on the rejected."""
        ids = _ids(self.migration_task_ids)
        results = self.hook.batch_stop_migration_tasks(ids)
        accepted = [r.task_id for r in results if r.accepted]
        rejected = [r for r in results if not r.accepted]
        self.log.info("Batch stop accepted for %s", ", ".join(accepted) or "no task")
        final = {task_id: TaskStatus.TERMINATING.value for task_id in accepted}
        if self.wait_for_completion and accepted:
            final = self._wait_all(accepted, (TaskStatus.TERMINATED.value,))
        if rejected:
            raise DcsError(f"DCS refused to stop {len(rejected)} task(s): {self._rejected_text(rejected)}")
        return final


class DcsBatchRestartMigrationTasksOperator(_DcsBatchOperator):
    """Restart up to 50 stopped or failed online migration tasks with their configuration.

    Waits (by default) until each accepted task is ``SUCCESS`` (a full migration) or
    ``INCRMIGEATING`` (incremental sync running again), then fails naming the rejected tasks, if
    any. Returns ``{task_id: final status}`` of the accepted tasks.

    :param migration_task_ids: IDs of the tasks (a list, or a comma-separated string). Templated.
    :type wait_for_completion: bool
    :param wait_for_completion: wait for ``success_statuses`` (default).
    :param success_statuses: statuses that count as restarted.
    :type poll_interval: float | timedelta
    :param poll_interval: seconds between two reads of a task.
    :type timeout: float | timedelta
    :param timeout: seconds (or ``timedelta``) to wait for all of them.
    :type dcs_conn_id: str
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    def __init__(
        self,
        *,
        migration_task_ids: Sequence[str],
        success_statuses: Sequence[str] = (TaskStatus.SUCCESS.value, TaskStatus.INCRMIGEATING.value),
        **kwargs: Any,
    ) -> None:
        super().__init__(migration_task_ids=migration_task_ids, **kwargs)
        self.success_statuses = tuple(sorted(v.statuses_to_wait_for("success_statuses", success_statuses)))

    def execute(self, context: Context) -> dict[str, str]:
        """Ask, wait for the accepted, fail on the rejected."""
        ids = _ids(self.migration_task_ids)
        results = self.hook.batch_restart_migration_tasks(ids)
        accepted = [r.task_id for r in results if r.accepted]
        rejected = [r for r in results if not r.accepted]
        self.log.info("Batch restart accepted for %s", ", ".join(accepted) or "no task")
        final = {task_id: statuses.RESTART_ACCEPTED for task_id in accepted}
        if self.wait_for_completion and accepted:
            final = self._wait_all(accepted, self.success_statuses)
        if rejected:
            raise DcsError(f"DCS refused to restart {len(rejected)} task(s): {self._rejected_text(rejected)}")
        return final
