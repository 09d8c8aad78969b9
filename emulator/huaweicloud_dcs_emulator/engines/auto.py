"""Per task, really migrate (two local Redis servers) or simulate (everything else)."""

from __future__ import annotations

from huaweicloud_dcs_emulator.engines.loopback import is_loopback_host
from huaweicloud_dcs_emulator.engines.protocol import EngineError, MigrationEngine, MigrationSpec, Snapshot
from huaweicloud_dcs_emulator.engines.redis_engine import RedisMigrationEngine
from huaweicloud_dcs_emulator.engines.simulated import SimulatedEngine


def runs_on_local_redis(spec: MigrationSpec) -> bool:
    """True when both sides are exactly one loopback ``host:port`` (no instance id).

    Those tasks are really migrated; everything else (cloud instance ids, remote or mixed
    addresses, comma-separated cluster address lists) is simulated.
    """
    for endpoint in (spec.source, spec.target):
        if endpoint.instance_id or not endpoint.addrs:
            return False
        pairs = endpoint.host_ports()
        if len(pairs) != 1 or not is_loopback_host(pairs[0][0]):
            return False
    return True


class AutoEngine:
    """Chooses per task: :class:`RedisMigrationEngine` for two local Redis servers, else simulation.

    The choice (see :func:`runs_on_local_redis`) is made at every start, so a restart of the same
    task uses the same engine.
    """

    def __init__(
        self, real: RedisMigrationEngine | None = None, simulated: SimulatedEngine | None = None
    ) -> None:
        self.real = real or RedisMigrationEngine()
        self.simulated = simulated or SimulatedEngine()
        self._owners: dict[str, MigrationEngine] = {}

    def engine_for(self, task_id: str) -> MigrationEngine:
        """The engine running ``task_id`` (:class:`EngineError` if none)."""
        try:
            return self._owners[task_id]
        except KeyError:
            raise EngineError(f"no migration started for task {task_id}") from None

    def start(self, spec: MigrationSpec, now: float) -> None:
        """Start on the engine the task's endpoints call for."""
        engine: MigrationEngine = self.real if runs_on_local_redis(spec) else self.simulated
        previous = self._owners.get(spec.task_id)
        if previous is not None and previous is not engine:
            previous.forget(spec.task_id)
        self._owners[spec.task_id] = engine
        engine.start(spec, now)

    def poll(self, task_id: str, now: float) -> Snapshot:
        """Delegate."""
        return self.engine_for(task_id).poll(task_id, now)

    def update_limits(self, task_id: str, bandwidth_limit_mb: int | None) -> None:
        """Delegate."""
        self.engine_for(task_id).update_limits(task_id, bandwidth_limit_mb)

    def stop(self, task_id: str, now: float) -> Snapshot:
        """Delegate."""
        return self.engine_for(task_id).stop(task_id, now)

    def forget(self, task_id: str) -> None:
        """Delegate; unknown ids are ignored."""
        engine = self._owners.pop(task_id, None)
        if engine is not None:
            engine.forget(task_id)

    async def refresh(self, task_id: str) -> None:
        """Refresh the figures of a really migrating task (no-op for simulated ones)."""
        if self._owners.get(task_id) is self.real:
            await self.real.refresh(task_id)

    async def aclose(self) -> None:
        """Stop every real run."""
        await self.real.aclose()
