"""Checks on user input, run before any request is sent.

Every failure raises :class:`~huaweicloud_dcs_provider.exceptions.DcsValidationError` naming the
parameter and, where there is a fixed set, the allowed values.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum, StrEnum
from typing import Any

from huaweicloud_dcs_provider.exceptions import DcsValidationError


class MigrationMethod(StrEnum):
    """How data moves: one full copy, or a full copy followed by continuous incremental sync."""

    FULL = "full_amount_migration"
    INCREMENTAL = "incremental_migration"


class ResumeMode(StrEnum):
    """What the migration does after a network error: reconnect by itself (``auto``) or stop."""

    AUTO = "auto"
    MANUAL = "manual"


class LogLevel(StrEnum):
    """Levels of the migration log."""

    INFO = "INFO"
    ERROR = "ERROR"


BANDWIDTH_MIN_MB = 1
BANDWIDTH_MAX_MB = 10240
LIST_LIMIT_MAX = 1000
WHITELIST_MAX_GROUPS = 4
WHITELIST_MAX_IPS = 20
BATCH_MAX_TASKS = 50
INSTANCE_KEYS = ("id", "addrs", "password")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_HOST_RE = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9\-.]{0,252}[A-Za-z0-9])?)$")


def _allowed(enum: type[Enum]) -> str:
    return ", ".join(repr(m.value) for m in enum)


def enum_value(parameter: str, value: Any, enum: type[Enum]) -> str:
    """The wire value of an enum parameter given as a member or its string."""
    if isinstance(value, enum):
        return str(value.value)
    if isinstance(value, str):
        for member in enum:
            if value == member.value:
                return str(member.value)
    raise DcsValidationError(parameter, f"{value!r} is not a valid value", _allowed(enum))


def safe_id(parameter: str, value: Any) -> str:
    """An identifier that is safe as one URL path segment (letters, digits, ``-``, ``_``, ``.``)."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise DcsValidationError(
            parameter,
            f"{value!r} is not a valid ID",
            "1-128 characters: letters, digits, '-', '_', '.', starting with a letter or digit",
        )
    return value


def id_list(parameter: str, values: Any, *, max_items: int = BATCH_MAX_TASKS) -> list[str]:
    """A non-empty list of distinct safe IDs (a single string is not accepted as a list)."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise DcsValidationError(parameter, "must be a list of IDs")
    items = [safe_id(parameter, v) for v in values]
    if not items:
        raise DcsValidationError(parameter, "must not be empty")
    if len(items) > max_items:
        raise DcsValidationError(parameter, f"{len(items)} IDs given", f"at most {max_items}")
    return list(dict.fromkeys(items))


def text(parameter: str, value: Any, *, max_length: int = 255, required: bool = True) -> str | None:
    """A plain text parameter without control characters."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise DcsValidationError(parameter, "must be a non-empty string")
    if len(value) > max_length:
        raise DcsValidationError(parameter, f"is {len(value)} characters long", f"at most {max_length}")
    if any(ord(ch) < 32 for ch in value):
        raise DcsValidationError(parameter, "must not contain control characters")
    return value


def bandwidth(value: Any) -> str | None:
    """``bandwidth_limit_mb`` as the string the API expects, or ``None`` for no cap."""
    if value is None:
        return None
    parsed: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    elif isinstance(value, str) and value.strip().isdigit():
        parsed = int(value.strip())
    if parsed is None or not BANDWIDTH_MIN_MB <= parsed <= BANDWIDTH_MAX_MB:
        raise DcsValidationError(
            "bandwidth_limit_mb",
            f"{value!r} is not a whole number of MB/s in range",
            f"integers {BANDWIDTH_MIN_MB}..{BANDWIDTH_MAX_MB}",
        )
    return str(parsed)


def addrs(parameter: str, value: Any) -> str:
    """``host:port[,host:port...]`` as DCS expects for self-hosted Redis."""
    if not isinstance(value, str) or not value.strip():
        raise DcsValidationError(parameter, "must be a non-empty 'host:port[,host:port...]' string")
    for part in value.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not _HOST_RE.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
            raise DcsValidationError(
                parameter, f"{part.strip()!r} is not host:port", "'host:port[,host:port...]', port 1..65535"
            )
    return ",".join(p.strip() for p in value.split(","))


