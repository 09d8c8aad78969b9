"""The emulator's lifecycle durations and behaviour switches (changeable at run time)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

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
