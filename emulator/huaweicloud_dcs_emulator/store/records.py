"""What the emulator remembers: migration tasks, their log lines, jobs and IP whitelists.

Plain records; what happens to them is in :mod:`.lifecycle` (time-driven transitions) and
:mod:`.task_store` (the API operations).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huaweicloud_dcs_emulator import statuses
from huaweicloud_dcs_emulator.engines.protocol import RedisEndpoint, Snapshot
from huaweicloud_dcs_emulator.store.times import iso_time

ONLINE = "online_migration"
IMPORT = "backupfile_import"

#: Statuses in which data moves.
ACTIVE = frozenset({statuses.FULLMIGRATING, statuses.INCRMIGEATING, statuses.MIGRATING})
#: Statuses a batch restart accepts.
RESTARTABLE = frozenset({statuses.TERMINATED, statuses.FAILED, statuses.MIGRATION_FAILED})
#: Statuses in which a task cannot be deleted.
UNDELETABLE = ACTIVE | {statuses.TERMINATING}


def seed(text: str) -> int:
    """A stable number derived from ``text`` (ids, made-up addresses and key counts)."""
    return uuid.uuid5(uuid.NAMESPACE_OID, text).int


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
    #: How long after its success a full migration's ECS is released (``None``: never).
    release_delay: float | None = None
    #: When the task goes SUCCESS -> RELEASED (set when it succeeds).
    release_at: float | None = None
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

    def log(self, at: float, level: str, code: str, message: str, keywords: tuple[str, ...] = ()) -> None:
        """Add a log line dated ``at`` (the log stays in time order)."""
        self.logs.append(LogEntry(at=at, level=level, code=code, message=message, keywords=keywords))
        self.logs.sort(key=lambda entry: entry.at)

    def set_status(self, status: str, at: float) -> None:
        """Enter ``status`` at ``at`` (``updated_at`` never goes back)."""
        self.status = status
        self.updated_at = max(self.updated_at, at)


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
            return statuses.JOB_FAIL
        if now >= self.end:
            return statuses.JOB_SUCCESS
        if now < self.begin + min(0.2, (self.end - self.begin) * 0.2):
            return statuses.JOB_INIT
        return statuses.JOB_RUNNING


@dataclass
class Whitelist:
    """IP whitelist of one DCS instance."""

    enable_whitelist: bool = False
    groups: list[dict[str, Any]] = field(default_factory=list)
