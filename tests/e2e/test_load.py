"""Load, end to end: N mapped migrations on a real Airflow deployment, with the DCS API misbehaving.

The DAG (``tests/e2e/dags/dcs_load_mapped_migrations.py``) maps a create task and a deferrable
configure task over N migrations (dynamic task mapping); the deployment is the e2e one
(:mod:`e2e.airflow_stack`), once per topology: SQLite with the LocalExecutor and one triggerer, then
PostgreSQL with two Celery workers and two triggerers, so the N waits really run side by side in
the triggerer(s). The emulator simulates the migrations
(N distinct pairs of Redis addresses) and, for the whole run, answers 5 % of all API requests with
HTTP 503 before handling them and drops the connection of 1 % *after* handling them (the work was
done, the answer is lost: the harsh case), both seeded.

Expected: the run succeeds, every mapped instance succeeded, the emulator handled exactly N
configure calls (one per migration task, N distinct tasks; each task's own log says it was
configured once), every migration task ended ``SUCCESS`` (or ``RELEASED`` after it), nothing is
left running, deferred, queued or waiting for a retry, and the run ended before its deadline. On
the distributed topology the work was spread: both Celery workers ran tasks and both triggerers ran
waits. Recorded in the ``load`` figures table: wall time, requests (and the DCS API's requests per
minute, mean and busiest minute), 503s, drops, configure calls sent and handled, retries, and how
the tasks and waits were spread.

N is 20 by default (CI); a full run is ``DCS_LOAD_MIGRATIONS=500`` (or ``--load-migrations 500``,
with ``-m distributed`` for the distributed deployment only), some 20-40 minutes on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_versions import requires_airflow3_deployment
from e2e.airflow_stack import AirflowStack, Topology
from e2e.deployment import emulator_and_airflow, mapped_load_env
from huaweicloud_dcs_emulator.testing import EmulatorApiClient
from huaweicloud_dcs_provider.api.endpoints import Api
from reliability import figures

#: Mapped migrations: ``--load-migrations`` / ``$DCS_LOAD_MIGRATIONS`` (tests/conftest.py), else 20.
MIGRATIONS = int(os.environ.get("DCS_LOAD_MIGRATIONS") or 20)
#: ``[core] parallelism``: LocalExecutor worker processes, or task slots over the Celery workers
#: (by default, all of both workers' processes).
PARALLELISM = int(os.environ.get("DCS_LOAD_PARALLELISM") or 0)
#: Seconds between two status reads of each deferred wait.
POLL_SECONDS = 2
#: The run's deadline: generous for a loaded 2-core machine (measured: see docs/reliability.md).
RUN_TIMEOUT = 240 + 8 * MIGRATIONS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.timeout(RUN_TIMEOUT + 300),
    requires_airflow3_deployment,
]

DAG_FILE = Path(__file__).resolve().parent / "dags" / "dcs_load_mapped_migrations.py"
DAG_ID = "dcs_load_mapped_migrations"
#: A migration lasts a few seconds; creating a task takes one.
#: A finished full migration: SUCCESS, or RELEASED once the service released its VM afterwards (the
#: waits confirm the success from the figures before they report either).
DONE = frozenset({"SUCCESS", "RELEASED"})
EMULATOR_TIMINGS = {
    "create_seconds": 1.0,
    "full_seconds": 6.0,
    "stop_seconds": 0.5,
    "fail_seconds": 0.3,
    "job_seconds": 0.3,
}
#: Every API path (the admin API is never faulted).
ALL_API = r"^/v2/"
FAULTS = "5% 503, 1% dropped after processing"
CONFIGURE_PATH = re.compile(r"/migration/([^/]+)/task$")
#: The emulator keeps the last 10,000 requests: more would make the counts wrong.
REQUEST_LOG_SIZE = 10_000
UNFINISHED_TI_STATES = {"running", "deferred", "queued", "scheduled", "up_for_retry", "restarting", None}


def list_all_tasks(api: EmulatorApiClient) -> list[dict[str, Any]]:
    """Every migration task of the emulator (list API, pages of 1000)."""
    tasks: list[dict[str, Any]] = []
    while True:
        response = api.call(Api.LIST_TASKS, query={"offset": str(len(tasks)), "limit": "1000"})
        assert response.status_code == 200, response.text
        page = response.json()
        tasks.extend(page["migration_tasks"])
        if not page["migration_tasks"] or len(tasks) >= page["count"]:
            return tasks


def configured_entries(api: EmulatorApiClient, task_id: str) -> int:
    """How many times the task's own log says "Migration configured" (the configure took effect)."""
    response = api.call(Api.LIST_TASK_LOGS, path_params={"task_id": task_id}, query={"limit": "1000"})
    assert response.status_code == 200, response.text
    return sum(entry["log_code"] == "migration.configured" for entry in response.json()["migration_logs"])


