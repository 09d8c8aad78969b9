"""End to end: the example full-migration DAG on a real Airflow deployment, moving real data.

One deployment for the module, once per topology (:mod:`e2e.airflow_stack`): SQLite with the
LocalExecutor and one triggerer, then PostgreSQL with two Celery workers and two triggerers; the DCS
emulator with real migration on (it copies keys between two loopback Redis servers) and temporary
credentials (so the connection carries a security token); two password-protected ``redis-server``
processes. The Redis passwords live only in Airflow connections (``AIRFLOW_CONN_*`` variables given
to every component), the DCS credentials in ``AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT``. Runs are
triggered through the REST API, as a user would. The copy is capped at 1 MB/s (the DAG's
``bandwidth_limit_mb`` param) and the source holds some 1 MB random values besides its few
thousand small keys, so that a migration lasts long enough for the sensor to defer.

1. A run succeeds; its sensor was deferred and resumed by the real triggerer (the trigger log
   shows the trigger starting, polling a migrating task and firing); the target Redis holds exactly
   the source's keys, values and TTLs (3,000 keys of every common type in two databases, with
   binary names and values and TTLs; the data set and the key-by-key check of
   ``tests/redis_data.py``).
2. The triggerer running the sensor's trigger is SIGKILLed (with its trigger-runner child) while
   the sensor is deferred and started again: the run still succeeds, the migration was configured
   once (one configure POST in the emulator's request log), the sensor ran once (try 1), and the
   same trigger row, with the same absolute deadline in its kwargs, was taken over while the
   migration was still running (by the new triggerer, or by the other one where two run).
1b. The migration fails in DCS while the sensor is deferred: the run fails at once (the sensor on
   its first try, no retry: a failed migration is not retried), the report task never runs, and
   the sensor's log names the task, the status and the failure reason DCS gave.
2b. The asset example (``dags/example_dcs_asset_scheduling.py``): a migration into a DCS instance
   succeeds, and the real scheduler runs the DAG scheduled on that instance's asset; the consumer
   reads the migration task id, status and key counts from the event.
3. After the runs (components stopped), no secret (the emulator's SK, the security token, both
   Redis passwords; raw, URL-quoted, JSON-escaped, base64, or a 16-character piece) is in any file
   of the deployment (component output, task/trigger/processor logs, the config, the raw bytes of
   the DB file or of PostgreSQL's data directory), in any cell of any table of the metadata DB, in
   any key of the Celery broker (message bodies decoded), in the decrypted trigger kwargs, or in the
   emulator's and Redis servers' logs. The scan is shown to be live: it finds the migration
   task ids and a planted canary where they must be.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from airflow_versions import requires_airflow3_deployment
from e2e.airflow_stack import AirflowStack, Topology, TriggerRow, tail
from huaweicloud_dcs_emulator.local_redis import RedisServer, key_counts
from huaweicloud_dcs_emulator.testing import (
    EmulatorAdmin,
    EmulatorProcess,
    random_security_token,
)

# The real-migration tests' data set and comparison (values by DUMP or by type, TTLs to 1 s).
from redis_data import assert_same_data, populate
from reliability import figures

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300), requires_airflow3_deployment]

REPO = Path(__file__).resolve().parents[2]
DAG_FILE = REPO / "dags" / "example_dcs_full_migration.py"
#: The asset example: a migration into a DCS instance, and a DAG scheduled on that instance's asset.
ASSET_DAG_FILE = REPO / "dags" / "example_dcs_asset_scheduling.py"
PRODUCER_DAG_ID = "example_dcs_migrate_into_instance"
CONSUMER_DAG_ID = "example_dcs_after_migration"
CONFIGURE_OPERATOR = "DcsConfigureOnlineMigrationOperator"
SENSOR_OPERATOR = "DcsMigrationTaskSensor"
#: Key, in ``Deployment.tasks``, of the task after the sensor (the ``@task`` that reports).
REPORT = "report"
#: Seconds between two status reads in the DAG (its ``DCS_EXAMPLE_POLL_SECONDS``).
POLL_SECONDS = 1
#: The copy's bandwidth cap (the DAG's ``bandwidth_limit_mb`` param; 1 is the API's minimum).
BANDWIDTH_MB = 1
#: Megabytes of incompressible padding in the source for the first run: at 1 MB/s the copy lasts
#: about this many seconds, while the sensor defers some 3-6 s after the configure call.
PADDING_MB = 12
#: Padding for the restart test: the sensor stays deferred while the triggerer is killed,
#: restarted and takes the trigger over (measured: 7-10 s after the kill, itself 5-8 s in).
RESTART_PADDING_MB = 30
#: The emulator's task creation is quick (the migration itself is real, not timed).
EMULATOR_TIMINGS = {"create_seconds": 0.3, "stop_seconds": 0.5, "fail_seconds": 0.3}
#: The sensor's ``timeout`` in the example DAG (its deadline is this far after its first run).
SENSOR_TIMEOUT_SECONDS = 12 * 3600
CANARY = f"e2e-canary-{secrets.token_hex(8)}"
DB_DUMP = "metadata DB dump (every cell of every table)"


def dag_id_of(path: Path) -> str:
    """The ``dag_id=`` given to ``DAG(...)`` in a DAG file (read, not imported)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DAG":
            for keyword in node.keywords:
                if keyword.arg == "dag_id" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
    raise AssertionError(f"no DAG(dag_id=...) in {path}")


