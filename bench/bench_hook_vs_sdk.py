"""Calls per second of ``DcsHook.get_migration_task`` against the official SDK's ``show_migration_task``.

Both clients read the same migration task from the same local server, in its own process:

* ``--server minimal`` (default): a small ``aiohttp`` server that checks every request's
  signature with the emulator's verifier (``emulator.auth.verify``) and answers with the task's
  JSON as the emulator returned it (fetched once at start). It costs little per request, so the
  figures show what the *clients* cost;
* ``--server emulator``: the whole emulator (``huaweicloud_dcs_emulator``: request log,
  fault rules, signature and project checks, task store). Its own cost per request is large
  enough to hide much of the difference between the clients.

Each client runs as it would be used for real, in a process of its own: one ``DcsHook`` instance
(the Airflow connection comes from ``AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT``) or one ``DcsClient``
(``huaweicloudsdkdcs``, a bench-only tool: ``pip install -e .[bench]``), keeping its HTTP session,
so connections are reused (the table shows how many each process opened).

The clients are interleaved over rounds (issue 18): every round starts a **fresh worker process
per client** (ours first in odd rounds, the SDK first in even ones), which warms up, then makes
sequential calls for a fixed time. Each figure (calls per second, the worker's CPU time per call
over all its threads) is shown as median (min-max) over the rounds; so is the ratio of the two
clients' rates *within* each round (back to back, the least disturbed by other load on the
machine). The goal, ours at least 1.5x the SDK's calls per second, is judged on the median of
those ratios, and is "not settled" when their range straddles it (``bench/verdicts.py``). The
1-minute load average is sampled before and after every worker and reported with the command.

The worker gets a throw-away ``HOME`` (the SDK writes ``~/.huaweicloud`` when imported).
``--worker-pythonpath DIR`` puts another copy of the provider first for our client's worker only
(e.g. an older version); ``--baseline-pythonpath DIR`` adds such a copy as a third interleaved
client (``baseline``), to compare two versions in one run. The servers always run the installed one.

    .venv/bin/python bench/bench_hook_vs_sdk.py                     # 5 rounds, 10 s per client
    .venv/bin/python bench/bench_hook_vs_sdk.py --quick             # 2 rounds, 2 s (a smoke check)
    .venv/bin/python bench/bench_hook_vs_sdk.py --server emulator   # against the full emulator
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import REPO, Report, command_line, save
from bench.verdicts import MET, Spread, describe, judge

GOAL_RATIO = 1.5
CONN_ID = "huaweicloud_dcs_default"


# ------------------------------------------------------------------------------------------------
# Minimal server (a child process; its settings come on stdin, it prints its port, it stops when
# stdin closes)
# ------------------------------------------------------------------------------------------------


async def _serve(config: dict[str, Any]) -> None:
    import uuid

    from aiohttp import web

    from huaweicloud_dcs_emulator.auth import AuthConfig, verify

    auth = AuthConfig(config["access_key"], config["secret_key"], config["project_id"])
    task_path = f"/v2/{config['project_id']}/migration-task/{config['task_id']}"
    body = json.dumps(config["task"]).encode()
    json_type = "application/json;charset=UTF-8"

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        raw = await request.read()
        failure = verify(
            method=request.method,
            raw_target=request.raw_path,
            headers=request.headers,
            body=raw,
            config=auth,
        )
        headers = {"X-Request-Id": uuid.uuid4().hex, "Content-Type": json_type}
        if failure is not None:
            error = {"error_code": failure.error_code, "error_msg": failure.error_msg}
            return web.Response(status=failure.status, body=json.dumps(error).encode(), headers=headers)
        if request.method != "GET" or request.path != task_path:
            error = {
                "error_code": "APIGW.0101",
                "error_msg": "The API does not exist or has not been published",
            }
            return web.Response(status=404, body=json.dumps(error).encode(), headers=headers)
        return web.Response(body=body, headers=headers)

    runner = web.ServerRunner(web.Server(handle), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    print(server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes
    await runner.cleanup()


@contextlib.contextmanager
def minimal_server(config: dict[str, Any]) -> Iterator[str]:
    """Run the minimal server in a child process; yields its base URL."""
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(json.dumps(config) + "\n")
        proc.stdin.flush()
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# ------------------------------------------------------------------------------------------------
# Worker (a process per client and round: throw-away HOME; its settings, secret key included, on stdin)
# ------------------------------------------------------------------------------------------------


def _pool_connections(session: Any) -> int:
    """New connections the session's connection pools opened so far (urllib3 counts them)."""
    managers = [getattr(adapter, "poolmanager", None) for adapter in session.adapters.values()]
    return sum(m.pools[k].num_connections for m in managers if m is not None for k in list(m.pools.keys()))


