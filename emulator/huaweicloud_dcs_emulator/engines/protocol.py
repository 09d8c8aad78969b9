"""The seam between the task lifecycle and the data movement: what an engine is told and reports.

The task store owns the task lifecycle (statuses, logs, stop/restart/delete); an engine owns the
data: it is told to start copying from a source Redis to a target Redis, is polled for progress
and statistics, and is told to stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable


class Phase(StrEnum):
    """Where a migration is, as seen by the engine."""

    FULL = "full"  # full sync running
    INCREMENTAL = "incremental"  # full sync done, incremental sync live (never ends by itself)
    DONE = "done"  # full migration finished
    FAILED = "failed"
    STOPPING = "stopping"  # stop requested, the engine's copy loop is still winding down
    STOPPED = "stopped"


class Method(StrEnum):
    """``migration_method`` values."""

    FULL = "full_amount_migration"
    INCREMENTAL = "incremental_migration"


@dataclass(frozen=True)
class RedisEndpoint:
    """One side of a migration: a DCS instance (``instance_id``) or self-hosted Redis (``addrs``).

    ``repr`` never shows the password.
    """

    role: str  # "source" or "target"
    instance_id: str | None = None
    addrs: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        secret = ", password=***" if self.password else ""
        return (
            f"RedisEndpoint(role={self.role!r}, instance_id={self.instance_id!r}, "
            f"addrs={self.addrs!r}{secret})"
        )

    def host_ports(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every address in ``addrs`` (empty for an instance id)."""
        result: list[tuple[str, int]] = []
        for part in (self.addrs or "").split(","):
            part = part.strip()
            if not part:
                continue
            host, _, port = part.rpartition(":")
            result.append((host.strip("[]"), int(port)))
        return result

    @property
    def label(self) -> str:
        """Human-readable name used in messages (no password)."""
        if self.addrs:
            return self.addrs
        return f"instance {self.instance_id}"


@dataclass(frozen=True)
class MigrationSpec:
    """What to migrate.

    ``full_seconds_hint`` and ``failure_delay_hint`` pace simulated engines; real engines ignore
    them.
    """

    task_id: str
    method: Method
    source: RedisEndpoint
    target: RedisEndpoint
    bandwidth_limit_mb: int | None = None
    full_seconds_hint: float = 5.0
    failure_delay_hint: float = 1.0


@dataclass(frozen=True)
class Snapshot:
    """What an engine reports when polled.

    ``phase_since`` is when the current phase began (epoch seconds), so the task store can log a
    transition at the moment it really happened even if nobody polled then.
    """

    phase: Phase
    phase_since: float
    progress: int = 0  # full-sync percentage, 0..100
    offset: int = 0  # incremental lag; 0 = in sync
    source_dbsize: int = 0
    target_dbsize: int = 0
    input_kbps: float = 0.0
    ops: int = 0
    error: str | None = None

    @property
    def is_migrating(self) -> bool:
        """True while data is moving (full or incremental sync)."""
        return self.phase in (Phase.FULL, Phase.INCREMENTAL)


class MigrationEngine(Protocol):
    """The seam between the task lifecycle and the data movement."""

    def start(self, spec: MigrationSpec, now: float) -> None:
        """Begin (or begin again, from scratch) the migration described by ``spec``."""

    def poll(self, task_id: str, now: float) -> Snapshot:
        """Progress and statistics of a started migration at ``now``."""

    def update_limits(self, task_id: str, bandwidth_limit_mb: int | None) -> None:
        """Change the bandwidth cap of a running migration."""

    def stop(self, task_id: str, now: float) -> Snapshot:
        """Stop moving data; returns the last statistics (``is_migrating`` false)."""

    def forget(self, task_id: str) -> None:
        """Release everything held for a task (it was deleted); unknown ids are ignored."""


@runtime_checkable
class LiveEngine(Protocol):
    """Extra hooks of engines that move data in the event loop (see :mod:`.redis_engine`)."""

    async def refresh(self, task_id: str) -> None:
        """Bring a task's figures up to date before a stats answer (never raises)."""

    async def aclose(self) -> None:
        """Stop everything and release connections (emulator shutdown)."""


class EngineError(Exception):
    """Raised by engines for programming errors (unknown task, refused address)."""