#: ``TARGET_INSTANCE_ID`` of dags/example_dcs_asset_scheduling.py.
ASSET_TARGET_INSTANCE_ID = "6f1e2d3c-0000-4a5b-9c8d-112233445566"
DAG_ID = dag_id_of(DAG_FILE)


# ------------------------------------------------------------------------------------------------
# Redis data: the real-migration tests' sample data and key-by-key comparison, plus padding
# ------------------------------------------------------------------------------------------------

#: Keys per database in the source: every common type (strings, binary names and values, hashes,
#: lists, sets, sorted sets, streams with consumer groups, HyperLogLogs, geo), one in three with a TTL.
SOURCE_LAYOUT = {0: 2500, 2: 500}
#: Database of the padding values.
PADDING_DB = 5


def fill_source(server: RedisServer) -> None:
    """The real-migration tests' sample data, with every TTL made an hour longer: none of the
    keys (one in three has a TTL of 1 min to 1 h) may expire while the module runs."""
    populate(server, SOURCE_LAYOUT, seed=4)
    for db in key_counts(server):
        with server.client(db) as client:
            keys = list(client.scan_iter(count=1000))
            ttls = client.pipeline(transaction=False)
            for key in keys:
                ttls.pttl(key)
            extend = client.pipeline(transaction=False)
            for key, ttl in zip(keys, ttls.execute(), strict=True):
                if ttl > 0:
                    extend.pexpire(key, ttl + 3_600_000)
            extend.execute()


def pad_source(server: RedisServer, megabytes: int) -> None:
    """Make the source hold ``megabytes`` 1 MB random (incompressible) values ``pad:0..n-1``.

    They go to a database of their own (:data:`PADDING_DB`, no TTLs): the key-by-key check reads a
    database in chunks, source then target, and 30 MB in the chunk of the keys with a TTL would
    put more than its 1 s TTL tolerance between the two reads.
    """
    with server.client(PADDING_DB) as client:
        for i in range(megabytes):
            if not client.exists(f"pad:{i}"):
                client.set(f"pad:{i}", os.urandom(1024 * 1024))


def total_keys(server: RedisServer) -> int:
    """Keys in all databases."""
    return sum(key_counts(server).values())


# ------------------------------------------------------------------------------------------------
# The deployment
# ------------------------------------------------------------------------------------------------


@dataclass
class RunRecord:
    """One DAG run and what was known around it."""

    run_id: str
    migration_task_id: str
    state: str
    seconds: float
    started_at: float
    source_keys: int


