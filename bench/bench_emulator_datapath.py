"""Emulator data path: keys per second of a full migration between two local Redis servers.

Goal (issue 7): a full migration of 1,000,000 small keys through the emulator's real engine, in
keys per second, against ``redis-cli --pipe`` bulk loading of the same data as the floor.

* **Floor** (baseline): the data set is written as RESP ``SET`` commands to a file (untimed), then
  loaded into an empty ``redis-server`` with ``redis-cli --pipe`` (timed: start to exit). That is
  the fastest way to put those keys into a Redis server: no round trip per key, no client logic.
* **Ours**: the same file is loaded into a source server (untimed); the emulator
  (``EmulatorProcess(real_migration=True)``, its own process) migrates it to an empty target
  through the signed API: create a task, wait until ``RUNNING`` (untimed), then time from the
  configure call (``full_amount_migration``) until the detail reports ``SUCCESS`` (read every
  50 ms). The key counts of the target and the source must be equal, and a sample of keys is
  compared value by value.

The two are interleaved over rounds (issue 18; the order flips every round), each round with
fresh ``redis-server`` processes and a fresh emulator process. Each figure is shown as median
(min-max) over the rounds, and so is the ratio ``ours keys/s / floor keys/s`` taken within each
round. Goal: ours at least 0.5x the floor, judged on the median ratio ("not settled" when the
range straddles it; ``bench/verdicts.py``). The 1-minute load average is sampled around every
round.

    .venv/bin/python bench/bench_emulator_datapath.py            # 1,000,000 keys, 5 rounds
    .venv/bin/python bench/bench_emulator_datapath.py --quick    # 100,000 keys, 2 rounds
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402
from bench.results import Loads, Report  # noqa: E402
from bench.verdicts import MET, Spread, describe  # noqa: E402
from huaweicloud_dcs_emulator.local_redis import RedisServer, key_counts  # noqa: E402
from huaweicloud_dcs_emulator.testing import EmulatorProcess  # noqa: E402
from huaweicloud_dcs_provider.api.endpoints import Api  # noqa: E402

#: The goal: the migration's keys/s at least this fraction of ``redis-cli --pipe``'s.
GOAL_RATIO = 0.5
CREATE_BODY = {
    "name": "bench-datapath",
    "vpc_id": "vpc-1",
    "subnet_id": "subnet-1",
    "security_group_id": "sg-1",
}
TIMINGS = {"create_seconds": 0.2, "stop_seconds": 0.3, "fail_seconds": 0.3}
#: Keys compared value by value after the migration.
SAMPLE = 2000


def key(i: int) -> bytes:
    """Name of key ``i``."""
    return b"bench:key:%07d" % i


def value(i: int) -> bytes:
    """Value of key ``i``: 20-30 bytes."""
    return b"value-%d-%s" % (i, b"x" * (10 + i % 11))


def resp(*args: bytes) -> bytes:
    """One command in the RESP protocol."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def write_dataset(path: Path, keys: int) -> int:
    """The data set as RESP ``SET`` commands; returns the file size."""
    with path.open("wb") as out:
        chunk: list[bytes] = []
        for i in range(keys):
            chunk.append(resp(b"SET", key(i), value(i)))
            if len(chunk) == 10_000:
                out.write(b"".join(chunk))
                chunk = []
        out.write(b"".join(chunk))
    return path.stat().st_size


def pipe_load(server: RedisServer, dataset: Path) -> float:
    """``redis-cli --pipe < dataset`` into ``server``; seconds from start to exit."""
    env = dict(os.environ)
    if server.password:
        env["REDISCLI_AUTH"] = server.password
    with dataset.open("rb") as data:
        began = time.perf_counter()
        result = subprocess.run(  # noqa: S603 - fixed argv
            [
                shutil.which("redis-cli") or "/usr/bin/redis-cli",
                "-h",
                server.host,
                "-p",
                str(server.port),
                "--pipe",
            ],
            stdin=data,
            capture_output=True,
            env=env,
            check=False,
        )
        seconds = time.perf_counter() - began
    output = result.stdout.decode(errors="replace")
    if result.returncode != 0 or not re.search(r"errors: 0, replies: \d+", output):
        raise RuntimeError(f"redis-cli --pipe failed ({result.returncode}): {output} {result.stderr!r}")
    return seconds


