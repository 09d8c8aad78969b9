"""Goal verdicts from repeated measurements (issue 18's rule).

A figure measured over several interleaved rounds is judged on its **median**; when the range of
the rounds (min to max) has values on both sides of the goal, the verdict is ``not settled``
(the median's side is said too): the noise of the machine is larger than the margin.

    spread = Spread.of([0.52, 0.61, 0.58])
    judge(spread, 0.5, at_least=True)      # "MET"
    describe(spread, 0.5, unit="x")        # "0.58x (0.52-0.61x)"
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

MET, NOT_MET, NOT_SETTLED = "MET", "NOT MET", "not settled"


@dataclass(frozen=True)
class Spread:
    """Min, median and max of one figure over the rounds."""

    min: float
    median: float
    max: float
    count: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        """The spread of ``values`` (at least one)."""
        data = sorted(float(v) for v in values)
        if not data:
            raise ValueError("no values")
        return cls(data[0], statistics.median(data), data[-1], len(data))

    def as_dict(self) -> dict[str, float | int]:
        """``{"min", "median", "max", "rounds"}`` for the JSON results."""
        return {"min": self.min, "median": self.median, "max": self.max, "rounds": self.count}


def judge(spread: Spread, goal: float, *, at_least: bool) -> str:
    """:data:`MET`, :data:`NOT_MET` or ``not settled (median: ...)``.

    :param at_least: the goal is a floor (``value >= goal``); else a ceiling (``value < goal``).
    """

    def good(value: float) -> bool:
        return value >= goal if at_least else value < goal

    if good(spread.min) == good(spread.max):
        return MET if good(spread.median) else NOT_MET
    return f"{NOT_SETTLED} (median: {MET if good(spread.median) else NOT_MET})"


def describe(spread: Spread, *, unit: str = "", digits: int = 2, runs: str = "rounds") -> str:
    """``median (min-max, N rounds)`` with ``unit`` after each number (the value alone for one)."""
    if spread.count == 1:
        return f"{spread.median:,.{digits}f}{unit}"
    return (
        f"{spread.median:,.{digits}f}{unit} "
        f"({spread.min:,.{digits}f}-{spread.max:,.{digits}f}{unit}, {spread.count} {runs})"
    )
