"""Operators for the cutover of a DCS online migration: IP switch, whitelist, resume mode, batches.

They complete the migration operators (:mod:`huaweicloud_dcs_provider.operators.migration`) for the
runbook in ``docs/cutover-runbook.md``:

* :class:`DcsExchangeInstanceIpOperator` / :class:`DcsRollbackInstanceIpOperator`: the DCS IP switch
  and its escape hatch, with their preconditions checked (and explained) before any API call;
* :class:`DcsAdmitMigrationEcsToWhitelistOperator` / :class:`DcsRemoveMigrationEcsFromWhitelistOperator`:
  admit the migration VM's IP to the instances' whitelists (read-modify-write, keeping every
  existing group), and take it out again;
* :class:`DcsSetResumeModeOperator`, :class:`DcsBatchStopMigrationTasksOperator`,
  :class:`DcsBatchRestartMigrationTasksOperator`;
* :class:`DcsMigrationPreflightOperator`: checks on self-hosted Redis endpoints (``addrs``) with the
  ``redis`` client before a migration starts.

No password reaches a log line, an XCom or a rendered template field.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID, statuses, waiting
from huaweicloud_dcs_provider import validation as v
from huaweicloud_dcs_provider._compat import BaseHook, Context
from huaweicloud_dcs_provider.exceptions import DcsError, DcsValidationError
from huaweicloud_dcs_provider.operators.migration import _check_literal, _DcsBaseOperator
from huaweicloud_dcs_provider.validation import (
    WHITELIST_MAX_GROUPS,
    WHITELIST_MAX_IPS,
    MigrationMethod,
    ResumeMode,
    enum_value,
    id_list,
    safe_id,
)

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.models import MigrationInstance, MigrationTask

TaskStatus = statuses.TaskStatus

EXCHANGING = "EXCHANGING"
EXCHANGE_SUCCESS = "EXCHANGE_SUCCESS"
ROLLBACK_SUCCESS = "ROLLBACK_SUCCESS"
DEFAULT_SWITCH_TIMEOUT = 600.0
DEFAULT_BATCH_TIMEOUT = 1800.0
DEFAULT_WHITELIST_GROUP = "dcs-migration"


def _looks_failed(task_status: str | None) -> bool:
    """True for an IP-switch sub-status that reads like a failure (values beyond the docs)."""
    text = (task_status or "").upper()
    return "FAIL" in text or "ERROR" in text


def _side(instance: MigrationInstance | None) -> str:
    if instance is None:
        return "(missing)"
    if instance.id:
        return f"DCS instance {instance.id}"
    return f"self-hosted Redis {instance.addrs or instance.ip or '(unknown address)'}"


# ------------------------------------------------------------------------------------------------
# IP switch
# ------------------------------------------------------------------------------------------------


class _DcsIpSwitchOperator(_DcsBaseOperator):
    """Shared by the exchange and the rollback: preconditions, the call, the wait."""

    template_fields: Sequence[str] = ("migration_task_id",)
    #: The ``task_status`` that means done.
    done_status: str = ""
    #: What the operator does, for messages ("switch the IPs of").
    action: str = ""

    def __init__(
        self,
        *,
        migration_task_id: str,
        wait_for_completion: bool = True,
        poll_interval: float | timedelta = 5.0,
        timeout: float | timedelta = DEFAULT_SWITCH_TIMEOUT,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        _check_literal("migration_task_id", migration_task_id, v.safe_id)
        self.migration_task_id = migration_task_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = waiting.to_seconds("poll_interval", poll_interval)
        self.timeout = waiting.to_seconds("timeout", timeout)

    def check_rendered(self) -> None:
        """Checks of the rendered fields, before any request (subclasses add theirs)."""

    def common_problems(self, task: MigrationTask) -> list[str]:
        """Why the task cannot have its IPs switched or rolled back (empty: it can)."""
        problems: list[str] = []
        if task.migration_method and task.migration_method != MigrationMethod.INCREMENTAL.value:
            problems.append(
                f"it is a {task.migration_method} task; only incremental_migration (full + incremental) "
                "tasks can switch IPs"
            )
        if task.status != TaskStatus.INCRMIGEATING.value:
            problems.append(
                f"its status is {task.status or '(none)'}, not INCRMIGEATING (incremental sync running)"
            )
        for name, side in (("source", task.source_instance), ("target", task.target_instance)):
            if side is None or not side.id:
                problems.append(
                    f"its {name} is {_side(side)}; the IP switch works only between two DCS instances "
                    "(switch the clients yourself for self-hosted Redis)"
                )
        return problems

    def problems(self, task: MigrationTask) -> list[str]:
        """Preconditions of this action (subclasses add theirs)."""
        return self.common_problems(task)

    def call(self, task: MigrationTask) -> None:
        """The API call (subclasses)."""
        raise NotImplementedError

    def _refuse(self, task: MigrationTask, problems: list[str]) -> DcsError:
        return DcsError(
            f"Cannot {self.action} DCS migration task {task.task_id}: {'; '.join(problems)}. "
            "Nothing was changed."
        )

    def execute(self, context: Context) -> dict[str, Any]:
        """Check the preconditions, call the API unless already done, wait for ``done_status``."""
        task_id = safe_id("migration_task_id", self.migration_task_id)
        self.check_rendered()
        self._push_task(context, task_id)
        task = self._read_task(task_id)
        if task.task_status == EXCHANGING:
            # A switch or a rollback is running (the API does not say which): let it finish first.
            task = self._wait(task_id, settle=True)
        result = {"id": task_id, "status": task.status, "task_status": task.task_status}
        if task.task_status == self.done_status:
            self.log.info("DCS migration task %s: task_status is already %s", task_id, self.done_status)
            return result
        problems = self.problems(task)
        if problems:
            raise self._refuse(task, problems)
        self.call(task)
        self.log.info("Asked DCS to %s migration task %s", self.action, task_id)
        if not self.wait_for_completion:
            return result
        final = self._wait(task_id)
        result.update(status=final.status, task_status=final.task_status)
        return result

    def _wait(self, task_id: str, *, settle: bool = False) -> MigrationTask:
        """Poll until ``task_status`` is ``done_status`` (with ``settle``: anything but EXCHANGING)."""
        deadline = time.monotonic() + self.timeout
        seen: list[str] = []
        while True:
            task = self._read_task(task_id)
            current = task.task_status or "(none)"
            if not seen or seen[-1] != current:
                seen.append(current)
            if settle and task.task_status != EXCHANGING:
                return task
            if task.task_status == self.done_status:
                self.log.info("DCS migration task %s: task_status %s", task_id, task.task_status)
                return task
            if _looks_failed(task.task_status) or task.status in statuses.FAILURE_STATUSES:
                raise DcsError(
                    f"DCS migration task {task_id} did not {self.action}: task_status {current}, status "
                    f"{task.status}{f' ({task.error})' if task.error else ''}. Check the migration logs "
                    "and the instances in the console"
                )
            if time.monotonic() >= deadline:
                raise DcsError(
                    f"DCS migration task {task_id}: no {self.done_status} "
                    f"{waiting.human_duration(self.timeout)} after asking to {self.action} it; "
                    f"task_status seen: {' -> '.join(seen)}, status now {task.status}"
                )
            self.log.info(
                "DCS migration task %s: task_status %s; waiting for %s", task_id, current, self.done_status
            )
            time.sleep(max(0.0, min(self.poll_interval, deadline - time.monotonic())))


def _exchanged_ips(parameter: str, value: Any) -> list[str]:
    """``exchanged_ip`` as a list (a comma-separated string is split); empty means "the task's"."""
    if value is None or (isinstance(value, str | list | tuple) and not value):
        return []
    if isinstance(value, str):
        value = [ip.strip() for ip in value.split(",") if ip.strip()]
    return v.ip_list(parameter, value, allow_networks=False)


class DcsExchangeInstanceIpOperator(_DcsIpSwitchOperator):
    """Switch the IP addresses of the source and target DCS instances of a migration (the DCS cutover).

    After the switch, clients that use the source's address reach the target, so no connection
    string changes. Both instances are read-only for about a minute and clients are disconnected
    briefly. Checked before any API call, with a message naming what is wrong:

    * the task is an ``incremental_migration`` task whose status is ``INCRMIGEATING``;
    * both sides are DCS instances (``id``), not self-hosted Redis (``addrs``).

    The service also requires Redis 4.0 or later, the same port and password on both instances and
    no public access; it refuses the call otherwise (the API error is raised as is).

    A task whose ``task_status`` is already ``EXCHANGE_SUCCESS`` counts as switched. While it is
    ``EXCHANGING`` (a switch or a rollback running, e.g. on a retry) the operator first waits for
    that to finish, then decides. Returns ``id``, ``status`` and ``task_status``.

    :param migration_task_id: ID of the migration task. Templated.
    :param exchanged_ip: IP addresses to switch. Default: the IPs of the source and target
        instances from the task detail. Templated.
    :param is_exchange_domain: also switch the instances' domain names.
    :type wait_for_completion: bool
    :param wait_for_completion: wait for ``task_status`` ``EXCHANGE_SUCCESS`` (default).
    :type poll_interval: float | timedelta
    :param poll_interval: seconds between two reads of the task.
    :type timeout: float | timedelta
    :param timeout: seconds (or ``timedelta``) to wait for ``EXCHANGE_SUCCESS``.
    :type dcs_conn_id: str
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    template_fields: Sequence[str] = ("migration_task_id", "exchanged_ip")
    done_status = EXCHANGE_SUCCESS
    action = "switch the IPs of"

    def __init__(
        self,
        *,
        migration_task_id: str,
        exchanged_ip: Sequence[str] | None = None,
        is_exchange_domain: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(migration_task_id=migration_task_id, **kwargs)
        v.boolean("is_exchange_domain", is_exchange_domain)
        _check_literal("exchanged_ip", exchanged_ip, _exchanged_ips)
        self.exchanged_ip = exchanged_ip
        self.is_exchange_domain = is_exchange_domain

    def check_rendered(self) -> None:
        """The rendered ``exchanged_ip`` (when given) are IP addresses."""
        _exchanged_ips("exchanged_ip", self.exchanged_ip)

    def _ips(self, task: MigrationTask) -> list[str]:
        if self.exchanged_ip:
            return _exchanged_ips("exchanged_ip", self.exchanged_ip)
        sides = (task.source_instance, task.target_instance)
        return [side.ip for side in sides if side is not None and side.ip]

    def problems(self, task: MigrationTask) -> list[str]:
        """Common preconditions, plus: there are IPs to switch."""
        problems = self.common_problems(task)
        if not problems and not self._ips(task):
            problems.append("the task detail names no instance IP; pass exchanged_ip")
        return problems

    def call(self, task: MigrationTask) -> None:
        """``POST /migration-task/{id}/exchange-ip``."""
        self.hook.exchange_instance_ip(
            task.task_id, exchanged_ip=self._ips(task), is_exchange_domain=self.is_exchange_domain
        )


class DcsRollbackInstanceIpOperator(_DcsIpSwitchOperator):
    """Roll back an IP switch (the escape hatch after :class:`DcsExchangeInstanceIpOperator`).

    Checked before any API call: the task is an ``incremental_migration`` task in
    ``INCRMIGEATING`` between two DCS instances, and its ``task_status`` is ``EXCHANGE_SUCCESS``
    (there is a switch to roll back). A task already ``ROLLBACK_SUCCESS`` counts as rolled back.
    While it is ``EXCHANGING`` (e.g. the switch whose answer was lost is still running), the
    operator waits for that to finish first, then rolls back.
    Returns ``id``, ``status`` and ``task_status``.

    :param migration_task_id: ID of the migration task. Templated.
    :param wait_for_completion: wait for ``task_status`` ``ROLLBACK_SUCCESS`` (default).
    :param poll_interval: seconds between two reads of the task.
    :param timeout: seconds (or ``timedelta``) to wait for ``ROLLBACK_SUCCESS``.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    done_status = ROLLBACK_SUCCESS
    action = "roll back the IP switch of"

    def problems(self, task: MigrationTask) -> list[str]:
        """Common preconditions, plus: the IPs are switched."""
        problems = self.common_problems(task)
        if task.task_status != EXCHANGE_SUCCESS:
            problems.append(
                f"its task_status is {task.task_status or '(none)'}, not EXCHANGE_SUCCESS: "
                "there is no IP switch to roll back"
            )
        return problems

    def call(self, task: MigrationTask) -> None:
        """``POST /migration-task/{id}/rollback-ip``."""
        self.hook.rollback_instance_ip(task.task_id)


# ------------------------------------------------------------------------------------------------
# Whitelist
# ------------------------------------------------------------------------------------------------


def _instance_ids(parameter: str, value: Any) -> list[str]:
    """DCS instance IDs (a list; ``None`` or empty: the task's own)."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return []
    return id_list(parameter, value)


def _group_name(parameter: str, value: Any) -> None:
    v.text(parameter, value, max_length=64)


def _admitted(parameter: str, value: Any) -> tuple[str, str | None, list[tuple[str, bool]]] | None:
    """The admit operator's return value checked: ``(ip, group_name, [(instance_id, enabled)])``.

    ``None`` when it holds no ``ip`` (then the task is read instead).
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise DcsValidationError(parameter, f"must be a mapping, got {type(value).__name__}")
    if not value.get("ip"):
        return None
    ip = v.ip_list(f"{parameter}.ip", [value["ip"]], allow_networks=False)[0]
    group = value.get("group_name")
    if group is not None:
        _group_name(f"{parameter}.group_name", group)
    items = value.get("changed") or []
    if not isinstance(items, list | tuple):
        raise DcsValidationError(f"{parameter}.changed", f"must be a list, got {type(items).__name__}")
    changed: list[tuple[str, bool]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise DcsValidationError(f"{parameter}.changed[{index}]", "must be a mapping with 'instance_id'")
        instance_id = v.safe_id(f"{parameter}.changed[{index}].instance_id", item.get("instance_id"))
        changed.append((instance_id, bool(item.get("enabled"))))
    return ip, group, changed


def _dcs_ids_of(task: MigrationTask) -> list[str]:
    return [side.id for side in (task.source_instance, task.target_instance) if side is not None and side.id]


class DcsAdmitMigrationEcsToWhitelistOperator(_DcsBaseOperator):
    """Admit the migration VM's IP (``ecs_tenant_private_ip``) to DCS instance whitelists.

    For each instance the whitelist is read, changed and written back whole (the API replaces all
    groups): every existing group is kept and the IP is added in its own group ``group_name``.
    Nothing changes where the IP is already admitted (in any group), so a retry is harmless.
    The limits (4 groups, 20 IPs per instance) are checked for every instance before any is
    written; a full whitelist fails with a message saying what to free.

    An instance whose whitelist is disabled admits everyone: it is skipped, unless
    ``enable_whitelist=True`` (then the whitelist is turned on with the existing groups plus the IP;
    make sure your clients are in it).

    Returns ``{"ip", "group_name", "changed": [{"instance_id", "created_group", "enabled"}],
    "skipped": [{"instance_id", "reason"}]}``: give it to
    :class:`DcsRemoveMigrationEcsFromWhitelistOperator` (``admitted=``) to undo exactly this.

    :param migration_task_id: ID of the migration task whose VM to admit. Templated.
    :param instance_ids: DCS instance IDs. Default: the task's source and target DCS instances
        (self-hosted sides have no DCS whitelist), which the task knows only once it is configured;
        when admitting before the configure step (the usual order: the VM must be admitted before
        it connects), pass them. Templated.
    :param group_name: whitelist group for the IP. Templated.
    :param enable_whitelist: turn a disabled whitelist on (default: skip such instances).
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    template_fields: Sequence[str] = ("migration_task_id", "instance_ids", "group_name")

    def __init__(
        self,
        *,
        migration_task_id: str,
        instance_ids: Sequence[str] | None = None,
        group_name: str = DEFAULT_WHITELIST_GROUP,
        enable_whitelist: bool = False,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        _check_literal("migration_task_id", migration_task_id, v.safe_id)
        _check_literal("instance_ids", instance_ids, _instance_ids)
        _check_literal("group_name", group_name, _group_name)
        v.boolean("enable_whitelist", enable_whitelist)
        self.migration_task_id = migration_task_id
        self.instance_ids = instance_ids
        self.group_name = group_name
        self.enable_whitelist = enable_whitelist

    def execute(self, context: Context) -> dict[str, Any]:
        """Plan every instance's new whitelist, check the limits, then write the changed ones."""
        task_id = safe_id("migration_task_id", self.migration_task_id)
        given_ids = _instance_ids("instance_ids", self.instance_ids)
        _group_name("group_name", self.group_name)
        self._push_task(context, task_id)
        task = self._read_task(task_id)
        ip = task.ecs_tenant_private_ip
        if not ip:
            raise DcsError(
                f"DCS migration task {task_id} has no ecs_tenant_private_ip yet (status {task.status}): "
                "admit it after the task is created (RUNNING)"
            )
        ids = given_ids or _dcs_ids_of(task)
        result: dict[str, Any] = {"ip": ip, "group_name": self.group_name, "changed": [], "skipped": []}
        if not ids:
            self.log.info(
                "DCS migration task %s names no DCS instance (self-hosted Redis, or not configured yet: "
                "then pass instance_ids): no whitelist to change",
                task_id,
            )
            return result
        plans: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = []
        full: list[str] = []
        for instance_id in ids:
            current = self.hook.get_whitelist(instance_id)
            groups = [
                {"group_name": g["group_name"], "ip_list": list(g["ip_list"])} for g in current.whitelist
            ]
            if not current.enable_whitelist and not self.enable_whitelist:
                self.log.info("Whitelist of DCS instance %s is disabled (admits all): skipped", instance_id)
                result["skipped"].append({"instance_id": instance_id, "reason": "whitelist disabled"})
                continue
            if current.enable_whitelist and any(ip in g["ip_list"] for g in groups):
                self.log.info("DCS instance %s already admits %s: no change", instance_id, ip)
                result["skipped"].append({"instance_id": instance_id, "reason": "already admitted"})
                continue
            mine = next((g for g in groups if g["group_name"] == self.group_name), None)
            if mine is None:
                groups.append({"group_name": self.group_name, "ip_list": [ip]})
            elif ip not in mine["ip_list"]:
                mine["ip_list"].append(ip)
            total = sum(len(g["ip_list"]) for g in groups)
            if len(groups) > WHITELIST_MAX_GROUPS or total > WHITELIST_MAX_IPS:
                full.append(
                    f"DCS instance {instance_id} would have {len(groups)} groups and {total} IPs "
                    f"(at most {WHITELIST_MAX_GROUPS} groups and {WHITELIST_MAX_IPS} IPs); free a group or "
                    f"an IP, or put {ip} into an existing group yourself"
                )
                continue
            change = {
                "instance_id": instance_id,
                "created_group": mine is None,
                "enabled": not current.enable_whitelist,
            }
            plans.append((instance_id, groups, change))
        if full:
            raise DcsError(f"Cannot admit {ip} to the whitelists: {'; '.join(full)}. Nothing was changed.")
        for instance_id, groups, change in plans:
            self.hook.replace_whitelist(instance_id, enable_whitelist=True, whitelist=groups)
            self.log.info("Admitted %s to DCS instance %s (group %s)", ip, instance_id, self.group_name)
            result["changed"].append(change)
        return result


class DcsRemoveMigrationEcsFromWhitelistOperator(_DcsBaseOperator):
    """Take the migration VM's IP out of the whitelists again, keeping everything else.

    With ``admitted`` (the return value of :class:`DcsAdmitMigrationEcsToWhitelistOperator`), only
    what the admission changed is undone: the IP leaves group ``group_name`` (the group goes if it
    is then empty) and a whitelist the admission turned on is turned off again when nothing else
    is in it. Without it, the IP is read from the task and removed from group ``group_name`` of
    ``instance_ids`` (default: the task's DCS instances). Idempotent. Returns the instance IDs
    whose whitelist was written.

    :param migration_task_id: ID of the migration task (needed without ``admitted``). Templated.
    :param admitted: the admission's return value (an ``XComArg`` of the admit task). Templated.
    :param instance_ids: DCS instance IDs (without ``admitted``). Templated.
    :param group_name: whitelist group the IP was put in. Templated.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    template_fields: Sequence[str] = ("migration_task_id", "admitted", "instance_ids", "group_name")

    def __init__(
        self,
        *,
        migration_task_id: str | None = None,
        admitted: Mapping[str, Any] | None = None,
        instance_ids: Sequence[str] | None = None,
        group_name: str = DEFAULT_WHITELIST_GROUP,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        if migration_task_id is None and admitted is None:
            raise DcsValidationError("admitted", "give 'admitted' or 'migration_task_id'")
        if migration_task_id is not None:
            _check_literal("migration_task_id", migration_task_id, v.safe_id)
        _check_literal("admitted", admitted, _admitted)
        _check_literal("instance_ids", instance_ids, _instance_ids)
        _check_literal("group_name", group_name, _group_name)
        self.migration_task_id = migration_task_id
        self.admitted = admitted
        self.instance_ids = instance_ids
        self.group_name = group_name

    def _targets(self) -> tuple[str, str, list[tuple[str, bool]]]:
        """``(ip, group, [(instance_id, admission_enabled_it)])``."""
        admitted = _admitted("admitted", self.admitted)
        _group_name("group_name", self.group_name)
        if admitted is not None:
            ip, group, changed = admitted
            return ip, group or self.group_name, changed
        if self.migration_task_id is None:
            raise DcsValidationError("admitted", "has no 'ip'; give the admit task's return value")
        task_id = safe_id("migration_task_id", self.migration_task_id)
        given_ids = _instance_ids("instance_ids", self.instance_ids)
        task = self._read_task(task_id)
        if not task.ecs_tenant_private_ip:
            raise DcsError(f"DCS migration task {task.task_id} has no ecs_tenant_private_ip")
        ids = given_ids or _dcs_ids_of(task)
        return task.ecs_tenant_private_ip, self.group_name, [(i, False) for i in ids]

    def execute(self, context: Context) -> list[str]:
        """Remove the IP from the group on each instance; write only where something changes."""
        ip, group_name, targets = self._targets()
        written: list[str] = []
        for instance_id, enabled_by_admission in targets:
            current = self.hook.get_whitelist(instance_id)
            groups: list[dict[str, Any]] = []
            changed = False
            for group in current.whitelist:
                ips = list(group["ip_list"])
                if group["group_name"] == group_name and ip in ips:
                    ips.remove(ip)
                    changed = True
                    if not ips:
                        continue
                groups.append({"group_name": group["group_name"], "ip_list": ips})
            enable = current.enable_whitelist and not (enabled_by_admission and not groups)
            if not changed and enable == current.enable_whitelist:
                self.log.info(
                    "DCS instance %s: %s is not in group %s; no change", instance_id, ip, group_name
                )
                continue
            self.hook.replace_whitelist(instance_id, enable_whitelist=enable, whitelist=groups)
            self.log.info("Removed %s from DCS instance %s (group %s)", ip, instance_id, group_name)
            written.append(instance_id)
        return written


# ------------------------------------------------------------------------------------------------
# Resume mode and batches
# ------------------------------------------------------------------------------------------------


class DcsSetResumeModeOperator(_DcsBaseOperator):
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
        _check_literal("migration_task_id", migration_task_id, v.safe_id)
        _check_literal("resume_mode", resume_mode, _resume_mode)
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


def _resume_mode(parameter: str, value: Any) -> None:
    enum_value(parameter, value, ResumeMode)


def _ids(value: Any, parameter: str = "migration_task_ids") -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    return id_list(parameter, value)


class _DcsBatchOperator(_DcsBaseOperator):
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
        _check_literal("migration_task_ids", migration_task_ids, lambda name, value: _ids(value, name))
        self.migration_task_ids = migration_task_ids
        self.wait_for_completion = wait_for_completion
        self.poll_interval = waiting.to_seconds("poll_interval", poll_interval)
        self.timeout = waiting.to_seconds("timeout", timeout)

    def _wait_all(self, ids: Iterable[str], targets: Sequence[str]) -> dict[str, str]:
        deadline = time.monotonic() + self.timeout
        final: dict[str, str] = {}
        for task_id in ids:
            task = self.hook.wait_for_task_status(
                task_id,
                targets,
                timeout=max(0.0, deadline - time.monotonic()),
                poll_interval=self.poll_interval,
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
        final = {task_id: "RESTARTING" for task_id in accepted}
        if self.wait_for_completion and accepted:
            final = self._wait_all(accepted, self.success_statuses)
        if rejected:
            raise DcsError(f"DCS refused to restart {len(rejected)} task(s): {self._rejected_text(rejected)}")
        return final


# ------------------------------------------------------------------------------------------------
# Pre-flight (self-hosted Redis only)
# ------------------------------------------------------------------------------------------------


class DcsMigrationPreflightOperator(_DcsBaseOperator):
    """Check self-hosted Redis endpoints before a migration, with the ``redis`` client.

    Scope: only endpoints given by ``addrs`` (``host:port[,host:port...]``) that this worker can
    reach; a DCS endpoint (``id``) is skipped with a log line (check it in the console). Checks:

    * the source answers ``PING`` (its ``used_memory`` is summed over its nodes);
    * the target holds no key (``require_empty_target``);
    * the target's ``maxmemory``, when every node sets one, is at least the source's
      ``used_memory`` (``check_memory``).

    Every failed check is listed in one error. Passwords come from ``password_conn_id`` (an
    Airflow connection) and never reach a log or the XCom. Returns the figures:
    ``{"source_used_memory", "target_keys", "target_maxmemory", "skipped"}``. Needs the
    ``redis`` package on the worker.

    :param source_instance: ``{"addrs": ..., "password_conn_id": ...}`` or ``{"id": ...}``. Templated.
    :param target_instance: same shape. Templated.
    :param require_empty_target: fail when the target has keys (default).
    :param check_memory: compare the target's maxmemory with the source's used memory (default).
    :param socket_timeout: seconds for each Redis connection and command.
    """

    template_fields: Sequence[str] = ("source_instance", "target_instance")
    template_fields_renderers = {"source_instance": "json", "target_instance": "json"}

    def __init__(
        self,
        *,
        source_instance: Mapping[str, Any],
        target_instance: Mapping[str, Any],
        require_empty_target: bool = True,
        check_memory: bool = True,
        socket_timeout: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (("source_instance", source_instance), ("target_instance", target_instance)):
            if isinstance(value, Mapping) and value.get("password"):
                raise DcsValidationError(f"{name}.password", "give 'password_conn_id' instead of a password")
        self.source_instance = source_instance
        self.target_instance = target_instance
        self.require_empty_target = require_empty_target
        self.check_memory = check_memory
        self.socket_timeout = socket_timeout

    def _clients(self, name: str, instance: Any) -> list[Any] | None:
        if not isinstance(instance, Mapping):
            raise DcsValidationError(name, f"must be a mapping, got {type(instance).__name__}")
        if instance.get("id") and not instance.get("addrs"):
            self.log.info(
                "%s is DCS instance %s: pre-flight skipped (check it in the console)", name, instance["id"]
            )
            return None
        if not instance.get("addrs"):
            raise DcsValidationError(name, "needs 'addrs' (host:port) or 'id'")
        addrs = v.addrs(f"{name}.addrs", instance.get("addrs"))
        password = None
        if instance.get("password_conn_id"):
            password = BaseHook.get_connection(str(instance["password_conn_id"])).password or None
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the worker
            raise DcsError("the pre-flight checks need the 'redis' package on the worker") from exc
        clients = []
        for addr in (a.strip() for a in addrs.split(",") if a.strip()):
            host, _, port = addr.rpartition(":")
            clients.append(
                redis.Redis(
                    host=host.strip("[]"),
                    port=int(port),
                    password=password,
                    socket_timeout=self.socket_timeout,
                    socket_connect_timeout=self.socket_timeout,
                )
            )
        return clients

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the checks; raise one error listing every failure."""
        import redis

        figures: dict[str, Any] = {
            "source_used_memory": None,
            "target_keys": None,
            "target_maxmemory": None,
            "skipped": [],
        }
        problems: list[str] = []
        source = self._clients("source_instance", self.source_instance)
        target = self._clients("target_instance", self.target_instance)
        if source is None:
            figures["skipped"].append("source")
        else:
            try:
                figures["source_used_memory"] = sum(int(c.info("memory")["used_memory"]) for c in source)
            except redis.RedisError as exc:
                problems.append(f"the source {self.source_instance.get('addrs')} is not reachable: {exc}")
        if target is None:
            figures["skipped"].append("target")
        else:
            try:
                figures["target_keys"] = sum(
                    int(db.get("keys", 0)) for c in target for db in c.info("keyspace").values()
                )
                limits = [int(c.config_get("maxmemory").get("maxmemory", 0)) for c in target]
                figures["target_maxmemory"] = sum(limits) if limits and all(limits) else None
            except redis.RedisError as exc:
                problems.append(f"the target {self.target_instance.get('addrs')} is not reachable: {exc}")
        if self.require_empty_target and figures["target_keys"]:
            problems.append(
                f"the target holds {figures['target_keys']} key(s) ; a migration "
                "into a non-empty target mixes data: empty it or pick another target"
            )
        used, limit = figures["source_used_memory"], figures["target_maxmemory"]
        if self.check_memory and used is not None and limit is not None and limit < used:
            problems.append(
                f"the target's maxmemory ({limit} bytes) is below the source's used memory ({used} bytes)"
            )
        self.log.info("Pre-flight figures: %s", figures)
        if problems:
            raise DcsError(f"Pre-flight checks failed: {'; '.join(problems)}")
        return figures