@dataclass
class Deployment:
    """Everything the tests drive: Airflow, the emulator, the two Redis servers, the secrets."""

    stack: AirflowStack
    emulator: EmulatorProcess
    admin: EmulatorAdmin
    source: RedisServer
    target: RedisServer
    tasks: dict[str, str]  # operator class name (or REPORT) -> task id in the DAG
    runs: list[RunRecord] = field(default_factory=list)
    #: Texts to scan besides the files (decrypted trigger kwargs, the emulator's and Redis logs).
    extra_texts: dict[str, str] = field(default_factory=dict)

    @property
    def secrets(self) -> dict[str, str]:
        """Every secret of the deployment, by name."""
        token, source_password, target_password = (
            self.emulator.security_token,
            self.source.password,
            self.target.password,
        )
        assert token, "the emulator must run with a security token"
        assert source_password, "the source Redis must have a password"
        assert target_password, "the target Redis must have a password"
        return {
            "emulator secret key": self.emulator.secret_key,
            "security token": token,
            "source Redis password": source_password,
            "target Redis password": target_password,
        }

    @property
    def configure_task(self) -> str:
        """Task id of the configure operator."""
        return self.tasks[CONFIGURE_OPERATOR]

    @property
    def wait_task(self) -> str:
        """Task id of the deferrable sensor."""
        return self.tasks[SENSOR_OPERATOR]

    def create_migration_task(self) -> str:
        """A new migration task, ready to be configured (the admin's part, done beforehand)."""
        return self.emulator.api().create_ready_task(
            f"e2e-{secrets.token_hex(3)}",
            vpc_id="vpc-e2e",
            subnet_id="subnet-e2e",
            security_group_id="sg-e2e",
            timeout=30,
        )

    def configure_posts(self, migration_task_id: str) -> int:
        """Configure calls the emulator received for this migration task."""
        return self.admin.count_requests(method="POST", path=rf"/migration/{migration_task_id}/task$")

    def run_migration(
        self,
        *,
        padding_mb: int,
        while_deferred: Callable[[str, str], None] | None = None,
        timeout: float = 180.0,
    ) -> RunRecord:
        """Empty the target, trigger a full migration of the source and wait for the run to end.

        ``while_deferred(run_id, migration_task_id)`` is called once the sensor is deferred.
        """
        pad_source(self.source, padding_mb)
        self.target.flushall()
        assert total_keys(self.target) == 0
        source_keys = total_keys(self.source)
        migration_task_id = self.create_migration_task()
        started, started_at = time.monotonic(), time.time()
        run_id = self.stack.trigger_dag(
            DAG_ID,
            {
                "migration_task_id": migration_task_id,
                "source_addrs": self.source.addrs,
                "source_password_conn_id": "dcs_redis_source",
                "target_addrs": self.target.addrs,
                "target_password_conn_id": "dcs_redis_target",
                "resume_mode": "manual",
                "bandwidth_limit_mb": BANDWIDTH_MB,
            },
            note=CANARY,
        )
        if while_deferred is not None:
            self.stack.wait_task_state(DAG_ID, run_id, self.wait_task, {"deferred"}, timeout=90)
            while_deferred(run_id, migration_task_id)
        state = self.stack.wait_run(DAG_ID, run_id, timeout=timeout)
        record = RunRecord(
            run_id=run_id,
            migration_task_id=migration_task_id,
            state=state,
            seconds=time.monotonic() - started,
            started_at=started_at,
            source_keys=source_keys,
        )
        self.runs.append(record)
        print(f"\n[e2e] run {run_id}: {state} in {record.seconds:.1f} s ({record.source_keys} keys)")
        return record

    def assert_run_succeeded(self, record: RunRecord) -> None:
        """The run and every task succeeded, each on its first try."""
        explain = self.stack.explain(DAG_ID, record.run_id)
        assert record.state == "success", explain
        tis = self.stack.task_instances(DAG_ID, record.run_id)
        states = {ti["task_id"]: ti["state"] for ti in tis}
        assert set(self.tasks.values()) <= set(states), explain
        assert set(states.values()) == {"success"}, explain
        assert all(ti["try_number"] == 1 for ti in tis), f"a task was retried:{explain}"

    def assert_target_matches_source(self, record: RunRecord) -> None:
        """The target Redis holds exactly the source's keys, values and TTLs (the source is unchanged)."""
        assert total_keys(self.source) == record.source_keys
        assert assert_same_data(self.source, self.target) == record.source_keys


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, topology: Topology) -> Iterator[Deployment]:
    """Redis x2, the emulator (real migration, security token) and a real Airflow; all stopped."""
    root = tmp_path_factory.mktemp(f"e2e-{topology.name}")
    with ExitStack() as cleanup:
        source = cleanup.enter_context(RedisServer(password=f"src-{secrets.token_urlsafe(18)}"))
        target = cleanup.enter_context(RedisServer(password=f"tgt-{secrets.token_urlsafe(18)}"))
        fill_source(source)
        emulator = EmulatorProcess(
            config=EMULATOR_TIMINGS,
            security_token=random_security_token(),
            real_migration=True,
            # The DCS instance the asset example migrates into (the cloud refuses unknown ones).
            instances=(ASSET_TARGET_INSTANCE_ID,),
        )
        cleanup.enter_context(emulator)
        env = {
            "AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": emulator.conn_uri_json(),
            "AIRFLOW_CONN_DCS_REDIS_SOURCE": json.dumps(
                {"conn_type": "generic", "password": source.password}
            ),
            "AIRFLOW_CONN_DCS_REDIS_TARGET": json.dumps(
                {"conn_type": "generic", "password": target.password}
            ),
            "DCS_EXAMPLE_POLL_SECONDS": str(POLL_SECONDS),
        }
        stack = cleanup.enter_context(
            AirflowStack(root / "airflow", dag_files=[DAG_FILE, ASSET_DAG_FILE], env=env, topology=topology)
        )
        print(f"\n[e2e] Airflow ({topology.name}) up in {stack.startup_seconds:.1f} s ({root})")
        stack.wait_dag(DAG_ID)
        tasks = stack.api("GET", f"/api/v2/dags/{DAG_ID}/tasks")["tasks"]
        operators = {task["operator_name"]: task["task_id"] for task in tasks}
        assert {CONFIGURE_OPERATOR, SENSOR_OPERATOR} <= set(operators), operators
        [sensor] = [task for task in tasks if task["operator_name"] == SENSOR_OPERATOR]
        [report_task] = sensor["downstream_task_ids"]
        yield Deployment(
            stack=stack,
            emulator=emulator,
            admin=emulator.admin(),
            source=source,
            target=target,
            tasks={
                CONFIGURE_OPERATOR: operators[CONFIGURE_OPERATOR],
                SENSOR_OPERATOR: operators[SENSOR_OPERATOR],
                REPORT: report_task,
            },
        )


