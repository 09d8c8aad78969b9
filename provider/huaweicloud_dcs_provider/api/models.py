"""Typed views of DCS API responses.

Parsing is lenient the way the service requires: unknown fields are ignored (kept only in the
redacted ``raw``), numbers may arrive as strings, optional fields may be missing or ``null``, and a
field of the wrong type (a list where text is expected, a number out of range) reads as missing:
parsing never raises, whatever the body holds.
Every model keeps passwords out: ``raw`` is redacted and instances carry only ``addrs``/``id``.
``to_dict()`` gives plain JSON-serialisable data (safe for XCom and trigger events).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from huaweicloud_dcs_provider.api.redaction import redact
from huaweicloud_dcs_provider.api.statuses import classify, normalize

#: At most this many ERROR log lines are quoted in a failure message.
MAX_ERROR_LOG_LINES = 3
#: Longest error text quoted in a failure message.
MAX_ERROR_TEXT = 1000


def to_int(value: Any) -> int | None:
    """An integer from a number or a numeric string; ``None`` when absent or unreadable."""
    if value is None:  # the most common case first: an absent figure
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        value = value.strip()
        if len(value) > 64:
            return None
    elif not isinstance(value, float):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def to_float(value: Any) -> float | None:
    """A float from a number or a numeric string (``'45%'`` is read as 45)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().rstrip("%")
        if len(value) > 64:
            return None
    elif not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def to_bool(value: Any) -> bool | None:
    """A boolean from ``true``/``false`` in any JSON form."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, int):
        return bool(value)
    return None


def _str(value: Any) -> str | None:
    """Text from a string or a number; ``None`` for anything else (``null``, a list, an object)."""
    if value is None:  # the most common cases first: each field of every answer comes here
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an integer too long to print
            return None
    return None


def _obj(data: Any) -> dict[str, Any]:
    return data if isinstance(data, dict) else {}


class _Model:
    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-serialisable data without secrets."""
        return asdict(self)  # type: ignore[call-overload,no-any-return]


@dataclass(frozen=True)
class MigrationInstance(_Model):
    """One side of a migration as the API describes it (never its password)."""

    id: str | None = None
    name: str | None = None
    addrs: str | None = None
    ip: str | None = None
    port: int | None = None
    status: str | None = None
    has_password: bool = False

    @classmethod
    def from_api(cls, data: Any) -> MigrationInstance | None:
        """Parse a ``source_instance``/``target_instance`` object."""
        if not isinstance(data, dict):
            return None
        return cls(
            id=_str(data.get("id")) or None,
            name=_str(data.get("name")) or None,
            addrs=_str(data.get("addrs")) or None,
            ip=_str(data.get("ip")) or None,
            port=to_int(data.get("port")),
            status=_str(data.get("task_status") or data.get("status")) or None,
            has_password=bool(data.get("password")),
        )

    def same_endpoint(self, requested: dict[str, Any]) -> bool:
        """True when this side is the instance a configure request names (by id or addrs)."""
        if requested.get("id"):
            return self.id == str(requested["id"])
        if requested.get("addrs"):
            mine = {a.strip() for a in (self.addrs or "").split(",") if a.strip()}
            if not mine and self.ip and self.port:
                mine = {f"{self.ip}:{self.port}"}
            return mine == {a.strip() for a in str(requested["addrs"]).split(",")}
        return False


