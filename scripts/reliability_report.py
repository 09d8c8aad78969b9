"""Render the reliability suite's figures as the Markdown tables of docs/reliability.md.

The tests of ``tests/reliability`` and ``tests/e2e`` record rows (``tests/reliability/figures.py``)
in ``build/reliability/<table>.jsonl``. This script keeps the latest row per test and case and
prints each table; with ``--write`` it replaces the tables between the
``<!-- table:NAME -->`` / ``<!-- /table:NAME -->`` markers of docs/reliability.md instead.

    .venv/bin/python -m pytest tests/reliability tests/e2e tests/test_no_false_success.py \
        tests/test_hostile_config.py tests/test_debug_secrets.py        # record
    .venv/bin/python scripts/reliability_report.py --write    # update the docs
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "reliability.md"

#: Columns of each table: (row key, heading). ``test`` is always last.
TABLES: dict[str, list[tuple[str, str]]] = {
    "faults": [
        ("fault", "Fault"),
        ("injected", "Injected as"),
        ("outcome", "Outcome"),
        ("attempts", "Attempts at the faulted endpoint"),
        ("configure_posts", "Configure POSTs"),
        ("seconds", "Seconds"),
        ("message", "Error a person sees (failures)"),
    ],
    "hostile_input": [
        ("case", "Input"),
        ("parameter", "Parameter named"),
        ("rejected_by", "Rejected by"),
        ("requests_sent", "Requests sent"),
        ("message", "Error (start)"),
    ],
    "path_ids": [
        ("endpoint", "Endpoint"),
        ("ids_tried", "Escaping ids tried"),
        ("rejected", "Refused"),
        ("requests_sent", "Requests sent"),
    ],
    "fuzz": [
        ("property", "Property"),
        ("examples", "Examples"),
        ("failures", "Failures"),
        ("max_seconds", "Slowest example (s)"),
    ],
    "load": [
        ("topology", "Deployment"),
        ("migrations", "Mapped migrations"),
        ("faults", "Faults"),
        ("succeeded", "Succeeded"),
        ("configure_effective", "Configures that took effect"),
        ("configure_posts", "Configure POSTs"),
        ("total_requests", "API requests"),
        ("faulted_503", "503s"),
        ("dropped", "Dropped"),
        ("wall_seconds", "Wall time (s)"),
        ("api_requests_per_minute", "API requests/min (mean)"),
        ("api_requests_busiest_minute", "Busiest minute"),
        ("stuck", "Stuck"),
    ],
    "security": [("check", "Check"), ("result", "Result")],
    "wrong_outcomes": [("case", "Case"), ("result", "Outcome now (the message a person sees)")],
    "hostile_config": [("setting", "Setting"), ("value", "Value"), ("error", "Error (before any request)")],
    "debug_scan": [
        ("path", "Path run at DEBUG"),
        ("lines scanned", "Lines scanned"),
        ("DEBUG lines", "DEBUG lines"),
        ("secrets", "Secrets looked for"),
        ("hits", "Hits"),
    ],
}
#: The field that tells two rows of one test apart (parametrized cases, load sizes).
ROW_KEYS = {
    "faults": "fault",
    "hostile_input": "case",
    "path_ids": "endpoint",
    "fuzz": "property",
    "load": "migrations",  # the test id names the deployment (sqlite-local, postgres-celery)
    "security": "check",
    "wrong_outcomes": "case",
    "hostile_config": "value",
    "debug_scan": "path",
}


def out_dir() -> Path:
    return Path(os.environ.get("DCS_RELIABILITY_OUT") or REPO / "build" / "reliability")


def latest_rows(table: str) -> list[dict[str, Any]]:
    """The newest row per (test, case), in first-recorded order."""
    path = out_dir() / f"{table}.jsonl"
    if not path.exists():
        return []
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            test = re.sub(r"\[.*\]$", "", str(row.get("test", "?")))
            latest[(test, str(row.get(ROW_KEYS[table])))] = row
    return list(latest.values())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        value = f"{value:.1f}" if value >= 1 else f"{value:.2f}"
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text.replace("[", "\\[").replace("]", "\\]")  # never read as a Markdown link


def render(table: str, rows: list[dict[str, Any]]) -> str:
    columns = [*TABLES[table], ("test", "Test")]
    lines = [
        "| " + " | ".join(heading for _, heading in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            if key == "test":
                value = f"`{re.sub(r'^tests/', '', str(value))}`"
            cells.append(_cell(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    updated = []
    for table in TABLES:
        rows = latest_rows(table)
        if not rows:
            continue
        pattern = re.compile(rf"(<!-- table:{table} -->\n)(?:.*?\n)?(<!-- /table:{table} -->)", re.S)
        if not pattern.search(text):
            continue
        text = pattern.sub(lambda m, t=table, r=rows: m.group(1) + render(t, r) + "\n" + m.group(2), text)
        updated.append(f"{table} ({len(rows)} rows)")
    doc.write_text(text, encoding="utf-8")
    return updated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"update {DOC.relative_to(REPO)} in place")
    args = parser.parse_args(argv)
    if args.write:
        print("updated:", ", ".join(write(DOC)) or "nothing (no figures recorded)")
        return 0
    for table in TABLES:
        rows = latest_rows(table)
        if rows:
            print(f"## {table}\n\n{render(table, rows)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