# ------------------------------------------------------------------------------------------------
# Trigger logs
# ------------------------------------------------------------------------------------------------


def trigger_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a trigger log."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def trigger_events(path: Path) -> list[str]:
    """The ``event`` field of every line of a trigger log."""
    return [str(line.get("event", "")) for line in trigger_lines(path)]


def trigger_fired_result(path: Path) -> str:
    """The ``result`` of the "Trigger fired event" line ('' if none)."""
    fired = [line for line in trigger_lines(path) if line.get("event") == "Trigger fired event"]
    return str(fired[-1].get("result", "")) if fired else ""


def watched_until(path: Path) -> str:
    """The deadline a trigger announced in its log ("... until 2025-01-01 00:00:00 UTC")."""
    for event in trigger_events(path):
        found = re.search(r"Watching DCS migration task .* until (.+ UTC)$", event)
        if found:
            return found.group(1)
    raise AssertionError(f"no 'Watching ... until' line in {path}:\n{tail(path)}")


# ------------------------------------------------------------------------------------------------
# 1. A run, deferred through the real triggerer, copies the data
# ------------------------------------------------------------------------------------------------


def test_full_migration_deferred_through_real_triggerer(deployment: Deployment) -> None:
    """The DAG succeeds; the sensor deferred and the triggerer ran its trigger; the data is copied."""
    dep, stack = deployment, deployment.stack
    record = dep.run_migration(padding_mb=PADDING_MB)
    dep.assert_run_succeeded(record)

    # Deferred and resumed through the real triggerer: one trigger log, written by a triggerer job
    # of this deployment, showing the trigger start, see the task migrating and fire "success".
    trigger_logs = stack.trigger_log_files(DAG_ID, record.run_id, dep.wait_task)
    explain = stack.explain(DAG_ID, record.run_id)
    assert len(trigger_logs) == 1, f"expected one trigger log, got {trigger_logs}{explain}"
    [(job_id, trigger_log)] = trigger_logs.items()
    assert job_id in {job for job, _ in stack.triggerer_jobs()}
    events = trigger_events(trigger_log)
    assert any(re.search(r"\(ID \d+\) starting$", event) for event in events), events
    assert any(f"Watching DCS migration task {record.migration_task_id}" in event for event in events)
    assert any("FULLMIGRATING" in event for event in events), f"never saw the task migrating: {events}"
    assert "Trigger fired event" in events, events
    assert "trigger completed" in events, events
    assert "'status': 'success'" in trigger_fired_result(trigger_log)
    sensor_ti = stack.db_task_instance(DAG_ID, record.run_id, dep.wait_task)
    assert sensor_ti["next_method"] is None  # resumed (execute_complete ran) and finished
    assert sensor_ti["try_number"] == 1

    assert dep.configure_posts(record.migration_task_id) == 1
    dep.assert_target_matches_source(record)
    report = stack.xcom(DAG_ID, record.run_id, dep.tasks[REPORT])
    assert report["status"] in ("SUCCESS", "RELEASED"), report  # RELEASED: its VM released after
    assert report["keys_match"] is True, report
    assert report["source_keys"] == record.source_keys, report


