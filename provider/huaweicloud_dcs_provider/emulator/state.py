"""The emulator's task store: every migration task, its lifecycle, logs, jobs and whitelists.

Nothing here knows about HTTP. Each public method of :class:`TaskStore` is one API operation; it
takes the decoded JSON body (or query values) and returns the JSON document to answer, or raises
:class:`EmulatorError` with the HTTP status and ``DCS.xxxx`` code the real service would use.

The lifecycle is driven by wall-clock time, evaluated lazily: every call first "advances" the
tasks it touches to ``now`` (a task whose ``CREATING`` phase ended at ``t`` becomes ``RUNNING``
with a log entry dated ``t``, even if nobody asked at ``t``). Data movement (progress, statistics,
failures of the Redis side) comes from a :class:`~.engine.MigrationEngine`.

Durations come from :class:`EmulatorConfig` (changeable at run time through the admin API).
"""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from huaweicloud_dcs_provider.emulator.engine import (
    WRONG_PASSWORD,
    EngineError,
    Method,
    MigrationEngine,
    MigrationSpec,
    Phase,
    RedisEndpoint,
    SimulatedEngine,
    Snapshot,
)
from huaweicloud_dcs_provider.statuses import TaskStatus

# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

TASK_NOT_FOUND = "DCS.4133"
MALFORMED_TASK_ID = "DCS.4070"
INVALID_STATE = "DCS.4957"
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


def wrong_state(task: Task, action: str, allowed: str) -> EmulatorError:
    """HTTP 400 DCS.4957: the operation is not allowed in the task's current status."""
    return EmulatorError(
        400,
        INVALID_STATE,
        f"Cannot {action} migration task {task.task_id} in status {task.status} (allowed: {allowed}).",
    )


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

DELETED_DETAIL_CHOICES = ("not_found", "DELETED", "SUCCESS")


@dataclass(frozen=True)
class EmulatorConfig:
    """Lifecycle durations (seconds) and behaviour switches, changeable at run time.

    * ``create_seconds``: CREATING -> RUNNING (and the create job RUNNING -> SUCCESS);
    * ``full_seconds``: duration of the full sync; also how long the incremental ``offset`` takes
      to drain to 0, and how long a backup import stays MIGRATING;
    * ``stop_seconds``: TERMINATING -> TERMINATED;
    * ``fail_seconds``: configure -> MIGRATION_FAILED for a failing input (port 1, wrong-password);
    * ``job_seconds``: duration of the async whitelist job;
    * ``exchange_seconds``: ``task_status`` EXCHANGING -> EXCHANGE_SUCCESS / ROLLBACK_SUCCESS;
    * ``deleted_detail``: what GET detail answers for a deleted task: ``not_found`` (HTTP 400
      DCS.4133), ``DELETED`` or ``SUCCESS`` (a stale detail with that status);
    * ``clock_skew_seconds``: how far the gateway's clock is ahead (positive) or behind (negative)
      of this machine's. The signature check and the ``Date`` header of every API answer use the
      shifted clock, so a skew beyond 15 minutes makes valid signatures "expired" (HTTP 401).
    """

    create_seconds: float = 2.0
    full_seconds: float = 5.0
    stop_seconds: float = 2.0
    fail_seconds: float = 1.0
    job_seconds: float = 1.0
    exchange_seconds: float = 1.0
    deleted_detail: str = "not_found"
    clock_skew_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """A copy with ``changes`` applied; :class:`ValueError` for unknown keys or bad values."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown}; known: {sorted(names)}")
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "deleted_detail":
                if value not in DELETED_DETAIL_CHOICES:
                    raise ValueError(f"deleted_detail must be one of {list(DELETED_DETAIL_CHOICES)}")
                clean[key] = value
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number of seconds")
            if key == "clock_skew_seconds":
                if not -86_400 <= value <= 86_400:
                    raise ValueError(f"{key} must be between -86400 and 86400 seconds")
                clean[key] = float(value)
                continue
            if not 0 <= value <= 86_400:
                raise ValueError(f"{key} must be between 0 and 86400 seconds")
            clean[key] = float(value)
        return replace(self, **clean)


# --------------------------------------------------------------------------------------------
# Time formats
# --------------------------------------------------------------------------------------------


def iso_time(ts: float) -> str:
    """``2024-04-01T10:57:00.123Z`` (detail, logs)."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def slash_time(ts: float) -> str:
    """``2024/04/01 10:57:00`` (UTC; the list API uses this older format)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y/%m/%d %H:%M:%S")


def ms_time(ts: float) -> str:
    """Milliseconds since the epoch, as a string (jobs)."""
    return str(int(ts * 1000))


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

ONLINE = "online_migration"
IMPORT = "backupfile_import"

_ACTIVE = frozenset(
    {TaskStatus.FULLMIGRATING.value, TaskStatus.INCRMIGEATING.value, TaskStatus.MIGRATING.value}
)
_RESTARTABLE = frozenset(
    {TaskStatus.TERMINATED.value, TaskStatus.FAILED.value, TaskStatus.MIGRATION_FAILED.value}
)
_UNDELETABLE = _ACTIVE | {TaskStatus.TERMINATING.value}


@dataclass(frozen=True)
class LogEntry:
    """One migration log line."""

    at: float
    level: str
    code: str
    message: str
    keywords: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Wire form of ``migration_logs[]``."""
        return {
            "created_at": iso_time(self.at),
            "log_level": self.level,
            "log_code": self.code,
            "message": self.message,
            "keyword": list(self.keywords),
        }


