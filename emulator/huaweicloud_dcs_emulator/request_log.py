"""The request log: the last API requests with their outcome (admin ``GET /_emulator/requests``)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


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

    def entries(self, method: str | None = None, path: str | None = None) -> Iterable[LoggedRequest]:
        """Entries, optionally filtered by method and a regex searched in the path."""
        pattern = re.compile(path) if path else None
        for entry in list(self._entries):
            if method and entry.method != method.upper():
                continue
            if pattern is not None and not pattern.search(entry.path):
                continue
            yield entry
