"""Checks of the request bodies and query values, with the error answers the API gives.

Each check returns the clean value or raises :class:`~.errors.EmulatorError` (HTTP 400 with a
``DCS.xxxx`` code).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from huaweicloud_dcs_emulator.engines.protocol import RedisEndpoint
from huaweicloud_dcs_emulator.store.errors import (
    EMPTY_BODY,
    INVALID_JSON,
    INVALID_PARAMETER,
    MALFORMED_TASK_ID,
    invalid,
)
from huaweicloud_dcs_emulator.store.records import Whitelist

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def check_task_id(task_id: str) -> None:
    """HTTP 400 DCS.4070 unless ``task_id`` looks like a task id (a UUID)."""
    if not _UUID_RE.match(task_id):
        raise invalid(f"Invalid migration task ID: {task_id!r}.", MALFORMED_TASK_ID)


def require_object(body: Any, what: str = "request body") -> dict[str, Any]:
    if body is None:
        raise invalid("Empty request body.", EMPTY_BODY)
    if not isinstance(body, dict):
        raise invalid(f"The {what} must be a JSON object.", INVALID_JSON)
    return body


def require_str(
    body: Mapping[str, Any], key: str, *, code: str = INVALID_PARAMETER, max_len: int = 255, where: str = ""
) -> str:
    value = body.get(key)
    name = f"{where}{key}"
    if value is None or value == "":
        raise invalid(f"Invalid {name} in the request: {name} is required.", code)
    if not isinstance(value, str):
        raise invalid(f"Invalid {name} in the request: must be a string.", code)
    if len(value) > max_len:
        raise invalid(f"Invalid {name} in the request: at most {max_len} characters.", code)
    return value


def optional_str(body: Mapping[str, Any], key: str, *, max_len: int = 1024, where: str = "") -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid {where}{key} in the request: must be a string.")
    if len(value) > max_len:
        raise invalid(f"Invalid {where}{key} in the request: at most {max_len} characters.")
    return value


def require_choice(body: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = body.get(key)
    if value not in choices:
        raise invalid(f"Invalid {key} in the request: {value!r} (allowed: {', '.join(choices)}).")
    assert isinstance(value, str)
    return value


def parse_bandwidth(value: Any) -> int | None:
    """``bandwidth_limit_mb``: string or integer 1..10240, or absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid("Invalid bandwidth_limit_mb in the request: must be an integer from 1 to 10240.")
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise invalid(f"Invalid bandwidth_limit_mb in the request: {value!r} is not an integer (1 to 10240).")
    if not 1 <= number <= 10240:
        raise invalid(f"Invalid bandwidth_limit_mb in the request: {number} is outside 1 to 10240.")
    return number


def _parse_addrs(addrs: str, where: str) -> None:
    for part in addrs.split(","):
        part = part.strip()
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise invalid(f"Invalid {where}.addrs in the request: {part!r} is not ip:port.")


def parse_endpoint(body: Mapping[str, Any], key: str) -> RedisEndpoint:
    """``source_instance``/``target_instance``: exactly one of ``id``/``addrs``, optional password."""
    side = body.get(key)
    if not isinstance(side, dict):
        raise invalid(f"Invalid {key} in the request: an object with id or addrs is required.")
    instance_id = side.get("id") or None
    addrs = side.get("addrs") or None
    password = side.get("password") or None
    if (instance_id is None) == (addrs is None):
        raise invalid(
            f"Invalid {key} in the request: give exactly one of id (DCS instance) or addrs (ip:port)."
        )
    if instance_id is not None and not isinstance(instance_id, str):
        raise invalid(f"Invalid {key}.id in the request: must be a string.")
    if addrs is not None:
        if not isinstance(addrs, str):
            raise invalid(f"Invalid {key}.addrs in the request: must be a string.")
        _parse_addrs(addrs, key)
    if password is not None and not isinstance(password, str):
        raise invalid(f"Invalid {key}.password in the request: must be a string.")
    role = "source" if key.startswith("source") else "target"
    return RedisEndpoint(role=role, instance_id=instance_id, addrs=addrs, password=password)


def parse_int_param(value: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise invalid(f"Invalid {name}: {value!r} is not an integer.") from None
    if number < low or (high is not None and number > high):
        upper = f" to {high}" if high is not None else " or more"
        raise invalid(f"Invalid {name}: {number} (allowed: {low}{upper}).")
    return number


def parse_backup_files(data: Mapping[str, Any]) -> dict[str, Any]:
    """``backup_files`` of a backup import (#1), as the detail shows it again."""
    files = data.get("backup_files")
    if not isinstance(files, dict):
        raise invalid("Invalid backup_files in the request: an object is required for backupfile_import.")
    source_kind = require_choice(files, "file_source", ("self_build_obs", "backup_record"))
    backup_view: dict[str, Any] = {"file_source": source_kind}
    if source_kind == "self_build_obs":
        bucket = require_str(files, "bucket_name", where="backup_files.")
        file_list = files.get("files")
        if not isinstance(file_list, list) or not file_list:
            raise invalid("Invalid backup_files.files in the request: a non-empty list is required.")
        for item in file_list:
            if not isinstance(item, dict):
                raise invalid("Invalid backup_files.files in the request: objects with file_name expected.")
            require_str(item, "file_name", where="backup_files.files[].")
        backup_view.update(bucket_name=bucket, files=file_list)
    else:
        backup_id = require_str(files, "backup_id", where="backup_files.")
        backup_view.update(backup_record={"backup_id": backup_id})
    return backup_view


def validate_whitelist(body: Any) -> Whitelist:
    """Body of PUT whitelist: max 4 groups, 20 IPs in total, no 0.0.0.0."""
    data = require_object(body)
    enable = data.get("enable_whitelist")
    if not isinstance(enable, bool):
        raise invalid("Invalid enable_whitelist in the request: a boolean is required.")
    groups = data.get("whitelist")
    if groups is None:
        groups = []
    if not isinstance(groups, list):
        raise invalid("Invalid whitelist in the request: a list of groups is required.")
    if len(groups) > 4:
        raise invalid(f"Too many whitelist groups: {len(groups)} (at most 4).")
    names: set[str] = set()
    total = 0
    clean: list[dict[str, Any]] = []
    for group in groups:
        if not isinstance(group, dict):
            raise invalid("Invalid whitelist group: an object with group_name and ip_list is required.")
        name = require_str(group, "group_name", max_len=64, where="whitelist.")
        if name in names:
            raise invalid(f"Duplicate whitelist group name: {name}.")
        names.add(name)
        ips = group.get("ip_list")
        if not isinstance(ips, list) or not ips or not all(isinstance(ip, str) for ip in ips):
            raise invalid(f"Invalid ip_list of group {name}: a non-empty list of IP addresses is required.")
        for ip in ips:
            try:
                network = ipaddress.IPv4Network(ip.strip(), strict=False)
            except ValueError:
                raise invalid(f"Invalid IP address or range in group {name}: {ip!r}.") from None
            if network.network_address == ipaddress.IPv4Address("0.0.0.0"):
                raise invalid(f"IP address {ip!r} is not allowed in a whitelist (0.0.0.0 admits everyone).")
        total += len(ips)
        clean.append({"group_name": name, "ip_list": [ip.strip() for ip in ips]})
    if total > 20:
        raise invalid(f"Too many whitelist IP addresses: {total} (at most 20 per instance).")
    return Whitelist(enable_whitelist=enable, groups=clean)