@dataclass
class Task:
    """A migration task (online or backup import)."""

    task_id: str
    task_name: str
    description: str
    migration_type: str
    status: str
    created_at: float
    updated_at: float
    migration_method: str | None = None
    resume_mode: str | None = None
    bandwidth_limit_mb: int | None = None
    source: RedisEndpoint | None = None
    target: RedisEndpoint | None = None
    vpc_id: str = ""
    subnet_id: str = ""
    security_group_id: str = ""
    ecs_ip: str = ""
    backup_files: dict[str, Any] | None = None
    error: str = ""
    #: IP-switch sub-status (EXCHANGING, EXCHANGE_SUCCESS, ROLLBACK_SUCCESS).
    task_status: str | None = None
    task_status_final: str | None = None
    task_status_until: float | None = None
    #: When the current time-driven phase ends (CREATING, TERMINATING, import MIGRATING).
    until: float | None = None
    engine_running: bool = False
    last: Snapshot | None = None
    import_started: float | None = None
    import_failure: str | None = None
    job_id: str | None = None
    released_at: float | None = None
    deleted_at: float | None = None
    logs: list[LogEntry] = field(default_factory=list)
    #: A status reported instead of the real one (admin ``force_status``); the lifecycle goes on
    #: underneath. Ends at ``forced_until`` or after ``forced_reads`` detail reads.
    forced_status: str | None = None
    forced_until: float | None = None
    forced_reads: int | None = None
    #: Detail reads still answered normally before the forced status shows.
    forced_skip: int = 0


@dataclass
class Job:
    """An asynchronous job (task creation, async whitelist update)."""

    job_id: str
    job_type: str
    begin: float
    end: float
    fail_reason: str | None = None
    failed_at: float | None = None
    effect: Callable[[], None] | None = None
    applied: bool = False

    def status(self, now: float) -> str:
        """INIT (first instant), RUNNING, SUCCESS or FAIL at ``now``."""
        if self.fail_reason is not None:
            return "FAIL"
        if now >= self.end:
            return "SUCCESS"
        if now < self.begin + min(0.2, (self.end - self.begin) * 0.2):
            return "INIT"
        return "RUNNING"


@dataclass
class Whitelist:
    """IP whitelist of one DCS instance."""

    enable_whitelist: bool = False
    groups: list[dict[str, Any]] = field(default_factory=list)


def _seed(text: str) -> int:
    return uuid.uuid5(uuid.NAMESPACE_OID, text).int


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def check_task_id(task_id: str) -> None:
    """HTTP 400 DCS.4070 unless ``task_id`` looks like a task id (a UUID)."""
    if not _UUID_RE.match(task_id):
        raise invalid(f"Invalid migration task ID: {task_id!r}.", MALFORMED_TASK_ID)


def _require_object(body: Any, what: str = "request body") -> dict[str, Any]:
    if body is None:
        raise invalid("Empty request body.", EMPTY_BODY)
    if not isinstance(body, dict):
        raise invalid(f"The {what} must be a JSON object.", INVALID_JSON)
    return body


