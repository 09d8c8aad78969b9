"""Operators for DCS online data migration: create a task, configure (start) it and wait, stop, delete.

Every operator is safe to retry: a retried create can reuse the task it made, a retried configure
attaches to the migration it started, stopping a stopped task and deleting a deleted one succeed.
The task id and the console URL (the "DCS Migration Task" extra link) are pushed to XCom before
any wait. No password reaches a log line, an XCom, a rendered template field or trigger kwargs.

Importing this module (every DAG file using it does, at every parse) loads no HTTP client, retry
library, hook or trigger: those are imported when a task runs (``hook``, ``execute``, the defer
path). ``tests/test_import_cost.py`` keeps it so.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID, assets, statuses, waiting
from huaweicloud_dcs_provider import validation as v
from huaweicloud_dcs_provider._compat import BaseHook, BaseOperator, Context, conf
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsError, DcsValidationError
from huaweicloud_dcs_provider.links import TASK_ID_XCOM_KEY, DcsMigrationTaskLink, console_url
from huaweicloud_dcs_provider.validation import MigrationMethod, safe_id

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook
    from huaweicloud_dcs_provider.models import MigrationTask

TaskStatus = statuses.TaskStatus

#: Keys an instance (``source_instance``/``target_instance``) may have in DAG code.
INSTANCE_KEYS = ("id", "addrs", "password", "password_conn_id")
#: Statuses in which a configure call already took effect (retry: attach instead of configuring).
#: SUCCESS counts only on a retry: a new DAG run on a finished task starts a new migration.
_CONFIGURED_STATUSES = statuses.MIGRATING_STATUSES | {TaskStatus.SUCCESS.value}
#: What a configure operator waits for by default, per migration method.
_DEFAULT_SUCCESS = {
    MigrationMethod.FULL.value: (TaskStatus.SUCCESS.value,),
    MigrationMethod.INCREMENTAL.value: (TaskStatus.INCRMIGEATING.value,),
}
DEFAULT_READY_TIMEOUT = 1800.0
DEFAULT_STOP_TIMEOUT = 1800.0
DEFAULT_DELETE_TIMEOUT = 600.0
UI_COLOR = "#fde2e2"


def _default_deferrable() -> bool:
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


def _mask(value: str) -> None:
    from airflow.providers.common.compat.sdk import mask_secret

    mask_secret(value)


def _describe_instance(instance: Any) -> str:
    """``DCS instance <id>`` or ``Redis <host:port>``: never a password."""
    if isinstance(instance, Mapping):
        instance_id, addrs = instance.get("id"), instance.get("addrs")
    else:
        instance_id, addrs = getattr(instance, "id", None), getattr(instance, "addrs", None)
    if instance_id:
        return f"DCS instance {instance_id}"
    if addrs:
        return f"Redis {addrs}"
    return "(unknown)"


def _split_instance(parameter: str, value: Any) -> tuple[Any, Any]:
    """Split an instance into its templated, non-secret part and its password (kept apart).

    The password (a literal or a ``{{ conn.x.password }}`` template) never goes into a template
    field, so Airflow never stores or shows its rendered value. Values that are not a mapping yet
    (an ``XComArg`` or a template string) are checked after rendering.
    """
    if not isinstance(value, Mapping):
        return value, None
    _check_instance_keys(parameter, value)
    public = {key: item for key, item in value.items() if key != "password"}
    return public, value.get("password")


def _check_instance_keys(parameter: str, value: Mapping[str, Any]) -> None:
    unknown = sorted(
        v.shown(key) if not isinstance(key, str) else key for key in value if key not in INSTANCE_KEYS
    )
    if unknown:
        raise DcsValidationError(parameter, f"unknown key(s) {unknown}", ", ".join(INSTANCE_KEYS))
    if value.get("password") not in (None, "") and value.get("password_conn_id"):
        raise DcsValidationError(parameter, "give either 'password' or 'password_conn_id', not both")
    conn_id = value.get("password_conn_id")
    if conn_id is not None and (not isinstance(conn_id, str) or not conn_id.strip()):
        raise DcsValidationError(
            f"{parameter}.password_conn_id", "must be an Airflow connection id (a string)"
        )
    password = value.get("password")
    if password is not None and not isinstance(password, str):
        raise DcsValidationError(f"{parameter}.password", f"must be a string, got {type(password).__name__}")
    endpoint = {key: value[key] for key in ("id", "addrs") if key in value}
    if v.is_literal(endpoint):
        v.instance(parameter, endpoint)


def _check_literal(parameter: str, value: Any, check: Any) -> None:
    """Run ``check(parameter, value)`` now when rendering cannot change ``value`` (else at run time)."""
    if v.is_literal(value):
        check(parameter, value)


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


class _DcsBaseOperator(BaseOperator):
    """What every DCS operator shares: the connection, the hook and the XCom pushes."""

    ui_color = UI_COLOR
    operator_extra_links = (DcsMigrationTaskLink(),)

    def __init__(self, *, dcs_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dcs_conn_id = dcs_conn_id

    @cached_property
    def hook(self) -> DcsHook:
        """The sync hook (imported lazily: parsing a DAG does not load the HTTP stack)."""
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        return DcsHook(self.dcs_conn_id)

    def _push_task(self, context: Context, migration_task_id: str) -> None:
        """Push the task id and the console URL (the extra link) before anything waits."""
        context["ti"].xcom_push(key=TASK_ID_XCOM_KEY, value=migration_task_id)
        settings = self.hook.settings
        url = console_url(settings.region, migration_task_id, settings.endpoint)
        DcsMigrationTaskLink.persist(context, url)
        if url:
            self.log.info("DCS migration task %s in the console: %s", migration_task_id, url)

    def _read_task(self, migration_task_id: str) -> MigrationTask:
        try:
            return self.hook.get_migration_task(migration_task_id)
        except DcsApiError as exc:
            if exc.is_not_found:
                raise DcsError(
                    f"DCS migration task {migration_task_id} does not exist (DCS.4133): check the id "
                    "and the connection's project"
                ) from None
            raise

    def _tracker(
        self, migration_task_id: str, success_statuses: Iterable[str], deadline: float | None
    ) -> waiting.WaitTracker:
        return waiting.WaitTracker(
            migration_task_id=migration_task_id,
            success_statuses=frozenset(success_statuses),
            deadline=deadline,
            logger=self.log,
        )


# ------------------------------------------------------------------------------------------------
# Configure (the core)
# ------------------------------------------------------------------------------------------------


class DcsConfigureOnlineMigrationOperator(_DcsBaseOperator):
    """Configure an online migration task, which starts the migration, and wait for it.

    The migration task must exist (see :class:`DcsCreateOnlineMigrationTaskOperator`). Safe to
    retry: before configuring, the operator reads the task; if it is already migrating (or has
    already succeeded) from the same source to the same target, it attaches to that migration
    instead of starting a second one. If it migrates between *other* instances, the operator
    fails with a message naming both. A task still being created is waited for first.

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
        _check_literal("migration_task_id", migration_task_id, v.safe_id)
        _check_literal("migration_method", migration_method, _method)
        _check_literal("resume_mode", resume_mode, _resume_mode)
        _check_literal("bandwidth_limit_mb", bandwidth_limit_mb, _bandwidth)
        self.migration_task_id = migration_task_id
        self.stop_on_kill = stop_on_kill
        self.stop_on_deadline = stop_on_deadline
        #: Set once this run starts configuring: only then is there a migration of ours to stop.
        self._configuring: str | None = None
        self.migration_method = migration_method
        self.resume_mode = resume_mode
        self.source_instance, self._source_password = _split_instance("source_instance", source_instance)
        self.target_instance, self._target_password = _split_instance("target_instance", target_instance)
        self.bandwidth_limit_mb = bandwidth_limit_mb
        self.wait_for_completion = wait_for_completion
        self.success_statuses = (
            None
            if success_statuses is None
            else tuple(sorted(v.statuses_to_wait_for("success_statuses", success_statuses)))
        )
        self.poll_interval = waiting.to_seconds("poll_interval", poll_interval)
        self.timeout = waiting.to_optional_seconds("timeout", timeout)
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        assets.check_outlets(
            self.outlets,
            waits=wait_for_completion,
            target_instance=self.target_instance,
            task_id=self.task_id,
        )

    # ---------------------------------------------------------------- instances and passwords

    def _resolve_instance(
        self, parameter: str, rendered: Any, password_template: Any, context: Context
    ) -> dict[str, Any]:
        """The instance to send, password included (resolved now, and masked)."""
        if not isinstance(rendered, Mapping):
            raise DcsValidationError(
                parameter,
                f"must be a mapping, got {type(rendered).__name__}",
                "{'id': ...} or {'addrs': 'host:port'}, with 'password' or 'password_conn_id'",
            )
        instance = dict(rendered)
        conn_id = instance.get("password_conn_id")
        if isinstance(conn_id, str) and not conn_id.strip():
            # A template that rendered empty (e.g. a param left ''): no password. A literal ''
            # never gets here, it is refused when the DAG is parsed.
            del instance["password_conn_id"]
        _check_instance_keys(parameter, instance)
        password = instance.pop("password", None)
        if password_template is not None:
            password = self.render_template(password_template, context)
        conn_id = instance.pop("password_conn_id", None)
        if conn_id:
            if password not in (None, ""):
                raise DcsValidationError(parameter, "give either 'password' or 'password_conn_id', not both")
            password = BaseHook.get_connection(str(conn_id)).password
            if not password:
                raise DcsValidationError(
                    f"{parameter}.password_conn_id", f"connection {conn_id!r} has no password"
                )
        if password is not None and not isinstance(password, str):
            raise DcsValidationError(f"{parameter}.password", "must be a string")
        if password:
            _mask(password)
            instance["password"] = password
        return instance

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
                    f"its {side} is {_describe_instance(mine)}, "
                    f"this task asks for {_describe_instance(wanted)}"
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
            _describe_instance(source),
            _describe_instance(target),
        )
        return task

    def _configure_or_attach(
        self,
        migration_task_id: str,
        source: dict[str, Any],
        target: dict[str, Any],
        deadline: float | None,
        *,
        is_retry: bool,
    ) -> MigrationTask:
        hook = self.hook
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
        if task.status in statuses.MIGRATING_STATUSES or (task.status == TaskStatus.SUCCESS and is_retry):
            return self._attach_or_refuse(task, source, target)
        if task.status == TaskStatus.SUCCESS:
            self.log.info(
                "DCS migration task %s finished an earlier migration; this run starts a new one",
                migration_task_id,
            )
        self.log.info(
            "Configuring DCS migration task %s (status %s): %s from %s to %s, resume mode %s%s",
            migration_task_id,
            task.status,
            self.migration_method,
            _describe_instance(source),
            _describe_instance(target),
            self.resume_mode,
            f", bandwidth limit {self._bandwidth()} MB/s" if self._bandwidth() else "",
        )
        try:
            configured = hook.configure_online_migration(
                migration_task_id,
                migration_method=self.migration_method,
                resume_mode=self.resume_mode,
                source_instance=source,
                target_instance=target,
                bandwidth_limit_mb=self._bandwidth(),
            )
        except DcsApiError:
            # An earlier attempt may have taken effect (e.g. the answer was lost): look first.
            try:
                again = hook.get_migration_task(migration_task_id)
            except DcsError:
                again = None
            if again is None or again.status not in _CONFIGURED_STATUSES:
                raise
            return self._attach_or_refuse(again, source, target)
        self.log.info("DCS migration task %s configured; status %s", migration_task_id, configured.status)
        return configured

    # ---------------------------------------------------------------- run

    def execute(self, context: Context) -> dict[str, Any]:
        """Configure (or attach to) the migration, then wait for it unless told not to."""
        migration_task_id = safe_id("migration_task_id", self.migration_task_id)
        source = self._resolve_instance(
            "source_instance", self.source_instance, self._source_password, context
        )
        target = self._resolve_instance(
            "target_instance", self.target_instance, self._target_password, context
        )
        from huaweicloud_dcs_provider import calls

        # Every rendered value is checked before the first request (the task is read first).
        calls.configure_online_task(
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
        task = self._configure_or_attach(migration_task_id, source, target, deadline, is_retry=is_retry)
        summary = task.summary()
        summary["id"] = summary.get("id") or migration_task_id
        if not self.wait_for_completion:
            return summary
        success = self._success_statuses()
        tracker = self._tracker(migration_task_id, success, deadline)
        if not self.deferrable:
            return self._complete(waiting.wait_sync(self.hook, tracker, self.poll_interval), summary, context)
        event = waiting.check_sync(self.hook, tracker)
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
        assets.attach_event_extra(
            context, self.outlets, assets.event_extra(result, migration_method=self.migration_method)
        )
        return result


# ------------------------------------------------------------------------------------------------
# Create
# ------------------------------------------------------------------------------------------------


def _task_name(parameter: str, value: Any) -> None:
    v.text(parameter, value, max_length=64)


def _description(parameter: str, value: Any) -> None:
    v.text(parameter, value, max_length=1024, required=False)


class DcsCreateOnlineMigrationTaskOperator(_DcsBaseOperator):
    """Create an online migration task and wait until it can be configured; returns its id.

    DCS provisions a migration VM for the task in the given VPC, subnet and security group; the
    task is ``CREATING`` for a few minutes, then ``RUNNING`` ("waiting to be configured"). Pass
    the returned id to :class:`DcsConfigureOnlineMigrationOperator`.

    A lost answer to the create call is not sent twice: the hook looks for the task it may have
    created. With ``reuse_existing=True`` a retried (or re-run) task reuses a task of the same
    name that is still waiting to be configured (``RUNNING``, or ``CREATING``) instead of creating
    another one.

    :param migration_task_name: name of the task (shown in the console; used by ``reuse_existing``).
        Templated.
    :param vpc_id: VPC of the migration VM; it must reach both source and target Redis. Templated.
    :param subnet_id: subnet (network ID) of the migration VM. Templated.
    :param security_group_id: security group of the migration VM (egress to the Redis ports).
        Templated.
    :param description: free text shown in the console. Templated.
    :param wait_until_ready: wait until the task is ``RUNNING`` (ready to configure; default).
    :param reuse_existing: reuse a not yet configured task with the same name, if there is one.
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
        _check_literal("migration_task_name", migration_task_name, _task_name)
        for name, value in (
            ("vpc_id", vpc_id),
            ("subnet_id", subnet_id),
            ("security_group_id", security_group_id),
        ):
            _check_literal(name, value, v.safe_id)
        _check_literal("description", description, _description)
        self.migration_task_name = migration_task_name
        self.vpc_id = vpc_id
        self.subnet_id = subnet_id
        self.security_group_id = security_group_id
        self.description = description
        self.wait_until_ready = wait_until_ready
        self.reuse_existing = reuse_existing
        self.ready_timeout = waiting.to_seconds("ready_timeout", ready_timeout)
        self.poll_interval = waiting.to_seconds("poll_interval", poll_interval)

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
        reused = self._find_reusable() if self.reuse_existing else None
        if reused is not None:
            task_id = reused.task_id
            self.log.info(
                "Reusing DCS migration task %s (%s), named %r",
                task_id,
                reused.status,
                self.migration_task_name,
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


class DcsStopMigrationTaskOperator(_DcsBaseOperator):
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
        _check_literal("migration_task_id", migration_task_id, v.safe_id)
        self.migration_task_id = migration_task_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = waiting.to_seconds("poll_interval", poll_interval)
        self.timeout = waiting.to_seconds("timeout", timeout)

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
        done = waiting.handle_event(waiting.wait_sync(self.hook, tracker, self.poll_interval))
        result["status"] = done.get("task_status")
        return result


# ------------------------------------------------------------------------------------------------
# Delete
# ------------------------------------------------------------------------------------------------


class DcsDeleteMigrationTaskOperator(_DcsBaseOperator):
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
        _check_literal("migration_task_id", migration_task_id, v.safe_id)
        self.migration_task_id = migration_task_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = waiting.to_seconds("poll_interval", poll_interval)
        self.timeout = waiting.to_seconds("timeout", timeout)

    def _listed(self, task_id: str, name: str | None) -> bool:
        """True while the task list still has the task (filtered by name when it is known)."""
        return any(task.task_id == task_id for task in self.hook.list_migration_tasks(name=name))

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
        deadline = time.time() + self.timeout
        while self._listed(task_id, name):
            if time.time() >= deadline:
                raise DcsError(
                    f"DCS migration task {task_id} is still listed {waiting.human_duration(self.timeout)} "
                    "after it was deleted"
                )
            self.log.info("DCS migration task %s is still listed; checking again", task_id)
            time.sleep(max(0.0, min(self.poll_interval, deadline - time.time())))
        self.log.info("DCS migration task %s is deleted (gone from the task list)", task_id)
        return task_id
