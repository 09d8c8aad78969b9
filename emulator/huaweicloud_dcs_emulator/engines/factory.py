"""Which engine the emulator runs: simulated only, or real copies between local Redis servers."""

from __future__ import annotations

import importlib.util

from huaweicloud_dcs_emulator.engines.protocol import MigrationEngine
from huaweicloud_dcs_emulator.engines.simulated import SimulatedEngine


def real_migration_available() -> bool:
    """True when the ``redis`` package is importable."""
    return importlib.util.find_spec("redis") is not None


def build_engine(real_migration: bool) -> MigrationEngine:
    """The emulator's engine.

    With ``real_migration``, an :class:`~.auto.AutoEngine`: tasks whose source and target
    are both one loopback ``addrs`` are really migrated, all others simulated. Without it, a
    :class:`SimulatedEngine` for every task.
    """
    if real_migration:
        from huaweicloud_dcs_emulator.engines.auto import AutoEngine

        return AutoEngine()
    return SimulatedEngine()
