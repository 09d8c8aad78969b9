"""Where a benchmark writes its figures: ``build/bench/<name>.json`` (and the machine it ran on)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


def save(name: str, figures: dict[str, Any]) -> Path:
    """Write one benchmark's figures; returns the file."""
    out = Path(os.environ.get("DCS_BENCH_OUT") or REPO / "build" / "bench")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    document = {"name": name, "recorded_at": time.time(), "machine": machine(), **figures}
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    return path
