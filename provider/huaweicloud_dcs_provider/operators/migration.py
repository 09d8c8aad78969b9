"""The configure operator, the core of the provider: configure (start) a migration and wait for it.

Safe to retry: a retried configure attaches to the migration it started and never starts a second
one. The task id and the console URL (the "DCS Migration Task" extra link) are pushed to XCom
before any wait. No password reaches a log line, an XCom, a rendered template field or trigger
kwargs. The operators around it (create, stop, delete) are in
:mod:`~huaweicloud_dcs_provider.operators.lifecycle`.

Importing this module (every DAG file using it does, at every parse) loads no HTTP client, retry
library, hook or trigger: those are imported when a task runs (``hook``, ``execute``, the defer
path). ``tests/test_import_cost.py`` keeps it so.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID, assets, waiting
from huaweicloud_dcs_provider.api import statuses
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.api.validation import MigrationMethod, safe_id
from huaweicloud_dcs_provider.compat import Context
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsError
from huaweicloud_dcs_provider.operators.base import (
    DcsBaseOperator,
    OpenLineageMethods,
    check_literal,
    default_deferrable,
    describe_instance,
    wait_engine,
)
from huaweicloud_dcs_provider.operators.instances import resolve_instance, split_instance

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.api.models import MigrationTask
    from huaweicloud_dcs_provider.api.transport import Call

TaskStatus = statuses.TaskStatus

#: What a configure operator waits for by default, per migration method.
_DEFAULT_SUCCESS = {
    MigrationMethod.FULL.value: (TaskStatus.SUCCESS.value,),
    MigrationMethod.INCREMENTAL.value: (TaskStatus.INCRMIGEATING.value,),
}
#: Longest wait for a task that is still being created before it can be configured.
DEFAULT_READY_TIMEOUT = 1800.0


def _method(parameter: str, value: Any) -> None:
    v.enum_value(parameter, value, MigrationMethod)


def _resume_mode(parameter: str, value: Any) -> None:
    v.enum_value(parameter, value, v.ResumeMode)


def _no_cap_is_none(value: Any) -> int | str | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
        return None
    result: int | str | None = value
    return result


def _bandwidth(parameter: str, value: Any) -> None:
    v.bandwidth(_no_cap_is_none(value))


# ------------------------------------------------------------------------------------------------
# Configure (the core)
# ------------------------------------------------------------------------------------------------


class DcsConfigureOnlineMigrationOperator(OpenLineageMethods, DcsBaseOperator):
    """Configure an online migration task, which starts the migration, and wait for it.

    The migration task must exist (see
    :class:`~huaweicloud_dcs_provider.operators.lifecycle.DcsCreateOnlineMigrationTaskOperator`).
    Safe to retry: before configuring, the operator reads the task; if it is already migrating (or,
    on a retry, has already succeeded) from the same source to the same target, it attaches to that
    migration instead of starting a second one. A task that has ended (a new run on a task that
    already finished, stopped or failed) is refused with a message saying to create a new task: the
    service configures a task once, while it is ``RUNNING``. If it migrates between *other*
    instances, the operator fails with a message naming both. A task still being created is waited
    for first.

    Redis passwords need not be written in DAG code: an instance may name an Airflow connection
    whose password is used (``{"addrs": "10.0.0.1:6379", "password_conn_id": "redis_source"}``),
    or hold a template such as ``"{{ conn.redis_source.password }}"``. Either way the password is
    resolved when the task runs, registered with Airflow's secrets masker, and kept out of the
    rendered template fields, the logs and the XCom.

    Returns (XCom ``return_value``) the task's ``id``, ``name``, ``status`` (the final status
    when waiting), ``migration_method``, ``ecs_tenant_private_ip`` and ``error``. Also pushes
    ``migration_task_id`` and the console URL (``dcs_console_url``, shown as the
    "DCS Migration Task" extra link) before waiting.

    :param migration_task_id: ID of the migration task to configure. Templated.
    :param migration_method: ``full_amount_migration`` (one full copy; ends in ``SUCCESS``) or
        ``incremental_migration`` (a full copy, then continuous sync in ``INCRMIGEATING`` until the
        task is stopped). Templated.
    :param resume_mode: ``auto`` (reconnect by itself after a network error; may restart a full
        sync) or ``manual``. Templated.
    :param source_instance: where data comes from: ``{"id": "<DCS instance id>"}`` or
        ``{"addrs": "host:port[,host:port...]"}``, plus ``"password"`` or ``"password_conn_id"``
        (an Airflow connection whose password is the Redis password) if the Redis needs one.
        Templated, except the password, which is rendered privately at run time.
    :param target_instance: where data goes, same shape as ``source_instance``. Templated.
    :param bandwidth_limit_mb: optional cap of the migration's bandwidth, MB/s (1..10240). Templated.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    :param wait_for_completion: wait until the task reaches ``success_statuses`` (default). With
        ``False`` the operator returns as soon as the migration started.
    :param success_statuses: statuses that end the wait successfully. Default: ``SUCCESS`` for a
        full migration, ``INCRMIGEATING`` (incremental sync running) for an incremental one.
    :param poll_interval: seconds between two status checks.
    :param timeout: seconds (or ``timedelta``) to wait at most, counted from the start of this
        run as an absolute deadline (a triggerer restart does not extend it); ``None`` waits
        without limit. On timeout the task fails; the migration is left running.
    :param deferrable: wait in the triggerer instead of a worker slot (default: the
        ``[operators] default_deferrable`` setting). Uses the same trigger as
        :class:`~huaweicloud_dcs_provider.sensors.migration.DcsMigrationTaskSensor`.
    :param stop_on_kill: when a user kills this task (mark failed / success, clear) after it
        configured the migration, stop the migration too: from the worker (:meth:`on_kill`) while
        it runs there, from the triggerer (the trigger's ``on_kill``) while it is deferred. Best
        effort (a failed stop is logged, never raised). Off by default: the migration is left
        running. A triggerer restart never stops the migration.
    :param stop_on_deadline: when the wait reaches its deadline (``timeout``), stop the migration
        (best effort), then fail the task saying so. Off by default: the task fails and the
        migration is left running. Checked when the wait ends, in the worker (``execute_complete``
        for a deferred wait), never in the triggerer.
    """

    template_fields: Sequence[str] = (
        "migration_task_id",
        "migration_method",
        "resume_mode",
        "source_instance",
        "target_instance",
        "bandwidth_limit_mb",
    )
    template_fields_renderers = {"source_instance": "json", "target_instance": "json"}

    def __init__(
        self,
        *,
        migration_task_id: str,
        migration_method: str,
        resume_mode: str,
        source_instance: Mapping[str, Any],
        target_instance: Mapping[str, Any],
        bandwidth_limit_mb: int | str | None = None,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = True,
        success_statuses: Iterable[str] | None = None,
        poll_interval: float | timedelta = waiting.DEFAULT_POLL_INTERVAL,
        timeout: float | timedelta | None = waiting.DEFAULT_TIMEOUT,
        deferrable: bool | None = None,
        stop_on_kill: bool = False,
        stop_on_deadline: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        check_literal("migration_task_id", migration_task_id, v.safe_id)
        check_literal("migration_method", migration_method, _method)
        check_literal("resume_mode", resume_mode, _resume_mode)
        check_literal("bandwidth_limit_mb", bandwidth_limit_mb, _bandwidth)
        self.migration_task_id = migration_task_id
        self.stop_on_kill = stop_on_kill
        self.stop_on_deadline = stop_on_deadline
        #: Set once this run starts configuring: only then is there a migration of ours to stop.
        self._configuring: str | None = None
        self.migration_method = migration_method
        self.resume_mode = resume_mode
        self.source_instance, self._source_password = split_instance("source_instance", source_instance)
        self.target_instance, self._target_password = split_instance("target_instance", target_instance)
        self.bandwidth_limit_mb = bandwidth_limit_mb
        self.wait_for_completion = wait_for_completion
        self.success_statuses = (
            None
            if success_statuses is None
            else tuple(sorted(v.statuses_to_wait_for("success_statuses", success_statuses)))
        )
        self.poll_interval = v.seconds("poll_interval", poll_interval)
        self.timeout = v.optional_seconds("timeout", timeout)
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        assets.check_outlets(
            self.outlets,
            waits=wait_for_completion,
            target_instance=self.target_instance,
            task_id=self.task_id,
        )

    def _success_statuses(self) -> tuple[str, ...]:
        if self.success_statuses is not None:
            return self.success_statuses
        return _DEFAULT_SUCCESS.get(str(self.migration_method), (TaskStatus.SUCCESS.value,))

    # ---------------------------------------------------------------- idempotency

    def _mismatches(
        self, task: MigrationTask, source: Mapping[str, Any], target: Mapping[str, Any]
    ) -> list[str]:
        problems: list[str] = []
        for side, mine, wanted in (
            ("source", task.source_instance, source),
            ("target", task.target_instance, target),
        ):
            if mine is None or not mine.same_endpoint(dict(wanted)):
                problems.append(
                    f"its {side} is {describe_instance(mine)}, this task asks for {describe_instance(wanted)}"
                )
        if task.migration_method and task.migration_method != self.migration_method:
            problems.append(
                f"its method is {task.migration_method}, this task asks for {self.migration_method}"
            )
        return problems

    def _bandwidth(self) -> int | str | None:
        """The rendered cap; an empty or ``None`` rendering (e.g. an unset param) means no cap."""
        return _no_cap_is_none(self.bandwidth_limit_mb)

    def _attach_or_refuse(
        self, task: MigrationTask, source: Mapping[str, Any], target: Mapping[str, Any]
    ) -> MigrationTask:
        problems = self._mismatches(task, source, target)
        if problems:
            raise DcsError(
                f"DCS migration task {task.task_id} is already {task.status} with a different "
                f"configuration: {'; '.join(problems)}. Refusing to start a second migration on it; "
                "use another migration task, or stop this one first."
            )
        self.log.info(
            "DCS migration task %s is already %s from %s to %s: attaching to it instead of configuring "
            "it again (a retry of this task?)",
            task.task_id,
            task.status,
            describe_instance(source),
            describe_instance(target),
        )
        return task

    def _configure_or_attach(
        self,
        call: Call[MigrationTask],
        source: dict[str, Any],
        target: dict[str, Any],
        deadline: float | None,
        *,
        is_retry: bool,
    ) -> MigrationTask:
        """Send the configure ``call`` (built and checked), or attach to the migration it started."""
        hook = self.hook
        migration_task_id = call.path_params["task_id"]
        task = self._read_task(migration_task_id)
        if task.status == TaskStatus.CREATING:
            self.log.info(
                "DCS migration task %s is still being created; waiting until it is ready", migration_task_id
            )
            ready_timeout = DEFAULT_READY_TIMEOUT if deadline is None else max(1.0, deadline - time.time())
            task = hook.wait_for_task_status(
                migration_task_id,
                (TaskStatus.RUNNING.value,),
                timeout=min(ready_timeout, DEFAULT_READY_TIMEOUT),
                poll_interval=min(self.poll_interval, 10.0),
            )
        if statuses.already_configured(task.status, is_retry=is_retry):
            return self._attach_or_refuse(task, source, target)
        if not statuses.configurable(task.status):
            # Refused here, in words, rather than by the service (DCS.4957): a task is configured
            # once, and an ended task's old migration is not this run's.
            raise DcsError(
                f"DCS migration task {migration_task_id} is {task.status or '(no status)'}: it cannot be "
                "configured again (a migration task carries one migration, configured while it is "
                "RUNNING). Create a new migration task for this run (DcsCreateOnlineMigrationTaskOperator), "
                "or restart this one with its configuration (DcsBatchRestartMigrationTasksOperator). "
                "Nothing was sent."
            )
        self.log.info(
            "Configuring DCS migration task %s (status %s): %s from %s to %s, resume mode %s%s",
            migration_task_id,
            task.status,
            self.migration_method,
            describe_instance(source),
            describe_instance(target),
            self.resume_mode,
            f", bandwidth limit {self._bandwidth()} MB/s" if self._bandwidth() else "",
        )
        try:
            configured = hook.send_configure(call, status_before=task.status)
        except DcsApiError:
            # Refused or lost: it may have taken effect all the same (an earlier attempt whose
            # answer was lost, or another run that configured the task at the same moment). Look.
            try:
                again = hook.get_migration_task(migration_task_id)
            except DcsError:
                again = None
            if again is None or not statuses.configure_took_effect(task.status, again.status):
                raise
            return self._attach_or_refuse(again, source, target)
        self.log.info("DCS migration task %s configured; status %s", migration_task_id, configured.status)
        return configured

    # ---------------------------------------------------------------- run

    def execute(self, context: Context) -> dict[str, Any]:
        """Configure (or attach to) the migration, then wait for it unless told not to."""
        migration_task_id = safe_id("migration_task_id", self.migration_task_id)
        render = lambda template: self.render_template(template, context)  # noqa: E731
        source = resolve_instance("source_instance", self.source_instance, self._source_password, render)
        target = resolve_instance("target_instance", self.target_instance, self._target_password, render)
        from huaweicloud_dcs_provider.api import calls

        # Built once: every rendered value is checked before the first request (a read of the task).
        call = calls.configure_online_task(
            migration_task_id,
            migration_method=self.migration_method,
            resume_mode=self.resume_mode,
            source_instance=source,
            target_instance=target,
            bandwidth_limit_mb=self._bandwidth(),
        )
        deadline = waiting.deadline_after(self.timeout)
        self._push_task(context, migration_task_id)
        try_number = getattr(context.get("ti"), "try_number", 1)
        is_retry = isinstance(try_number, int) and try_number > 1
        self._configuring = migration_task_id
        task = self._configure_or_attach(call, source, target, deadline, is_retry=is_retry)
        summary = task.summary()
        summary["id"] = summary.get("id") or migration_task_id
        self._lineage_result = summary
        if not self.wait_for_completion:
            return summary
        success = self._success_statuses()
        tracker = self._tracker(migration_task_id, success, deadline)
        if not self.deferrable:
            final = self.hook.run_plan(wait_engine().wait(tracker, self.poll_interval))
            return self._complete(final, summary, context)
        event = self.hook.run_plan(wait_engine().check(tracker))
        if event is not None:
            return self._complete(event, summary, context)
        from huaweicloud_dcs_provider.triggers.migration import DcsMigrationTaskTrigger

        self.defer(
            trigger=DcsMigrationTaskTrigger(
                migration_task_id=migration_task_id,
                dcs_conn_id=self.dcs_conn_id,
                success_statuses=success,
                poll_interval=self.poll_interval,
                deadline=deadline,
                stop_on_kill=self.stop_on_kill,
            ),
            method_name="execute_complete",
            kwargs={"summary": summary},
            timeout=waiting.framework_timeout(deadline, self.poll_interval),
        )

    def on_kill(self) -> None:
        """Killed while running in a worker: stop the migration this run configured, if opted in."""
        if self.stop_on_kill and self._configuring is not None:
            waiting.stop_quietly(
                self.hook, self._configuring, self.log, reason="the configure task was killed"
            )

    def execute_complete(
        self, context: Context, event: Any = None, summary: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger fired: map its event (the one mapping, in ``waiting``)."""
        return self._complete(event, summary or {}, context)

    def _complete(self, event: Any, summary: dict[str, Any], context: Context) -> dict[str, Any]:
        if self.stop_on_deadline:
            waiting.stop_on_timeout(event, self.hook, self.log)
        done = waiting.handle_event(event)
        result = dict(summary)
        result["id"] = done.get("migration_task_id") or result.get("id")
        result["name"] = done.get("task_name") or result.get("name")
        result["status"] = done.get("task_status")
        result["stats"] = done.get("stats")
        self._lineage_result = result  # set again after a deferral (the attribute does not survive it)
        assets.attach_event_extra(
            context, self.outlets, assets.event_extra(result, migration_method=self.migration_method)
        )
        return result

    # ---------------------------------------------------------------- lineage (openlineage extra)

    def _lineage(self) -> Any:
        from huaweicloud_dcs_provider import lineage

        result = getattr(self, "_lineage_result", None) or {}
        stats = result.get("stats") or {}
        task_id = result.get("id") or self.migration_task_id
        facts = {
            "migration_task_id": task_id if isinstance(task_id, str) and "{{" not in task_id else None,
            "migration_method": self.migration_method if isinstance(self.migration_method, str) else None,
            "status": result.get("status"),
            "source_keys": stats.get("source_dbsize") if isinstance(stats, dict) else None,
            "target_keys": stats.get("target_dbsize") if isinstance(stats, dict) else None,
        }
        counts = {"db0": facts["target_keys"]} if isinstance(facts["target_keys"], int) else None
        return lineage.operator_lineage(
            self.source_instance, self.target_instance, facts, target_key_counts=counts
        )
