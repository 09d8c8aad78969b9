"""The IP switch of an incremental migration (#14 exchange-ip, #15 rollback-ip) and its preconditions.

From the user guide (``dcs-migration-practice.md`` 3c): the switch is allowed only while the task is
in its incremental phase, between two DCS instances (not self-hosted Redis) that use the same port.
The emulator refuses anything else with HTTP 400 ``DCS.4957``, and an instance that no longer
exists with HTTP 404 ``DCS.3022``. ``task_status`` goes EXCHANGING -> EXCHANGE_SUCCESS (or
ROLLBACK_SUCCESS) after ``exchange_seconds``.
"""

from __future__ import annotations

from typing import Any

from huaweicloud_dcs_emulator import statuses
from huaweicloud_dcs_emulator.store.config import EmulatorConfig
from huaweicloud_dcs_emulator.store.errors import INVALID_STATE, EmulatorError, invalid, wrong_state
from huaweicloud_dcs_emulator.store.instances import InstanceRegistry
from huaweicloud_dcs_emulator.store.records import Task
from huaweicloud_dcs_emulator.store.validation import require_object


def _refuse(task: Task, message: str) -> EmulatorError:
    return EmulatorError(
        400, INVALID_STATE, f"Cannot switch the IPs of migration task {task.task_id}: {message}"
    )


def check_switchable(task: Task, instances: InstanceRegistry, action: str) -> None:
    """The preconditions of an IP switch (or of its rollback)."""
    if task.status != statuses.INCRMIGEATING:
        raise wrong_state(task, action, statuses.INCRMIGEATING)
    ports = []
    for side in (task.source, task.target):
        if side is None:
            raise _refuse(task, "it is not configured.")
        if side.instance_id is None:
            raise _refuse(
                task, f"the {side.role} is self-hosted Redis {side.addrs}; both sides must be DCS instances."
            )
        ports.append(instances.require(side.instance_id, f"{side.role} of the migration").port)
    if ports[0] != ports[1]:
        raise _refuse(
            task, f"the source uses port {ports[0]} and the target port {ports[1]}; they must match."
        )


def exchange(task: Task, now: float, body: Any, config: EmulatorConfig, instances: InstanceRegistry) -> None:
    """#14: start switching the IPs."""
    data = require_object(body)
    ips = data.get("exchanged_ip")
    if not isinstance(ips, list) or not ips or not all(isinstance(ip, str) and ip for ip in ips):
        raise invalid("Invalid exchanged_ip in the request: a non-empty list of IP addresses is required.")
    if not isinstance(data.get("is_exchange_domain"), bool):
        raise invalid("Invalid is_exchange_domain in the request: a boolean is required.")
    check_switchable(task, instances, "switch the IPs of")
    if task.task_status in (statuses.EXCHANGING, statuses.EXCHANGE_SUCCESS):
        raise EmulatorError(
            400,
            INVALID_STATE,
            f"The IPs of migration task {task.task_id} are already switched ({task.task_status}).",
        )
    _begin(task, now, config, statuses.EXCHANGE_SUCCESS, f"Switching IPs {', '.join(ips)}")


def rollback(task: Task, now: float, config: EmulatorConfig, instances: InstanceRegistry) -> None:
    """#15: start rolling back a finished switch."""
    check_switchable(task, instances, "roll back the IP switch of")
    if task.task_status != statuses.EXCHANGE_SUCCESS:
        raise EmulatorError(
            400,
            INVALID_STATE,
            f"Nothing to roll back for migration task {task.task_id}: task_status is {task.task_status}.",
        )
    _begin(task, now, config, statuses.ROLLBACK_SUCCESS, "Rolling back the IP switch")


def _begin(task: Task, now: float, config: EmulatorConfig, final: str, message: str) -> None:
    task.task_status = statuses.EXCHANGING
    task.task_status_final = final
    task.task_status_until = now + config.seconds("exchange_seconds")
    task.updated_at = now
    task.log(now, "INFO", "migration.ip_switch", message, ("ip",))