def migrate(emulator: EmulatorProcess, source: RedisServer, target: RedisServer) -> dict[str, Any]:
    """Create a task (untimed), configure a full migration and wait for SUCCESS (timed)."""
    api = emulator.api(timeout=30)
    response = api.call(Api.CREATE_ONLINE_TASK, body=CREATE_BODY)
    if response.status_code != 200:
        raise RuntimeError(f"create: HTTP {response.status_code} {response.text}")
    task_id = str(response.json()["instance_id"])
    api.wait_for_status(task_id, "RUNNING", timeout=30)
    body = {
        "migration_method": "full_amount_migration",
        "resume_mode": "manual",
        "source_instance": source.endpoint(),
        "target_instance": target.endpoint(),
    }
    began = time.perf_counter()
    response = api.call(Api.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=body)
    if response.status_code != 200:
        raise RuntimeError(f"configure: HTTP {response.status_code} {response.text}")
    detail = api.wait_for_status(task_id, "SUCCESS", "MIGRATION_FAILED", timeout=900)
    seconds = time.perf_counter() - began
    if detail["status"] != "SUCCESS":  # the reason is in the ERROR logs (the detail has none)
        logs = api.call(Api.LIST_TASK_LOGS, path_params={"task_id": task_id}, query={"log_level": "ERROR"})
        reasons = [entry["message"] for entry in logs.json().get("migration_logs", [])]
        raise RuntimeError(f"migration failed: {'; '.join(reasons) or detail['status']}")
    engine_seconds = None
    found = re.findall(rf"task {task_id}: full sync copied (\d+) keys in ([\d.]+) s", emulator.log_text())
    if found:
        engine_seconds = float(found[-1][1])
    return {"task_id": task_id, "seconds": seconds, "engine_seconds": engine_seconds}


def compare_sample(source: RedisServer, target: RedisServer, keys: int) -> int:
    """Compare :data:`SAMPLE` random keys' values; returns how many were compared."""
    names = [key(i) for i in random.Random(7).sample(range(keys), min(SAMPLE, keys))]
    with source.client() as src, target.client() as tgt:
        want, got = src.mget(names), tgt.mget(names)
    mismatched = [name for name, a, b in zip(names, want, got, strict=True) if a != b or a is None]
    if mismatched:
        raise AssertionError(f"{len(mismatched)} sampled keys differ, e.g. {mismatched[:3]}")
    return len(names)


