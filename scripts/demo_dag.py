"""Run the example full-migration DAG end to end against the local emulator and say what happened.

Run through ``scripts/demo.sh`` (it creates ``.venv`` first). Steps:

1. ``airflow db migrate`` into ``$AIRFLOW_HOME`` (``.demo/airflow-home``), once;
2. start two local ``redis-server`` processes (throw-away passwords), fill the source with sample
   data, and start the DCS emulator on a free port with throw-away credentials; the emulator
   really copies the data between the two servers;
3. create the migration task with the hook (the admin's part: a migration VM in a VPC) and put its
   id into the Variable ``dcs_full_migration_task_id``, which the DAG reads;
4. store the two Redis password connections in the metadata DB;
5. run ``example_dcs_full_migration`` with ``dag.test()`` in a child process (configure, a
   deferrable sensor whose trigger polls the emulator, a report task); its whole output, i.e. the
   task logs, goes to ``$AIRFLOW_HOME/logs/dag-test/``;
6. print the statuses seen, the run and task states, the number of polls while deferred, the
   wall time and the key counts on both sides.

The same file is also the child process: ``python scripts/demo_dag.py --jobs JSON`` runs
``dag.test()`` for each job in a clean interpreter and prints one ``DAG_TEST_RESULT {json}`` line
per job (``tests/test_example_dags.py`` uses this mode too).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DAGS_FOLDER = REPO / "dags"
BEGIN_MARKER = "DAG_TEST_BEGIN "
RESULT_MARKER = "DAG_TEST_RESULT "
#: Connections the runner stores in the metadata DB before the run (JSON: conn_id -> fields).
DB_CONNECTIONS_ENV = "DCS_DEMO_DB_CONNECTIONS"

DEMO_DAG_ID = "example_dcs_full_migration"
#: Emulator timings of the demo: the full copy takes 5 s, the sensor polls every second.
DEMO_TIMINGS = {"create_seconds": 1.0, "full_seconds": 5.0, "stop_seconds": 1.0, "job_seconds": 0.5}
DEMO_POLL_SECONDS = "1"
#: Sample keys written to the source Redis, and the migration's bandwidth cap (MB/s).
DEMO_KEYS = 60_000
DEMO_BANDWIDTH_MB = 1

_TS = r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z)"
_STATUS_LINE = re.compile(
    r"DCS migration task (?P<id>[0-9a-f-]{36})"
    r"(?::| configured; status| reached| failed with status| \(status)"
    r" (?P<status>[A-Z_]+)(?:; full sync (?P<progress>[\d.]+)%)?"
)


# ------------------------------------------------------------------------------------------------
# Child mode: dag.test() in a clean interpreter
# ------------------------------------------------------------------------------------------------


def _store_db_connections() -> None:
    """Upsert the connections given in ``DCS_DEMO_DB_CONNECTIONS`` into the metadata DB."""
    raw = os.environ.pop(DB_CONNECTIONS_ENV, "")
    if not raw:
        return
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        for conn_id, fields in json.loads(raw).items():
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
            session.add(Connection(conn_id=conn_id, **fields))


def _load_dag(dag_id: str) -> Any:
    """Import ``dags/<dag_id>.py`` and return its ``dag``."""
    import importlib.util

    path = DAGS_FOLDER / f"{dag_id}.py"
    spec = importlib.util.spec_from_file_location(dag_id, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


@dataclass(frozen=True)
class DagTestJob:
    """One ``dag.test()`` to run: which DAG, with what conf."""

    label: str
    dag_id: str
    conf: Mapping[str, Any] = field(default_factory=dict)
    #: Set ``retries=0`` on every task (a failing run should not wait out retry delays).
    no_retries: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain data for the child's command line."""
        return {
            "label": self.label,
            "dag_id": self.dag_id,
            "conf": dict(self.conf),
            "no_retries": self.no_retries,
        }


def run_dag(job: DagTestJob) -> dict[str, Any]:
    """Run ``dag.test()`` for one example DAG in this process; returns the run's states and XComs."""
    dag = _load_dag(job.dag_id)
    if job.no_retries:
        for task in dag.tasks:
            task.retries = 0
    started = time.monotonic()
    dag_run = dag.test(run_conf=dict(job.conf))
    wall = time.monotonic() - started
    tis = dag_run.get_task_instances()
    return {
        "label": job.label,
        "dag_id": job.dag_id,
        "run_id": dag_run.run_id,
        "state": str(dag_run.state),
        "wall_seconds": round(wall, 2),
        "duration_seconds": (
            round((dag_run.end_date - dag_run.start_date).total_seconds(), 2)
            if dag_run.end_date and dag_run.start_date
            else None
        ),
        "tasks": {ti.task_id: str(ti.state) for ti in tis},
        "tries": {ti.task_id: ti.try_number for ti in tis},
        "xcom": _xcoms(job.dag_id, dag_run.run_id),
    }


