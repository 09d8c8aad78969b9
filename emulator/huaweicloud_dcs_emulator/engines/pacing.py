"""Bandwidth cap and rate meter of the real migration engine (bytes written to the target)."""

from __future__ import annotations

import asyncio
import time
from collections import deque

#: Window (seconds) of the ``target_input_kbps`` / ``target_ops`` rates.
RATE_WINDOW = 1.0


class Throttle:
    """Caps bytes per second (``bandwidth_limit_mb``; ``None`` = unlimited)."""

    def __init__(self, limit_mb: int | None) -> None:
        self.set_limit(limit_mb)

    def set_limit(self, limit_mb: int | None) -> None:
        """Change the cap; the accounting starts again."""
        self.limit_mb = limit_mb
        self._start = time.monotonic()
        self._sent = 0

    async def pace(self, nbytes: int) -> None:
        """Account ``nbytes`` written; sleep as long as the cap requires."""
        if not self.limit_mb:
            return
        now = time.monotonic()
        if now - (self._start + self._sent / (self.limit_mb * 1024 * 1024)) > 1.0:
            # Idle for a while: do not let unused allowance pile up into an unlimited burst.
            self._start, self._sent = now, 0
        self._sent += nbytes
        delay = self._start + self._sent / (self.limit_mb * 1024 * 1024) - now
        if delay > 0:
            await asyncio.sleep(delay)


class Meter:
    """Bytes and commands written to the target over the last :data:`RATE_WINDOW` seconds."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int, int]] = deque()

    def add(self, nbytes: int, ops: int) -> None:
        """Record one batch written to the target."""
        self._samples.append((time.monotonic(), nbytes, ops))

    def rates(self) -> tuple[float, int]:
        """``(KB/s, ops/s)`` over the window."""
        horizon = time.monotonic() - RATE_WINDOW
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        nbytes = sum(s[1] for s in self._samples)
        ops = sum(s[2] for s in self._samples)
        return nbytes / 1024.0 / RATE_WINDOW, int(ops / RATE_WINDOW)
