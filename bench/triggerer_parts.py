"""The two processes of ``bench/bench_triggerer_scale.py`` besides its parent: the local server
and the child that runs one variant at one size (see that module's docstring).

* the server: a raw ``asyncio.Protocol`` HTTP/1.1 keep-alive responder with fixed, realistic
  answers (task detail ``FULLMIGRATING`` and its ``/stats``), counting connections and requests,
  reporting its own CPU time and loop lag on ``/__stats``;
* the child: N pollers of one variant in one event loop, measured over a window after a warm-up
  (loop lag, CPU per poll, RSS per poller, connections, errors), printed as ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import resource
import subprocess
import sys
import time
import urllib.request
from typing import Any

VARIANTS = ("ours", "floor", "floor_own", "session_per_poll")
CONN_ID = "dcs_bench"
PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
ACCESS_KEY = "BENCHAKEXAMPLE0000001"
SECRET_KEY = "bench-secret-key-not-a-real-one-0123456789"  # noqa: S105 - a local test value
TICK = 0.1

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
        if os.environ.get("DCS_BENCH_PROFILE_DIR"):  # for pstats/snakeviz: <dir>/<variant>-<size>.prof
            stats.dump_stats(
                os.path.join(os.environ["DCS_BENCH_PROFILE_DIR"], f"{args.child}-{args.size}.prof")
            )
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
    else:
        result = asyncio.run(_child(args.child, args.size, args.interval, args.duration, args.port))
    print("RESULT " + json.dumps(result), flush=True)