def run_jobs_here(jobs: Sequence[DagTestJob]) -> None:
    """The child: store the DB connections, then each job between ``BEGIN``/``RESULT`` markers."""
    _store_db_connections()
    for job in jobs:
        print(f"{BEGIN_MARKER}{job.label}", flush=True)
        try:
            result = run_dag(job)
        except Exception as exc:  # report it; the parent fails with the output
            result = {"label": job.label, "dag_id": job.dag_id, "state": "error", "error": repr(exc)}
        print(RESULT_MARKER + json.dumps(result, default=str), flush=True)


def _xcoms(dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
    """Every XCom of the run: ``task_id -> {key: value}``."""
    from airflow.utils.session import create_session

    try:
        from airflow.models.xcom import XComModel  # Airflow 3: the xcom table's model

        loaded_rows_hold_values = False
    except ImportError:  # Airflow 2: XCom is the table's model, and a loaded row holds the value
        from airflow.models.xcom import XCom as XComModel

        loaded_rows_hold_values = True

    result: dict[str, dict[str, Any]] = {}
    with create_session() as session:
        rows = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run_id)
        for row in rows:
            value = row.value if loaded_rows_hold_values else XComModel.deserialize_value(row)
            result.setdefault(row.task_id, {})[row.key] = value
    return result


# ------------------------------------------------------------------------------------------------
# Parent side: environment, child process, reading what happened
# ------------------------------------------------------------------------------------------------


