"""Triggerer scale: N concurrent ``DcsMigrationTaskTrigger``s in one event loop (issue 7, part 1).

Every trigger polls a local server every ``--interval`` seconds, as the triggerer runs them
(``asyncio.create_task`` per trigger consuming ``run()``; start times staggered over the first
interval, as deferrals arrive). Each (size, variant) runs in a **fresh child process per round**
(a triggerer is a process of its own), and the variants are interleaved over the rounds (issue 18:
the order rotates every round, so each variant takes each place). Measured in each child:

* event-loop lag, sampled by a 100 ms ticker (p50 / p99 / max), over the measurement window;
* CPU seconds of the process (user + system, threads included) per poll in that window;
* RSS growth per trigger (VmRSS once every poller has polled once, minus VmRSS before creating them);
* TCP connections the server accepted versus requests it answered (window and whole run);
* errors (trigger events, failed requests, warnings logged).

A *poll* is one status check: the task detail ``GET /v2/{project}/migration-task/{id}`` plus, since
the task is ``FULLMIGRATING``, the progress read ``GET .../{id}/stats`` the trigger makes for
migrating tasks. The baselines send exactly these two signed requests per poll
(:func:`huaweicloud_dcs_provider.api.signing.prepare_signed`, a fresh ``X-Sdk-Date`` each) and parse
both JSON answers:

* ``floor``: the issue's "minimal aiohttp loop over one keep-alive session": N coroutines sharing
  ONE ``aiohttp.ClientSession`` (default connector, keep-alive). Nothing can be cheaper in aiohttp.
* ``floor_own``: (optional) the same minimal loop with one keep-alive session per poller, which is
  how a trigger must hold its session (triggers cannot share one): separates the cost of that
  structure from the cost of our code.
* ``session_per_poll``: the common pattern (dbt Cloud, HttpAsyncHook without a session): a new
  ``ClientSession`` for every poll.
* ``ours``: real ``DcsMigrationTaskTrigger`` objects built as the sensor builds them, serialised and
  re-created from their kwargs like the triggerer does, connection from an ``AIRFLOW_CONN_...``
  variable.

The server (:mod:`bench.triggerer_parts`) is a separate process: a raw ``asyncio.Protocol``
HTTP/1.1 keep-alive responder with a fixed, realistic JSON answer (status ``FULLMIGRATING`` so
triggers keep waiting). It counts connections and requests and reports its own CPU time and loop
lag, to show it is not the bottleneck.

Every figure is shown as median (min-max) over the rounds, and so is every ratio, taken *within*
a round (the variants of a round ran back to back). Goals, at 1,000 triggers, judged on the median
ratio (``bench/verdicts.py``; "not settled" when the range straddles the goal): CPU per poll at
most 1.3x the floor's; a p99 loop lag at least 5x lower than session-per-poll's (where the common
pattern loses: its CPU per poll is close to ours on loopback); p99 loop lag under 200 ms; under
50 KB RSS per trigger.

With ``--tls`` the server speaks HTTPS (a self-signed certificate that the connection trusts
through its ``ca_bundle`` extra; the baselines share one client SSL context), as a real API gateway
does: a new connection then costs a TLS handshake, and each open connection a 256 KB asyncio
buffer. Results go to ``triggerer_scale_tls.json``.

    .venv/bin/python bench/bench_triggerer_scale.py                      # 1,000 x 5 rounds x 20 s
    .venv/bin/python bench/bench_triggerer_scale.py --quick              # 1,000 x 2 rounds x 10 s
    .venv/bin/python bench/bench_triggerer_scale.py --sizes 100,1000,3000 --rounds 3 --duration 60
    .venv/bin/python bench/bench_triggerer_scale.py --tls --duration 30
    .venv/bin/python bench/bench_triggerer_scale.py --rounds 1 --variants ours --profile
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402
from bench.results import Loads, Report  # noqa: E402
from bench.triggerer_parts import VARIANTS, child_main, make_tls_files, run_server  # noqa: E402
from bench.verdicts import Spread, describe  # noqa: E402

DEFAULT_VARIANTS = ("ours", "floor", "session_per_poll")
GOAL_SIZE = 1000
GOAL_CPU_VS_FLOOR = 1.3
GOAL_LAG_VS_PER_POLL = 5.0
GOAL_P99_LAG_MS = 200.0
GOAL_RSS_KB = 50.0
#: A p99 lag below this (ms) counts as this much in a ratio (the ticker's resolution, no division by 0).
LAG_FLOOR_MS = 0.1
#: Seconds a child needs besides its window: start-up and imports, warm-up (2 intervals + 1 s), the drain.
CHILD_OVERHEAD = 6.0


def run_variant(variant: str, n: int, args: argparse.Namespace, port: int) -> dict[str, Any]:
    """One child process: ``variant`` with ``n`` pollers; its figures."""
    command = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--size",
        str(n),
        "--interval",
        str(args.interval),
        "--duration",
        str(args.duration),
        "--port",
        str(port),
        "--log-level",
        args.log_level,
    ]
    if args.profile:
        command.append("--profile")
    # DCS_BENCH_PROVIDER: another copy of the provider package's parent folder (before/after runs).
    provider = os.environ.get("DCS_BENCH_PROVIDER") or str(REPO / "provider")
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PYTHONPATH": provider}
    budget = args.duration + 4 * args.interval + 120
    done = subprocess.run(  # noqa: S603 - our own script
        command, capture_output=True, text=True, env=env, timeout=budget, check=False
    )
    if args.profile:
        sys.stderr.write(done.stderr[-60_000:])
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            result["stderr_lines"] = done.stderr.count("\n")
            result["recorded_at"] = time.time()
            return result
    tail = done.stderr[-3000:]
    raise RuntimeError(f"{variant} x {n} failed (exit {done.returncode}):\n{tail}")


def run_rounds(
    sizes: list[int], variants: list[str], args: argparse.Namespace, port: int, loads: Loads
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every (size, variant) once per round, in a fresh child; the order rotates every round."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {str(n): {v: [] for v in variants} for n in sizes}
    for number in range(args.rounds):
        shift = number % len(variants)
        order = variants[shift:] + variants[:shift]
        for n in sizes:
            for variant in order:
                r = run_variant(variant, n, args, port)
                runs[str(n)][variant].append(r)
                load = loads.sample()
                cpu = r["cpu_per_1000_polls"]
                print(
                    f"  round {number + 1}/{args.rounds}: {variant:17} x {n}: "
                    f"{cpu if cpu is not None else float('nan'):.3f} ms CPU/poll, "
                    f"lag p99 {r['lag_p99_ms']:.1f} ms, {r['polls']}/{r['polls_expected']} polls, "
                    f"{r['errors'] + r['warnings_logged']} errors (load {load:.2f})",
                    flush=True,
                )
                time.sleep(1.0)  # let closed connections drain
    return runs


def _spread(rounds: list[dict[str, Any]], key: str) -> Spread:
    return Spread.of(float(r[key] or 0.0) for r in rounds)


def print_table(size: int, per_variant: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    """One table per size: every figure as median (min-max) over the rounds."""
    print(
        f"\n=== {size} pollers, interval {args.interval:g} s, {args.duration:g} s measured per round "
        f"after a {2 * args.interval + 1:g} s warm-up, {args.rounds} rounds: median (min-max) ==="
    )
    columns = (
        ("CPU ms/poll", "cpu_per_1000_polls", 3),
        ("lag p50 ms", "lag_p50_ms", 1),
        ("lag p99 ms", "lag_p99_ms", 1),
        ("lag max ms", "lag_max_ms", 1),
        ("RSS KB/poller", "rss_per_trigger_kb", 1),
        ("conns (window)", "connections_window", 0),
        ("server CPU %", "server_cpu_percent", 1),
    )
    for variant, rounds in per_variant.items():
        polls = sum(r["polls"] for r in rounds)
        expected = sum(r["polls_expected"] for r in rounds)
        errors = sum(r["errors"] + r["warnings_logged"] for r in rounds)
        print(f"{variant}: {polls}/{expected} polls, {errors} errors")
        for label, key, digits in columns:
            print(f"    {label:16} {describe(_spread(rounds, key), digits=digits)}")


def report_size(report: Report, size: int, per_variant: dict[str, list[dict[str, Any]]]) -> None:
    """The distributions, ratios and verdicts of one size."""
    for variant, rounds in per_variant.items():
        report.figure(
            f"{size:,} waits, {variant}: CPU per poll",
            _spread(rounds, "cpu_per_1000_polls"),
            unit=" ms",
            digits=3,
        )
        report.figure(
            f"{size:,} waits, {variant}: loop lag p99", _spread(rounds, "lag_p99_ms"), unit=" ms", digits=1
        )
        report.figure(
            f"{size:,} waits, {variant}: RSS per poller",
            _spread(rounds, "rss_per_trigger_kb"),
            unit=" KB",
            digits=1,
        )
    judged = size == GOAL_SIZE
    ours, floor, per_poll = (per_variant.get(v) for v in ("ours", "floor", "session_per_poll"))

    def per_round(a: list[dict[str, Any]], b: list[dict[str, Any]], key: str, low: float = 0.0) -> Spread:
        return Spread.of(max(x[key], low) / max(y[key], low) for x, y in zip(a, b, strict=True))

    print(f"\n--- {size:,} waits: ratios within each round, median (min-max)")
    if ours and floor:
        report.ratio(
            f"{size:,} waits: CPU per poll, ours / floor",
            per_round(ours, floor, "cpu_per_1000_polls"),
            goal=GOAL_CPU_VS_FLOOR if judged else None,
            at_least=False,
        )
    if ours and per_poll:
        report.ratio(
            f"{size:,} waits: p99 loop lag, session per poll / ours",
            per_round(per_poll, ours, "lag_p99_ms", LAG_FLOOR_MS),
            goal=GOAL_LAG_VS_PER_POLL if judged else None,
        )
        report.ratio(
            f"{size:,} waits: CPU per poll, session per poll / ours",
            per_round(per_poll, ours, "cpu_per_1000_polls"),
        )
    if ours:
        limits = [("RSS per trigger", "rss_per_trigger_kb", GOAL_RSS_KB, " KB")]
        if judged:
            limits.insert(0, ("p99 loop lag", "lag_p99_ms", GOAL_P99_LAG_MS, " ms"))
        for label, key, goal, unit in limits:
            report.ratio(
                f"{size:,} waits: ours, {label}",
                _spread(ours, key),
                goal=goal,
                at_least=False,
                unit=unit,
                digits=1,
            )
        errors = sum(r["errors"] for r in ours)
        report.note(
            f"{size:,} waits: ours had {errors} errors and {sum(r['warnings_logged'] for r in ours)} warnings"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=str(GOAL_SIZE), help="pollers per child, comma-separated")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (5; --quick 2)")
    parser.add_argument("--duration", type=float, help="measured seconds after warm-up (20; --quick 10)")
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 10 s (a smoke check)")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS), help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING"])
    parser.add_argument("--tls", action="store_true", help="HTTPS server (self-signed, ca_bundle)")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile each child (stderr)")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.server:
        run_server(args.port)
        return
    if args.child:
        child_main(args)
        return
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.duration = args.duration or (10.0 if args.quick else 20.0)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    children = args.rounds * len(sizes) * len(variants)
    expected = children * (args.duration + 2 * args.interval + CHILD_OVERHEAD)
    print(
        f"{args.rounds} rounds x {len(sizes)} sizes x {len(variants)} variants = {children} children of "
        f"{args.duration:g} s measured each; expected duration about {expected / 60:.0f} min",
        flush=True,
    )

    name = "triggerer_scale_tls" if args.tls else "triggerer_scale"
    if args.tls:
        folder = tempfile.mkdtemp(prefix="dcs-bench-tls-")
        make_tls_files(folder)
        os.environ["DCS_BENCH_TLS_DIR"] = folder
    loads = Loads()
    began = time.monotonic()
    server = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, __file__, "--server", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        runs = run_rounds(sizes, variants, args, port, loads)
    finally:
        server.terminate()
        server.wait(timeout=10)

    report = Report(f"Triggerer scale{' over HTTPS' if args.tls else ''}")
    for n in sizes:
        print_table(n, runs[str(n)], args)
    for n in sizes:
        report_size(report, n, runs[str(n)])
    print(f"load average (1 min): {loads.describe()}")
    print(f"command: {results.command_line()}; took {(time.monotonic() - began) / 60:.1f} min")
    document = {
        "what": "N DcsMigrationTaskTriggers in one event loop vs. minimal aiohttp pollers",
        "poll": "one detail GET + one /stats GET (task FULLMIGRATING), both signed",
        "floor": "N pollers sharing ONE keep-alive aiohttp.ClientSession (the issue's minimal loop)",
        "floor_own": "N pollers, one keep-alive ClientSession each (a trigger's structure)",
        "session_per_poll": "a new ClientSession per poll (the common pattern)",
        "rounds": args.rounds,
        "duration": args.duration,
        "interval": args.interval,
        "process_per_round": True,
        "log_level": args.log_level,
        "tls": args.tls,
        "seconds": time.monotonic() - began,
        "runs": runs,
    }
    if not args.no_save:
        print(f"\nsaved {results.shown(results.save(name, document, report=report, loads=loads))}")


if __name__ == "__main__":
    main()