@dataclass(frozen=True)
class MigrationTask(_Model):
    """A migration task (detail, list item, configure or stop response)."""

    task_id: str
    name: str | None
    status: str
    status_class: str
    migration_type: str | None = None
    migration_method: str | None = None
    resume_mode: str | None = None
    bandwidth_limit_mb: int | None = None
    error: str | None = None
    ecs_tenant_private_ip: str | None = None
    task_status: str | None = None
    description: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    released_at: str | None = None
    source_instance: MigrationInstance | None = None
    target_instance: MigrationInstance | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any, *, task_id: str | None = None) -> MigrationTask:
        """Parse any of the task-shaped responses; ``task_id`` fills in when the body lacks it."""
        data = _obj(data)
        status = normalize(_str(data.get("status")))
        source = MigrationInstance.from_api(data.get("source_instance"))
        target = MigrationInstance.from_api(data.get("target_instance"))
        if source is None and (data.get("data_source") or data.get("source_instance_id")):
            source = MigrationInstance(
                id=_str(data.get("source_instance_id")) or None,
                name=_str(data.get("source_instance_name")) or None,
                addrs=_str(data.get("data_source")) or None,
                status=_str(data.get("source_instance_status")) or None,
            )
        if target is None and (data.get("target_instance_addrs") or data.get("target_instance_id")):
            target = MigrationInstance(
                id=_str(data.get("target_instance_id")) or None,
                name=_str(data.get("target_instance_name")) or None,
                addrs=_str(data.get("target_instance_addrs")) or None,
                status=_str(data.get("target_instance_status")) or None,
            )
        return cls(
            task_id=_str(data.get("task_id") or data.get("id") or task_id) or "",
            name=_str(data.get("task_name") or data.get("name")),
            status=status,
            status_class=classify(status).value,
            migration_type=_str(data.get("migration_type")),
            migration_method=_str(data.get("migration_method")),
            resume_mode=_str(data.get("resume_mode")),
            bandwidth_limit_mb=to_int(data.get("bandwidth_limit_mb")),
            error=_str(data.get("error") or data.get("error_message")) or None,
            ecs_tenant_private_ip=_str(data.get("ecs_tenant_private_ip")) or None,
            task_status=_str(data.get("task_status")) or None,
            description=_str(data.get("description")) or None,
            created_at=_str(data.get("created_at")) or None,
            updated_at=_str(data.get("updated_at")) or None,
            released_at=_str(data.get("released_at")) or None,
            source_instance=source,
            target_instance=target,
            raw=redact(data),
        )

    def summary(self) -> dict[str, Any]:
        """The small, secret-free dict operators return as XCom."""
        return {
            "id": self.task_id,
            "name": self.name,
            "status": self.status,
            "migration_method": self.migration_method,
            "ecs_tenant_private_ip": self.ecs_tenant_private_ip,
            "error": self.error,
        }


@dataclass(frozen=True)
class MigrationStats(_Model):
    """Progress of an online migration (``/stats``); every figure may be missing."""

    full_migration_progress: float | None = None
    offset: int | None = None
    source_dbsize: int | None = None
    target_dbsize: int | None = None
    target_input_kbps: float | None = None
    target_ops: float | None = None
    is_migrating: bool | None = None

    @classmethod
    def from_api(cls, data: Any) -> MigrationStats:
        """Parse the stats response (numbers or numeric strings)."""
        data = _obj(data)
        return cls(
            full_migration_progress=to_float(data.get("full_migration_progress")),
            offset=to_int(data.get("offset")),
            source_dbsize=to_int(data.get("source_dbsize")),
            target_dbsize=to_int(data.get("target_dbsize")),
            target_input_kbps=to_float(data.get("target_input_kbps")),
            target_ops=to_float(data.get("target_ops")),
            is_migrating=to_bool(data.get("is_migrating")),
        )

    @property
    def full_copy_done(self) -> bool:
        """True when the figures show the full copy complete (``full_migration_progress`` 100)."""
        return self.full_migration_progress is not None and self.full_migration_progress >= 100

    def describe(self) -> str:
        """One human line: ``full sync 45%, keys 4500/10000 (source/target), offset 12``."""
        parts: list[str] = []
        if self.full_migration_progress is not None:
            parts.append(f"full sync {self.full_migration_progress:g}%")
        if self.source_dbsize is not None or self.target_dbsize is not None:
            parts.append(f"keys {self.source_dbsize}/{self.target_dbsize} (source/target)")
        if self.offset is not None:
            parts.append(f"incremental offset {self.offset}")
        return ", ".join(parts) or "no figures yet"


@dataclass(frozen=True)
class MigrationLog(_Model):
    """One migration log entry."""

    created_at: str | None
    log_level: str | None
    message: str | None
    log_code: str | None = None
    keyword: list[str] = field(default_factory=list)

    @classmethod
    def from_api(cls, data: Any) -> MigrationLog:
        """Parse one entry of ``migration_logs``."""
        data = _obj(data)
        keyword = data.get("keyword")
        return cls(
            created_at=_str(data.get("created_at")),
            log_level=_str(data.get("log_level")),
            message=_str(data.get("message")),
            log_code=_str(data.get("log_code")),
            keyword=[k for k in map(_str, keyword) if k is not None] if isinstance(keyword, list) else [],
        )


@dataclass(frozen=True)
class Job(_Model):
    """An asynchronous DCS job (e.g. the one provisioning a migration task)."""

    job_id: str
    status: str | None
    job_type: str | None = None
    begin_time: str | None = None
    end_time: str | None = None
    fail_reason: str | None = None

    @classmethod
    def from_api(cls, data: Any, *, job_id: str) -> Job:
        """Parse ``GET /jobs/{job_id}``."""
        data = _obj(data)
        return cls(
            job_id=_str(data.get("job_id")) or job_id,
            status=(_str(data.get("status")) or "").upper() or None,
            job_type=_str(data.get("job_type")),
            begin_time=_str(data.get("begin_time")),
            end_time=_str(data.get("end_time")),
            fail_reason=_str(data.get("fail_reason")) or None,
        )


