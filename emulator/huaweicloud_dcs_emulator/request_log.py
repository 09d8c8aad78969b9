"""The request log: the last API requests with their outcome (admin ``GET /_emulator/requests``)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from huaweicloud_dcs_emulator.path_patterns import compile_path_pattern, path_matches

#: Matching time the request-log filter may spend (in all) before it gives up.
FILTER_BUDGET_SECONDS = 5.0


class FilterTooSlow(ValueError):
    """The request-log filter ran out of its time budget."""


@dataclass
class LoggedRequest:
    """One entry of the request log."""

    request_id: str
    method: str
    path: str
    query: str
    time: float
    status: int | None = None
    #: Status the API handler answered with (``None``: the request never reached it, e.g. a
    #: ``before`` fault, or the gateway refused it: bad signature, unknown path); differs from
    #: ``status`` when an ``after`` fault replaced the answer. Set as soon as the handler returns.
    handled_status: int | None = None
    duration: float | None = None
    error_code: str | None = None
    faults: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "time": self.time,
            "status": self.status,
            "handled_status": self.handled_status,
            "duration": self.duration,
            "error_code": self.error_code,
            "fault": self.faults[-1] if self.faults else None,
            "faults": list(self.faults),
        }


class RequestLog:
    """The last ``maxlen`` API requests (admin calls are not logged)."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=maxlen)

    def add(self, entry: LoggedRequest) -> LoggedRequest:
        """Append an entry (completed later by the caller)."""
        self._entries.append(entry)
        return entry

    def clear(self) -> int:
        """Empty the log; returns how many entries were removed."""
        count = len(self._entries)
        self._entries.clear()
        return count

    def entries(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Entries, optionally filtered by method and a path pattern (see :mod:`.path_patterns`;
        :class:`ValueError` for a refused pattern)."""
        pattern = compile_path_pattern(path) if path else None
        return [entry for entry in list(self._entries) if _selected(entry, method, pattern)]

    async def filtered(
        self, method: str | None = None, path: str | None = None, *, budget: float = FILTER_BUDGET_SECONDS
    ) -> list[LoggedRequest]:
        """:meth:`entries`, yielding to the event loop between batches (other requests are served
        meanwhile); :class:`FilterTooSlow` after ``budget`` seconds of matching in all."""
        pattern = compile_path_pattern(path) if path else None
        found: list[LoggedRequest] = []
        spent = 0.0
        started = time.monotonic()
        for index, entry in enumerate(list(self._entries)):
            if _selected(entry, method, pattern):
                found.append(entry)
            if index % 10 == 9:  # a search costs 50 ms at worst: yield often
                spent += time.monotonic() - started
                if spent > budget:
                    raise FilterTooSlow(f"the path filter took over {budget:g} s; use a narrower pattern")
                await asyncio.sleep(0)
                started = time.monotonic()
        return found


def _selected(entry: LoggedRequest, method: str | None, pattern: re.Pattern[str] | None) -> bool:
    if method and entry.method != method.upper():
        return False
    return path_matches(pattern, entry.path)