def one_round(dataset: Path, keys: int, order: list[str]) -> dict[str, Any]:
    """The floor and ours once each, in ``order``, on fresh servers; their figures."""
    out: dict[str, Any] = {}
    for variant in order:
        if variant == "floor":
            with RedisServer() as floor_server:
                seconds = pipe_load(floor_server, dataset)
                count = sum(key_counts(floor_server).values())
            if count != keys:
                raise AssertionError(f"redis-cli --pipe loaded {count} keys, not {keys}")
            out["floor"] = {"seconds": seconds, "keys_per_second": keys / seconds}
            continue
        with RedisServer() as source, RedisServer() as target:
            pipe_load(source, dataset)
            with EmulatorProcess(config=TIMINGS, real_migration=True) as emulator:
                run = migrate(emulator, source, target)
            source_count = sum(key_counts(source).values())
            target_count = sum(key_counts(target).values())
            if not source_count == target_count == keys:
                raise AssertionError(f"keys: source {source_count}, target {target_count}, expected {keys}")
            run["sampled_values_equal"] = compare_sample(source, target, keys)
        out["ours"] = {**run, "keys_per_second": keys / run["seconds"]}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100,000 keys, 2 rounds (a smoke check)")
    parser.add_argument("--keys", type=int, default=None, help="number of keys (overrides --quick)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (5; --quick 2)")
    args = parser.parse_args()
    keys = args.keys or (100_000 if args.quick else 1_000_000)
    rounds = args.rounds or (2 if args.quick else 5)
    print(f"{rounds} rounds of floor and ours (the order flips every round), {keys:,} keys", flush=True)

    loads = Loads()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dcs-bench-datapath-") as tmp:
        dataset = Path(tmp) / "dataset.resp"
        size = write_dataset(dataset, keys)
        print(f"data set: {keys:,} keys, {size / 1e6:.1f} MB of RESP", flush=True)
        for number in range(rounds):
            order = ["floor", "ours"] if number % 2 == 0 else ["ours", "floor"]
            row = one_round(dataset, keys, order)
            rows.append(row)
            load = loads.sample()
            engine = row["ours"]["engine_seconds"]
            print(
                f"  round {number + 1}/{rounds}: floor {row['floor']['keys_per_second']:,.0f} keys/s, "
                f"ours {row['ours']['keys_per_second']:,.0f} keys/s "
                f"({row['ours']['seconds']:.2f} s; engine {engine or float('nan'):.2f} s), "
                f"ratio {row['ours']['keys_per_second'] / row['floor']['keys_per_second']:.2f}x "
                f"(load {load:.2f})",
                flush=True,
            )

    report = Report(f"Emulator data path, full migration of {keys:,} keys")
    floor = report.figure(
        "floor: redis-cli --pipe, keys/s", Spread.of(r["floor"]["keys_per_second"] for r in rows), digits=0
    )
    ours = report.figure(
        "ours: emulator full migration, keys/s",
        Spread.of(r["ours"]["keys_per_second"] for r in rows),
        digits=0,
    )
    seconds = report.figure(
        "ours: configure -> SUCCESS", Spread.of(r["ours"]["seconds"] for r in rows), unit=" s", digits=2
    )
    print()
    print(f"{'median (min-max) over ' + str(rounds) + ' rounds':34} {'keys/s':>36}")
    print(f"{'floor: redis-cli --pipe (SET)':34} {describe(floor, digits=0):>36}")
    print(f"{'ours: emulator full migration':34} {describe(ours, digits=0):>36}")
    print(f"ours, configure -> SUCCESS: {describe(seconds, unit=' s')}")
    ratio = Spread.of(r["ours"]["keys_per_second"] / r["floor"]["keys_per_second"] for r in rows)
    verdict = report.ratio("ratio ours / floor, keys/s, per round", ratio, goal=GOAL_RATIO)
    sampled = rows[-1]["ours"]["sampled_values_equal"]
    report.note(f"every round: source = target = {keys:,} keys; {sampled:,} sampled values equal")
    print(f"keys: source = target = {keys:,} in every round; {sampled:,} sampled values equal")
    print(f"load average (1 min): {loads.describe()}")
    print(f"command: {results.command_line()}")
    path = results.save(
        "emulator_datapath",
        {
            "keys": keys,
            "quick": keys != 1_000_000,
            "rounds": rounds,
            "process_per_round": True,
            "dataset_bytes": size,
            "floor": {"method": "redis-cli --pipe", "keys_per_second": floor.as_dict()},
            "ours": {
                "method": "EmulatorProcess(real_migration=True), configure -> SUCCESS through the API",
                "keys_per_second": ours.as_dict(),
                "seconds": seconds.as_dict(),
            },
            "ratio": ratio.median,
            "ratio_spread": ratio.as_dict(),
            "goal": {"min_ratio": GOAL_RATIO, "verdict": verdict, "met": verdict == MET},
            "per_round": rows,
        },
        report=report,
        loads=loads,
    )
    print(f"saved {results.shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