def mapped_xcom(stack: AirflowStack, run_id: str, task_id: str, map_index: int) -> Any:
    """The ``return_value`` XCom of one mapped task instance (``None`` when there is none)."""
    entry = stack.api(
        "GET",
        f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value",
        params={"map_index": map_index, "deserialize": "true"},
        expected=(200, 404),
    )
    return (entry or {}).get("value")


def hook_retries(stack: AirflowStack) -> int:
    """Retries the hooks logged ("DCS call failed (attempt n): ...; retrying in ...") in every task
    and trigger log."""
    return sum(
        path.read_text(errors="replace").count("DCS call failed (attempt")
        for path in stack.logs_folder.rglob("*.log")
        if "dag_id=" in str(path)
    )


def requests_per_minute(requests: list[dict[str, Any]]) -> tuple[float, int]:
    """The DCS API's load: requests per minute over the whole log, and in its busiest minute."""
    times = sorted(float(r["time"]) for r in requests)
    if len(times) < 2:
        return float(len(times)), len(times)
    span = max(times[-1] - times[0], 1.0)
    busiest, start = 0, 0
    for end, now in enumerate(times):  # a 60 s window sliding over the requests
        while now - times[start] > 60.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return round(len(times) / span * 60.0, 1), busiest


def spread(stack: AirflowStack, run_id: str) -> tuple[dict[str, int], dict[int, int]]:
    """Tasks each Celery worker received (from its output), and trigger logs per triggerer job."""
    workers = {
        name: sum(path.read_text(errors="replace").count("] received") for path in paths)
        for name, paths in stack.component_logs.items()
        if name.startswith("worker-")
    }
    run_dir = stack.logs_folder / f"dag_id={DAG_ID}" / f"run_id={run_id}"
    jobs = Counter(int(path.name.rsplit(".", 2)[-2]) for path in run_dir.rglob("*.log.trigger.*.log"))
    return workers, dict(jobs)


BLOCKED = re.compile(r"async thread was blocked for ([0-9.]+) seconds")


def loop_blocks(stack: AirflowStack) -> dict[str, list[float]]:
    """Each triggerer's loop stalls, as Airflow itself reports them (over 0.2 s by default)."""
    return {
        name: [float(found) for path in paths for found in BLOCKED.findall(path.read_text(errors="replace"))]
        for name, paths in stack.component_logs.items()
        if name.startswith("triggerer")
    }