def _timed(call: Callable[[], Any], seconds: float) -> tuple[int, float, float]:
    """``(calls, wall seconds, CPU seconds of this process)`` of sequential calls for ``seconds``."""
    calls = 0
    cpu = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        call()
        calls += 1
        if calls % 16 == 0 and time.perf_counter() >= deadline:
            break
    return calls, time.perf_counter() - started, time.process_time() - cpu


def _our_client(config: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], int | None], str]:
    import huaweicloud_dcs_provider
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    task_id = config["task_id"]
    hook = DcsHook(CONN_ID)

    def ours() -> Any:
        task = hook.get_migration_task(task_id)
        assert task.task_id == task_id
        return task

    def connections() -> int | None:
        # An older provider (``--baseline-pythonpath``) may have no kept session to look into.
        session = hook.session() if callable(getattr(hook, "session", None)) else None
        return _pool_connections(session) if session is not None else None

    return ours, connections, huaweicloud_dcs_provider.__file__ or ""


def _sdk_client(config: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], int | None], str]:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkdcs.v2 import DcsClient, ShowMigrationTaskRequest

    task_id = config["task_id"]
    http_config = HttpConfig.get_default_config()
    http_config.timeout = (10, 60)
    sdk = (
        DcsClient.new_builder()
        .with_http_config(http_config)
        .with_credentials(BasicCredentials(config["access_key"], config["secret_key"], config["project_id"]))
        .with_endpoint(config["endpoint"])
        .build()
    )
    request = ShowMigrationTaskRequest(task_id=task_id)

    def theirs() -> Any:
        answer = sdk.show_migration_task(request)
        assert answer.task_id == task_id
        return answer

    def connections() -> int | None:
        return _pool_connections(sdk.get_http_client()._session)

    import huaweicloudsdkdcs

    return theirs, connections, huaweicloudsdkdcs.__file__ or ""


def worker(config: dict[str, Any]) -> dict[str, Any]:
    """One client (``config["client"]``: ``ours`` or ``sdk``), warmed up, then timed."""
    make = _sdk_client if config["client"] == "sdk" else _our_client
    call, connections, module_file = make(config)
    seconds = config["seconds"]
    _timed(call, min(2.0, seconds / 2))  # warm-up: the connection, lazy imports, caches
    calls, elapsed, cpu = _timed(call, seconds)
    return {
        "calls": calls,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "connections": connections(),
        "module_file": module_file,
    }


# ------------------------------------------------------------------------------------------------
# Orchestrator
# ------------------------------------------------------------------------------------------------

#: The clients: label, worker kind.
CLIENTS = {
    "sdk": ("official SDK DcsClient.show_migration_task", "sdk"),
    "ours": ("DcsHook.get_migration_task", "ours"),
    "baseline": ("DcsHook.get_migration_task (baseline copy)", "ours"),
}


def create_task() -> str:
    """One migration task in the emulator (made with our hook, as a user would)."""
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    created = DcsHook(CONN_ID).create_online_migration_task(
        name="bench-hook-vs-sdk",
        vpc_id="bench-vpc",
        subnet_id="bench-subnet",
        security_group_id="bench-sg",
        wait_until_ready=False,
    )
    return str(created["task_id"])


def run_worker(config: dict[str, Any], conn_uri: str, pythonpath: str | None) -> dict[str, Any]:
    """One worker process (a fresh one each time); its figures."""
    with tempfile.TemporaryDirectory(prefix="dcs-bench-home-") as home:
        env = dict(os.environ, HOME=home)
        env[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = conn_uri
        env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
        proc = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, __file__, "--worker"],
            input=json.dumps(config),
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120 + 4 * config["seconds"],
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"worker ({config['client']}) failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _load() -> float:
    """The 1-minute load average now."""
    return os.getloadavg()[0]


