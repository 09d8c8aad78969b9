"""Waiting for a migration task: how every sensor, trigger and operator of the provider waits.

* :mod:`~huaweicloud_dcs_provider.waiting.tracker`: :func:`judge` and :class:`WaitTracker`, the
  state machine that turns one read into "keep waiting" or a final event (no I/O);
* :mod:`~huaweicloud_dcs_provider.waiting.engine`: :func:`check` (one read, as a plan) and
  :func:`wait` (the poll), run with the sync hook (``hook.run_plan``) in a worker and with the async
  hook in the triggerer;
* :mod:`~huaweicloud_dcs_provider.waiting.events`: the event schema and :func:`handle_event`, the
  one mapping of events to results and exceptions, plus the opt-in stops;
* :mod:`~huaweicloud_dcs_provider.waiting.timing`: defaults, deadlines, time in words.

The names below are the package's public face; the modules import each other directly.
"""

from __future__ import annotations

from huaweicloud_dcs_provider.api.statuses import Verdict, judge
from huaweicloud_dcs_provider.waiting.engine import check, wait
from huaweicloud_dcs_provider.waiting.events import (
    MAX_ERROR_TEXT,
    EventStatus,
    error_text_of,
    handle_event,
    result_of,
    small_stats,
    stop_on_timeout,
    stop_quietly,
)
from huaweicloud_dcs_provider.waiting.timing import (
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    FRAMEWORK_TIMEOUT_BUFFER,
    deadline_after,
    format_deadline,
    framework_timeout,
    human_duration,
)
from huaweicloud_dcs_provider.waiting.tracker import (
    DEFAULT_CONSECUTIVE_SAMPLES,
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    WaitTracker,
)

__all__ = [
    "DEFAULT_CONSECUTIVE_SAMPLES",
    "DEFAULT_MAX_CONSECUTIVE_ERRORS",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_TIMEOUT",
    "FRAMEWORK_TIMEOUT_BUFFER",
    "MAX_ERROR_TEXT",
    "EventStatus",
    "Verdict",
    "WaitTracker",
    "check",
    "deadline_after",
    "error_text_of",
    "format_deadline",
    "framework_timeout",
    "handle_event",
    "human_duration",
    "judge",
    "result_of",
    "small_stats",
    "stop_on_timeout",
    "stop_quietly",
    "wait",
]
