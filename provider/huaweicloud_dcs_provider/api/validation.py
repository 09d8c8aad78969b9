"""Checks on user input, run before any request is sent.

Every failure raises :class:`~huaweicloud_dcs_provider.exceptions.DcsValidationError` naming the
parameter and, where there is a fixed set, the allowed values.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from enum import Enum, StrEnum
from typing import Any

from huaweicloud_dcs_provider.api.statuses import normalize_targets
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
IP_LIST_MAX = 100
ADDRS_MAX_LENGTH = 4096
INSTANCE_KEYS = ("id", "addrs", "password")
#: Longest ``repr`` of a refused value quoted in a message (an oversized value is cut short).
SHOWN_MAX = 80

# ``fullmatch`` everywhere: ``$`` would also match before a trailing newline.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_HOST_RE = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9\-.]{0,252}[A-Za-z0-9])?")
_PORT_RE = re.compile(r"[0-9]{1,5}")
_MB_RE = re.compile(r"[0-9]{1,6}")


def shown(value: Any) -> str:
    """``repr`` of a refused value for a message: short, and never failing."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__
        text = f"<{type(value).__name__}>"
    if len(text) > SHOWN_MAX:
        text = f"{text[:SHOWN_MAX]}... ({len(text)} characters)"
    return text


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
    raise DcsValidationError(parameter, f"{shown(value)} is not a valid value", _allowed(enum))


def safe_id(parameter: str, value: Any) -> str:
    """An identifier that is safe as one URL path segment (letters, digits, ``-``, ``_``, ``.``)."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise DcsValidationError(
            parameter,
            f"{shown(value)} is not a valid ID",
            "1-128 characters: letters, digits, '-', '_', '.', starting with a letter or digit",
        )
    return value


def id_list(parameter: str, values: Any, *, max_items: int = BATCH_MAX_TASKS) -> list[str]:
    """A non-empty list of distinct safe IDs (a single string is not accepted as a list)."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise DcsValidationError(parameter, f"must be a list of IDs, got {type(values).__name__}")
    items: list[str] = []
    for value in values:
        if len(items) >= max_items:
            raise DcsValidationError(parameter, f"more than {max_items} IDs given", f"at most {max_items}")
        items.append(safe_id(parameter, value))
    if not items:
        raise DcsValidationError(parameter, "must not be empty")
    return list(dict.fromkeys(items))


