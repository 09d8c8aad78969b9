"""The three time formats of the API's answers (they differ from one endpoint to another)."""

from __future__ import annotations

from datetime import UTC, datetime


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