# ------------------------------------------------------------------------------------------------
# 1b. The migration fails in DCS: the run fails, with DCS's reason
# ------------------------------------------------------------------------------------------------


def test_failed_migration_fails_the_run_with_the_dcs_error_text(deployment: Deployment) -> None:
    """A migration that fails in DCS fails the sensor on try 1, its log giving DCS's own reason."""
    dep, stack = deployment, deployment.stack
    reason = f"Source Redis closed the replication link (e2e {secrets.token_hex(4)})"
    seen: dict[str, str] = {}

    def fail_it(run_id: str, migration_task_id: str) -> None:
        seen["status"] = str(dep.admin.fail_task(migration_task_id, error=reason)["status"])

    record = dep.run_migration(padding_mb=PADDING_MB, while_deferred=fail_it)
    explain = stack.explain(DAG_ID, record.run_id)
    assert record.state == "failed", explain
    states = {
        ti["task_id"]: (ti["state"], ti["try_number"]) for ti in stack.task_instances(DAG_ID, record.run_id)
    }
    assert states[dep.configure_task] == ("success", 1), states
    assert states[dep.wait_task] == ("failed", 1), f"the failed migration was retried or not failed: {states}"
    assert states[dep.tasks[REPORT]][0] == "upstream_failed", states
    text = (stack.task_log_dir(DAG_ID, record.run_id, dep.wait_task) / "attempt=1.log").read_text(
        errors="replace"
    )
    assert reason in text, text[-3000:]
    assert record.migration_task_id in text
    assert seen["status"] in text, (seen, text[-3000:])
    assert dep.configure_posts(record.migration_task_id) == 1


# ------------------------------------------------------------------------------------------------
# 2. The triggerer dies while the sensor is deferred
# ------------------------------------------------------------------------------------------------