def text(parameter: str, value: Any, *, max_length: int = 255, required: bool = True) -> str | None:
    """A plain text parameter without control characters."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise DcsValidationError(parameter, f"must be a non-empty string, got {shown(value)}")
    if len(value) > max_length:
        raise DcsValidationError(parameter, f"is {len(value)} characters long", f"at most {max_length}")
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or ch in "\u2028\u2029" for ch in value):
        raise DcsValidationError(parameter, "must not contain control characters")
    return value


def bandwidth(value: Any) -> str | None:
    """``bandwidth_limit_mb`` as the string the API expects, or ``None`` for no cap."""
    if value is None:
        return None
    parsed: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    elif isinstance(value, str) and _MB_RE.fullmatch(value.strip()):
        parsed = int(value.strip())
    if parsed is None or not BANDWIDTH_MIN_MB <= parsed <= BANDWIDTH_MAX_MB:
        raise DcsValidationError(
            "bandwidth_limit_mb",
            f"{shown(value)} is not a whole number of MB/s in range",
            f"integers {BANDWIDTH_MIN_MB}..{BANDWIDTH_MAX_MB}",
        )
    return str(parsed)


def addrs(parameter: str, value: Any) -> str:
    """``host:port[,host:port...]`` as DCS expects for self-hosted Redis."""
    expected = "'host:port[,host:port...]', port 1..65535"
    if not isinstance(value, str) or not value.strip():
        raise DcsValidationError(parameter, f"must be a non-empty string, got {shown(value)}", expected)
    if len(value) > ADDRS_MAX_LENGTH:
        raise DcsValidationError(
            parameter,
            f"is {len(value)} characters long",
            f"{expected}, at most {ADDRS_MAX_LENGTH} characters",
        )
    for part in value.split(","):
        host, sep, port = part.strip().rpartition(":")
        if (
            not sep
            or not _HOST_RE.fullmatch(host)
            or not _PORT_RE.fullmatch(port)
            or not 0 < int(port) < 65536
        ):
            raise DcsValidationError(parameter, f"{shown(part.strip())} is not host:port", expected)
    return ",".join(p.strip() for p in value.split(","))


def instance(parameter: str, value: Any) -> dict[str, Any]:
    """A source or target instance: exactly one of ``id`` (DCS instance) or ``addrs`` (self-hosted)."""
    if not isinstance(value, Mapping):
        raise DcsValidationError(
            parameter, f"must be a mapping, got {type(value).__name__}", f"keys {', '.join(INSTANCE_KEYS)}"
        )
    unknown = sorted(
        shown(key) if not isinstance(key, str) else key for key in value if key not in INSTANCE_KEYS
    )
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
        raise DcsValidationError(parameter, f"{shown(value)} is out of range", f"integers {bounds}")
    return value


def ip_list(parameter: str, values: Any, *, allow_networks: bool, max_items: int = IP_LIST_MAX) -> list[str]:
    """A non-empty list of IP addresses (or CIDR ranges); unspecified addresses (``0.0.0.0``,
    ``::``) and ranges covering everything (``0.0.0.0/0``, ``::/0``) are refused."""
    kind = "IP addresses or CIDR ranges" if allow_networks else "IP addresses"
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise DcsValidationError(parameter, f"must be a list of {kind}, got {type(values).__name__}")
    result: list[str] = []
    for raw in values:
        if len(result) >= max_items:
            raise DcsValidationError(parameter, f"more than {max_items} entries", f"at most {max_items}")
        text = str(raw) if isinstance(raw, str | ipaddress.IPv4Address | ipaddress.IPv6Address) else None
        if text is None and allow_networks and isinstance(raw, ipaddress.IPv4Network | ipaddress.IPv6Network):
            text = str(raw)
        try:
            if text is None:
                raise ValueError(text)
            if allow_networks and "/" in text:
                network = ipaddress.ip_network(text, strict=False)
                everyone = network.prefixlen == 0 or network.network_address.is_unspecified
            else:
                everyone = ipaddress.ip_address(text).is_unspecified
        except ValueError:
            raise DcsValidationError(parameter, f"{shown(raw)} is not valid", kind) from None
        if everyone:
            raise DcsValidationError(parameter, f"{shown(raw)} would open the instance to everyone")
        result.append(text)
    if not result:
        raise DcsValidationError(parameter, "must not be empty")
    return result


def whitelist_groups(groups: Any) -> list[dict[str, Any]]:
    """Whitelist groups ``[{'group_name': ..., 'ip_list': [...]}]`` within the service limits."""
    if isinstance(groups, Mapping | str | bytes) or not isinstance(groups, Sequence):
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
        raise DcsValidationError(parameter, f"{shown(value)} is not a boolean", "True, False")
    return value


_JINJA_MARKERS = ("{{", "{%", "{#")


def is_literal(value: Any) -> bool:
    """True when Airflow's template rendering leaves ``value`` as it is.

    A templated operator field can be checked when the DAG is parsed if it holds no Jinja and no
    ``XComArg``; otherwise it is checked once rendered, at the start of ``execute``.
    """
    if value is None or isinstance(value, bool | int | float | Enum):
        return True
    if isinstance(value, str):
        return not any(marker in value for marker in _JINJA_MARKERS)
    if isinstance(value, list | tuple | set | frozenset):
        return all(is_literal(item) for item in value)
    if isinstance(value, dict):
        return all(is_literal(item) for item in value.values())
    return False


def statuses_to_wait_for(parameter: str, value: Any) -> frozenset[str]:
    """Statuses a caller waits for, normalised; unknown ones refused naming ``parameter``."""
    if isinstance(value, str):
        value = (value,)
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise DcsValidationError(parameter, f"must be a list of statuses, got {type(value).__name__}")
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise DcsValidationError(parameter, f"{shown(items)}: every status must be a string")
    try:
        return normalize_targets(items)
    except ValueError as exc:
        raise DcsValidationError(parameter, str(exc)) from None


def seconds(parameter: str, value: Any) -> float:
    """A positive, finite number of seconds from a number or a ``timedelta``."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DcsValidationError(
            parameter, f"{parameter} must be a positive number of seconds or a timedelta, got {shown(value)}"
        )
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not 0 < number < math.inf:
        raise DcsValidationError(
            parameter, f"{parameter} must be a positive number of seconds or a timedelta, got {shown(value)}"
        )
    return number


def optional_seconds(parameter: str, value: Any) -> float | None:
    """Like :func:`seconds`, with ``None`` meaning "no limit"."""
    return None if value is None else seconds(parameter, value)


def epoch_seconds(parameter: str, value: Any) -> float:
    """An absolute time (Unix epoch seconds, > 0 and finite), e.g. a wait deadline."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise DcsValidationError(parameter, f"{shown(value)} is not a time", "Unix epoch seconds > 0")
    return float(value)


def lag_settings(
    *,
    max_offset: Any,
    consecutive_samples: Any,
    key_count_tolerance: Any,
    max_key_drift: Any,
) -> None:
    """The settings of a lag wait (sensor and trigger alike); ``max_offset``/``max_key_drift`` may be
    ``None`` (no lag wait / no drift check)."""
    for name, value, minimum in (
        ("max_offset", max_offset, 0),
        ("consecutive_samples", consecutive_samples, 1),
        ("key_count_tolerance", key_count_tolerance, 0),
        ("max_key_drift", max_key_drift, 0),
    ):
        if value is None and name in ("max_offset", "max_key_drift"):
            continue
        non_negative_int(name, value, minimum=minimum)