def airflow_env(airflow_home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an Airflow child process for the example DAGs."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "DCS_EXAMPLE_POLL_SECONDS": DEMO_POLL_SECONDS,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def migrate_once(airflow_home: Path, env: Mapping[str, str], python: str = sys.executable) -> bool:
    """``airflow db migrate`` unless this home was already migrated; True when it ran."""
    import airflow

    stamp = airflow_home / f".migrated-{airflow.__version__}"
    if stamp.exists() and (airflow_home / "airflow.db").exists():
        return False
    airflow_home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(  # noqa: S603 - fixed argv
        [python, "-m", "airflow", "db", "migrate"],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    stamp.write_text("ok\n")
    return True


@dataclass
class DagTestRun:
    """What one ``dag.test()`` in the child produced."""

    result: dict[str, Any]
    output: str
    log_file: Path
    returncode: int

    @property
    def state(self) -> str:
        """The DAG run's final state (``success``/``failed``; ``error`` if the child broke)."""
        return str(self.result.get("state", "error"))

    @property
    def tasks(self) -> dict[str, str]:
        """``task_id -> state``."""
        return dict(self.result.get("tasks", {}))

    @property
    def wall_seconds(self) -> float:
        """How long ``dag.test()`` took."""
        return float(self.result.get("wall_seconds") or 0.0)


def run_dags_in_child(
    jobs: Sequence[DagTestJob],
    env: Mapping[str, str],
    log_dir: Path,
    *,
    timeout: float = 300.0,
    python: str = sys.executable,
) -> dict[str, DagTestRun]:
    """Run the jobs one after the other in one fresh interpreter (it starts Airflow's in-process
    Execution API once); each job's output (its task logs) is saved as ``log_dir/<label>-<time>.log``.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        python,
        str(Path(__file__).resolve()),
        "--jobs",
        json.dumps([job.to_json() for job in jobs]),
    ]
    proc = subprocess.run(  # noqa: S603 - fixed argv
        argv,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    segments: dict[str, list[str]] = {}
    preamble: list[str] = []
    current: list[str] = preamble
    results: dict[str, dict[str, Any]] = {}
    for line in proc.stdout.splitlines(keepends=True):
        if line.startswith(BEGIN_MARKER):
            current = segments.setdefault(line[len(BEGIN_MARKER) :].strip(), [])
        elif line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER) :])
            results[str(result.get("label"))] = result
        current.append(line)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    runs: dict[str, DagTestRun] = {}
    for job in jobs:
        output = "".join(segments.get(job.label) or preamble)
        if job.label not in results:  # the child died: keep everything it said
            output = proc.stdout
        log_file = log_dir / f"{job.label}-{stamp}.log"
        log_file.write_text(output)
        runs[job.label] = DagTestRun(results.get(job.label, {}), output, log_file, proc.returncode)
    return runs


def _timestamp(line: str) -> float | None:
    match = re.match(_TS, line)
    if not match:
        return None
    return datetime.strptime(match["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


@dataclass
class WaitReport:
    """What the task logs and the emulator's request log say about the sensor's wait."""

    statuses: list[str] = field(default_factory=list)
    progress: list[str] = field(default_factory=list)
    deferred_at: float | None = None
    resumed_at: float | None = None
    trigger_ran: bool = False
    polls: int = 0

    def status_path(self) -> str:
        """``FULLMIGRATING (0% -> 36% -> 100%) -> SUCCESS``."""
        parts: list[str] = []
        for status in self.statuses:
            if status == "FULLMIGRATING" and self.progress:
                parts.append(f"{status} ({' -> '.join(self.progress)})")
            else:
                parts.append(status)
        return " -> ".join(parts) or "(none seen)"


def read_wait(output: str, requests: Sequence[Mapping[str, Any]], migration_task_id: str) -> WaitReport:
    """Statuses seen (task logs), the deferral window and the status reads made inside it."""
    report = WaitReport()
    for line in output.splitlines():
        match = _STATUS_LINE.search(line)
        if match and match["id"] == migration_task_id:
            status = match["status"]
            if not report.statuses or report.statuses[-1] != status:
                report.statuses.append(status)
            if match["progress"] and status == "FULLMIGRATING":
                report.progress.append(f"{float(match['progress']):g}%")
        if "Pausing task as DEFERRED" in line and report.deferred_at is None:
            report.deferred_at = _timestamp(line)
        if "[DAG TEST] running trigger in line" in line:
            report.trigger_ran = True
        if "[DAG TEST] Trigger completed" in line and report.resumed_at is None:
            report.resumed_at = _timestamp(line)
    if report.deferred_at is not None and report.resumed_at is not None:
        detail = re.compile(rf"/migration-task/{re.escape(migration_task_id)}$")
        report.polls = sum(
            1
            for entry in requests
            if entry["method"] == "GET"
            and detail.search(entry["path"])
            and report.deferred_at <= entry["time"] <= report.resumed_at
        )
    return report


# ------------------------------------------------------------------------------------------------
# The demo
# ------------------------------------------------------------------------------------------------


def demo() -> int:
    """The whole demo; returns the exit code (0 when the DAG run succeeded)."""
    from huaweicloud_dcs_emulator.testing import EmulatorProcess

    started = time.monotonic()
    airflow_home = Path(os.environ.get("AIRFLOW_HOME") or REPO / ".demo" / "airflow-home").resolve()
    base_env = airflow_env(airflow_home)
    print(f"AIRFLOW_HOME={airflow_home}")
    step = time.monotonic()
    if migrate_once(airflow_home, base_env):
        print(f"airflow db migrate: done in {time.monotonic() - step:.1f} s (first run only)")
    else:
        print("airflow db migrate: already done for this AIRFLOW_HOME")

    from contextlib import ExitStack

    from huaweicloud_dcs_emulator.local_redis import (
        RedisServer,
        RedisServerMissing,
        fill_sample_data,
        key_counts,
    )

    with ExitStack() as stack:
        try:
            source = stack.enter_context(RedisServer(password=secrets.token_urlsafe(18)))
            target = stack.enter_context(RedisServer(password=secrets.token_urlsafe(18)))
        except RedisServerMissing as exc:
            print(f"cannot run the demo: {exc}", file=sys.stderr)
            return 2
        step = time.monotonic()
        written = fill_sample_data(source, DEMO_KEYS)
        print(
            f"redis-server source {source.addrs} and target {target.addrs} started (throw-away passwords); "
            f"{written} sample keys (strings, hashes, lists, sets, sorted sets; a third with a TTL) "
            f"written to the source in {time.monotonic() - step:.1f} s"
        )
        emulator = stack.enter_context(EmulatorProcess(config=DEMO_TIMINGS, real_migration=True))
        print(f"emulator: {emulator.base_url} (throw-away credentials, AK {emulator.access_key})")
        conn = emulator.conn_dict()
        conn["extra"] = {**dict(conn.get("extra") or {}), "region": "ap-southeast-1"}  # console link
        dcs_conn_json = json.dumps(conn)
        os.environ["AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT"] = dcs_conn_json

        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        step = time.monotonic()
        created = DcsHook().create_online_migration_task(
            name="demo-full-migration",
            vpc_id="vpc-demo",
            subnet_id="subnet-demo",
            security_group_id="sg-demo",
            poll_interval=0.25,
        )
        task_id = str(created["task_id"])
        print(
            f"migration task {task_id} created with the hook: {created['status']} "
            f"after {time.monotonic() - step:.1f} s"
        )
        redis_connections = {
            "dcs_redis_source": {"conn_type": "generic", "password": source.password},
            "dcs_redis_target": {"conn_type": "generic", "password": target.password},
        }
        env = airflow_env(
            airflow_home,
            {
                "AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": dcs_conn_json,
                "AIRFLOW_VAR_DCS_FULL_MIGRATION_TASK_ID": task_id,
                DB_CONNECTIONS_ENV: json.dumps(redis_connections),
            },
        )
        print(
            f"Variable dcs_full_migration_task_id={task_id}; connections dcs_redis_source and "
            "dcs_redis_target stored in the metadata DB (throw-away passwords)"
        )
        print(f"running {DEMO_DAG_ID} with dag.test() (about 10 s) ...")
        admin = emulator.admin()
        admin.clear_requests()
        job = DagTestJob(
            label=DEMO_DAG_ID,
            dag_id=DEMO_DAG_ID,
            conf={
                "source_addrs": source.addrs,
                "target_addrs": target.addrs,
                # A low cap makes the copy last a few seconds, so the sensor really defers.
                "bandwidth_limit_mb": DEMO_BANDWIDTH_MB,
            },
        )
        run = run_dags_in_child([job], env, airflow_home / "logs" / "dag-test")[job.label]
        requests = admin.requests()
        dcs_log = DcsHook().list_migration_task_logs(task_id)
        source_keys, target_keys = key_counts(source), key_counts(target)

    wait = read_wait(run.output, requests, task_id)
    xcom = run.result.get("xcom", {})
    print()
    print(f"DAG run {run.result.get('run_id', '?')}: {run.state.upper()}")
    for task_name in ("configure_full_migration", "wait_for_full_migration", "report"):
        print(f"  {task_name:<26} {run.tasks.get(task_name, '?')}")
    print(f"statuses seen by the tasks:   {wait.status_path()}")
    if wait.trigger_ran and wait.deferred_at and wait.resumed_at:
        print(
            f"sensor deferred:              yes; DcsMigrationTaskTrigger read the status {wait.polls} times "
            f"in {wait.resumed_at - wait.deferred_at:.1f} s, then the sensor resumed and succeeded"
        )
    else:
        print("sensor deferred:              NO (the migration ended before the sensor's first check)")
    report = xcom.get("report", {}).get("return_value")
    if report:
        print(f"report task returned:         {report}")
    link = xcom.get("configure_full_migration", {}).get("dcs_console_url")
    if link:
        print(f"extra link (console):         {link}")
    print(f"API requests to the emulator: {len(requests)} during the DAG run")
    print("the migration task's own log (DCS API):")
    for entry in dcs_log:
        print(f"  {entry.created_at or '':<25} {entry.log_level or '':<6} {entry.message or ''}")
    print(
        f"wall time: dag.test() {run.wall_seconds:.1f} s (DAG run {run.result.get('duration_seconds')} s), "
        f"demo total {time.monotonic() - started:.1f} s"
    )
    print(f"full output (the task logs): {run.log_file}")
    print(
        f"keys per database, source: {source_keys} ({sum(source_keys.values())}); "
        f"target: {target_keys} ({sum(target_keys.values())})"
    )
    if source_keys != target_keys:
        print("the target does NOT hold the source's keys", file=sys.stderr)
        return 1
    if run.state != "success" or not wait.trigger_ran:
        print(run.output[-4000:], file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: the demo, or (``--jobs``) the child that runs ``dag.test()``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs",
        metavar="JSON",
        help='run dag.test() here for each of [{"label", "dag_id", "conf", "no_retries"}, ...]',
    )
    args = parser.parse_args(argv)
    if args.jobs:
        run_jobs_here([DagTestJob(**job) for job in json.loads(args.jobs)])
        return 0
    return demo()


if __name__ == "__main__":
    sys.exit(main())