def test_triggerer_killed_while_deferred(deployment: Deployment) -> None:
    """A SIGKILLed triggerer, restarted: success, one configure call, the same absolute deadline."""
    dep, stack = deployment, deployment.stack
    seen: dict[str, Any] = {}

    def trigger_of(run_id: str) -> TriggerRow:
        trigger_id = stack.db_task_instance(DAG_ID, run_id, dep.wait_task)["trigger_id"]
        rows = [row for row in stack.triggers() if row.id == trigger_id]
        assert rows, f"the sensor has no trigger (any more){stack.explain(DAG_ID, run_id)}"
        return rows[0]

    def wait_for(condition: Callable[[], bool], what: str, run_id: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not after {timeout} s{stack.explain(DAG_ID, run_id)}")
            time.sleep(0.3)

    def running_in(run_id: str, job_id: int | None) -> bool:
        path = stack.trigger_log_files(DAG_ID, run_id, dep.wait_task).get(job_id or -1)
        return path is not None and "Watching DCS migration task" in path.read_text()

    def kill_and_restart(run_id: str, migration_task_id: str) -> None:
        # The first triggerer really runs the trigger (it logged its first line) before the kill.
        wait_for(lambda: trigger_of(run_id).triggerer_id is not None, "trigger assigned", run_id)
        first = trigger_of(run_id)
        wait_for(lambda: running_in(run_id, first.triggerer_id), "trigger running", run_id)
        seen["before"], seen["killed_at"], seen["killed_at_wall"] = first, time.monotonic(), time.time()
        holder = stack.triggerer_named(first.triggerer_id)
        stack.restart_triggerer(name=holder)  # SIGKILL to the triggerer's process group
        live = {stack.job_id_of(name) for name in stack.triggerer_names()}
        # A live triggerer (the new one, or the other one) takes the same row over once the killed
        # one's heartbeat is stale.
        wait_for(lambda: trigger_of(run_id).triggerer_id in live, "trigger taken over", run_id, 90)
        seen["new_job"] = trigger_of(run_id).triggerer_id
        seen["after"], seen["taken_over_after"] = trigger_of(run_id), time.monotonic() - seen["killed_at"]
        seen["ti_state"] = stack.db_task_instance(DAG_ID, run_id, dep.wait_task)["state"]
        seen["migration_status"] = dep.emulator.api().detail(migration_task_id)["status"]

    record = dep.run_migration(padding_mb=RESTART_PADDING_MB, while_deferred=kill_and_restart)
    before: TriggerRow = seen["before"]
    after: TriggerRow = seen["after"]
    new_job: int = seen["new_job"]
    dep.extra_texts["trigger kwargs (decrypted)"] = json.dumps([before.kwargs, after.kwargs])
    killed_after = seen["killed_at_wall"] - record.started_at
    print(
        f"[e2e] triggerer job {before.triggerer_id} SIGKILLed {killed_after:.1f} s after the run was "
        f"triggered; job {new_job} took trigger {after.id} over {seen['taken_over_after']:.1f} s later "
        f"(migration still {seen['migration_status']})"
    )
    configure_posts = dep.configure_posts(record.migration_task_id)
    figures.record(
        "faults",
        {
            "fault": "triggerer restarted (SIGKILL) during a deferred wait",
            "injected": (
                f"SIGKILL to the triggerer's process group {killed_after:.0f} s into the run, "
                "a new triggerer started"
            ),
            "outcome": (
                f"DAG succeeds (trigger taken over after {seen['taken_over_after']:.0f} s)"
                if record.state == "success"
                else f"run {record.state}"
            ),
            "attempts": configure_posts,
            "configure_posts": configure_posts,
            "seconds": round(record.seconds, 1),
        },
    )
    dep.assert_run_succeeded(record)  # includes: the sensor ran once (try 1), it was never retried

    # No second configure call (the sensor never re-ran the configure task, nothing retried it).
    posts = dep.configure_posts(record.migration_task_id)
    assert posts == 1, dep.admin.requests(path=record.migration_task_id)

    # The same trigger row, with the same kwargs (so the same absolute deadline), was taken over
    # while the sensor was still deferred and the migration still running.
    assert after.id == before.id
    assert after.classpath == before.classpath
    assert after.kwargs == before.kwargs, (before.kwargs, after.kwargs)
    deadline = before.kwargs["deadline"]
    assert isinstance(deadline, float)
    expected = record.started_at + SENSOR_TIMEOUT_SECONDS
    assert abs(deadline - expected) < 300, (
        f"deadline {datetime.fromtimestamp(deadline, UTC)} is not {SENSOR_TIMEOUT_SECONDS} s after the run"
    )
    assert seen["ti_state"] == "deferred"
    assert seen["migration_status"] == "FULLMIGRATING", "the migration ended before the take-over"

    # Both triggerers ran the trigger and announced the same deadline; the killed one never fired,
    # the new one saw the task migrating, then fired "success".
    logs = stack.trigger_log_files(DAG_ID, record.run_id, dep.wait_task)
    assert before.triggerer_id is not None
    assert set(logs) == {before.triggerer_id, new_job}, logs
    assert watched_until(logs[before.triggerer_id]) == watched_until(logs[new_job])
    assert "Trigger fired event" not in trigger_events(logs[before.triggerer_id])
    assert any("FULLMIGRATING" in event for event in trigger_events(logs[new_job]))
    assert "'status': 'success'" in trigger_fired_result(logs[new_job])
    dep.assert_target_matches_source(record)


# ------------------------------------------------------------------------------------------------
# 2b. A finished migration schedules the DAG that waits on the target instance's asset
# ------------------------------------------------------------------------------------------------


def test_finished_migration_schedules_the_dag_on_its_target_asset(deployment: Deployment) -> None:
    """The real scheduler runs the consumer DAG from the asset event the migration emitted."""
    dep, stack = deployment, deployment.stack
    # This deployment creates runs through the API only ([scheduler] use_job_schedule off), and
    # asset-triggered runs are scheduled runs: pause the cron-scheduled example DAG, then restart
    # the scheduler with scheduling on, as a real deployment runs it.
    stack.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": True})
    stack.kill_component("scheduler", signal.SIGTERM)
    stack.extra_env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "True"
    stack.start_component("scheduler")
    stack.wait_dag(CONSUMER_DAG_ID)
    stack.unpause(CONSUMER_DAG_ID)
    assert stack.api("GET", f"/api/v2/dags/{CONSUMER_DAG_ID}/dagRuns")["dag_runs"] == []
    migration_task_id = dep.create_migration_task()
    run_id = stack.trigger_dag(
        PRODUCER_DAG_ID,
        {
            "migration_task_id": migration_task_id,
            "source_addrs": dep.source.addrs,
            "source_password_conn_id": "dcs_redis_source",
        },
    )
    assert stack.wait_run(PRODUCER_DAG_ID, run_id, timeout=120) == "success", stack.explain(
        PRODUCER_DAG_ID, run_id
    )

    # The scheduler creates the consumer's run from the asset event, with no trigger of ours.
    deadline = time.monotonic() + 60
    while not (runs := stack.api("GET", f"/api/v2/dags/{CONSUMER_DAG_ID}/dagRuns")["dag_runs"]):
        assert time.monotonic() < deadline, f"no asset-triggered run{stack.diagnostics()}"
        time.sleep(1.0)
    [consumer_run] = runs
    assert consumer_run["run_type"] == "asset_triggered", consumer_run
    consumer_run_id = consumer_run["dag_run_id"]
    assert stack.wait_run(CONSUMER_DAG_ID, consumer_run_id, timeout=90) == "success", stack.explain(
        CONSUMER_DAG_ID, consumer_run_id
    )

    # What the consumer read from the event: this migration, finished, with its key counts.
    [fact] = stack.xcom(CONSUMER_DAG_ID, consumer_run_id, "report_migration")
    assert fact["migration_task_id"] == migration_task_id, fact
    assert fact["status"] in ("SUCCESS", "RELEASED"), fact  # RELEASED: its VM released after
    assert fact["migration_method"] == "full_amount_migration", fact
    assert isinstance(fact["target_keys"], int), fact
    events = stack.api("GET", "/api/v2/assets/events", params={"source_run_id": run_id})["asset_events"]
    assert [event["uri"].rstrip("/") for event in events] == [
        f"huaweicloud-dcs://{ASSET_TARGET_INSTANCE_ID}"
    ], events
    assert dep.configure_posts(migration_task_id) == 1


# ------------------------------------------------------------------------------------------------
# 3. No secret anywhere
# ------------------------------------------------------------------------------------------------


def needles(secret: str) -> dict[str, bytes]:
    """How a secret could appear: as is, URL-quoted, JSON-escaped, base64, or a 16-character piece."""
    forms = {
        "raw": secret,
        "url-quoted": quote(secret, safe=""),
        "json": json.dumps(secret)[1:-1],
        "base64": base64.b64encode(secret.encode()).decode()[:-4],
        "first 16 characters": secret[:16],
        "last 16 characters": secret[-16:],
    }
    return {name: value.encode() for name, value in forms.items()}


def find_leaks(secrets_by_name: dict[str, str], blobs: dict[str, bytes]) -> list[str]:
    """``"<secret> (<form>) in <where>"`` for every form of every secret found in a blob."""
    return [
        f"{secret_name} ({form}) in {where}"
        for secret_name, secret in secrets_by_name.items()
        for form, needle in needles(secret).items()
        for where, data in blobs.items()
        if needle in data
    ]


def test_no_secret_in_logs_or_metadata_db(deployment: Deployment) -> None:
    """Every log file, every DB cell, the raw DB file: none of the four secrets; the scan is live."""
    dep, stack = deployment, deployment.stack
    if not dep.runs:  # run on its own (-k): make a run to scan
        dep.assert_run_succeeded(dep.run_migration(padding_mb=PADDING_MB))
    dep.extra_texts["emulator log"] = dep.emulator.log_text()
    dep.extra_texts["source redis-server log"] = dep.source.log_text()
    dep.extra_texts["target redis-server log"] = dep.target.log_text()
    stack.stop()  # everything flushed, shutdown messages included (the DB and broker still run)
    dep.extra_texts["Celery broker keys"] = stack.broker_dump()

    files = sorted(path for path in stack.root.rglob("*") if path.is_file())
    database_files = stack.database_files()
    blobs = {str(path): path.read_bytes() for path in sorted({*files, *database_files})}
    dump = stack.dump_database()
    blobs[DB_DUMP] = dump.text.encode()
    blobs.update((name, text.encode()) for name, text in dep.extra_texts.items())

    leaks = find_leaks(dep.secrets, blobs)
    log_files = stack.log_files()
    print(
        f"[e2e] secret scan ({stack.topology.name}): {len(blobs)} files and texts "
        f"({len(log_files)} log files), "
        f"{sum(len(data) for data in blobs.values()) / 1e6:.1f} MB in all; metadata DB: {dump.tables} "
        f"tables, {dump.total_rows} rows, {dump.cells} non-null cells; {len(dep.secrets)} secrets "
        f"x {len(needles('x'))} forms"
    )
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)

    # The scan is live: it finds the secrets where they are meant to be (the connection document
    # given to Airflow), and it sees what must be in the files and the DB it scanned.
    document = {"AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": dep.emulator.conn_uri_json().encode()}
    assert {leak.split(" (")[0] for leak in find_leaks(dep.secrets, document)} == {
        "emulator secret key",
        "security token",
    }
    assert set(log_files) <= set(files)
    assert {path.name.split(".")[0] for path in log_files if path.parent == stack.component_dir} >= set(
        stack.component_names
    )
    assert any(path.is_relative_to(stack.logs_folder / "dag_processor") for path in log_files)
    for record in dep.runs:
        task_logs = stack.task_log_files(DAG_ID, record.run_id, dep.configure_task)
        trigger_logs = list(stack.trigger_log_files(DAG_ID, record.run_id, dep.wait_task).values())
        assert task_logs, record
        assert trigger_logs, record
        for path in [*task_logs, *trigger_logs]:
            assert record.migration_task_id.encode() in blobs[str(path)], path
        assert record.migration_task_id.encode() in blobs[DB_DUMP]
    assert CANARY.encode() in blobs[DB_DUMP]
    assert any(CANARY.encode() in blobs[str(path)] for path in database_files)
    if stack.topology.celery:  # the scan read the broker (its queue bindings at least)
        assert "_kombu.binding." in dep.extra_texts["Celery broker keys"], dep.extra_texts[
            "Celery broker keys"
        ]
    assert dump.rows["task_instance"] >= 3 * len(dep.runs)
    assert dump.rows["xcom"] > 0
    assert dump.rows["rendered_task_instance_fields"] > 0
