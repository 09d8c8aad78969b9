"""The figures of one run of the suite as markdown tables, ready to paste into docs/performance.md.

Reads ``build/bench/*.json`` (``DCS_BENCH_OUT``), keeps the results of one run (``--run``; by
default the run of the newest result: ``scripts/bench.sh`` sets ``DCS_BENCH_RUN`` for all the
benchmarks it starts), prints for each benchmark its command, date and load average, the
distribution of every figure over the rounds (median, min, max) and the ratios and verdicts with
their ranges, then writes the same to ``build/bench/summary.md``. Results of another run are listed
as left out, so a mix of runs cannot pass for one.

    .venv/bin/python bench/summary.py              # the newest run
    .venv/bin/python bench/summary.py --run ID     # another one
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import REPO, shown

#: The order of the sections (the others follow, by name).
ORDER = (
    "triggerer_scale",
    "triggerer_scale_tls",
    "hook_vs_sdk",
    "hook_vs_sdk_emulator",
    "parse_cost",
    "detection_latency",
    "emulator_datapath",
    "verify",
)


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def number(value: float, digits: int, unit: str = "") -> str:
    return f"{value:,.{digits}f}{unit}"


def load_line(document: dict[str, Any]) -> str:
    load = document.get("load_average")
    if not isinstance(load, dict) or "median" not in load:
        return "load average: not recorded"
    return (
        f"load average (1 min): {load['before']:.2f} before, {load['min']:.2f}-{load['max']:.2f} during "
        f"(median {load['median']:.2f}, {load['rounds']} samples)"
    )


def section(document: dict[str, Any]) -> list[str]:
    """The markdown of one benchmark."""
    report = document.get("report") or {}
    name = document["name"]
    title = report.get("title") or name
    lines = [
        f"### {title} (`bench/bench_{name.removesuffix('_tls').removesuffix('_emulator')}.py`)",
        "",
        f"`{document.get('command', '?')}`, {when(document['recorded_at'])}; {load_line(document)}.",
        "",
    ]
    figures = report.get("figures") or []
    if figures:
        lines += ["| figure | median | min | max | rounds |", "|---|---|---|---|---|"]
        for f in figures:
            digits, unit = int(f.get("digits", 2)), f.get("unit", "")
            lines.append(
                f"| {f['figure']} | **{number(f['median'], digits, unit)}** "
                f"| {number(f['min'], digits, unit)} "
                f"| {number(f['max'], digits, unit)} | {f['rounds']} |"
            )
        lines.append("")
    verdicts = report.get("verdicts") or []
    if verdicts:
        lines += ["| ratio or goal | median (min-max, rounds) | goal | verdict |", "|---|---|---|---|"]
        for v in verdicts:
            verdict = v.get("verdict") or "-"
            shown_verdict = f"**{verdict}**" if verdict in ("MET", "NOT MET") else verdict
            lines.append(f"| {v['figure']} | {v['measured']} | {v.get('goal') or '-'} | {shown_verdict} |")
        lines.append("")
    for note in report.get("notes") or []:
        lines.append(f"- {note}")
    if report.get("notes"):
        lines.append("")
    if not report:
        lines += ["(this result has no report: written by an older version of the benchmark)", ""]
    return lines


def collect(folder: Path, run: str | None) -> tuple[list[dict[str, Any]], list[str], str | None]:
    """The results of ``run`` (default: the newest result's run), and the names left out."""
    documents = []
    for path in sorted(folder.glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except ValueError:
            continue
        if isinstance(document, dict) and "name" in document and "recorded_at" in document:
            documents.append(document)
    if not documents:
        return [], [], run
    if run is None:
        run = max(documents, key=lambda d: d["recorded_at"]).get("run")
    kept = [d for d in documents if d.get("run") == run]
    left_out = [d["name"] for d in documents if d.get("run") != run]
    rank = {name: index for index, name in enumerate(ORDER)}
    kept.sort(key=lambda d: (rank.get(d["name"], len(ORDER)), d["name"]))
    return kept, left_out, run


def render(kept: list[dict[str, Any]], left_out: list[str], run: str | None) -> str:
    first, last = min(d["recorded_at"] for d in kept), max(d["recorded_at"] for d in kept)
    machine = kept[0].get("machine", {})
    lines = [
        f"<!-- bench/summary.py: run {run or '(none)'}, {len(kept)} results -->",
        "",
        f"One run of the suite{f' (`{run}`)' if run else ''}: results written {when(first)} to "
        f"{when(last)}, on {machine.get('cpus', '?')} CPUs ({machine.get('processor', '?')}), "
        f"Python {machine.get('python', '?')}, {machine.get('platform', '?')}.",
        "",
    ]
    judged = [(d, v) for d in kept for v in (d.get("report") or {}).get("verdicts", []) if v.get("verdict")]
    if judged:
        lines += ["| benchmark | goal | median (min-max, rounds) | verdict |", "|---|---|---|---|"]
        for document, v in judged:
            title = (document.get("report") or {}).get("title") or document["name"]
            lines.append(
                f"| {title}: {v['figure']} | {v.get('goal')} | {v['measured']} | **{v['verdict']}** |"
            )
        lines.append("")
    for document in kept:
        lines += section(document)
    if left_out:
        lines += [f"Left out (another run): {', '.join(sorted(left_out))}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", help="the run to show (DCS_BENCH_RUN of its results)")
    args = parser.parse_args(argv)
    folder = Path(os.environ.get("DCS_BENCH_OUT") or REPO / "build" / "bench")
    kept, left_out, run = collect(folder, args.run)
    if not kept:
        print(f"no results of run {run!r} in {shown(folder)}")
        return 1
    text = render(kept, left_out, run)
    print(text)
    out = folder / "summary.md"
    out.write_text(text + "\n")
    print(f"written to {shown(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
