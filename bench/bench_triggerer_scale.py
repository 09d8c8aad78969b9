"""Triggerer scale: N concurrent ``DcsMigrationTaskTrigger``s in one event loop (issue 7, part 1).

Every trigger polls a local server every ``--interval`` seconds, as the triggerer runs them
(``asyncio.create_task`` per trigger consuming ``run()``; start times staggered over the first
interval, as deferrals arrive). Measured in a fresh child process per (size, variant):

* event-loop lag, sampled by a 100 ms ticker (p50 / p99 / max), over the measurement window;
* CPU seconds of the process (user + system, threads included) per 1,000 polls in that window;
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

The server is a separate process: a raw ``asyncio.Protocol`` HTTP/1.1 keep-alive responder with a
fixed, realistic JSON answer (status ``FULLMIGRATING`` so triggers keep waiting). It counts
connections and requests and reports its own CPU time and loop lag, to show it is not the
bottleneck.

With ``--tls`` the server speaks HTTPS (a self-signed certificate that the connection trusts
through its ``ca_bundle`` extra; the baselines share one client SSL context), as a real API gateway
does: a new connection then costs a TLS handshake, and each open connection a 256 KB asyncio
buffer. Results go to ``triggerer_scale_tls.json``.

The machine's load is recorded with every run (``load_average``): on a shared machine, loop lag
is only meaningful next to the floor's lag measured in the same conditions.

    .venv/bin/python bench/bench_triggerer_scale.py                      # 100,1000,3000 x 120 s
    .venv/bin/python bench/bench_triggerer_scale.py --quick              # 100,1000 x 20 s
    .venv/bin/python bench/bench_triggerer_scale.py --sizes 1000 --variants ours,floor
    .venv/bin/python bench/bench_triggerer_scale.py --tls --sizes 1000 --duration 30

Results of separate invocations are merged per (size, variant) into
``build/bench/triggerer_scale.json`` (``--fresh`` starts over), so long runs can be split.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

VARIANTS = ("ours", "floor", "floor_own", "session_per_poll")
DEFAULT_VARIANTS = ("ours", "floor", "session_per_poll")
CONN_ID = "dcs_bench"
PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
ACCESS_KEY = "BENCHAKEXAMPLE0000001"
SECRET_KEY = "bench-secret-key-not-a-real-one-0123456789"  # noqa: S105 - a local test value
TICK = 0.1
GOAL_CPU_VS_FLOOR = 1.5
GOAL_CHEAPER_THAN_PER_POLL = 3.0
GOAL_P99_LAG_MS = 200.0
GOAL_LAG_SIZE = 1000
GOAL_RSS_KB = 50.0


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def task_id(i: int) -> str:
    return f"bench-{i:05d}-1f0e6a2c-7c1b-4d5e-9a8b-{i:012x}"


# ------------------------------------------------------------------------------------------------
# The server (separate process)
# ------------------------------------------------------------------------------------------------


def detail_json(tid: str) -> dict[str, Any]:
    """A realistic task detail (shape of the API docs' example), FULLMIGRATING."""
    return {
        "task_id": tid,
        "task_name": "bench-migration",
        "description": "benchmark migration task",
        "status": "FULLMIGRATING",
        "migration_type": "online_migration",
        "migration_method": "incremental_migration",
        "ecs_tenant_private_ip": "192.168.0.143",
        "backup_files": {"file_source": "", "bucket_name": "", "files": []},
        "network_type": "vpc",
        "source_instance": {
            "id": "b6d0c3f2-6c3e-4f3a-8e5e-3f1b9f0c1a11",
            "name": "dcs-source",
            "addrs": "192.168.0.10:6379",
            "password": "source-pass-123",
            "task_status": "",
            "proxy_multi_db": False,
            "db": "",
        },
        "target_instance": {
            "id": "0d7a1e3c-2b4f-4b8e-9c1d-7e6f5a4b3c22",
            "name": "dcs-target",
            "addrs": "192.168.0.20:6379",
            "password": "target-pass-456",
            "task_status": "",
            "proxy_multi_db": False,
            "db": "",
        },
        "created_at": "2026-11-27T06:12:55.508Z",
        "updated_at": "2026-11-27T06:14:02.117Z",
        "released_at": "",
        "version": "6.0.21",
        "resume_mode": "auto",
        "supported_features": ["supported_cluster_migration", "supported_ssl"],
        "tenant_vpc_id": "3e2f1a0b-9c8d-4e7f-a6b5-c4d3e2f1a0b9",
        "tenant_subnet_id": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
        "tenant_security_group_id": "7c6d5e4f-3a2b-4c1d-9e8f-7a6b5c4d3e2f",
        "bandwidth_limit_mb": "-1",
        "task_status": "",
        "error": "",
    }


STATS_JSON = {
    "full_migration_progress": "45",
    "offset": "0",
    "source_dbsize": 1048576,
    "target_dbsize": "471859",
    "target_input_kbps": "8192.00",
    "target_ops": "2500",
    "is_migrating": True,
}


def _response(body: bytes, status: str = "200 OK") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json;charset=UTF-8\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-Id: 0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e\r\n"
        "Server: bench\r\n\r\n"
    )
    return head.encode() + body


