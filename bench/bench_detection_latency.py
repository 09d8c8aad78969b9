"""Detection latency: from the API reporting a terminal status to the sensor task succeeding.

Goal (issue 7): through the real triggerer, the deferrable ``DcsMigrationTaskSensor`` succeeds
within its poll interval plus 2 s of the DCS API first reporting ``SUCCESS``.

Set-up: the DCS emulator (simulated migrations) and a real Airflow deployment
(``tests/e2e/airflow_stack.py``: api-server, scheduler with the LocalExecutor, dag-processor,
triggerer). Before Airflow starts, the bench creates ``2 x N`` migration tasks and configures each
as a full migration that would last an hour (``FULLMIGRATING``). A DAG file written for the bench
holds two DAGs, each a sensor mapped over N of those tasks (``poke_interval`` = the poll interval):

* ``bench_latency_deferred``: ``deferrable=True`` (the wait runs in the triggerer) — *ours*;
* ``bench_latency_reschedule``: ``deferrable=False, mode="reschedule"`` — the *baseline*: the
  same wait without deferral, each check a fresh task process, no worker slot held in between.

The two DAGs run one after the other (not side by side: each would slow the other). Once every
sensor of a run is waiting (deferred with its trigger running, or rescheduled after a first
poke), the bench makes the API report ``SUCCESS`` for one task at a time, staggered and at a
random phase of the poll cycle, with the emulator's admin call ``force_status`` — the moment the
status became visible is that call's midpoint (the call itself takes a few ms); from then on the
task's progress read answers a finished copy (an emulator fault rule with a fixed answer), as the
sensor checks before it believes a SUCCESS. For each sensor:

* **poll saw it**: the arrival, in the emulator's request log, of the first detail read of that
  task after the status changed;
* **trigger fired** (deferred only): the ``Trigger fired event`` line of the trigger log;
* **task queued again** (deferred only): the task instance's ``queued_when`` (REST API), set when
  the scheduler queued it after the event;
* **task resumed** (deferred only): the first line the resumed task process logged;
* **success**: the task instance's ``end_date`` from the REST API.

Latency = success - visible. Printed: min / median / max per mode, the deferred breakdown
(medians of each step), the ratio of the medians (reschedule / deferred) and the goal verdict
(every deferred sample within poll interval + 2 s).

The modes are interleaved over rounds (issue 18): each round runs one DAG per mode (fresh
sensors on fresh tasks; one DAG per mode and round), the order flipping every round, in the same
deployment (a triggerer and a scheduler run for long: that is how the variants really run). The
median latency of each round is shown as median (min-max) over the rounds, and so is the ratio of
the two modes' medians; the goal is judged on each round's slowest deferred sample.

    .venv/bin/python bench/bench_detection_latency.py            # 5 rounds of 4 sensors per mode
    .venv/bin/python bench/bench_detection_latency.py --quick    # 2 rounds of 2
    .venv/bin/python bench/bench_detection_latency.py [--rounds R] [--samples N] [--poll 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench import results  # noqa: E402
from bench.results import Loads, Report  # noqa: E402
from bench.verdicts import Spread, describe  # noqa: E402
from e2e.airflow_stack import AirflowStack  # noqa: E402
from huaweicloud_dcs_emulator.testing import (  # noqa: E402
    EmulatorAdmin,
    EmulatorApiClient,
    EmulatorProcess,
)
from huaweicloud_dcs_provider.api.endpoints import Api  # noqa: E402

#: The goal: success within the poll interval plus this many seconds.
GOAL_SLACK = 2.0
MODES = ("deferred", "reschedule")
SENSOR_TASK = "wait"
#: Seconds between two forced successes (so they do not all land in the same scheduler loop).
STAGGER = 2.5
#: A simulated migration that would last an hour: only ``force_status`` ends it.
EMULATOR_TIMINGS = {"create_seconds": 0.2, "full_seconds": 3600.0, "stop_seconds": 0.3, "fail_seconds": 0.3}
CREATE_BODY = {"vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}
#: The progress a finished full migration reports (answered, from the SUCCESS on, by a fault rule
#: of the emulator: a forced status does not move the simulated copy's figures).
STATS_DONE = {
    "full_migration_progress": "100",
    "offset": "0",
    "source_dbsize": 1000,
    "target_dbsize": 1000,
    "target_input_kbps": "0",
    "target_ops": "0",
    "is_migrating": False,
}

DAG_SOURCE = textwrap.dedent(
    '''
    """Detection-latency bench (bench/bench_detection_latency.py): one mapped sensor per mode and round."""

    from __future__ import annotations

    import json
    import os
    from datetime import timedelta

    import pendulum
    from airflow.sdk import DAG

    from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor

    IDS = json.loads(os.environ.get("DCS_BENCH_TASK_IDS", "{}"))
    POLL = float(os.environ.get("DCS_BENCH_POLL_SECONDS", "5"))

    MODES = {"deferred": {"deferrable": True}, "reschedule": {"deferrable": False, "mode": "reschedule"}}
    for name, ids in IDS.items():  # "deferred_1": one DAG per mode and round
        extra = MODES[name.rsplit("_", 1)[0]]
        with DAG(
            dag_id=f"bench_latency_{name}",
            schedule=None,
            start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
            catchup=False,
            max_active_runs=1,
            max_active_tasks=32,
            tags=["bench"],
        ) as dag:
            DcsMigrationTaskSensor.partial(
                task_id="wait", poke_interval=POLL, timeout=timedelta(minutes=30), **extra
            ).expand(migration_task_id=ids)
        globals()[dag.dag_id] = dag
    '''
)


def parse_time(text: str) -> float:
    """An ISO timestamp (``...Z`` or with an offset) as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def log_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a task or trigger log."""
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text(errors="replace").splitlines() if line.startswith("{")
    ]


def first_time(lines: list[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]) -> float | None:
    """Timestamp of the first line matching ``predicate``."""
    for line in lines:
        if predicate(line):
            return parse_time(str(line["timestamp"]))
    return None


def resumed_at(task_log: list[dict[str, Any]]) -> float | None:
    """When the resumed task process started: its first line after "Pausing task as DEFERRED"."""
    paused = False
    for line in task_log:
        event = str(line.get("event", ""))
        if event.startswith("Pausing task as DEFERRED"):
            paused = True
        elif paused and event == "::group::Pre Execute":
            return parse_time(str(line["timestamp"]))
    return None


def create_tasks(api: EmulatorApiClient, count: int) -> list[str]:
    """``count`` simulated migration tasks, each configured and ``FULLMIGRATING``."""
    ids = []
    for index in range(count):
        response = api.call(Api.CREATE_ONLINE_TASK, body={**CREATE_BODY, "name": f"bench-latency-{index}"})
        if response.status_code != 200:
            raise RuntimeError(f"create: HTTP {response.status_code} {response.text}")
        ids.append(str(response.json()["instance_id"]))
    for index, task_id in enumerate(ids):
        api.wait_for_status(task_id, "RUNNING", timeout=30)
        body = {
            "migration_method": "full_amount_migration",
            "resume_mode": "manual",
            "source_instance": {"addrs": f"10.1.0.{index + 1}:6379"},
            "target_instance": {"addrs": f"10.2.0.{index + 1}:6379"},
        }
        response = api.call(Api.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=body)
        if response.status_code != 200:
            raise RuntimeError(f"configure: HTTP {response.status_code} {response.text}")
    return ids


class Run:
    """One DAG run of one mode: drive it and collect the timings of each sensor."""

    def __init__(
        self, stack: AirflowStack, admin: EmulatorAdmin, mode: str, ids: list[str], poll: float, number: int
    ) -> None:
        self.stack, self.admin, self.mode, self.ids, self.poll = stack, admin, mode, ids, poll
        self.dag_id = f"bench_latency_{mode}_{number}"
        self.run_id = ""
        self.visible: dict[int, float] = {}
        self.force_call_seconds: list[float] = []

    def map_dir(self, index: int) -> Path:
        return Path(self.stack.task_log_dir(self.dag_id, self.run_id, SENSOR_TASK)) / f"map_index={index}"

    def tis(self) -> dict[int, dict[str, Any]]:
        found = self.stack.api(
            "GET",
            f"/api/v2/dags/{self.dag_id}/dagRuns/{self.run_id}/taskInstances",
            params={"limit": 100},
        )["task_instances"]
        return {int(ti["map_index"]): ti for ti in found if ti["task_id"] == SENSOR_TASK}

    def waiting(self, index: int, ti: dict[str, Any], seen: set[int]) -> bool:
        """True once sensor ``index`` is really waiting (trigger running / rescheduled once)."""
        if self.mode == "deferred":
            logs = list(self.map_dir(index).glob("attempt=*.log.trigger.*.log"))
            return ti.get("state") == "deferred" and any(
                "Watching DCS migration task" in p.read_text() for p in logs
            )
        if ti.get("state") == "up_for_reschedule":
            seen.add(index)
        return index in seen

    def wait_all_waiting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        seen: set[int] = set()
        while True:
            tis = self.tis()
            ready = [i for i in range(len(self.ids)) if i in tis and self.waiting(i, tis[i], seen)]
            if len(ready) == len(self.ids):
                return
            if time.monotonic() > deadline:
                states = {i: ti.get("state") for i, ti in tis.items()}
                raise RuntimeError(
                    f"{self.mode}: sensors not all waiting after {timeout:g} s: {states}"
                    f"{self.stack.explain(self.dag_id, self.run_id)}"
                )
            time.sleep(0.5)

    def drive(self, rng: random.Random) -> None:
        self.run_id = self.stack.trigger_dag(self.dag_id, run_id=f"bench__{self.dag_id}__{int(time.time())}")
        self.wait_all_waiting(timeout=180)
        # A poll cycle to settle, then one forced SUCCESS every STAGGER s, each at a random phase.
        base = time.time() + self.poll
        for index, task_id in enumerate(self.ids):
            at = base + index * STAGGER + rng.uniform(0, self.poll)
            time.sleep(max(0.0, at - time.time()))
            # A task that reports SUCCESS shows its full copy complete too (the sensor checks).
            self.admin.add_fault(
                method="GET",
                path=rf"/migration-task/{task_id}/stats$",
                status=200,
                body=json.dumps(STATS_DONE),
                content_type="application/json",
                count=None,
            )
            before = time.time()
            self.admin.force_status(task_id, "SUCCESS", seconds=3600)
            after = time.time()
            self.visible[index] = (before + after) / 2
            self.force_call_seconds.append(after - before)
        state = self.stack.wait_run(self.dag_id, self.run_id, timeout=120 + 10 * self.poll)
        if state != "success":
            raise RuntimeError(f"{self.mode} run {state}{self.stack.explain(self.dag_id, self.run_id)}")

    def samples(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        tis = self.tis()
        out = []
        for index, task_id in enumerate(self.ids):
            visible = self.visible[index]
            ti = tis[index]
            end = parse_time(ti["end_date"])
            reads = [
                entry["time"]
                for entry in requests
                if entry["method"] == "GET" and entry["path"].endswith(f"/migration-task/{task_id}")
            ]
            saw = min((t for t in reads if t >= visible), default=None)
            sample: dict[str, Any] = {
                "map_index": index,
                "migration_task_id": task_id,
                "visible": visible,
                "poll_saw": saw,
                "success": end,
                "latency": end - visible,
            }
            task_log = log_lines(self.map_dir(index) / "attempt=1.log")
            if self.mode == "deferred":
                trigger_logs = sorted(self.map_dir(index).glob("attempt=*.log.trigger.*.log"))
                trigger = [line for path in trigger_logs for line in log_lines(path)]
                fired = first_time(trigger, lambda line: line.get("event") == "Trigger fired event")
                queued = parse_time(ti["queued_when"]) if ti.get("queued_when") else None
                if queued is not None and fired is not None and queued < fired:
                    queued = None  # the first queueing, not the one after the trigger fired
                sample.update(fired=fired, queued=queued, resumed=resumed_at(task_log))
            out.append(sample)
        return out


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def step(samples: list[dict[str, Any]], start: str, end: str) -> dict[str, float] | None:
    values = [s[end] - s[start] for s in samples if s.get(start) is not None and s.get(end) is not None]
    return summary(values) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 sensors per mode")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (5; --quick 2)")
    parser.add_argument("--samples", type=int, default=None, help="sensors per mode and round (4; --quick 2)")
    parser.add_argument("--poll", type=float, default=5.0, help="the sensors' poll interval, seconds")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    n = args.samples or (2 if args.quick else 4)
    rounds = args.rounds or (2 if args.quick else 5)
    rng = random.Random(args.seed)
    goal = args.poll + GOAL_SLACK
    loads = Loads()

    with ExitStack() as cleanup:
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="dcs-bench-latency-")))
        emulator = cleanup.enter_context(EmulatorProcess(config=EMULATOR_TIMINGS))
        api, admin = emulator.api(timeout=30), emulator.admin(timeout=30)
        all_ids = iter(create_tasks(api, 2 * n * rounds))
        names = [f"{mode}_{number}" for number in range(1, rounds + 1) for mode in MODES]
        ids = {name: [next(all_ids) for _ in range(n)] for name in names}
        dag_file = root / "bench_detection_latency_dags.py"
        dag_file.write_text(DAG_SOURCE)
        env = {
            "AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": emulator.conn_uri_json(),
            "DCS_BENCH_TASK_IDS": json.dumps(ids),
            "DCS_BENCH_POLL_SECONDS": str(args.poll),
        }
        began = time.monotonic()
        stack = cleanup.enter_context(AirflowStack(root / "airflow", dag_files=[dag_file], env=env))
        print(
            f"Airflow up in {stack.startup_seconds:.1f} s; {rounds} rounds of {n} sensors per mode "
            f"(the order flips every round), poll every {args.poll:g} s",
            flush=True,
        )
        runs: dict[str, list[Run]] = {mode: [] for mode in MODES}
        for number in range(1, rounds + 1):
            for mode in MODES if number % 2 else MODES[::-1]:
                run = Run(stack, admin, mode, ids[f"{mode}_{number}"], args.poll, number)
                run.drive(rng)
                runs[mode].append(run)
                print(
                    f"  round {number}/{rounds}: {mode}: run {run.run_id} succeeded "
                    f"(load {loads.sample():.2f})"
                )
        requests = admin.requests(method="GET", path=r"/migration-task/[^/]+$")
        samples = {mode: [run.samples(requests) for run in mode_runs] for mode, mode_runs in runs.items()}
        force_call = max(
            s for mode_runs in runs.values() for run in mode_runs for s in run.force_call_seconds
        )
        wall = time.monotonic() - began

    every = {mode: [s for one in samples[mode] for s in one] for mode in MODES}
    latency = {mode: summary([s["latency"] for s in every[mode]]) for mode in MODES}
    breakdown = {
        "visible -> poll saw it": step(every["deferred"], "visible", "poll_saw"),
        "poll saw it -> trigger fired": step(every["deferred"], "poll_saw", "fired"),
        "trigger fired -> task queued again": step(every["deferred"], "fired", "queued"),
        "task queued -> task resumed": step(every["deferred"], "queued", "resumed"),
        "(trigger fired -> task resumed)": step(every["deferred"], "fired", "resumed"),
        "task resumed -> success": step(every["deferred"], "resumed", "success"),
    }
    baseline_breakdown = {
        "visible -> poke saw it": step(every["reschedule"], "visible", "poll_saw"),
        "poke saw it -> success": step(every["reschedule"], "poll_saw", "success"),
    }

    report = Report("Detection latency")
    medians = {
        mode: [statistics.median(s["latency"] for s in one) for one in samples[mode]] for mode in MODES
    }
    labels = {"reschedule": "baseline: reschedule mode", "deferred": "ours: deferrable (triggerer)"}
    print()
    print(f"latency: API reports SUCCESS -> sensor task success (s), {n} sensors per mode and round")
    print(f"{'':36} {'all samples: min':>16} {'median':>7} {'max':>7}   median of each round")
    for mode in ("reschedule", "deferred"):
        f = latency[mode]
        per_round = report.figure(
            f"{labels[mode]}: median latency of a round", Spread.of(medians[mode]), unit=" s"
        )
        print(
            f"{labels[mode]:36} {f['min']:16.2f} {f['median']:7.2f} {f['max']:7.2f}   "
            f"{describe(per_round, unit=' s')}"
        )
    for title, table in (("deferred breakdown", breakdown), ("reschedule breakdown", baseline_breakdown)):
        print(f"{title} (all samples: min / median / max):")
        for name, figures_or_none in table.items():
            if figures_or_none is None:
                print(f"  {name:34} (not found in the logs)")
            else:
                f = figures_or_none
                print(f"  {name:34} {f['min']:7.2f} {f['median']:7.2f} {f['max']:7.2f}")
    print(f"(force_status call took at most {force_call * 1000:.0f} ms; visible = its midpoint)")
    report.ratio(
        "median latency, reschedule / deferred, per round",
        Spread.of(a / b for a, b in zip(medians["reschedule"], medians["deferred"], strict=True)),
    )
    worst = Spread.of(max(s["latency"] for s in one) for one in samples["deferred"])
    verdict = report.ratio(
        f"deferred: slowest sample of a round (goal: within poll interval + {GOAL_SLACK:g} s)",
        worst,
        goal=goal,
        at_least=False,
        unit=" s",
    )
    report.note(f"{n} sensors per mode and round, poll interval {args.poll:g} s")
    print(f"load average (1 min): {loads.describe()}")
    print(f"command: {results.command_line()}")
    path = results.save(
        "detection_latency",
        {
            "samples_per_mode": n,
            "rounds": rounds,
            "quick": bool(args.quick),
            "poll_interval": args.poll,
            "latency": latency,
            "median_latency_per_round": medians,
            "breakdown_deferred": breakdown,
            "breakdown_reschedule": baseline_breakdown,
            "goal": {
                "seconds": goal,
                "verdict": verdict,
                "rule": "max deferred latency < poll interval + 2 s",
            },
            "force_status_call_max_seconds": force_call,
            "wall_seconds": wall,
            "samples": samples,
        },
        report=report,
        loads=loads,
    )
    print(f"saved {results.shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
