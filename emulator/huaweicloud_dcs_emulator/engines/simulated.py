"""The default engine: moves nothing, derives believable numbers from wall-clock time.

It opens no connection at all: progress is a function of wall-clock time, and a few well-known
inputs make the migration fail (see :func:`simulated_failure`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from huaweicloud_dcs_emulator.engines.protocol import (
    EngineError,
    Method,
    MigrationSpec,
    Phase,
    Snapshot,
)

#: The password that makes a simulated migration fail with an authentication error.
WRONG_PASSWORD = "wrong-password"  # noqa: S105 - a documented test trigger, not a secret
#: The port that makes a simulated migration fail with "Connection refused".
REFUSED_PORT = 1


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
