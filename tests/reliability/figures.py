"""Figures measured by the reliability suite, kept for ``docs/reliability.md``.

A test calls :func:`record` with one row of a table (a flat mapping of column to value); rows are
appended as JSON lines to ``<out>/<table>.jsonl``, where ``<out>`` is ``$DCS_RELIABILITY_OUT`` or
``build/reliability`` in the repository. ``python scripts/reliability_report.py`` prints the tables
as Markdown for the docs. Every row also names the test that produced it (``test`` column).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def out_dir() -> Path:
    """Where the figures of this run go."""
    return Path(os.environ.get("DCS_RELIABILITY_OUT") or REPO / "build" / "reliability")


def current_test() -> str:
    """``path::name`` of the running test (from pytest's ``PYTEST_CURRENT_TEST``)."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    return current.rsplit(" (", 1)[0] if current else "?"


def record(table: str, row: Mapping[str, Any], *, test: str | None = None) -> dict[str, Any]:
    """Append one row to ``table``; returns the row as written (with ``test`` and ``recorded_at``)."""
    written = {**row, "test": test or current_test(), "recorded_at": round(time.time(), 3)}
    directory = out_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f"{table}.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(written, sort_keys=True, default=str) + "\n")
    return written


def rows(table: str) -> list[dict[str, Any]]:
    """Rows recorded so far for ``table`` (latest run last)."""
    path = out_dir() / f"{table}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
