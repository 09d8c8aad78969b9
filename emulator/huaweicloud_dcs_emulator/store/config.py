"""The emulator's lifecycle durations and behaviour switches (changeable at run time)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

#: What GET detail answers for a deleted task (``deleted_detail``).
DELETED_DETAIL_CHOICES = ("not_found", "DELETED", "SUCCESS")
#: What the stats of a RELEASED task answer (``released_stats``).
RELEASED_STATS_CHOICES = ("kept", "gone")
#: The durations :attr:`EmulatorConfig.time_scale` multiplies.
DURATIONS = (
    "create_seconds",
    "full_seconds",
    "stop_seconds",
    "fail_seconds",
    "job_seconds",
    "exchange_seconds",
    "release_after_seconds",
)
_CHOICES: dict[str, tuple[str, ...]] = {
    "deleted_detail": DELETED_DETAIL_CHOICES,
    "released_stats": RELEASED_STATS_CHOICES,
}
MAX_TIME_SCALE = 10_000.0


@dataclass(frozen=True)
class EmulatorConfig:
    """Lifecycle durations (seconds) and behaviour switches, changeable at run time.

    The defaults model the hardest realistic cloud (see "Guesses" in ``docs/emulator.md``):

    * ``create_seconds``: CREATING -> RUNNING (and the create job RUNNING -> SUCCESS);
    * ``full_seconds``: duration of the full sync; also how long the incremental ``offset`` takes
      to drain to 0, and how long a backup import stays MIGRATING;
    * ``stop_seconds``: TERMINATING -> TERMINATED;
    * ``fail_seconds``: configure -> MIGRATION_FAILED for a failing input (port 1, wrong-password);
    * ``job_seconds``: duration of the async whitelist job;
    * ``exchange_seconds``: ``task_status`` EXCHANGING -> EXCHANGE_SUCCESS / ROLLBACK_SUCCESS;
    * ``release_after_seconds``: a finished full migration goes SUCCESS -> RELEASED (its
      migration ECS is released; ``released_at`` set) this long after its success;
    * ``released_stats``: what the stats of a RELEASED task answer: ``kept`` (the final figures)
      or ``gone`` (HTTP 400 DCS.4133);
    * ``deleted_detail``: what GET detail answers for a deleted task: ``SUCCESS`` or ``DELETED``
      (a stale detail with that status) or ``not_found`` (HTTP 400 DCS.4133); the lower-case
      spellings are accepted too;
    * ``time_scale``: every duration above is multiplied by it (3 = three times as slow), so a
      DAG can run against cloud-like durations in a soak test;
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
    release_after_seconds: float = 10.0
    released_stats: str = "kept"
    deleted_detail: str = "SUCCESS"
    time_scale: float = 1.0
    clock_skew_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    def seconds(self, name: str) -> float:
        """The duration ``name`` (one of :data:`DURATIONS`) multiplied by ``time_scale``."""
        if name not in DURATIONS:
            raise KeyError(name)
        value: float = getattr(self, name)
        return value * self.time_scale

    def updated(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """A copy with ``changes`` applied; :class:`ValueError` for unknown keys or bad values."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown}; known: {sorted(names)}")
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key in _CHOICES:
                clean[key] = _choice(key, value)
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number")
            if key == "clock_skew_seconds":
                if not -86_400 <= value <= 86_400:
                    raise ValueError(f"{key} must be between -86400 and 86400 seconds")
            elif key == "time_scale":
                if not 0 < value <= MAX_TIME_SCALE:
                    raise ValueError(f"time_scale must be a factor in (0, {MAX_TIME_SCALE:g}]")
            elif not 0 <= value <= 86_400:
                raise ValueError(f"{key} must be between 0 and 86400 seconds")
            clean[key] = float(value)
        return replace(self, **clean)


def _choice(key: str, value: Any) -> str:
    """``value`` as one of the choices of ``key`` (case-insensitive); :class:`ValueError` else."""
    choices = _CHOICES[key]
    if isinstance(value, str):
        for choice in choices:
            if choice.lower() == value.lower():
                return choice
    raise ValueError(f"{key} must be one of {list(choices)}")