def test_mapped_migrations_under_api_faults(tmp_path: Path, topology: Topology) -> None:
    """N mapped migrations, 5 % 503 + 1 % dropped answers: all succeed, each configured once."""
    n = MIGRATIONS
    parallelism = PARALLELISM or (topology.workers * topology.worker_concurrency or 4)
    with emulator_and_airflow(
        tmp_path,
        emulator_config=EMULATOR_TIMINGS,
        dag_files=[DAG_FILE],
        env=mapped_load_env(n, POLL_SECONDS),
        admin_timeout=60,
        parallelism=parallelism,
        topology=topology,
    ) as deployment:
        stack, emulator, admin = deployment.stack, deployment.emulator, deployment.admin
        print(
            f"\n[load] Airflow ({topology.name}) up in {stack.startup_seconds:.1f} s; {n} migrations, "
            f"parallelism {parallelism}"
        )
        stack.wait_dag(DAG_ID)
        admin.clear_requests()
        admin.add_fault(action="status", status=503, path=ALL_API, probability=0.05, seed=503, count=None)
        admin.add_fault(action="drop", when="after", path=ALL_API, probability=0.01, seed=1, count=None)

        started = time.monotonic()
        run_id = stack.trigger_dag(DAG_ID)
        state = stack.wait_run(DAG_ID, run_id, timeout=RUN_TIMEOUT)
        wall = time.monotonic() - started
        rules = admin.faults()
        admin.clear_faults()  # the checks below read the emulator undisturbed
        requests = admin.requests()
        explain = stack.explain(DAG_ID, run_id) if state != "success" else ""

        # ---- Airflow: every mapped instance succeeded, nothing left behind
        tis = stack.query(
            "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (DAG_ID, run_id),
        )
        states = Counter((task_id, ti_state) for task_id, _, ti_state, _ in tis)
        retried = sorted((task_id, index, tries) for task_id, index, _, tries in tis if tries > 1)
        stuck_tis = [row for row in tis if row[2] in UNFINISHED_TI_STATES]
        triggers_left = stack.query("SELECT COUNT(*) FROM trigger")[0][0]
        created = {index: mapped_xcom(stack, run_id, "create", index) for index in range(n)}
        results = {index: mapped_xcom(stack, run_id, "configure", index) for index in range(n)}

        # ---- the emulator: tasks, their configure calls, the requests
        api = emulator.api(timeout=30)
        tasks = [task for task in list_all_tasks(api) if str(task.get("task_name", "")).startswith("load-")]
        task_status = {str(task["task_id"]): str(task["status"]) for task in tasks}
        configured_once = {task_id: configured_entries(api, task_id) for task_id in task_status}
        posts = [r for r in requests if r["method"] == "POST" and CONFIGURE_PATH.search(r["path"])]
        effective = [r for r in posts if r["handled_status"] == 200]
        effective_tasks = {r["path"].rsplit("/", 2)[-2] for r in effective}
        faulted_503 = sum("status" in r["faults"] for r in requests)
        dropped = sum("drop" in r["faults"] for r in requests)
        retries_logged = hook_retries(stack)
        per_minute, busiest_minute = requests_per_minute(requests)
        worker_tasks, trigger_jobs = spread(stack, run_id)
        blocks = loop_blocks(stack)

    succeeded = states[("configure", "success")]
    stuck = len(stuck_tis) + sum(status not in DONE for status in task_status.values())
    row = figures.record(
        "load",
        {
            "topology": topology.name,
            "migrations": n,
            "faults": FAULTS,
            "succeeded": succeeded,
            "configure_effective": len(effective),
            "configure_posts": len(posts),
            "configure_faulted_503": sum("status" in r["faults"] for r in posts),
            "configure_dropped": sum("drop" in r["faults"] for r in posts),
            "configure_refused": sum(r["handled_status"] not in (None, 200) for r in posts),
            "total_requests": len(requests),
            "faulted_503": faulted_503,
            "dropped": dropped,
            "wall_seconds": round(wall, 1),
            "stuck": stuck,
            "hook_retries": retries_logged,
            "task_retries": len(retried),
            "parallelism": parallelism,
            "api_requests_per_minute": per_minute,
            "api_requests_busiest_minute": busiest_minute,
            "tasks_per_worker": worker_tasks,
            "waits_per_triggerer": trigger_jobs,
            "triggerer_loop_blocks_over_0_2s": {name: len(found) for name, found in blocks.items()},
            "triggerer_loop_block_max_s": max(
                (max(found) for found in blocks.values() if found), default=0.0
            ),
            "run_state": state,
        },
    )
    print(f"[load] {json.dumps(row, sort_keys=True)}")
    print(f"[load] fault rules at the end: {json.dumps(rules)}")
    if retried:
        print(f"[load] task instances that needed another try: {retried}")

    assert state == "success", explain
    assert len(requests) < REQUEST_LOG_SIZE, "the emulator's request log overflowed: counts are wrong"
    assert faulted_503 > 0, "no 503 was injected: the fault rule did not apply"
    # Every mapped instance of both tasks succeeded.
    assert states == Counter({("create", "success"): n, ("configure", "success"): n}), (states, explain)
    assert not stuck_tis, stuck_tis
    assert triggers_left == 0
    # N tasks created (none twice), each configured exactly once, each migration ended SUCCESS.
    assert len(task_status) == n, sorted(task.get("task_name") for task in tasks)
    assert set(task_status.values()) <= DONE, task_status
    assert set(configured_once.values()) == {1}, configured_once
    assert len(effective) == n, [(r["path"], r["status"], r["faults"]) for r in posts]
    assert effective_tasks == set(task_status)
    # Each configure instance reports its own task, migrated to SUCCESS within the deadline.
    # (configure instance i configured the task create instance i made: mapped over its output).
    assert {result["id"] for result in results.values() if result} == set(task_status), results
    assert all(results[index] and results[index]["id"] == created[index] for index in range(n)), created
    assert all(result and result["status"] in DONE for result in results.values()), results
    assert wall < RUN_TIMEOUT
    # Spread over the deployment: every Celery worker ran tasks, every triggerer ran waits.
    assert len(worker_tasks) == topology.workers, worker_tasks
    assert all(worker_tasks.values()), worker_tasks
    assert len(trigger_jobs) == len(topology.triggerers), trigger_jobs
