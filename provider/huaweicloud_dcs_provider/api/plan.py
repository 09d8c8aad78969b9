"""Plans: API work written once, without I/O, run by a sync or an async driver.

A *plan* is a generator that yields what it needs done (a call to send,
:class:`~huaweicloud_dcs_provider.api.transport.Call`, or a :class:`Sleep`) and receives the answer
(the call's parsed result; a failed call is thrown into it as its exception). It never touches a
socket or a clock's sleep itself, so the same plan runs

* in a worker, with the sync hook: :func:`drive_sync` (``requests``, ``time.sleep``);
* in the triggerer, with the async hook: :func:`drive_async` (``aiohttp``, ``asyncio.sleep``);
* in a unit test, with any function that answers calls.

Every wait of the provider is :func:`poll_until` (the one "read, judge, sleep" loop), and every
list of the API is read with :func:`all_pages` (the one paging loop).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:  # imports nothing at run time: operators use plans in DAG files
    from huaweicloud_dcs_provider.api.transport import Call

R = TypeVar("R")
E = TypeVar("E")


@dataclass(frozen=True)
class Sleep:
    """A pause of ``seconds`` (the driver sleeps its own way)."""

    seconds: float


#: What a plan yields: a call to send (``Call``) or a :class:`Sleep`.
Step: TypeAlias = "Call[Any] | Sleep"
#: A plan returning ``R``.
Plan: TypeAlias = "Generator[Step, Any, R]"


def drive_sync(
    plan: Plan[R],
    execute: Callable[[Call[Any]], Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """Run ``plan`` to its end: calls go to ``execute`` (the sync hook), pauses to ``sleep``."""
    try:
        step = next(plan)
        while True:
            if isinstance(step, Sleep):
                sleep(step.seconds)
                step = plan.send(None)
                continue
            try:
                answer = execute(step)
            except Exception as exc:
                step = plan.throw(exc)
            else:
                step = plan.send(answer)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def drive_async(
    plan: Plan[R],
    execute: Callable[[Call[Any]], Awaitable[Any]],
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> R:
    """Run ``plan`` to its end in an event loop: calls go to ``execute`` (the async hook)."""
    try:
        step = next(plan)
        while True:
            if isinstance(step, Sleep):
                await sleep(step.seconds)
                step = plan.send(None)
                continue
            try:
                answer = await execute(step)
            except Exception as exc:
                step = plan.throw(exc)
            else:
                step = plan.send(answer)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def call(request: Call[R]) -> Plan[R]:
    """A plan of one call: ``answer = yield from call(calls.show_task(id))``."""
    answer: R = yield request
    return answer


@dataclass
class Deadline:
    """When a wait ends; ``at`` is absolute (``clock()`` time), ``None`` for never.

    Absolute, so that a wait resumed elsewhere (a restarted triggerer) does not wait longer.
    """

    at: float | None
    clock: Callable[[], float] = time.time

    @classmethod
    def after(cls, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """The deadline ``seconds`` from now (``None``: no deadline)."""
        return cls(None if seconds is None else clock() + seconds, clock)

    def passed(self) -> bool:
        """True once the deadline is reached: the next read is the last one."""
        return self.at is not None and self.clock() >= self.at

    def remaining(self) -> float | None:
        """Seconds left (never negative); ``None`` without a deadline."""
        return None if self.at is None else max(0.0, self.at - self.clock())

    def pause(self, poll_interval: float) -> float:
        """The pause before the next read: the poll interval, cut short at the deadline."""
        left = self.remaining()
        return poll_interval if left is None else min(poll_interval, left)


def poll_until(
    read: Callable[[bool], Plan[R | None]],
    *,
    poll_interval: float,
    deadline: Deadline,
    first_pause: bool = False,
) -> Plan[R]:
    """The one poll loop: ``read(final)`` until it returns an outcome, ``poll_interval`` apart.

    ``read`` is itself a plan; it gets ``final=True`` for the read made at or after the deadline,
    and must then return an outcome (or raise): the loop never reads past the deadline. With
    ``first_pause`` the loop sleeps once before its first read (the caller has just read).
    """
    if first_pause:
        yield Sleep(poll_interval)
    while True:
        final = deadline.passed()
        outcome = yield from read(final)
        if outcome is not None:
            return outcome
        if final:
            raise RuntimeError("a poll's last read returned no outcome")  # a bug in ``read``
        yield Sleep(deadline.pause(poll_interval))


def all_pages(page: Callable[[int], Call[tuple[int, list[E]]]]) -> Plan[list[E]]:
    """The one paging loop: every entry of a list, reading ``page(offset)`` until the total is reached.

    ``page(offset)`` builds the call of the page starting at ``offset`` (its answer is
    ``(total, entries)``). Ends on an empty page, at the announced total, and when the API answers
    the same page again (it ignored the offset), so a lying total cannot make it loop forever.
    """
    entries: list[E] = []
    while True:
        total, chunk = yield from call(page(len(entries)))
        if entries and chunk == entries[-len(chunk) :]:
            return entries
        entries.extend(chunk)
        if not chunk or len(entries) >= total:
            return entries