def _require_str(
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


def _optional_str(body: Mapping[str, Any], key: str, *, max_len: int = 1024, where: str = "") -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid {where}{key} in the request: must be a string.")
    if len(value) > max_len:
        raise invalid(f"Invalid {where}{key} in the request: at most {max_len} characters.")
    return value


def _require_choice(body: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
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


def _parse_int_param(value: str | None, name: str, default: int, low: int, high: int | None) -> int:
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


def _normalized_addrs(addrs: str | None) -> str:
    return ",".join(part.strip() for part in (addrs or "").split(","))


def _same_side(a: RedisEndpoint | None, b: RedisEndpoint) -> bool:
    if a is None:
        return False
    return a.instance_id == b.instance_id and _normalized_addrs(a.addrs) == _normalized_addrs(b.addrs)


def validate_whitelist(body: Any) -> Whitelist:
    """Body of PUT whitelist: max 4 groups, 20 IPs in total, no 0.0.0.0."""
    data = _require_object(body)
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
        name = _require_str(group, "group_name", max_len=64, where="whitelist.")
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


# --------------------------------------------------------------------------------------------
# Store
# --------------------------------------------------------------------------------------------


class TaskStore:
    """All emulator state. Not thread-safe: used from the server's event loop only."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        engine: MigrationEngine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.startup_config = config or EmulatorConfig()
        self.config = self.startup_config
        self.engine: MigrationEngine = engine or SimulatedEngine()
        self._clock = clock
        self._tasks: dict[str, Task] = {}
        self._deleted: dict[str, Task] = {}
        self._jobs: dict[str, Job] = {}
        self._whitelists: dict[str, Whitelist] = {}

    # ---------------------------------------------------------------- admin

    def reset(self) -> None:
        """Forget every task, job and whitelist; restore the startup configuration."""
        for task_id in list(self._tasks) + list(self._deleted):
            self.engine.forget(task_id)
        self._tasks.clear()
        self._deleted.clear()
        self._jobs.clear()
        self._whitelists.clear()
        self.config = self.startup_config

    def set_config(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """Apply configuration changes (affect what starts afterwards)."""
        self.config = self.config.updated(changes)
        return self.config

    def fail_task(self, task_id: str, error: str) -> dict[str, Any]:
        """Make a task fail now with ``error`` (CREATING/RUNNING -> FAILED, else MIGRATION_FAILED)."""
        now = self._clock()
        task = self._get(task_id, now)
        if task.status in (TaskStatus.CREATING.value, TaskStatus.RUNNING.value):
            status = TaskStatus.FAILED.value
            job = self._jobs.get(task.job_id or "")
            if job is not None and job.status(now) != "SUCCESS":
                job.fail_reason = error
                job.failed_at = now
        else:
            status = TaskStatus.MIGRATION_FAILED.value
        if task.engine_running:
            task.last = self.engine.stop(task.task_id, now)
            task.engine_running = False
        task.until = None
        task.error = error
        self._set_status(task, status, now)
        self._log(task, now, "ERROR", "migration.failed", f"Migration task failed: {error}", ("failed",))
        return self._detail(task)

    def force_status(
        self,
        task_id: str,
        status: str,
        *,
        seconds: float | None = None,
        reads: int | None = None,
        skip_reads: int = 0,
    ) -> dict[str, Any]:
        """Report ``status`` instead of the real one for ``seconds`` and/or ``reads`` detail reads.

        The task's own lifecycle goes on underneath; when the override ends, the natural status
        shows again (e.g. ``FULLMIGRATING`` -> forced ``MIGRATING`` -> ``FULLMIGRATING``: a status
        going backwards; or a status this provider does not know, such as ``RESYNCING``). The
        first ``skip_reads`` detail reads are answered normally. The list (#6) shows the forced
        status too, without using up reads.
        """
        now = self._clock()
        task = self._get(task_id, now)
        if not isinstance(status, str) or not status.strip():
            raise ValueError("status must be a non-empty string")
        if seconds is None and reads is None:
            raise ValueError("give seconds and/or reads (how long the forced status lasts)")
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 86_400
        ):
            raise ValueError("seconds must be a number in (0, 86400]")
        for name, value, low in (("reads", reads, 1), ("skip_reads", skip_reads, 0)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise ValueError(f"{name} must be an integer >= {low}")
        task.forced_status = status.strip()
        task.forced_until = None if seconds is None else now + float(seconds)
        task.forced_reads = reads
        task.forced_skip = skip_reads
        return {
            "task_id": task.task_id,
            "forced_status": task.forced_status,
            "real_status": task.status,
            "until": task.forced_until,
            "reads": task.forced_reads,
            "skip_reads": task.forced_skip,
        }

    def _forced(self, task: Task, now: float, *, consume: bool) -> str | None:
        """The forced status to report now (a detail read uses one up), or ``None``."""
        if task.forced_status is None:
            return None
        if task.forced_until is not None and now >= task.forced_until:
            task.forced_status = None
            return None
        if not consume:
            return task.forced_status if task.forced_skip == 0 else None
        if task.forced_skip > 0:
            task.forced_skip -= 1
            return None
        status = task.forced_status
        if task.forced_reads is not None:
            task.forced_reads -= 1
            if task.forced_reads <= 0:
                task.forced_status = None
        return status

    # ---------------------------------------------------------------- internals

    def _new_id(self) -> str:
        return str(uuid.uuid4())

    def _log(
        self, task: Task, at: float, level: str, code: str, message: str, keywords: tuple[str, ...] = ()
    ) -> None:
        task.logs.append(LogEntry(at=at, level=level, code=code, message=message, keywords=keywords))
        task.logs.sort(key=lambda entry: entry.at)

    def _set_status(self, task: Task, status: str, at: float) -> None:
        task.status = status
        task.updated_at = max(task.updated_at, at)

    def _advance_jobs(self, now: float) -> None:
        for job in sorted(self._jobs.values(), key=lambda j: j.end):
            if not job.applied and job.fail_reason is None and now >= job.end:
                job.applied = True
                if job.effect is not None:
                    job.effect()

    def _advance(self, task: Task, now: float) -> None:
        for _ in range(16):
            if not self._step(task, now):
                break
        if task.task_status_until is not None and now >= task.task_status_until:
            task.task_status = task.task_status_final
            self._log(
                task,
                task.task_status_until,
                "INFO",
                "migration.ip_switch",
                f"IP switch finished: {task.task_status}",
                ("ip",),
            )
            task.task_status_until = None
            task.updated_at = max(task.updated_at, now)

    def _step(self, task: Task, now: float) -> bool:
        """Apply the next due transition; False when the task is up to date."""
        status = task.status
        until = task.until
        if status == TaskStatus.CREATING.value and until is not None and now >= until:
            task.until = None
            self._set_status(task, TaskStatus.RUNNING.value, until)
            self._log(
                task,
                until,
                "INFO",
                "migration.ecs_ready",
                f"Migration ECS created (private IP {task.ecs_ip}); waiting for the task to be configured",
                ("ecs",),
            )
            return True
        if status == TaskStatus.TERMINATING.value and until is not None and now >= until:
            stopped_at = self._engine_stopped_at(task, now)
            if stopped_at is None:
                return False  # the engine's copy loop is still winding down
            at = max(until, stopped_at)
            task.until = None
            self._set_status(task, TaskStatus.TERMINATED.value, at)
            self._log(task, at, "INFO", "migration.stopped", "Migration task stopped", ("stop",))
            return True
        if status == TaskStatus.MIGRATING.value and until is not None and now >= until:
            task.until = None
            if task.import_failure:
                task.error = task.import_failure
                self._set_status(task, TaskStatus.MIGRATION_FAILED.value, until)
                self._log(task, until, "ERROR", "migration.failed", task.import_failure, ("failed",))
            else:
                self._set_status(task, TaskStatus.SUCCESS.value, until)
                self._log(task, until, "INFO", "migration.success", "Backup files imported", ("import",))
            return True
        if task.engine_running and status in (TaskStatus.FULLMIGRATING.value, TaskStatus.INCRMIGEATING.value):
            snap = self.engine.poll(task.task_id, now)
            task.last = snap
            if snap.phase is Phase.INCREMENTAL and status == TaskStatus.FULLMIGRATING.value:
                self._set_status(task, TaskStatus.INCRMIGEATING.value, snap.phase_since)
                self._log(
                    task,
                    snap.phase_since,
                    "INFO",
                    "migration.incremental",
                    "Full migration finished; incremental migration started",
                    ("incremental",),
                )
                return True
            if snap.phase is Phase.DONE:
                task.engine_running = False
                self._set_status(task, TaskStatus.SUCCESS.value, snap.phase_since)
                self._log(
                    task,
                    snap.phase_since,
                    "INFO",
                    "migration.success",
                    f"Full migration finished: {snap.target_dbsize} keys migrated",
                    ("full",),
                )
                return True
            if snap.phase is Phase.FAILED:
                task.engine_running = False
                task.error = snap.error or "Migration failed"
                self._set_status(task, TaskStatus.MIGRATION_FAILED.value, snap.phase_since)
                self._log(task, snap.phase_since, "ERROR", "migration.failed", task.error, ("failed",))
                return True
        return False

    def _engine_stopped_at(self, task: Task, now: float) -> float | None:
        """When the engine stopped moving data for a stopping task; ``None`` while it still is."""
        if task.migration_type != ONLINE or task.source is None:
            return 0.0
        try:
            snap = self.engine.poll(task.task_id, now)
        except EngineError:
            return 0.0
        if snap.phase is Phase.STOPPING:
            return None
        if snap.phase is Phase.STOPPED:
            task.last = snap
        return snap.phase_since

    def _advance_all(self, now: float) -> None:
        self._advance_jobs(now)
        for task in self._tasks.values():
            self._advance(task, now)

    def _get(self, task_id: str, now: float) -> Task:
        check_task_id(task_id)
        task = self._tasks.get(task_id.lower())
        if task is None:
            raise task_not_found(task_id)
        self._advance_jobs(now)
        self._advance(task, now)
        return task

    def _spec(self, task: Task) -> MigrationSpec:
        assert task.source is not None
        assert task.target is not None
        assert task.migration_method is not None
        return MigrationSpec(
            task_id=task.task_id,
            method=Method(task.migration_method),
            source=task.source,
            target=task.target,
            bandwidth_limit_mb=task.bandwidth_limit_mb,
            full_seconds_hint=self.config.full_seconds,
            failure_delay_hint=self.config.fail_seconds,
        )

    def _start_engine(self, task: Task, now: float, reason: str) -> None:
        task.error = ""
        task.task_status = None
        task.task_status_until = None
        task.until = None
        self.engine.start(self._spec(task), now)
        task.engine_running = True
        task.last = None
        self._set_status(task, TaskStatus.FULLMIGRATING.value, now)
        self._log(task, now, "INFO", "migration.full", reason, ("full",))

    # ---------------------------------------------------------------- views

    def _instance_view(self, task: Task, side: RedisEndpoint | None) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": None,
            "addrs": None,
            "password": None,
            "name": None,
            "ip": None,
            "port": None,
            "task_status": task.task_status,
            "proxy_multi_db": False,
            "db": "0",
        }
        if side is None:
            return view
        view.update(id=side.instance_id, addrs=side.addrs, password=side.password)
        pairs = side.host_ports()
        if pairs:
            view.update(ip=pairs[0][0], port=str(pairs[0][1]), name="")
        else:
            seed = _seed(side.instance_id or "")
            view.update(
                ip=f"192.168.{seed % 250}.{(seed >> 8) % 250 + 2}",
                port="6379",
                name=f"dcs-{(side.instance_id or '')[:8]}",
            )
        return view

    def _detail(self, task: Task, status: str | None = None) -> dict[str, Any]:
        return {
            "task_id": task.task_id,
            "task_name": task.task_name,
            "description": task.description,
            "status": status or task.status,
            "migration_type": task.migration_type,
            "migration_method": task.migration_method,
            "ecs_tenant_private_ip": task.ecs_ip,
            "backup_files": task.backup_files,
            "network_type": "vpc",
            "source_instance": self._instance_view(task, task.source),
            "target_instance": self._instance_view(task, task.target),
            "created_at": iso_time(task.created_at),
            "updated_at": iso_time(task.updated_at),
            "released_at": iso_time(task.released_at) if task.released_at else "",
            "version": "6.0.21",
            "resume_mode": task.resume_mode,
            "supported_features": [],
            "tenant_vpc_id": task.vpc_id,
            "tenant_subnet_id": task.subnet_id,
            "tenant_security_group_id": task.security_group_id,
            "bandwidth_limit_mb": str(task.bandwidth_limit_mb) if task.bandwidth_limit_mb else None,
            "task_status": task.task_status,
            "error": task.error,
        }

    def _list_item(self, task: Task) -> dict[str, Any]:
        source = task.source
        target = task.target
        bucket = (task.backup_files or {}).get("bucket_name") or ""
        return {
            "task_id": task.task_id,
            "task_name": task.task_name,
            "status": task.status,
            "migration_type": task.migration_type,
            "migration_method": task.migration_method,
            "ecs_tenant_private_ip": task.ecs_ip,
            "data_source": (source.addrs or source.instance_id or "") if source else bucket,
            "source_instance_name": f"dcs-{source.instance_id[:8]}" if source and source.instance_id else "",
            "source_instance_id": source.instance_id or "" if source else "",
            "source_instance_status": "RUNNING" if source and source.instance_id else "",
            "source_instance_subnet_id": task.subnet_id if source and source.instance_id else "",
            "source_instance_spec_code": "redis.ha.xu1.large.r2.2" if source and source.instance_id else "",
            "target_instance_addrs": target.addrs or "" if target else "",
            "target_instance_name": f"dcs-{target.instance_id[:8]}" if target and target.instance_id else "",
            "target_instance_id": target.instance_id or "" if target else "",
            "target_instance_status": "RUNNING" if target and target.instance_id else "",
            "target_instance_subnet_id": task.subnet_id if target and target.instance_id else "",
            "target_instance_spec_code": "redis.ha.xu1.large.r2.2" if target and target.instance_id else "",
            "created_at": slash_time(task.created_at),
            "description": task.description,
            "error_message": task.error,
            "released_at": slash_time(task.released_at) if task.released_at else "",
            "version": "6.0.21",
            "resume_mode": task.resume_mode,
            "supported_features": [],
        }

    # ---------------------------------------------------------------- API: create

    def create_online_task(self, body: Any) -> dict[str, Any]:
        """#2: create the task (CREATING) and its job; answer ``instance_id`` (= task id) and ``job_id``."""
        data = _require_object(body)
        name = _require_str(data, "name", max_len=64)
        description = _optional_str(data, "description") or ""
        vpc_id = _require_str(data, "vpc_id", code=INVALID_VPC)
        subnet_id = _require_str(data, "subnet_id", code=INVALID_SUBNET)
        sg_id = _require_str(data, "security_group_id", code=INVALID_SECURITY_GROUP)
        now = self._clock()
        task_id = self._new_id()
        seed = _seed(task_id)
        job = Job(
            job_id=self._new_id(),
            job_type="createMigrationTaskJob",
            begin=now,
            end=now + self.config.create_seconds,
        )
        self._jobs[job.job_id] = job
        task = Task(
            task_id=task_id,
            task_name=name,
            description=description,
            migration_type=ONLINE,
            status=TaskStatus.CREATING.value,
            created_at=now,
            updated_at=now,
            vpc_id=vpc_id,
            subnet_id=subnet_id,
            security_group_id=sg_id,
            ecs_ip=f"192.168.{seed % 250}.{(seed >> 8) % 250 + 2}",
            until=now + self.config.create_seconds,
            job_id=job.job_id,
        )
        self._tasks[task_id] = task
        self._log(
            task,
            now,
            "INFO",
            "migration.created",
            f"Migration task {name} created; creating the migration ECS",
        )
        self._advance(task, now)
        return {"instance_id": task_id, "job_id": job.job_id}

    def create_import_task(self, body: Any) -> dict[str, Any]:
        """#1: backup-file import task: MIGRATING for ``full_seconds``, then SUCCESS."""
        data = _require_object(body)
        name = _require_str(data, "task_name", max_len=64)
        description = _optional_str(data, "description") or ""
        migration_type = data.get("migration_type")
        if migration_type == ONLINE:
            raise invalid(
                "migration_type online_migration is not supported by this API any more: "
                "create the task with POST /migration/instance and configure it."
            )
        if migration_type != IMPORT:
            raise invalid(f"Invalid migration_type in the request: {migration_type!r} (allowed: {IMPORT}).")
        method = _require_choice(data, "migration_method", tuple(m.value for m in Method))
        files = data.get("backup_files")
        if not isinstance(files, dict):
            raise invalid("Invalid backup_files in the request: an object is required for backupfile_import.")
        source_kind = _require_choice(files, "file_source", ("self_build_obs", "backup_record"))
        backup_view: dict[str, Any] = {"file_source": source_kind}
        if source_kind == "self_build_obs":
            bucket = _require_str(files, "bucket_name", where="backup_files.")
            file_list = files.get("files")
            if not isinstance(file_list, list) or not file_list:
                raise invalid("Invalid backup_files.files in the request: a non-empty list is required.")
            for item in file_list:
                if not isinstance(item, dict):
                    raise invalid(
                        "Invalid backup_files.files in the request: objects with file_name expected."
                    )
                _require_str(item, "file_name", where="backup_files.files[].")
            backup_view.update(bucket_name=bucket, files=file_list)
        else:
            backup_id = _require_str(files, "backup_id", where="backup_files.")
            backup_view.update(backup_record={"backup_id": backup_id})
        target = data.get("target_instance")
        if not isinstance(target, dict):
            raise invalid("Invalid target_instance in the request: an object with id is required.")
        target_id = _require_str(target, "id", where="target_instance.")
        password = _optional_str(target, "password", where="target_instance.")
        endpoint = RedisEndpoint(role="target", instance_id=target_id, password=password)
        now = self._clock()
        task_id = self._new_id()
        failure = None
        duration = self.config.full_seconds
        if password == WRONG_PASSWORD:
            failure = (
                f"Failed to authenticate to target redis instance {target_id}: "
                "WRONGPASS invalid username-password pair or user is disabled"
            )
            duration = self.config.fail_seconds
        task = Task(
            task_id=task_id,
            task_name=name,
            description=description,
            migration_type=IMPORT,
            migration_method=method,
            status=TaskStatus.MIGRATING.value,
            created_at=now,
            updated_at=now,
            target=endpoint,
            backup_files=backup_view,
            until=now + duration,
            import_started=now,
            import_failure=failure,
        )
        self._tasks[task_id] = task
        self._log(
            task,
            now,
            "INFO",
            "migration.import",
            f"Backup import task {name} created; importing",
            ("import",),
        )
        return {"id": task_id, "name": name, "status": task.status, "error": ""}

    # ---------------------------------------------------------------- API: configure

    def configure(self, task_id: str, body: Any) -> dict[str, Any]:
        """#3: start the migration of a RUNNING (or finished) task, or update a running one."""
        now = self._clock()
        task = self._get(task_id, now)
        data = _require_object(body)
        method = _require_choice(data, "migration_method", tuple(m.value for m in Method))
        resume_mode = _require_choice(data, "resume_mode", ("auto", "manual"))
        bandwidth = parse_bandwidth(data.get("bandwidth_limit_mb"))
        source = parse_endpoint(data, "source_instance")
        target = parse_endpoint(data, "target_instance")
        if source.instance_id == target.instance_id and source.addrs == target.addrs:
            raise invalid("The source and target of a migration must be different Redis instances.")
        if task.migration_type != ONLINE:
            raise wrong_state(task, "configure", "online migration tasks in RUNNING")
        if task.status in _ACTIVE:
            if (
                method == task.migration_method
                and _same_side(task.source, source)
                and _same_side(task.target, target)
            ):
                changes = []
                if bandwidth != task.bandwidth_limit_mb:
                    task.bandwidth_limit_mb = bandwidth
                    if task.engine_running:
                        self.engine.update_limits(task.task_id, bandwidth)
                    changes.append(f"bandwidth limit {bandwidth or 'unlimited'} MB/s")
                if resume_mode != task.resume_mode:
                    task.resume_mode = resume_mode
                    changes.append(f"resume mode {resume_mode}")
                if changes:
                    task.updated_at = now
                    self._log(
                        task, now, "INFO", "migration.updated", "Configuration updated: " + ", ".join(changes)
                    )
                return {
                    "id": task.task_id,
                    "name": task.task_name,
                    "status": task.status,
                    "error": task.error,
                }
            raise wrong_state(
                task,
                "reconfigure",
                "RUNNING; a migrating task only accepts the same method, source and target",
            )
        # A finished task may be configured again (Terraform re-points finished tasks this way).
        if task.status not in (TaskStatus.RUNNING.value, TaskStatus.SUCCESS.value):
            raise wrong_state(task, "configure", f"{TaskStatus.RUNNING.value} or {TaskStatus.SUCCESS.value}")
        task.error = ""
        task.migration_method = method
        task.resume_mode = resume_mode
        task.bandwidth_limit_mb = bandwidth
        task.source = source
        task.target = target
        limit = f"{bandwidth} MB/s" if bandwidth else "unlimited"
        self._log(
            task,
            now,
            "INFO",
            "migration.configured",
            f"Migration configured: {method} from {source.label} to {target.label}, bandwidth {limit}, "
            f"resume mode {resume_mode}",
            ("config",),
        )
        self._start_engine(task, now, "Full migration started")
        self._advance(task, now)
        return {"id": task.task_id, "name": task.task_name, "status": task.status, "error": task.error}

    # ---------------------------------------------------------------- API: read

    def detail(self, task_id: str) -> dict[str, Any]:
        """#4: the full task object (passwords included, as the real API does)."""
        return self.detail_with_override(task_id)[0]

    def detail_with_override(self, task_id: str) -> tuple[dict[str, Any], bool]:
        """:meth:`detail`, and whether it reported a forced status (see :meth:`force_status`)."""
        now = self._clock()
        check_task_id(task_id)
        tomb = self._deleted.get(task_id.lower())
        if tomb is not None and task_id.lower() not in self._tasks:
            mode = self.config.deleted_detail
            if mode == "not_found":
                raise task_not_found(task_id)
            return self._detail(tomb, status=mode), False
        task = self._get(task_id, now)
        forced = self._forced(task, now, consume=True)
        return self._detail(task, status=forced), forced is not None

    def stats(self, task_id: str) -> dict[str, Any]:
        """#5: progress and statistics, as a mix of JSON numbers and numeric strings."""
        now = self._clock()
        task = self._get(task_id, now)
        migrating = task.status in _ACTIVE
        snap: Snapshot | None = task.last
        if task.migration_type == IMPORT and task.import_started is not None:
            full = max(self.config.full_seconds, 0.001)
            end = task.until if task.until is not None else task.updated_at
            fraction = min(1.0, max(0.0, (min(now, end) - task.import_started) / full))
            if task.status == TaskStatus.SUCCESS.value:
                fraction = 1.0
            keys = 10_000 + _seed(task.task_id) % 90_000
            snap = Snapshot(
                phase=Phase.FULL if migrating else Phase.STOPPED,
                phase_since=task.import_started,
                progress=int(100 * fraction),
                source_dbsize=keys,
                target_dbsize=int(keys * fraction),
                input_kbps=8_192.0 if migrating else 0.0,
                ops=2_500 if migrating else 0,
            )
        if snap is None:
            snap = Snapshot(phase=Phase.STOPPED, phase_since=task.created_at)
        return {
            "full_migration_progress": snap.progress,
            "offset": str(snap.offset),
            "source_dbsize": snap.source_dbsize,
            "target_dbsize": str(snap.target_dbsize),
            "target_input_kbps": f"{snap.input_kbps:.2f}",
            "target_ops": snap.ops,
            "is_migrating": migrating and (snap.is_migrating or task.migration_type == IMPORT),
        }

    def list_tasks(self, offset: str | None, limit: str | None, name: str | None) -> dict[str, Any]:
        """#6: newest first; ``name`` is a substring filter; ``count`` is the filtered total."""
        start = _parse_int_param(offset, "offset", 0, 0, None)
        size = _parse_int_param(limit, "limit", 10, 1, 1000)
        now = self._clock()
        self._advance_all(now)
        tasks = [t for t in reversed(self._tasks.values()) if not name or name in t.task_name]
        items = []
        for task in tasks[start : start + size]:
            item = self._list_item(task)
            item["status"] = self._forced(task, now, consume=False) or item["status"]
            items.append(item)
        return {"count": len(tasks), "migration_tasks": items}

    def logs(self, task_id: str, offset: str | None, limit: str | None, level: str | None) -> dict[str, Any]:
        """#7: chronological log entries, filtered by ``log_level``."""
        start = _parse_int_param(offset, "offset", 0, 0, None)
        size = _parse_int_param(limit, "limit", 10, 1, 1000)
        wanted = (level or "").strip().upper() or None
        if wanted not in (None, "INFO", "ERROR"):
            raise invalid(f"Invalid log_level: {level!r} (allowed: INFO, ERROR).")
        task = self._get(task_id, self._clock())
        entries = [e for e in task.logs if wanted is None or e.level == wanted]
        return {
            "log_num": len(entries),
            "migration_logs": [e.to_json() for e in entries[start : start + size]],
        }

    def job(self, job_id: str) -> dict[str, Any]:
        """#16: job status with ms-epoch string times."""
        now = self._clock()
        self._advance_all(now)
        job = self._jobs.get(job_id)
        if job is None:
            raise EmulatorError(404, JOB_NOT_FOUND, f"The job does not exist: {job_id}")
        status = job.status(now)
        end = ""
        if status == "SUCCESS":
            end = ms_time(job.end)
        elif status == "FAIL" and job.failed_at is not None:
            end = ms_time(job.failed_at)
        return {
            "job_id": job.job_id,
            "job_type": job.job_type,
            "status": status,
            "begin_time": ms_time(job.begin),
            "end_time": end,
            "fail_reason": job.fail_reason or "",
        }

    # ---------------------------------------------------------------- API: stop / restart / delete

    def _stop(self, task: Task, now: float) -> None:
        if task.status not in _ACTIVE:
            raise wrong_state(task, "stop", "FULLMIGRATING, INCRMIGEATING, MIGRATING")
        if task.engine_running:
            task.last = self.engine.stop(task.task_id, now)
            task.engine_running = False
        task.until = now + self.config.stop_seconds
        self._set_status(task, TaskStatus.TERMINATING.value, now)
        self._log(
            task, now, "INFO", "migration.stopping", "Stop requested; stopping the migration", ("stop",)
        )

    def stop(self, task_id: str) -> dict[str, Any]:
        """#8: start stopping; answers the task detail (TERMINATING)."""
        now = self._clock()
        task = self._get(task_id, now)
        self._stop(task, now)
        self._advance(task, now)
        return self._detail(task)

    def batch_stop(self, body: Any) -> dict[str, Any]:
        """#10: per-task result/error_code/error_msg."""
        ids = self._id_list(body, "migration_tasks")
        now = self._clock()
        results: list[dict[str, Any]] = []
        for task_id in ids:
            try:
                task = self._get(task_id, now)
                self._stop(task, now)
                self._advance(task, now)
            except EmulatorError as err:
                results.append(
                    {
                        "task_id": task_id,
                        "result": "failed",
                        "error_code": err.error_code,
                        "error_msg": err.error_msg,
                    }
                )
            else:
                results.append(
                    {"task_id": task_id, "result": "success", "error_code": None, "error_msg": None}
                )
        return {"migration_tasks": results}

    def batch_restart(self, body: Any) -> dict[str, Any]:
        """#11: TERMINATED/FAILED/MIGRATION_FAILED online tasks start again with their configuration."""
        ids = self._id_list(body, "migration_tasks")
        now = self._clock()
        results: list[dict[str, Any]] = []
        for task_id in ids:
            try:
                task = self._get(task_id, now)
                if task.status not in _RESTARTABLE:
                    raise wrong_state(task, "restart", "TERMINATED, FAILED, MIGRATION_FAILED")
                if task.migration_type != ONLINE or task.source is None:
                    raise wrong_state(task, "restart", "configured online migration tasks")
                self._start_engine(task, now, "Migration restarted; full migration started")
                self._advance(task, now)
            except EmulatorError as err:
                results.append(
                    {
                        "task_id": task_id,
                        "result": "failed",
                        "error_code": err.error_code,
                        "error_msg": err.error_msg,
                    }
                )
            else:
                results.append(
                    {"task_id": task_id, "result": "success", "error_code": None, "error_msg": None}
                )
        return {"migration_tasks": results}

    def delete(self, body: Any) -> dict[str, Any]:
        """#12: all-or-nothing; refused while a task is migrating or stopping."""
        ids = self._id_list(body, "task_id_list")
        now = self._clock()
        tasks = [self._get(task_id, now) for task_id in ids]
        for task in tasks:
            if task.status in _UNDELETABLE:
                raise wrong_state(
                    task, "delete", "any status except FULLMIGRATING, INCRMIGEATING, MIGRATING, TERMINATING"
                )
        for task in tasks:
            task.deleted_at = now
            self._log(task, now, "INFO", "migration.deleted", "Migration task deleted", ("delete",))
            self.engine.forget(task.task_id)
            self._deleted[task.task_id] = self._tasks.pop(task.task_id)
        return {"task_id_list": ids}

    def _id_list(self, body: Any, key: str) -> list[str]:
        data = _require_object(body)
        ids = data.get(key)
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise invalid(f"Invalid {key} in the request: a non-empty list of task IDs is required.")
        for task_id in ids:
            check_task_id(task_id)
        return ids

    # ---------------------------------------------------------------- API: update / IP switch

    def set_resume_mode(self, task_id: str, body: Any) -> dict[str, Any]:
        """#13: change ``resume_mode``; answers an empty object."""
        now = self._clock()
        task = self._get(task_id, now)
        data = _require_object(body)
        mode = _require_choice(data, "resume_mode", ("auto", "manual"))
        if task.migration_type != ONLINE:
            raise wrong_state(task, "change the resume mode of", "online migration tasks")
        if mode != task.resume_mode:
            task.resume_mode = mode
            task.updated_at = now
            self._log(task, now, "INFO", "migration.updated", f"Resume mode set to {mode}")
        return {}

    def exchange_ip(self, task_id: str, body: Any) -> None:
        """#14: INCRMIGEATING only; ``task_status`` EXCHANGING -> EXCHANGE_SUCCESS."""
        now = self._clock()
        task = self._get(task_id, now)
        data = _require_object(body)
        ips = data.get("exchanged_ip")
        if not isinstance(ips, list) or not ips or not all(isinstance(ip, str) and ip for ip in ips):
            raise invalid(
                "Invalid exchanged_ip in the request: a non-empty list of IP addresses is required."
            )
        if not isinstance(data.get("is_exchange_domain"), bool):
            raise invalid("Invalid is_exchange_domain in the request: a boolean is required.")
        if task.status != TaskStatus.INCRMIGEATING.value:
            raise wrong_state(task, "switch the IPs of", TaskStatus.INCRMIGEATING.value)
        if task.task_status in ("EXCHANGING", "EXCHANGE_SUCCESS"):
            raise EmulatorError(
                400,
                INVALID_STATE,
                f"The IPs of migration task {task.task_id} are already switched ({task.task_status}).",
            )
        self._begin_ip_switch(task, now, "EXCHANGE_SUCCESS", f"Switching IPs {', '.join(ips)}")

    def rollback_ip(self, task_id: str) -> None:
        """#15: after a successful exchange; ``task_status`` EXCHANGING -> ROLLBACK_SUCCESS."""
        now = self._clock()
        task = self._get(task_id, now)
        if task.status != TaskStatus.INCRMIGEATING.value:
            raise wrong_state(task, "roll back the IP switch of", TaskStatus.INCRMIGEATING.value)
        if task.task_status != "EXCHANGE_SUCCESS":
            raise EmulatorError(
                400,
                INVALID_STATE,
                f"Nothing to roll back for migration task {task.task_id}: task_status is {task.task_status}.",
            )
        self._begin_ip_switch(task, now, "ROLLBACK_SUCCESS", "Rolling back the IP switch")

    def _begin_ip_switch(self, task: Task, now: float, final: str, message: str) -> None:
        task.task_status = "EXCHANGING"
        task.task_status_final = final
        task.task_status_until = now + self.config.exchange_seconds
        task.updated_at = now
        self._log(task, now, "INFO", "migration.ip_switch", message, ("ip",))
        self._advance(task, now)

    # ---------------------------------------------------------------- API: whitelist

    def _whitelist_view(self, instance_id: str) -> dict[str, Any]:
        current = self._whitelists.get(instance_id, Whitelist())
        return {
            "instance_id": instance_id,
            "enable_whitelist": current.enable_whitelist,
            "whitelist": [dict(group, ip_list=list(group["ip_list"])) for group in current.groups],
        }

    def show_whitelist(self, instance_id: str) -> dict[str, Any]:
        """#17: the instance's whitelist (every instance id exists; default: disabled, empty)."""
        self._advance_jobs(self._clock())
        return self._whitelist_view(instance_id)

    def update_whitelist(self, instance_id: str, body: Any) -> None:
        """#18: replace all groups now."""
        self._whitelists[instance_id] = validate_whitelist(body)

    def update_whitelist_async(self, instance_id: str, body: Any) -> dict[str, Any]:
        """#19: replace all groups when the returned job succeeds (after ``job_seconds``)."""
        new = validate_whitelist(body)
        now = self._clock()

        def apply() -> None:
            self._whitelists[instance_id] = new

        job = Job(
            job_id=self._new_id(),
            job_type="modifyClientIpTransJob",
            begin=now,
            end=now + self.config.job_seconds,
            effect=apply,
        )
        self._jobs[job.job_id] = job
        self._advance_jobs(now)
        return {"job_id": job.job_id}
