"""A wait's defaults and time: absolute deadlines, Airflow's backstop timeout, time in words.

Light on purpose: DAG files import it (through the operators' and sensors' defaults).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

#: Seconds between two status reads unless the user says otherwise.
DEFAULT_POLL_INTERVAL = 30.0
#: Seconds an operator waits for the migration by default (7 days, like dbt Cloud / ADF).
DEFAULT_TIMEOUT = 7 * 24 * 3600.0
#: Extra time given to Airflow's own deferral timeout beyond the wait deadline: a backstop only,
#: the trigger ends the wait itself (with a ``timeout`` event that reaches ``execute_complete``).
FRAMEWORK_TIMEOUT_BUFFER = 600.0
#: Failed reads in a row (after the hook's own retries) before the wait gives up with an error.
DEFAULT_MAX_CONSECUTIVE_ERRORS = 5
#: Reads in a row with a small enough offset before a lag wait succeeds, unless told otherwise.
DEFAULT_CONSECUTIVE_SAMPLES = 3


def deadline_after(timeout: float | None, *, now: float | None = None) -> float | None:
    """The absolute deadline (epoch seconds) ``timeout`` seconds from now; ``None`` for no deadline."""
    if timeout is None:
        return None
    return (time.time() if now is None else now) + timeout


def framework_timeout(deadline: float | None, poll_interval: float) -> timedelta | None:
    """A deferral timeout for Airflow that only fires if the trigger could not end the wait itself."""
    if deadline is None:
        return None
    remaining = max(0.0, deadline - time.time())
    return timedelta(seconds=remaining + max(FRAMEWORK_TIMEOUT_BUFFER, 3 * poll_interval))


def human_duration(seconds: float) -> str:
    """``'45s'``, ``'12m 05s'``, ``'3h 07m'``, ``'2d 04h'``."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_deadline(deadline: float) -> str:
    """``2025-01-31 23:59:59 UTC``."""
    return datetime.fromtimestamp(deadline, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
