"""Calls per second of ``DcsHook.get_migration_task`` against the official SDK's ``show_migration_task``.

Both clients read the same migration task from the same local server, in its own process:

* ``--server minimal`` (default): a small ``aiohttp`` server that checks every request's
  signature with the emulator's verifier (``emulator.auth.verify``) and answers with the task's
  JSON as the emulator returned it (fetched once at start). It costs little per request, so the
  figures show what the *clients* cost;
* ``--server emulator``: the whole emulator (``huaweicloud_dcs_emulator``: request log,
  fault rules, signature and project checks, task store). Its own cost per request is large
  enough to hide much of the difference between the clients.

The clients run one after the other in one worker process, each as it would be used for real:
one ``DcsHook`` instance (the Airflow connection comes from ``AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT``)
and one ``DcsClient`` (``huaweicloudsdkdcs``, a bench-only tool: ``pip install -e .[bench]``).
Each keeps its HTTP session, so connections are reused: the table shows how many each opened.

After a warm-up, each client makes sequential calls for a fixed time; the two alternate, three
rounds each (ours first in odd rounds, the SDK first in even ones); the verdict uses the median
of the rounds' ratios (the two clients of a round run back to back, so their ratio is the least
disturbed by other load on the machine); the ratio of the median rates is shown too. The
worker's CPU time per call (all its threads) is shown too: what a client costs on its own side.
Goal: ours makes at least 1.5x the SDK's calls per second.

The worker gets a throw-away ``HOME`` (the SDK writes ``~/.huaweicloud`` when imported).
``--worker-pythonpath DIR`` puts another copy of the provider first for the worker only (e.g. an
older version, to compare); the servers always run the installed one.

    .venv/bin/python bench/bench_hook_vs_sdk.py                     # 10 s per client per round
    .venv/bin/python bench/bench_hook_vs_sdk.py --quick             # 2 s (a smoke check)
    .venv/bin/python bench/bench_hook_vs_sdk.py --server emulator   # against the full emulator
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import REPO, save

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
# Worker (a child process: throw-away HOME; its settings, the secret key included, on stdin)
# ------------------------------------------------------------------------------------------------


def _pool_connections(session: Any) -> int:
    """New connections the session's connection pools opened so far (urllib3 counts them)."""
    total = 0
    for adapter in session.adapters.values():
        manager = getattr(adapter, "poolmanager", None)
        if manager is None:
            continue
        for key in list(manager.pools.keys()):
            total += manager.pools[key].num_connections
    return total


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


def worker(config: dict[str, Any]) -> dict[str, Any]:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkdcs.v2 import DcsClient, ShowMigrationTaskRequest

    import huaweicloud_dcs_provider
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    task_id = config["task_id"]
    seconds = config["seconds"]

    hook = DcsHook(CONN_ID)

    def ours() -> Any:
        task = hook.get_migration_task(task_id)
        assert task.task_id == task_id
        return task

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

    clients = {"ours": ours, "sdk": theirs}
    warm = min(2.0, seconds / 2)
    for call in clients.values():
        _timed(call, warm)

    rate: dict[str, list[float]] = {"ours": [], "sdk": []}
    cpu_us: dict[str, list[float]] = {"ours": [], "sdk": []}
    for number in range(config["rounds"]):
        order = ("ours", "sdk") if number % 2 == 0 else ("sdk", "ours")
        for name in order:
            calls, elapsed, cpu = _timed(clients[name], seconds)
            rate[name].append(calls / elapsed)
            cpu_us[name].append(cpu / calls * 1e6)
            print(
                f"  round {number + 1}: {name:4} {calls / elapsed:7.0f} calls/s, "
                f"{cpu / calls * 1e6:5.0f} us CPU/call",
                file=sys.stderr,
                flush=True,
            )

    # An older provider (``--worker-pythonpath``) has no kept session to look into.
    session = hook.session() if callable(getattr(hook, "session", None)) else None
    connections = {
        "ours": _pool_connections(session) if session is not None else None,
        "sdk": _pool_connections(sdk.get_http_client()._session),
    }
    return {
        "rate": rate,
        "cpu_us": cpu_us,
        "connections": connections,
        "provider_file": huaweicloud_dcs_provider.__file__,
    }