@dataclass(frozen=True)
class BatchResult(_Model):
    """Outcome of one task in a batch stop/restart (acceptance only, not completion)."""

    task_id: str
    result: str | None
    error_code: str | None = None
    error_msg: str | None = None

    @property
    def accepted(self) -> bool:
        """True when the service accepted the request for this task."""
        return (self.result or "").lower() == "success"

    @classmethod
    def from_api(cls, data: Any) -> BatchResult:
        """Parse one entry of ``migration_tasks``."""
        data = _obj(data)
        return cls(
            task_id=_str(data.get("task_id")) or "",
            result=_str(data.get("result")),
            error_code=_str(data.get("error_code")) or None,
            error_msg=_str(data.get("error_msg")) or None,
        )


@dataclass(frozen=True)
class Whitelist(_Model):
    """IP whitelist of a DCS instance."""

    instance_id: str
    enable_whitelist: bool
    whitelist: list[dict[str, Any]]

    @classmethod
    def from_api(cls, data: Any, *, instance_id: str) -> Whitelist:
        """Parse ``GET /instance/{id}/whitelist``."""
        data = _obj(data)
        groups = data.get("whitelist")
        return cls(
            instance_id=_str(data.get("instance_id")) or instance_id,
            enable_whitelist=bool(to_bool(data.get("enable_whitelist"))),
            whitelist=[
                {"group_name": _str(g.get("group_name")), "ip_list": _str_list(g.get("ip_list"))}
                for g in (groups if isinstance(groups, list) else [])
                if isinstance(g, dict)
            ],
        )


@dataclass(frozen=True)
class DcsInstance(_Model):
    """A DCS instance as ``GET /instances/{id}`` shows it: where it answers and what it is.

    ``ip`` holds several addresses, comma-separated, for a cluster instance. ``cache_mode`` is
    ``single``, ``ha``, ``cluster``, ``proxy`` (Proxy Cluster) or ``ha_rw_split``.
    """

    instance_id: str
    name: str | None = None
    status: str | None = None
    engine_version: str | None = None
    cache_mode: str | None = None
    ip: str | None = None
    port: int | None = None
    domain_name: str | None = None
    max_memory_mb: int | None = None
    used_memory_mb: int | None = None
    no_password_access: bool | None = None
    #: ``generic`` (basic edition) or ``enterprise`` (professional), where the record says.
    product_type: str | None = None

    @property
    def addrs(self) -> str | None:
        """``ip:port[,ip:port...]`` (the domain name when no IP is shown), or ``None``."""
        hosts = [h.strip() for h in (self.ip or "").split(",") if h.strip()] or (
            [self.domain_name] if self.domain_name else []
        )
        if not hosts or not self.port:
            return None
        return ",".join(f"[{h}]:{self.port}" if ":" in h else f"{h}:{self.port}" for h in hosts)

    @classmethod
    def from_api(cls, data: Any, *, instance_id: str) -> DcsInstance:
        """Parse ``GET /instances/{instance_id}``."""
        data = _obj(data)
        return cls(
            instance_id=_str(data.get("instance_id")) or instance_id,
            name=_str(data.get("name")),
            status=_str(data.get("status")),
            engine_version=_str(data.get("engine_version")),
            cache_mode=(_str(data.get("cache_mode")) or "").lower() or None,
            ip=_str(data.get("ip")) or None,
            port=to_int(data.get("port")),
            domain_name=_str(data.get("domain_name")) or None,
            max_memory_mb=to_int(data.get("max_memory")),
            used_memory_mb=to_int(data.get("used_memory")),
            no_password_access=to_bool(data.get("no_password_access")),
            product_type=_str(data.get("product_type")) or None,
        )


def _str_list(value: Any) -> list[str]:
    """The text items of a list (``[]`` when it is not one)."""
    if not isinstance(value, list):
        return []
    return [item for item in map(_str, value) if item is not None]


def error_text_of(task_error: str | None, error_logs: Sequence[MigrationLog] | None = None) -> str | None:
    """The API's error text of a failed task, or else its last ERROR log lines (shortened)."""
    text = (task_error or "").strip()
    if not text and error_logs:
        lines: list[str] = []
        for entry in reversed(error_logs):
            message = (entry.message or "").strip()
            if message and message not in lines:
                lines.append(message)
            if len(lines) >= MAX_ERROR_LOG_LINES:
                break
        text = " | ".join(reversed(lines))
    if not text:
        return None
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 3] + "..."
