"""Where a benchmark writes its figures: ``build/bench/<name>.json`` (and the machine it ran on).

Every result also records the command that produced it, the load average during the run
(:class:`Loads`, sampled around each round) and, for ``bench/summary.py``, a :class:`Report`: the
distributions over the rounds (min / median / max) and the verdicts, in one shape for all the
benchmarks. ``scripts/bench.sh`` sets ``DCS_BENCH_RUN`` so that the results of one run of the suite
can be told from older ones.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bench.verdicts import Spread, describe, judge

REPO = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def command_line() -> str:
    """The command that runs this benchmark, as typed in the repository (no machine paths)."""
    python = Path(sys.executable)
    shown = python.relative_to(REPO) if python.is_relative_to(REPO) else Path(python.name)
    script = Path(sys.argv[0]).resolve()
    script_shown = script.relative_to(REPO) if script.is_relative_to(REPO) else Path(script.name)
    return " ".join([str(shown), str(script_shown), *sys.argv[1:]])


class Loads:
    """The 1-minute load average, sampled before the first round and after every round."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.sample()

    def sample(self) -> float:
        """Record the 1-minute load average now; returns it."""
        value = os.getloadavg()[0]
        self.samples.append(round(value, 2))
        return value

    def as_dict(self) -> dict[str, Any]:
        """``{"before", "samples", "min", "median", "max", "rounds", "end_1_5_15"}``."""
        spread = Spread.of(self.samples)
        return {
            "before": self.samples[0],
            "samples": self.samples,
            **spread.as_dict(),
            "end_1_5_15": [round(v, 2) for v in os.getloadavg()],
        }

    def describe(self) -> str:
        """``0.95 before; 0.81-1.00 during (median 0.90, 11 samples)``."""
        spread = Spread.of(self.samples)
        return (
            f"{self.samples[0]:.2f} before the first round; {spread.min:.2f}-{spread.max:.2f} during "
            f"(median {spread.median:.2f}, {spread.count} samples) on {os.cpu_count()} CPUs"
        )


class Report:
    """What ``bench/summary.py`` shows of one benchmark: figures over rounds, ratios, verdicts."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.figures: list[dict[str, Any]] = []
        self.verdicts: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def figure(self, label: str, spread: Spread, *, unit: str = "", digits: int = 2) -> Spread:
        """A figure's distribution over the rounds (a row of the distributions table)."""
        self.figures.append({"figure": label, "unit": unit, "digits": digits, **spread.as_dict()})
        return spread

    def ratio(
        self,
        label: str,
        spread: Spread,
        *,
        goal: float | None = None,
        at_least: bool = True,
        unit: str = "x",
        digits: int = 2,
        show: bool = True,
    ) -> str:
        """A ratio (or any judged figure) with its range and, given a goal, its verdict; prints it
        (unless ``show`` is false)."""
        verdict = judge(spread, goal, at_least=at_least) if goal is not None else ""
        wanted = "" if goal is None else f"{'>=' if at_least else '<'} {goal:g}{unit}"
        measured = describe(spread, unit=unit, digits=digits)
        self.verdicts.append(
            {"figure": label, "goal": wanted, "measured": measured, "verdict": verdict, **spread.as_dict()}
        )
        if show:
            print(f"{label}: {measured}" + (f" -> goal {wanted}: {verdict}" if goal is not None else ""))
        return verdict

    def note(self, text: str) -> None:
        """A line shown under the benchmark's tables."""
        self.notes.append(text)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "figures": self.figures, "verdicts": self.verdicts, "notes": self.notes}


def save(
    name: str,
    figures: dict[str, Any],
    *,
    report: Report | None = None,
    loads: Loads | None = None,
    command: str | None = None,
) -> Path:
    """Write one benchmark's figures; returns the file."""
    out = Path(os.environ.get("DCS_BENCH_OUT") or REPO / "build" / "bench")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    document: dict[str, Any] = {
        "name": name,
        "recorded_at": time.time(),
        "run": os.environ.get("DCS_BENCH_RUN"),
        "machine": machine(),
        "command": command or command_line(),
        **figures,
    }
    if loads is not None:
        document["load_average"] = loads.as_dict()
    if report is not None:
        document["report"] = report.as_dict()
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    return path


def shown(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