def run_rounds(
    config: dict[str, Any], conn_uri: str, names: list[str], rounds: int, paths: dict[str, str | None]
) -> tuple[dict[str, list[dict[str, Any]]], list[float]]:
    """Every client in a fresh worker per round, interleaved (the order flips every round)."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    loads = [_load()]
    for number in range(rounds):
        order = names if number % 2 == 0 else names[::-1]
        for name in order:
            figures = run_worker({**config, "client": CLIENTS[name][1]}, conn_uri, paths.get(name))
            loads.append(_load())
            results[name].append(figures)
            rate = figures["calls"] / figures["seconds"]
            cpu = figures["cpu_seconds"] / figures["calls"] * 1e6
            print(
                f"  round {number + 1}: {name:8} {rate:7.0f} calls/s, {cpu:5.0f} us CPU/call "
                f"(load {loads[-1]:.2f})",
                flush=True,
            )
    return results, loads


def summary_report(
    rate_spread: dict[str, Spread], cpu_spread: dict[str, Spread], ratio: Spread, cpu_ratio: Spread
) -> Report:
    """The distributions and the verdict for ``bench/summary.py``."""
    out = Report("Hook versus the official SDK")
    for name in rate_spread:
        out.figure(f"{CLIENTS[name][0]}: calls/s", rate_spread[name], digits=0)
        out.figure(f"{CLIENTS[name][0]}: CPU per call", cpu_spread[name], unit=" µs", digits=0)
    out.ratio("calls/s, ours / SDK, per round", ratio, goal=GOAL_RATIO, show=False)
    out.ratio("CPU per call, ours / SDK, per round", cpu_ratio, show=False)
    return out


def report(
    results: dict[str, list[dict[str, Any]]], loads: list[float], seconds: float, args: argparse.Namespace
) -> tuple[dict[str, Any], Report]:
    """Print the table and the verdict; the figures for the JSON file, and the summary's report."""
    rates = {name: [r["calls"] / r["seconds"] for r in rs] for name, rs in results.items()}
    cpu_us = {name: [r["cpu_seconds"] / r["calls"] * 1e6 for r in rs] for name, rs in results.items()}
    rate_spread = {name: Spread.of(values) for name, values in rates.items()}
    cpu_spread = {name: Spread.of(values) for name, values in cpu_us.items()}
    ratios = [a / b for a, b in zip(rates["ours"], rates["sdk"], strict=True)]
    cpu_ratios = [a / b for a, b in zip(cpu_us["ours"], cpu_us["sdk"], strict=True)]
    ratio, cpu_ratio = Spread.of(ratios), Spread.of(cpu_ratios)
    verdict = judge(ratio, GOAL_RATIO, at_least=True)
    of_medians = rate_spread["ours"].median / rate_spread["sdk"].median
    connections = {name: sorted({r["connections"] for r in rs}, key=str) for name, rs in results.items()}

    print(f"provider measured: {results['ours'][0]['module_file']}")
    if "baseline" in results:
        print(f"baseline measured: {results['baseline'][0]['module_file']}")
    header = (
        f"{'client':44} {'calls/s: median (min-max)':>32} {'CPU us/call: median (min-max)':>32} "
        f"{'connections':>12}"
    )
    print(header)
    print("-" * len(header))
    for name in results:
        conns = ",".join(str(c) for c in connections[name])
        print(
            f"{CLIENTS[name][0]:44} {describe(rate_spread[name], digits=0):>32} "
            f"{describe(cpu_spread[name], digits=0):>32} {conns:>12}"
        )
    print(
        f"\nratio ours / SDK, calls/s, per round: {describe(ratio, unit='x')} "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}; ratio of the medians {of_medians:.2f}x) "
        f"-> goal >= {GOAL_RATIO}x: {verdict}"
    )
    print(f"ratio ours / SDK, CPU per call, per round: {describe(cpu_ratio, unit='x')}")
    figures: dict[str, Any] = {}
    if "baseline" in results:
        vs_baseline = Spread.of(a / b for a, b in zip(rates["ours"], rates["baseline"], strict=True))
        print(f"ratio ours / baseline, calls/s, per round: {describe(vs_baseline, unit='x')}")
        figures["ratio_vs_baseline"] = vs_baseline.as_dict()
    load = Spread.of(loads)
    summary = summary_report(rate_spread, cpu_spread, ratio, cpu_ratio)
    print(
        f"load average (1 min): {loads[0]:.2f} before the first worker; around the workers "
        f"{load.median:.2f} ({load.min:.2f}-{load.max:.2f}, {load.count} samples; the benchmark's own "
        f"client and server add about 1); 1/5/15 min at the end: "
        f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    command = command_line()
    print(f"command: {command}")
    figures.update(
        {
            "server": args.server,
            "seconds_per_round": seconds,
            "rounds": len(ratios),
            "command": command,
            "process_per_round": True,
            "calls_per_second": {name: spread.median for name, spread in rate_spread.items()},
            "calls_per_second_spread": {name: spread.as_dict() for name, spread in rate_spread.items()},
            "cpu_us_per_call_spread": {name: spread.as_dict() for name, spread in cpu_spread.items()},
            "per_round": rates,
            "cpu_us_per_call": cpu_us,
            "connections_opened": connections,
            "ratio": ratio.median,
            "ratio_spread": ratio.as_dict(),
            "round_ratios": ratios,
            "cpu_ratio_spread": cpu_ratio.as_dict(),
            "ratio_of_medians": of_medians,
            "goal_ratio": GOAL_RATIO,
            "verdict": verdict,
            "goal_met": verdict == MET,
            "load_average_1min": {"before": loads[0], "samples": loads, **load.as_dict()},
            "load_average": {
                "before": loads[0],
                "samples": loads,
                **load.as_dict(),
                "end_1_5_15": [round(v, 2) for v in os.getloadavg()],
            },
            "provider_file": results["ours"][0]["module_file"],
        }
    )
    return figures, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s per client instead of 5 of 10")
    parser.add_argument("--seconds", type=float, help="seconds per client per round")
    parser.add_argument("--rounds", type=int, help="rounds (default 5; 2 with --quick)")
    parser.add_argument("--server", choices=("minimal", "emulator"), default="minimal")
    parser.add_argument("--worker-pythonpath", help="a provider copy to put first for our client's worker")
    parser.add_argument("--baseline-pythonpath", help="a provider copy to run as a third client, 'baseline'")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(sys.stdin.read()))))
        return 0
    if args.serve:
        asyncio.run(_serve(json.loads(sys.stdin.readline())))
        return 0
    if importlib.util.find_spec("huaweicloudsdkdcs") is None:
        print("huaweicloudsdkdcs is not installed: pip install -e .[bench]")
        return 1
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    rounds = args.rounds or (2 if args.quick else 5)
    names = ["ours", "sdk"] + (["baseline"] if args.baseline_pythonpath else [])
    paths = {"ours": args.worker_pythonpath, "baseline": args.baseline_pythonpath}

    from huaweicloud_dcs_emulator.testing import FAST_TIMINGS, EmulatorProcess

    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    with EmulatorProcess(config=FAST_TIMINGS) as emulator:
        conn_uri = emulator.conn_uri_json()
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = conn_uri
        task_id = create_task()
        config: dict[str, Any] = {
            "task_id": task_id,
            "seconds": seconds,
            "endpoint": emulator.base_url,
            "access_key": emulator.access_key,
            "secret_key": emulator.secret_key,
            "project_id": emulator.project_id,
        }
        print(
            f"{rounds} rounds of {seconds:g} s per client, each client in a fresh process per round, "
            f"interleaved ({', '.join(names)}; the order flips every round); server: {args.server}",
            flush=True,
        )
        if args.server == "emulator":
            results, loads = run_rounds(config, conn_uri, names, rounds, paths)
        else:
            task = emulator.api().detail(task_id)
            with minimal_server({**config, "task": task}) as base_url:
                minimal_uri = conn_uri.replace(emulator.base_url, base_url)
                assert minimal_uri != conn_uri
                config["endpoint"] = base_url
                results, loads = run_rounds(config, minimal_uri, names, rounds, paths)

    figures, summary = report(results, loads, seconds, args)
    path = save(
        "hook_vs_sdk" if args.server == "minimal" else "hook_vs_sdk_emulator", figures, report=summary
    )
    print(f"saved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
