"""The migration VM in the instances' IP whitelists: admit its IP before a migration, remove it after.

The API replaces all whitelist groups of an instance at once, so both operators read, change and
write back the whole whitelist, keeping every other group, and write only where something changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.api.validation import WHITELIST_MAX_GROUPS, WHITELIST_MAX_IPS, id_list, safe_id
from huaweicloud_dcs_provider.compat import Context
from huaweicloud_dcs_provider.exceptions import DcsError, DcsValidationError
from huaweicloud_dcs_provider.operators.base import DcsBaseOperator, check_literal

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.api.models import MigrationTask

DEFAULT_WHITELIST_GROUP = "dcs-migration"


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


class DcsAdmitMigrationEcsToWhitelistOperator(DcsBaseOperator):
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
        check_literal("migration_task_id", migration_task_id, v.safe_id)
        check_literal("instance_ids", instance_ids, _instance_ids)
        check_literal("group_name", group_name, _group_name)
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


class DcsRemoveMigrationEcsFromWhitelistOperator(DcsBaseOperator):
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
            check_literal("migration_task_id", migration_task_id, v.safe_id)
        check_literal("admitted", admitted, _admitted)
        check_literal("instance_ids", instance_ids, _instance_ids)
        check_literal("group_name", group_name, _group_name)
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