def instance(parameter: str, value: Any) -> dict[str, Any]:
    """A source or target instance: exactly one of ``id`` (DCS instance) or ``addrs`` (self-hosted)."""
    if not isinstance(value, Mapping):
        raise DcsValidationError(parameter, "must be a mapping", f"keys {', '.join(INSTANCE_KEYS)}")
    unknown = sorted(set(value) - set(INSTANCE_KEYS))
    if unknown:
        raise DcsValidationError(parameter, f"unknown key(s) {unknown}", f"keys {', '.join(INSTANCE_KEYS)}")
    has_id, has_addrs = value.get("id") is not None, value.get("addrs") is not None
    if has_id == has_addrs:
        raise DcsValidationError(
            parameter,
            "needs exactly one of 'id' (a DCS instance) or 'addrs' (self-hosted Redis)",
            "{'id': '<dcs instance id>'} or {'addrs': 'host:port[,host:port...]'}",
        )
    body: dict[str, Any] = {}
    if has_id:
        body["id"] = safe_id(f"{parameter}.id", value["id"])
    else:
        body["addrs"] = addrs(f"{parameter}.addrs", value["addrs"])
    password = value.get("password")
    if password is not None:
        if not isinstance(password, str):
            raise DcsValidationError(f"{parameter}.password", "must be a string")
        if password:
            body["password"] = password
    return body


def non_negative_int(parameter: str, value: Any, *, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer parameter within bounds."""
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        bounds = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise DcsValidationError(parameter, f"{value!r} is out of range", f"integers {bounds}")
    return value


def ip_list(parameter: str, values: Any, *, allow_networks: bool) -> list[str]:
    """A non-empty list of IP addresses (or CIDR ranges); ``0.0.0.0`` and ``0.0.0.0/0`` are refused."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise DcsValidationError(parameter, "must be a list of IP addresses")
    result: list[str] = []
    for raw in values:
        try:
            if allow_networks and "/" in str(raw):
                ipaddress.ip_network(str(raw), strict=False)
            else:
                ipaddress.ip_address(str(raw))
        except ValueError:
            kind = "IP addresses or CIDR ranges" if allow_networks else "IP addresses"
            raise DcsValidationError(parameter, f"{raw!r} is not valid", kind) from None
        if str(raw) in ("0.0.0.0", "0.0.0.0/0"):  # noqa: S104 - the value being refused
            raise DcsValidationError(parameter, f"{raw!r} would open the instance to everyone")
        result.append(str(raw))
    if not result:
        raise DcsValidationError(parameter, "must not be empty")
    return result


def whitelist_groups(groups: Any) -> list[dict[str, Any]]:
    """Whitelist groups ``[{'group_name': ..., 'ip_list': [...]}]`` within the service limits."""
    if isinstance(groups, Mapping) or not isinstance(groups, Sequence):
        raise DcsValidationError("whitelist", "must be a list of {'group_name', 'ip_list'} mappings")
    if len(groups) > WHITELIST_MAX_GROUPS:
        raise DcsValidationError("whitelist", f"{len(groups)} groups", f"at most {WHITELIST_MAX_GROUPS}")
    result: list[dict[str, Any]] = []
    total = 0
    for index, group in enumerate(groups):
        if not isinstance(group, Mapping) or set(group) != {"group_name", "ip_list"}:
            raise DcsValidationError(f"whitelist[{index}]", "must have exactly 'group_name' and 'ip_list'")
        name = text(f"whitelist[{index}].group_name", group["group_name"], max_length=64)
        ips = ip_list(f"whitelist[{index}].ip_list", group["ip_list"], allow_networks=True)
        total += len(ips)
        result.append({"group_name": name, "ip_list": ips})
    if total > WHITELIST_MAX_IPS:
        raise DcsValidationError("whitelist", f"{total} IPs/ranges in all", f"at most {WHITELIST_MAX_IPS}")
    return result


def boolean(parameter: str, value: Any) -> bool:
    """A real boolean (strings like 'false' are refused: they are truthy)."""
    if not isinstance(value, bool):
        raise DcsValidationError(parameter, f"{value!r} is not a boolean", "True, False")
    return value
