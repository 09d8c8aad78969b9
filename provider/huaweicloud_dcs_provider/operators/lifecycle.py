"""Operators for a migration task's life around the configure step: create it, stop it, delete it.

Each is safe to retry: a retried create can reuse the task it made (and never creates one twice
after a lost answer), stopping a stopped task and deleting a deleted one succeed. The task id and
the console URL (the "DCS Migration Task" extra link) are pushed to XCom before any wait.

Importing this module loads no HTTP client, retry library, hook or trigger (parse cost:
``tests/test_import_cost.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID, waiting
from huaweicloud_dcs_provider.api import statuses
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.api.plan import Deadline, Plan, poll_until
from huaweicloud_dcs_provider.api.validation import safe_id
from huaweicloud_dcs_provider.compat import Context
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsError
from huaweicloud_dcs_provider.operators.base import DcsBaseOperator, check_literal, wait_engine

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.api.models import MigrationTask

TaskStatus = statuses.TaskStatus

DEFAULT_READY_TIMEOUT = 1800.0
DEFAULT_STOP_TIMEOUT = 1800.0
DEFAULT_DELETE_TIMEOUT = 600.0
#: Key of the created task's id in Airflow's task state store (kept across the tries of one task).
TASK_STATE_KEY = "dcs_migration_task_id"
# ------------------------------------------------------------------------------------------------
# Create
# ------------------------------------------------------------------------------------------------


def _task_name(parameter: str, value: Any) -> None:
    v.text(parameter, value, max_length=64)


def _description(parameter: str, value: Any) -> None:
    v.text(parameter, value, max_length=1024, required=False)


class DcsCreateOnlineMigrationTaskOperator(DcsBaseOperator):
    """Create an online migration task and wait until it can be configured; returns its id.

    DCS provisions a migration VM for the task in the given VPC, subnet and security group; the
    task is ``CREATING`` for a few minutes, then ``RUNNING`` ("waiting to be configured"). Pass
    the returned id to
    :class:`~huaweicloud_dcs_provider.operators.migration.DcsConfigureOnlineMigrationOperator`.

    Never a second migration VM for one task instance: a lost answer to the create call is not
    sent twice (the hook looks for the task it may have created), and on any try after the first
    the operator first looks for the task an earlier try created: the id it remembered in Airflow's
    task state store (Airflow 3.3+), else an unconfigured task (``RUNNING`` or ``CREATING``) of the
    same name (a worker killed right after the create took effect never got to remember it). Only
    when there is none does it create one. With ``reuse_existing=True`` even a first try reuses an
    unconfigured task of the same name instead of creating another one.

    :param migration_task_name: name of the task (shown in the console; used by ``reuse_existing``).
        Templated.
    :param vpc_id: VPC of the migration VM; it must reach both source and target Redis. Templated.
    :param subnet_id: subnet (network ID) of the migration VM. Templated.
    :param security_group_id: security group of the migration VM (egress to the Redis ports).
        Templated.
    :param description: free text shown in the console. Templated.
    :param wait_until_ready: wait until the task is ``RUNNING`` (ready to configure; default).
    :param reuse_existing: on the first try too, reuse a not yet configured task with the same
        name, if there is one (later tries always look for the task an earlier try created).
    :param ready_timeout: seconds (or ``timedelta``) to wait for the task to become ready.
    :param poll_interval: seconds between two readiness checks.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    template_fields: Sequence[str] = (
        "migration_task_name",
        "vpc_id",
        "subnet_id",
        "security_group_id",
        "description",
    )

    def __init__(
        self,
        *,
        migration_task_name: str,
        vpc_id: str,
        subnet_id: str,
        security_group_id: str,
        description: str | None = None,
        wait_until_ready: bool = True,
        reuse_existing: bool = False,
        ready_timeout: float | timedelta = DEFAULT_READY_TIMEOUT,
        poll_interval: float | timedelta = 10.0,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        check_literal("migration_task_name", migration_task_name, _task_name)
        for name, value in (
            ("vpc_id", vpc_id),
            ("subnet_id", subnet_id),
            ("security_group_id", security_group_id),
        ):
            check_literal(name, value, v.safe_id)
        check_literal("description", description, _description)
        self.migration_task_name = migration_task_name
        self.vpc_id = vpc_id
        self.subnet_id = subnet_id
        self.security_group_id = security_group_id
        self.description = description
        self.wait_until_ready = wait_until_ready
        self.reuse_existing = reuse_existing
        self.ready_timeout = v.seconds("ready_timeout", ready_timeout)
        self.poll_interval = v.seconds("poll_interval", poll_interval)

    def _remembered(self, store: Any) -> MigrationTask | None:
        """The task an earlier try of this task instance created, if it can still be configured."""
        task_id = store.get(TASK_STATE_KEY) if store is not None else None
        if not isinstance(task_id, str) or not task_id:
            return None
        from huaweicloud_dcs_provider.api import waits

        task = self.hook.run_plan(waits.task_or_none(task_id))
        if task is None or not self.hook.run_plan(waits.listed(task_id, task.name)):
            self.log.info("DCS migration task %s, created by an earlier try, no longer exists", task_id)
            return None
        if task.status not in (TaskStatus.RUNNING, TaskStatus.CREATING):
            self.log.warning(
                "DCS migration task %s, created by an earlier try, is %s and cannot be configured any "
                "more; creating another one",
                task_id,
                task.status,
            )
            return None
        return task

    def _find_reusable(self) -> MigrationTask | None:
        candidates = [
            task
            for task in self.hook.list_migration_tasks(name=self.migration_task_name)
            if task.name == self.migration_task_name
            and task.status in (TaskStatus.RUNNING, TaskStatus.CREATING)
        ]
        candidates.sort(key=lambda task: task.status != TaskStatus.RUNNING)
        if len(candidates) > 1:
            self.log.warning(
                "%d unconfigured DCS migration tasks are named %r (%s); reusing %s",
                len(candidates),
                self.migration_task_name,
                ", ".join(t.task_id for t in candidates),
                candidates[0].task_id,
            )
        return candidates[0] if candidates else None

    def _check_rendered(self) -> None:
        _task_name("migration_task_name", self.migration_task_name)
        for name in ("vpc_id", "subnet_id", "security_group_id"):
            v.safe_id(name, getattr(self, name))
        _description("description", self.description)

    def execute(self, context: Context) -> str:
        """Create (or reuse) the task, push its id and URL, then wait until it is ready."""
        self._check_rendered()
        hook = self.hook
        job_id: str | None = None
        store = context.get("task_state_store")  # Airflow 3.3+: survives the tries of this instance
        try_number = getattr(context.get("ti"), "try_number", 1)
        is_retry = isinstance(try_number, int) and try_number > 1
        reused = (self._remembered(store) or self._find_reusable()) if is_retry else None
        if reused is None and self.reuse_existing:
            reused = self._find_reusable()
        if reused is not None:
            task_id = reused.task_id
            self.log.info(
                "Reusing DCS migration task %s (%s), named %r%s",
                task_id,
                reused.status,
                self.migration_task_name,
                f" (try {try_number}: created by an earlier try)" if is_retry else "",
            )
        else:
            created = hook.create_online_migration_task(
                name=self.migration_task_name,
                vpc_id=self.vpc_id,
                subnet_id=self.subnet_id,
                security_group_id=self.security_group_id,
                description=self.description,
                wait_until_ready=False,
            )
            task_id = str(created["task_id"])
            job_id = str(created["job_id"]) if created.get("job_id") else None
            self.log.info("Created DCS migration task %s (%r)", task_id, self.migration_task_name)
        if store is not None:
            store.set(TASK_STATE_KEY, task_id)
        self._push_task(context, task_id)
        if self.wait_until_ready:
            deadline = time.time() + self.ready_timeout
            if job_id:
                hook.wait_for_job(job_id, timeout=self.ready_timeout, poll_interval=self.poll_interval)
            task = hook.wait_for_task_status(
                task_id,
                (TaskStatus.RUNNING.value,),
                timeout=max(1.0, deadline - time.time()),
                poll_interval=self.poll_interval,
            )
            self.log.info("DCS migration task %s is %s: ready to be configured", task_id, task.status)
        return task_id


# ------------------------------------------------------------------------------------------------
# Stop
# ------------------------------------------------------------------------------------------------


class DcsStopMigrationTaskOperator(DcsBaseOperator):
    """Stop a migration task (e.g. end incremental sync after a cutover) and wait until it is stopped.

    A task that is already ``TERMINATED`` counts as stopped; one already ``TERMINATING`` is only
    waited for. Returns the task's ``id``, ``name`` and final ``status``.

    :param migration_task_id: ID of the migration task to stop. Templated.
    :param wait_for_completion: wait until the task is ``TERMINATED`` (default).
    :param poll_interval: seconds between two status checks.
    :param timeout: seconds (or ``timedelta``) to wait for ``TERMINATED``.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    template_fields: Sequence[str] = ("migration_task_id",)

    def __init__(
        self,
        *,
        migration_task_id: str,
        wait_for_completion: bool = True,
        poll_interval: float | timedelta = 10.0,
        timeout: float | timedelta = DEFAULT_STOP_TIMEOUT,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        check_literal("migration_task_id", migration_task_id, v.safe_id)
        self.migration_task_id = migration_task_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = v.seconds("poll_interval", poll_interval)
        self.timeout = v.seconds("timeout", timeout)

    def execute(self, context: Context) -> dict[str, Any]:
        """Ask the task to stop (unless it already is), then wait for ``TERMINATED``."""
        task_id = safe_id("migration_task_id", self.migration_task_id)
        self._push_task(context, task_id)
        task = self._read_task(task_id)
        result = {"id": task_id, "name": task.name, "status": task.status}
        if task.status == TaskStatus.TERMINATED:
            self.log.info("DCS migration task %s is already stopped", task_id)
            return result
        if task.status != TaskStatus.TERMINATING:
            try:
                stopped = self.hook.stop_migration_task(task_id)
                result["status"] = stopped.status or result["status"]
            except DcsApiError:
                again = self._read_task(task_id)
                if again.status not in (TaskStatus.TERMINATED, TaskStatus.TERMINATING):
                    raise
                result["status"] = again.status
            self.log.info("Asked DCS migration task %s to stop", task_id)
        if not self.wait_for_completion:
            return result
        tracker = self._tracker(task_id, (TaskStatus.TERMINATED.value,), waiting.deadline_after(self.timeout))
        done = waiting.handle_event(self.hook.run_plan(wait_engine().wait(tracker, self.poll_interval)))
        result["status"] = done.get("task_status")
        return result


# ------------------------------------------------------------------------------------------------
# Delete
# ------------------------------------------------------------------------------------------------


class DcsDeleteMigrationTaskOperator(DcsBaseOperator):
    """Delete a migration task (its migration VM is released) and confirm it is gone.

    The task list is the judge of existence: after a delete, the detail call may still answer
    with ``DELETED`` or even ``SUCCESS``. A task that is already gone counts as deleted. A task
    that is still migrating must be stopped first (:class:`DcsStopMigrationTaskOperator`).
    Returns the task id.

    :param migration_task_id: ID of the migration task to delete. Templated.
    :param wait_for_completion: wait until the task no longer appears in the task list (default).
    :param poll_interval: seconds between two checks of the task list.
    :param timeout: seconds (or ``timedelta``) to wait for the task to disappear.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    template_fields: Sequence[str] = ("migration_task_id",)

    def __init__(
        self,
        *,
        migration_task_id: str,
        wait_for_completion: bool = True,
        poll_interval: float | timedelta = 5.0,
        timeout: float | timedelta = DEFAULT_DELETE_TIMEOUT,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        check_literal("migration_task_id", migration_task_id, v.safe_id)
        self.migration_task_id = migration_task_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = v.seconds("poll_interval", poll_interval)
        self.timeout = v.seconds("timeout", timeout)

    def _listed(self, task_id: str, name: str | None) -> bool:
        """True while the task list still has the task (filtered by name when it is known)."""
        from huaweicloud_dcs_provider.api import waits

        return self.hook.run_plan(waits.listed(task_id, name))

    def _until_gone(self, task_id: str, name: str | None) -> Plan[bool]:
        """Poll the task list until the task is no longer in it (the judge of existence)."""
        from huaweicloud_dcs_provider.api import waits

        def read(final: bool) -> Plan[bool | None]:
            if not (yield from waits.listed(task_id, name)):
                return True
            if final:
                raise DcsError(
                    f"DCS migration task {task_id} is still listed {waiting.human_duration(self.timeout)} "
                    "after it was deleted"
                )
            self.log.info("DCS migration task %s is still listed; checking again", task_id)
            return None

        return poll_until(read, poll_interval=self.poll_interval, deadline=Deadline.after(self.timeout))

    def execute(self, context: Context) -> str:
        """Delete the task unless it is already gone, then confirm through the task list."""
        task_id = safe_id("migration_task_id", self.migration_task_id)
        name: str | None = None
        try:
            name = self.hook.get_migration_task(task_id).name or None
        except DcsApiError as exc:
            if not exc.is_not_found:
                raise
        if not self._listed(task_id, name):
            self.log.info("DCS migration task %s does not exist (already deleted)", task_id)
            return task_id
        try:
            self.hook.delete_migration_tasks([task_id])
        except DcsApiError as exc:
            if not (exc.is_not_found or not self._listed(task_id, name)):
                raise
            self.log.info("DCS migration task %s was deleted in the meantime", task_id)
            return task_id
        self.log.info("Asked DCS to delete migration task %s", task_id)
        if not self.wait_for_completion:
            return task_id
        self.hook.run_plan(self._until_gone(task_id, name))
        self.log.info("DCS migration task %s is deleted (gone from the task list)", task_id)
        return task_id
