"""The API's error answers: HTTP status, ``DCS.xxxx`` code and message (``dcs-api.md`` section 1.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huaweicloud_dcs_emulator.store.records import Task

TASK_NOT_FOUND = "DCS.4133"
MALFORMED_TASK_ID = "DCS.4070"
INVALID_STATE = "DCS.4957"
#: "DCS instance does not exist" (HTTP 404; ``dcs-api.md`` section 1.4).
INSTANCE_NOT_FOUND = "DCS.3022"
#: Emulator's generic "invalid parameter" code (the public error table has no generic one).
INVALID_PARAMETER = "DCS.4000"
EMPTY_BODY = "DCS.4004"
INVALID_JSON = "DCS.4005"
INVALID_VPC = "DCS.4013"
INVALID_SECURITY_GROUP = "DCS.4014"
INVALID_SUBNET = "DCS.4016"
#: Emulator-chosen code for an unknown job id (HTTP 404).
JOB_NOT_FOUND = "DCS.4044"


class EmulatorError(Exception):
    """An API error answer: HTTP status, ``DCS.xxxx`` code and message."""

    def __init__(self, status: int, error_code: str, error_msg: str) -> None:
        super().__init__(f"{status} {error_code}: {error_msg}")
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg

    def body(self) -> dict[str, Any]:
        """The JSON error body of the v2 APIs."""
        return {"error_code": self.error_code, "error_msg": self.error_msg, "error_ext_msg": None}


def invalid(message: str, code: str = INVALID_PARAMETER) -> EmulatorError:
    """HTTP 400 for a bad parameter."""
    return EmulatorError(400, code, message)


def task_not_found(task_id: str) -> EmulatorError:
    """HTTP 400 DCS.4133, as the real API answers for unknown or deleted tasks."""
    return EmulatorError(400, TASK_NOT_FOUND, f"The migration task does not exist: {task_id}")


def instance_not_found(instance_id: str, where: str = "") -> EmulatorError:
    """HTTP 404 DCS.3022: no DCS instance with that id (in this emulator's registry)."""
    place = f" ({where})" if where else ""
    return EmulatorError(404, INSTANCE_NOT_FOUND, f"The DCS instance does not exist: {instance_id}{place}.")


def wrong_state(task: Task, action: str, allowed: str) -> EmulatorError:
    """HTTP 400 DCS.4957: the operation is not allowed in the task's current status."""
    return EmulatorError(
        400,
        INVALID_STATE,
        f"Cannot {action} migration task {task.task_id} in status {task.status} (allowed: {allowed}).",
    )
