"""How data "moves" in the emulator: the :class:`MigrationEngine` seam and its simulated default.

The task store (:mod:`.state`) owns the task lifecycle (statuses, logs, stop/restart/delete); an
engine owns the data: it is told to start copying from a source Redis to a target Redis, is polled
for progress and statistics, and is told to stop. :class:`SimulatedEngine`, the default, opens no
connection at all: progress is a function of wall-clock time, and a few well-known inputs make the
migration fail (see :func:`simulated_failure`).

:mod:`.redis_engine` really copies keys between two local Redis servers with the same protocol
(:func:`build_engine` picks it when real migration is enabled). Engines that connect must only ever
connect to loopback addresses: call :func:`require_loopback` on every endpoint before connecting.
"""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol, runtime_checkable

#: The password that makes a simulated migration fail with an authentication error.
WRONG_PASSWORD = "wrong-password"  # noqa: S105 - a documented test trigger, not a secret
#: The port that makes a simulated migration fail with "Connection refused".
REFUSED_PORT = 1


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


def real_migration_available() -> bool:
    """True when the ``redis`` package (extra ``emulator``) is importable."""
    return importlib.util.find_spec("redis") is not None


def build_engine(real_migration: bool) -> MigrationEngine:
    """The emulator's engine.

    With ``real_migration``, an :class:`~.redis_engine.AutoEngine`: tasks whose source and target
    are both one loopback ``addrs`` are really migrated, all others simulated. Without it, a
    :class:`SimulatedEngine` for every task.
    """
    if real_migration:
        from huaweicloud_dcs_provider.emulator.redis_engine import AutoEngine

        return AutoEngine()
    return SimulatedEngine()


class EngineError(Exception):
    """Raised by engines for programming errors (unknown task, refused address)."""


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IPv4/IPv6 literals."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_loopback(endpoint: RedisEndpoint) -> None:
    """Raise :class:`EngineError` unless every address of ``endpoint`` is a loopback address.

    Engines that open connections call this first: the emulator never talks to remote hosts.
    """
    pairs = endpoint.host_ports()
    if not pairs:
        raise EngineError(f"{endpoint.role} {endpoint.label}: no address to connect to")
    for host, _port in pairs:
        if not is_loopback_host(host):
            raise EngineError(f"{endpoint.role} redis {host}: only loopback addresses are allowed")


def simulated_failure(spec: MigrationSpec) -> str | None:
    """The error a simulated migration ends with, or ``None`` if it succeeds.

    * an address with port ``1`` (e.g. ``127.0.0.1:1``) -> connection refused;
    * password ``wrong-password`` -> authentication failure.

    The source is checked before the target.
    """
    for endpoint in (spec.source, spec.target):
        for host, port in endpoint.host_ports():
            if port == REFUSED_PORT:
                return f"Failed to connect to {endpoint.role} redis {host}:{port}: Connection refused"
        if endpoint.password == WRONG_PASSWORD:
            return (
                f"Failed to authenticate to {endpoint.role} redis {endpoint.label}: "
                "WRONGPASS invalid username-password pair or user is disabled"
            )
    return None


def _seed(task_id: str) -> int:
    return int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:4], "big")


@dataclass(frozen=True)
class _Run:
    spec: MigrationSpec
    started: float
    keys: int  # keys in the source when the migration started
    initial_lag: int  # incremental offset right after the full sync
    failure: str | None
    stopped: Snapshot | None = None


class SimulatedEngine:
    """Moves nothing; derives believable, deterministic numbers from wall-clock time.

    * full sync lasts ``full_seconds_hint``: progress 0 -> 100, the target's key count follows;
    * incremental: the source keeps receiving writes; ``offset`` starts at a few thousand and
      drains linearly to 0 over another ``full_seconds_hint``, then stays 0;
    * a :func:`simulated_failure` input fails the run ``failure_delay_hint`` seconds after start.
    """

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}

    def start(self, spec: MigrationSpec, now: float) -> None:
        """Begin a run (replaces any previous run of the same task)."""
        seed = _seed(spec.task_id)
        self._runs[spec.task_id] = _Run(
            spec=spec,
            started=now,
            keys=10_000 + seed % 90_000,
            initial_lag=2_000 + seed % 3_000,
            failure=simulated_failure(spec),
        )

    def _run(self, task_id: str) -> _Run:
        try:
            return self._runs[task_id]
        except KeyError:
            raise EngineError(f"no migration started for task {task_id}") from None

    def update_limits(self, task_id: str, bandwidth_limit_mb: int | None) -> None:
        """Change the bandwidth cap (caps the reported ``input_kbps``)."""
        run = self._run(task_id)
        self._runs[task_id] = replace(run, spec=replace(run.spec, bandwidth_limit_mb=bandwidth_limit_mb))

    def _kbps(self, spec: MigrationSpec, base: float) -> float:
        if spec.bandwidth_limit_mb:
            return min(base, spec.bandwidth_limit_mb * 1024.0)
        return base

    def poll(self, task_id: str, now: float) -> Snapshot:
        """Statistics at ``now``."""
        run = self._run(task_id)
        if run.stopped is not None:
            return run.stopped
        spec = run.spec
        elapsed = max(0.0, now - run.started)
        full = max(spec.full_seconds_hint, 0.001)
        if run.failure is not None and elapsed >= spec.failure_delay_hint:
            done_keys = int(run.keys * min(1.0, spec.failure_delay_hint / full))
            return Snapshot(
                phase=Phase.FAILED,
                phase_since=run.started + spec.failure_delay_hint,
                progress=int(100 * done_keys / run.keys),
                source_dbsize=run.keys,
                target_dbsize=done_keys,
                error=run.failure,
            )
        if elapsed < full:
            fraction = elapsed / full
            return Snapshot(
                phase=Phase.FULL,
                phase_since=run.started,
                progress=min(99, int(100 * fraction)),
                offset=run.keys - int(run.keys * fraction),
                source_dbsize=run.keys,
                target_dbsize=int(run.keys * fraction),
                input_kbps=self._kbps(spec, 20_480.0 + (_seed(task_id) % 4_096) + 37.5 * (elapsed % 7)),
                ops=4_000 + int(900 * fraction),
            )
        if spec.method is Method.FULL:
            return Snapshot(
                phase=Phase.DONE,
                phase_since=run.started + full,
                progress=100,
                source_dbsize=run.keys,
                target_dbsize=run.keys,
            )
        incr = elapsed - full
        writes = int(incr * 25)
        offset = max(0, int(run.initial_lag * (1.0 - incr / full)))
        source = run.keys + writes
        return Snapshot(
            phase=Phase.INCREMENTAL,
            phase_since=run.started + full,
            progress=100,
            offset=offset,
            source_dbsize=source,
            target_dbsize=source - min(offset, writes),
            input_kbps=self._kbps(spec, 12.5 + (offset / 10.0)),
            ops=25 + offset // 20,
        )

    def stop(self, task_id: str, now: float) -> Snapshot:
        """Freeze the statistics; data stops moving."""
        run = self._run(task_id)
        if run.stopped is not None:
            return run.stopped
        last = self.poll(task_id, now)
        frozen = replace(
            last,
            phase=Phase.FAILED if last.phase is Phase.FAILED else Phase.STOPPED,
            phase_since=now,
            input_kbps=0.0,
            ops=0,
        )
        self._runs[task_id] = replace(run, stopped=frozen)
        return frozen

    def forget(self, task_id: str) -> None:
        """Drop everything about a task (after delete)."""
        self._runs.pop(task_id, None)
