"""Waiting for a migration task: how every sensor, trigger and operator of the provider waits.

* :mod:`~huaweicloud_dcs_provider.waiting.tracker`: :func:`judge` and :class:`WaitTracker`, the
  state machine that turns one read into "keep waiting" or a final event (no I/O);
* :mod:`~huaweicloud_dcs_provider.waiting.engine`: :func:`check` (one read, as a plan) and
  :func:`wait` (the poll), run with the sync hook (``hook.run_plan``) in a worker and with the async
  hook in the triggerer;
* :mod:`~huaweicloud_dcs_provider.waiting.events`: the event schema and :func:`handle_event`, the
  one mapping of events to results and exceptions, plus the opt-in stops;
* :mod:`~huaweicloud_dcs_provider.waiting.timing`: defaults, deadlines, time in words.

The names below are the package's public face (the defaults at once, the rest on first use); the
modules import each other directly.
"""

from __future__ import annotations

from typing import Any

from huaweicloud_dcs_provider.waiting.events import (
    EventStatus,
    handle_event,
    result_of,
    small_stats,
    stop_on_timeout,
    stop_quietly,
)
from huaweicloud_dcs_provider.waiting.timing import (
    DEFAULT_CONSECUTIVE_SAMPLES,
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    FRAMEWORK_TIMEOUT_BUFFER,
    deadline_after,
    format_deadline,
    framework_timeout,
    human_duration,
)

#: Names imported on first use (PEP 562): a DAG file that imports an operator loads no tracker and
#: no engine. Code of the provider imports them from their modules.
_LAZY = {
    "WaitTracker": "huaweicloud_dcs_provider.waiting.tracker",
    "check": "huaweicloud_dcs_provider.waiting.engine",
    "wait": "huaweicloud_dcs_provider.waiting.engine",
    "Verdict": "huaweicloud_dcs_provider.api.statuses",
    "judge": "huaweicloud_dcs_provider.api.statuses",
    "MAX_ERROR_TEXT": "huaweicloud_dcs_provider.api.models",
    "error_text_of": "huaweicloud_dcs_provider.api.models",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_CONSECUTIVE_SAMPLES",
    "DEFAULT_MAX_CONSECUTIVE_ERRORS",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_TIMEOUT",
    "FRAMEWORK_TIMEOUT_BUFFER",
    "MAX_ERROR_TEXT",
    "EventStatus",
    "deadline_after",
    "error_text_of",
    "format_deadline",
    "framework_timeout",
    "handle_event",
    "human_duration",
    "result_of",
    "small_stats",
    "stop_on_timeout",
    "stop_quietly",
]