class _ServerStats:
    def __init__(self) -> None:
        self.connections = 0
        self.open = 0
        self.max_open = 0
        self.requests = 0
        self.detail = 0
        self.stats = 0
        self.other = 0
        self.lags: list[float] = []
        self.started = time.monotonic()


def tls_files() -> tuple[str, str] | None:
    """(certificate, key) of the HTTPS mode (``--tls``), shared by server and children."""
    folder = os.environ.get("DCS_BENCH_TLS_DIR")
    return (os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")) if folder else None


def make_tls_files(folder: str) -> None:
    """A self-signed P-256 certificate for 127.0.0.1 (it is its own CA)."""
    subprocess.run(  # noqa: S603 - fixed arguments
        [  # noqa: S607 - openssl from PATH
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            os.path.join(folder, "key.pem"),
            "-out",
            os.path.join(folder, "cert.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )


def server_ssl_context() -> Any:
    files = tls_files()
    if files is None:
        return None
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*files)
    return context


def run_server(port: int) -> None:
    """Serve until killed; prints the port it listens on."""
    stats = _ServerStats()
    # The detail answer depends on the task id only through "task_id": one fixed answer suffices
    # (the trigger falls back to the id it asked for); the size is what matters.
    detail = _response(json.dumps(detail_json("bench-task"), separators=(",", ":")).encode())
    progress = _response(json.dumps(STATS_JSON, separators=(",", ":")).encode())
    not_found = _response(b'{"error_code":"DCS.4133","error_msg":"no such task"}', "400 Bad Request")

    def admin() -> bytes:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        lags, stats.lags = stats.lags, []
        body = {
            "connections": stats.connections,
            "open": stats.open,
            "max_open": stats.max_open,
            "requests": stats.requests,
            "detail": stats.detail,
            "stats": stats.stats,
            "other": stats.other,
            "cpu": usage.ru_utime + usage.ru_stime,
            "wall": time.monotonic() - stats.started,
            "lag_p99_ms": (percentile(lags, 99) or 0.0) * 1000,
            "lag_max_ms": (max(lags) if lags else 0.0) * 1000,
        }
        return _response(json.dumps(body).encode())

    class Http(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]
            self.buffer = b""
            self.admin = False
            stats.connections += 1
            stats.open += 1
            stats.max_open = max(stats.max_open, stats.open)

        def connection_lost(self, exc: Exception | None) -> None:
            stats.open -= 1
            if self.admin:  # the admin calls are not the benchmark's connections
                stats.connections -= 1

        def data_received(self, data: bytes) -> None:
            buffer = self.buffer + data
            out: list[bytes] = []
            while True:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = buffer[:end]
                first = head[: head.find(b"\r\n")] if b"\r\n" in head else head
                length = 0
                lower = head.lower()
                at = lower.find(b"\r\ncontent-length:")
                if at >= 0:
                    stop = lower.find(b"\r\n", at + 2)
                    length = int(lower[at + 17 : stop if stop >= 0 else None].strip() or b"0")
                if len(buffer) < end + 4 + length:
                    break
                buffer = buffer[end + 4 + length :]
                parts = first.split(b" ")
                path = parts[1] if len(parts) > 1 else b"/"
                if path.startswith(b"/__stats"):
                    self.admin = True
                    out.append(admin())
                    continue
                stats.requests += 1
                if path.endswith(b"/stats"):
                    stats.stats += 1
                    out.append(progress)
                elif b"/migration-task/" in path:
                    stats.detail += 1
                    out.append(detail)
                else:
                    stats.other += 1
                    out.append(not_found)
            self.buffer = buffer
            if out:
                self.transport.write(b"".join(out))

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(TICK)
            stats.lags.append(max(0.0, loop.time() - start - TICK))
            if len(stats.lags) > 100_000:
                del stats.lags[:50_000]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            Http, "127.0.0.1", port, backlog=4096, reuse_address=True, ssl=server_ssl_context()
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        await ticker()

    asyncio.run(main())


def server_stats(port: int) -> dict[str, Any]:
    files = tls_files()
    if files is None:
        url, context = f"http://127.0.0.1:{port}/__stats", None
    else:
        import ssl

        url, context = f"https://127.0.0.1:{port}/__stats", ssl.create_default_context(cafile=files[0])
    with urllib.request.urlopen(url, timeout=10, context=context) as answer:  # noqa: S310 - ours
        return json.loads(answer.read())  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------
# The child: one variant, one size
# ------------------------------------------------------------------------------------------------


class _Counter(logging.Handler):
    """Counts WARNING+ records (retries, failed reads) and keeps the first few."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.first) < 5:
            self.first.append(record.getMessage()[:300])


async def _child(
    variant: str, n: int, interval: float, duration: float, port: int, profiler: Any = None
) -> dict[str, Any]:
    import ssl

    import aiohttp
    import yarl

    from huaweicloud_dcs_provider.api import calls
    from huaweicloud_dcs_provider.api.signing import Credentials, now_sdk_date, prepare_signed

    loop = asyncio.get_running_loop()
    tls = tls_files()
    base_url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    # Baselines: one client SSL context for the process (what careful code does).
    client_ssl: Any = ssl.create_default_context(cafile=tls[0]) if tls else None
    credentials = Credentials(ACCESS_KEY, SECRET_KEY)
    errors: list[str] = []
    polls = 0
    latencies: list[float] = []
    events: list[dict[str, Any]] = []

    async def one_request(session: aiohttp.ClientSession, call: Any) -> Any:
        prepared = prepare_signed(
            method=call.api.method,
            base_url=base_url,
            path=call.path(PROJECT_ID),
            query=call.query,
            headers=call.headers(PROJECT_ID),
            body=call.body_bytes(),
            credentials=credentials,
            sdk_date=now_sdk_date(),
        )
        async with session.request(
            prepared.method,
            yarl.URL(prepared.url, encoded=True),
            headers=prepared.headers,
            data=prepared.body,
            ssl=client_ssl,
        ) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}")
        return json.loads(body)

    async def baseline_poll(session: aiohttp.ClientSession, tid: str) -> None:
        nonlocal polls
        started = loop.time()
        task = await one_request(session, calls.show_task(tid))
        if task.get("status") == "FULLMIGRATING":
            await one_request(session, calls.show_task_stats(tid))
        latencies.append(loop.time() - started)
        polls += 1

    shared: list[aiohttp.ClientSession] = []

    async def baseline(i: int) -> None:
        tid = task_id(i)
        own = aiohttp.ClientSession() if variant == "floor_own" else None
        try:
            while True:
                await asyncio.sleep(interval)  # like the trigger: the caller has just checked
                try:
                    if variant == "session_per_poll":
                        async with aiohttp.ClientSession() as session:
                            await baseline_poll(session, tid)
                    else:
                        await baseline_poll(own or shared[0], tid)
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
        finally:
            if own is not None:
                await own.close()

    counter = _Counter()
    logging.getLogger().addHandler(counter)

    if variant == "ours":
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
            {
                "conn_type": "huaweicloud_dcs",
                "login": ACCESS_KEY,
                "password": SECRET_KEY,
                "host": base_url,
                "extra": {
                    "project_id": PROJECT_ID,
                    "region": "ap-southeast-1",
                    **({"ca_bundle": tls[0]} if tls else {}),
                },
            }
        )
        from huaweicloud_dcs_provider import waiting
        from huaweicloud_dcs_provider.hooks.dcs import DcsAsyncHook
        from huaweicloud_dcs_provider.triggers.migration import POLL_RETRY_POLICY, DcsMigrationTaskTrigger

        # The triggerer has loaded the hook and read a connection before: do one read first, so
        # that one-off imports and caches are not counted per trigger.
        async with DcsAsyncHook(CONN_ID, retry_policy=POLL_RETRY_POLICY) as hook:
            tracker = waiting.WaitTracker(
                migration_task_id=task_id(0), success_statuses=frozenset({"SUCCESS"})
            )
            await hook.run_plan(waiting.check(tracker))

        def build(i: int) -> Any:
            # As the sensor builds it, then as the triggerer re-creates it from the stored kwargs.
            made = DcsMigrationTaskTrigger(
                migration_task_id=task_id(i),
                dcs_conn_id=CONN_ID,
                success_statuses=("SUCCESS",),
                poll_interval=interval,
                deadline=time.time() + 7 * 24 * 3600,
            )
            classpath, kwargs = made.serialize()
            module, _, name = classpath.rpartition(".")
            return getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))

        async def runner(trigger: Any) -> None:
            async for event in trigger.run():
                events.append(event.payload)
                errors.append(f"trigger fired: {event.payload.get('message')}"[:300])
                return

    else:
        async with aiohttp.ClientSession() as warm:
            await baseline_poll(warm, task_id(0))
        polls = 0
        latencies.clear()

    # ---- start: everything imported, nothing created yet
    import gc

    gc.collect()
    rss_before = rss_kb()
    server_start = await asyncio.to_thread(server_stats, port)
    lags: list[float] = []
    measuring = False

    async def ticker() -> None:
        while True:
            start = loop.time()
            await asyncio.sleep(TICK)
            if measuring:
                lags.append(max(0.0, loop.time() - start - TICK))

    tick_task = asyncio.create_task(ticker())
    if variant in ("floor",):
        shared.append(aiohttp.ClientSession())
    tasks: list[asyncio.Task[None]] = []
    holder: list[Any] = []
    created_at = loop.time()

    def start(i: int) -> None:
        if variant == "ours":
            trigger = build(i)
            holder.append(trigger)
            tasks.append(asyncio.create_task(runner(trigger)))
        else:
            tasks.append(asyncio.create_task(baseline(i)))

    for i in range(n):
        loop.call_later(i * interval / n, start, i)  # deferrals arrive spread over one interval

    # ---- warm-up: every poller has started and polled once (its connection is open)
    await asyncio.sleep(2 * interval + 1.0)
    warmup_seconds = loop.time() - created_at
    gc.collect()
    rss_warm = rss_kb()
    server_window = await asyncio.to_thread(server_stats, port)
    polls_before = polls
    warnings_before = counter.count
    lat_before = len(latencies)
    gc_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses[info["generation"]].append(time.perf_counter() - gc_started[0])

    gc.callbacks.append(on_gc)
    measuring = True
    if profiler is not None:  # the measurement window only (not imports, not start-up)
        profiler.enable()
    cpu0, wall0 = cpu_seconds(), loop.time()
    await asyncio.sleep(duration)
    cpu1, wall1 = cpu_seconds(), loop.time()
    if profiler is not None:
        profiler.disable()
    measuring = False
    gc.callbacks.remove(on_gc)
    server_end = await asyncio.to_thread(server_stats, port)
    rss_end = rss_kb()

    tick_task.cancel()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, tick_task, return_exceptions=True)
    for session in shared:
        await session.close()

    cpu = cpu1 - cpu0
    wall = wall1 - wall0
    window_detail = server_end["detail"] - server_window["detail"]
    window_requests = server_end["requests"] - server_window["requests"]
    window_conns = server_end["connections"] - server_window["connections"]
    server_cpu = server_end["cpu"] - server_window["cpu"]
    window_polls = window_detail  # one detail read per poll, in every variant
    lat = latencies[lat_before:]
    return {
        "variant": variant,
        "size": n,
        "interval": interval,
        "duration": round(wall, 2),
        "warmup_seconds": round(warmup_seconds, 2),
        "polls": window_polls,
        "polls_expected": round(n * wall / interval),
        "client_polls": (polls - polls_before) if variant != "ours" else None,
        "cpu_seconds": round(cpu, 3),
        "cpu_per_1000_polls": round(cpu / window_polls * 1000, 4) if window_polls else None,
        "cpu_percent": round(100 * cpu / wall, 1),
        "lag_p50_ms": round((percentile(lags, 50) or 0) * 1000, 2),
        "lag_p99_ms": round((percentile(lags, 99) or 0) * 1000, 2),
        "lag_max_ms": round(max(lags, default=0) * 1000, 2),
        "lag_samples": len(lags),
        "rss_before_kb": rss_before,
        "rss_warm_kb": rss_warm,
        "rss_end_kb": rss_end,
        "rss_per_trigger_kb": round((rss_warm - rss_before) / n, 2),
        "rss_per_trigger_end_kb": round((rss_end - rss_before) / n, 2),
        "connections_window": window_conns,
        "requests_window": window_requests,
        "connections_total": server_end["connections"] - server_start["connections"],
        "requests_total": server_end["requests"] - server_start["requests"],
        "server_max_open": server_end["max_open"],
        "server_cpu_percent": round(100 * server_cpu / wall, 1),
        "server_us_per_request": round(server_cpu / window_requests * 1e6, 1) if window_requests else None,
        "server_lag_p99_ms": round(server_end["lag_p99_ms"], 2),
        "server_lag_max_ms": round(server_end["lag_max_ms"], 2),
        "client_latency_p50_ms": round((percentile(lat, 50) or 0) * 1000, 2) if lat else None,
        "client_latency_p99_ms": round((percentile(lat, 99) or 0) * 1000, 2) if lat else None,
        "errors": len(errors),
        "error_samples": errors[:5],
        "warnings_logged": counter.count - warnings_before,
        "warning_samples": counter.first,
        "events": len(events),
        "gc": {
            f"gen{generation}": {
                "count": len(pauses),
                "total_ms": round(sum(pauses) * 1000, 1),
                "max_ms": round(max(pauses, default=0) * 1000, 1),
            }
            for generation, pauses in gc_pauses.items()
        },
        "gc_tracked_objects": len(gc.get_objects()),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "tls": bool(tls),
    }


def child_main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = asyncio.run(_child(args.child, args.size, args.interval, args.duration, args.port, profiler))
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
    else:
        result = asyncio.run(_child(args.child, args.size, args.interval, args.duration, args.port))
    print("RESULT " + json.dumps(result), flush=True)


# ------------------------------------------------------------------------------------------------
# The parent: server, children, table, verdicts
# ------------------------------------------------------------------------------------------------


def run_variant(variant: str, n: int, args: argparse.Namespace, port: int) -> dict[str, Any]:
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
            result["provider_path"] = provider
            result["recorded_at"] = time.time()
            return result
    tail = done.stderr[-3000:]
    raise RuntimeError(f"{variant} x {n} failed (exit {done.returncode}):\n{tail}")


def ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else round(a / b, 2)


def verdicts(size: int, runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ours = runs.get("ours")
    floor = runs.get("floor")
    per_poll = runs.get("session_per_poll")
    out: dict[str, Any] = {}
    if ours and floor:
        value = ratio(ours["cpu_per_1000_polls"], floor["cpu_per_1000_polls"])
        out["cpu_ours_over_floor"] = {
            "value": value,
            "goal": f"<= {GOAL_CPU_VS_FLOOR}",
            "met": value is not None and value <= GOAL_CPU_VS_FLOOR,
        }
    if ours and runs.get("floor_own"):
        out["cpu_ours_over_floor_own"] = {
            "value": ratio(ours["cpu_per_1000_polls"], runs["floor_own"]["cpu_per_1000_polls"])
        }
    if ours and per_poll:
        value = ratio(per_poll["cpu_per_1000_polls"], ours["cpu_per_1000_polls"])
        out["cpu_per_poll_over_ours"] = {
            "value": value,
            "goal": f">= {GOAL_CHEAPER_THAN_PER_POLL}",
            "met": value is not None and value >= GOAL_CHEAPER_THAN_PER_POLL,
        }
    if ours:
        if size == GOAL_LAG_SIZE:
            out["lag_p99_ms"] = {
                "value": ours["lag_p99_ms"],
                "goal": f"< {GOAL_P99_LAG_MS:g} at {GOAL_LAG_SIZE} triggers",
                "met": ours["lag_p99_ms"] < GOAL_P99_LAG_MS,
            }
        out["rss_per_trigger_kb"] = {
            "value": ours["rss_per_trigger_kb"],
            "goal": f"< {GOAL_RSS_KB:g}",
            "met": ours["rss_per_trigger_kb"] < GOAL_RSS_KB,
        }
        out["no_errors"] = {"value": ours["errors"] + ours["warnings_logged"], "met": not ours["errors"]}
    return out


def print_table(size: int, runs: dict[str, dict[str, Any]], verdict: dict[str, Any]) -> None:
    some = next(iter(runs.values()))
    print(
        f"\n=== {size} pollers, interval {some['interval']:g} s, measured {some['duration']:.0f} s "
        f"after {some['warmup_seconds']:.0f} s warm-up ==="
    )
    header = (
        f"{'variant':<17}{'polls':>7}{'CPU s/1k polls':>15}{'CPU %':>7}{'lag p50':>9}{'p99':>8}"
        f"{'max':>8}{'RSS KB/each':>12}{'conns(win/all)':>16}{'reqs(win)':>10}{'srv CPU%':>9}"
        f"{'srv p99':>8}{'err':>5}"
    )
    print(header)
    print("-" * len(header))
    for variant in VARIANTS:
        r = runs.get(variant)
        if r is None:
            continue
        cpu = r["cpu_per_1000_polls"]
        print(
            f"{variant:<17}{r['polls']:>7}{(f'{cpu:.3f}' if cpu else '-'):>15}{r['cpu_percent']:>7.1f}"
            f"{r['lag_p50_ms']:>9.1f}{r['lag_p99_ms']:>8.1f}{r['lag_max_ms']:>8.1f}"
            f"{r['rss_per_trigger_kb']:>12.1f}"
            f"{str(r['connections_window']) + '/' + str(r['connections_total']):>16}"
            f"{r['requests_window']:>10}{r['server_cpu_percent']:>9.1f}{r['server_lag_p99_ms']:>8.1f}"
            f"{r['errors'] + r['warnings_logged']:>5}"
        )
    for variant in VARIANTS:
        r = runs.get(variant)
        if r is None or "gc" not in r:
            continue
        g = r["gc"]
        print(
            f"  {variant:<17}gc pauses in window: gen0 {g['gen0']['count']} (max {g['gen0']['max_ms']} ms), "
            f"gen1 {g['gen1']['count']} (max {g['gen1']['max_ms']} ms), gen2 {g['gen2']['count']} "
            f"(max {g['gen2']['max_ms']} ms); {r['gc_tracked_objects']} tracked objects; "
            f"load avg {r.get('load_average')}"
        )
    for name, v in verdict.items():
        met = v.get("met")
        state = "" if met is None else ("  met" if met else "  NOT MET")
        print(f"  {name:<26} {v.get('value')!s:<10} {v.get('goal', ''):<28}{state}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000,3000")
    parser.add_argument("--duration", type=float, default=120.0, help="measured seconds after warm-up")
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="sizes 100,1000 and 20 s")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS), help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING"])
    parser.add_argument("--tls", action="store_true", help="HTTPS server (self-signed, ca_bundle)")
    parser.add_argument("--fresh", action="store_true", help="do not merge with earlier results")
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
    if args.quick:
        args.sizes, args.duration = "100,1000", 20.0
    sizes = [int(s) for s in args.sizes.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")

    from bench import results

    name = "triggerer_scale_tls" if args.tls else "triggerer_scale"
    path = Path(os.environ.get("DCS_BENCH_OUT") or REPO / "build" / "bench") / f"{name}.json"
    merged: dict[str, dict[str, Any]] = {}
    if path.exists() and not args.fresh:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            merged = json.loads(path.read_text())["runs"]

    if args.tls:
        import tempfile

        folder = tempfile.mkdtemp(prefix="dcs-bench-tls-")
        make_tls_files(folder)
        os.environ["DCS_BENCH_TLS_DIR"] = folder
    server = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, __file__, "--server", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        for n in sizes:
            key = str(n)
            for variant in variants:
                print(f"... {variant} x {n} ({args.duration:g} s)", flush=True)
                merged.setdefault(key, {})[variant] = run_variant(variant, n, args, port)
                time.sleep(1.0)  # let closed connections drain
            runs = merged[key]
            print_table(n, runs, verdicts(n, runs))
    finally:
        server.terminate()
        server.wait(timeout=10)

    summary = {key: verdicts(int(key), runs) for key, runs in merged.items()}
    document = {
        "what": "N DcsMigrationTaskTriggers in one event loop vs. minimal aiohttp pollers",
        "poll": "one detail GET + one /stats GET (task FULLMIGRATING), both signed",
        "floor": "N pollers sharing ONE keep-alive aiohttp.ClientSession (the issue's minimal loop)",
        "floor_own": "N pollers, one keep-alive ClientSession each (a trigger's structure)",
        "session_per_poll": "a new ClientSession per poll (the common pattern)",
        "log_level": args.log_level,
        "tls": args.tls,
        "goals": {
            "cpu_ours_over_floor": f"<= {GOAL_CPU_VS_FLOOR}",
            "cpu_per_poll_over_ours": f">= {GOAL_CHEAPER_THAN_PER_POLL}",
            "lag_p99_ms_at_1000": f"< {GOAL_P99_LAG_MS}",
            "rss_per_trigger_kb": f"< {GOAL_RSS_KB}",
        },
        "runs": merged,
        "verdicts": summary,
    }
    if not args.no_save:
        print(f"\nsaved {results.save(name, document)}")


if __name__ == "__main__":
    main()