# ------------------------------------------------------------------------------------------------
# Orchestrator
# ------------------------------------------------------------------------------------------------


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
            timeout=120 + 4 * config["rounds"] * config["seconds"],
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 s per client per round instead of 10")
    parser.add_argument("--seconds", type=float, help="seconds per client per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=("minimal", "emulator"), default="minimal")
    parser.add_argument("--worker-pythonpath", help="a provider copy to put first for the worker only")
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

    from huaweicloud_dcs_emulator.testing import FAST_TIMINGS, EmulatorProcess

    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    with EmulatorProcess(config=FAST_TIMINGS) as emulator:
        conn_uri = emulator.conn_uri_json()
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = conn_uri
        task_id = create_task()
        config: dict[str, Any] = {
            "task_id": task_id,
            "seconds": seconds,
            "rounds": args.rounds,
            "endpoint": emulator.base_url,
            "access_key": emulator.access_key,
            "secret_key": emulator.secret_key,
            "project_id": emulator.project_id,
        }
        print(f"{args.rounds} rounds of {seconds:g} s per client; server: {args.server}", flush=True)
        if args.server == "emulator":
            result = run_worker(config, conn_uri, args.worker_pythonpath)
        else:
            task = emulator.api().detail(task_id)
            with minimal_server({**config, "task": task}) as base_url:
                minimal_uri = conn_uri.replace(emulator.base_url, base_url)
                assert minimal_uri != conn_uri
                result = run_worker({**config, "endpoint": base_url}, minimal_uri, args.worker_pythonpath)

    ours = statistics.median(result["rate"]["ours"])
    sdk = statistics.median(result["rate"]["sdk"])
    # Each round measures both clients back to back: the ratio within a round is the least
    # disturbed by other load on the machine, so the verdict uses the median of those.
    round_ratios = [a / b for a, b in zip(result["rate"]["ours"], result["rate"]["sdk"], strict=True)]
    ratio = statistics.median(round_ratios)
    verdict = "MET" if ratio >= GOAL_RATIO else "NOT MET"
    conns = result["connections"]
    print(f"provider measured: {result['provider_file']}")
    header = f"{'client':44} {'calls/s (median)':>16} {'rounds':>20} {'CPU us/call':>12} {'connections':>12}"
    print(header)
    print("-" * len(header))
    for key, label, value in (
        ("sdk", "official SDK DcsClient.show_migration_task", sdk),
        ("ours", "DcsHook.get_migration_task", ours),
    ):
        rounds = " ".join(f"{r:.0f}" for r in result["rate"][key])
        cpu = statistics.median(result["cpu_us"][key])
        print(f"{label:44} {value:16.0f} {rounds:>20} {cpu:12.0f} {conns[key]!s:>12}")
    print(
        f"\nratio ours / SDK: {ratio:.2f}x (median of the rounds' ratios "
        f"{', '.join(f'{r:.2f}' for r in round_ratios)}; ratio of the medians {ours / sdk:.2f}x); "
        f"goal >= {GOAL_RATIO}x -> {verdict}"
    )
    path = save(
        "hook_vs_sdk" if args.server == "minimal" else "hook_vs_sdk_emulator",
        {
            "server": args.server,
            "seconds_per_round": seconds,
            "rounds": args.rounds,
            "calls_per_second": {"ours": ours, "sdk": sdk},
            "per_round": result["rate"],
            "cpu_us_per_call": result["cpu_us"],
            "connections_opened": conns,
            "ratio": ratio,
            "round_ratios": round_ratios,
            "ratio_of_medians": ours / sdk,
            "goal_ratio": GOAL_RATIO,
            "goal_met": verdict == "MET",
            "provider_file": result["provider_file"],
        },
    )
    print(f"saved {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
