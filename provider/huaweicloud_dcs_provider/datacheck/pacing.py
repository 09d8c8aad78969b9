"""A cap on the commands a check sends to one side per second.

A verification reads every key of a production Redis; ``qps`` keeps it from crowding out the
traffic that Redis is there for. Each pipelined command counts as one. :class:`Pace` sleeps
before a batch until the batch is paid for: ``n`` commands sent since the start never come before
``n / qps`` seconds have passed. Keep batches small next to ``qps`` (the verification sends
about a twentieth of a second's worth at a time) so no burst stands out.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pace:
    """At most ``qps`` commands per second on average (``None``: no cap).

    :param qps: commands per second this side may receive from the check.
    :param clock: a monotonic clock (for tests).
    :param sleep: the sleep function (for tests).
    """

    def __init__(
        self,
        qps: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.qps = qps
        self._clock = clock
        self._sleep = sleep
        self._started: float | None = None
        self.commands = 0
        self.slept = 0.0

    def take(self, commands: int) -> None:
        """Wait until ``commands`` more may be sent, then count them."""
        now = self._clock()
        if self._started is None:
            self._started = now
        if self.qps:
            due = self._started + (self.commands + commands) / self.qps
            if due > now:
                self._sleep(due - now)
                self.slept += due - now
        self.commands += commands
