"""Deployment faults, end to end: the task's process is killed right after its configure call.

A real deployment (:mod:`e2e.airflow_stack`, once per topology: SQLite with the LocalExecutor,
PostgreSQL with Celery workers) runs ``tests/e2e/dags/dcs_configure_worker_kill.py``:
one deferrable configure task with ``retries=1``. The emulator (simulated migration) handles the
configure POST (the migration starts) and then holds the answer back (a ``latency`` fault applied
``after`` the API did the work). While the answer hangs, the test SIGKILLs the process that runs
the task: the configure took effect, but nothing of it reached Airflow (no return value, no XCom).

Expected: try 1 fails; try 2 reads the task, finds it migrating from the same source to the same
target and attaches to it ("attaching to it instead of configuring it again"), waits deferred and
succeeds; the emulator handled exactly one configure POST and received no second one; the task's
XCom holds the migration task id. Recorded in the ``faults`` figures table.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_versions import requires_airflow3_deployment
from e2e.airflow_stack import Topology
from e2e.deployment import Deployment, emulator_and_airflow, wait_until
from huaweicloud_dcs_emulator.testing import EmulatorProcess
from huaweicloud_dcs_provider.api.endpoints import Api
from reliability import figures

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.timeout(420),
    requires_airflow3_deployment,
]

DAG_FILE = Path(__file__).resolve().parent / "dags" / "dcs_configure_worker_kill.py"
DAG_ID = "dcs_configure_worker_kill"
TASK = "configure"
#: The migration lasts long enough for try 2 to find it still migrating.
EMULATOR_TIMINGS = {"create_seconds": 0.3, "full_seconds": 25.0, "stop_seconds": 0.5, "fail_seconds": 0.3}
#: How long the emulator holds the configure answer back: far longer than the test needs to kill
#: the task (well under a second), shorter than the hook's read timeout (60 s).
HELD_ANSWER_SECONDS = 30.0
ATTACH_LINE = "attaching to it instead of configuring it again"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, topology: Topology) -> Iterator[Deployment]:
    """The emulator (simulated migrations) and a real Airflow with the kill DAG; all stopped after."""
    root = tmp_path_factory.mktemp(f"e2e-faults-{topology.name}")
    with emulator_and_airflow(
        root, emulator_config=EMULATOR_TIMINGS, dag_files=[DAG_FILE], topology=topology
    ) as deployment:
        seconds = deployment.stack.startup_seconds
        print(f"\n[e2e-faults] Airflow ({topology.name}) up in {seconds:.1f} s ({root})")
        deployment.stack.wait_dag(DAG_ID)
        yield deployment


def create_migration_task(emulator: EmulatorProcess) -> str:
    """A new migration task, ready to be configured."""
    api = emulator.api()
    response = api.call(
        Api.CREATE_ONLINE_TASK,
        body={
            "name": f"kill-{time.time_ns()}",
            "vpc_id": "vpc-e2e",
            "subnet_id": "subnet-e2e",
            "security_group_id": "sg-e2e",
        },
    )
    assert response.status_code == 200, response.text
    task_id = str(response.json()["instance_id"])
    api.wait_for_status(task_id, "RUNNING", timeout=30)
    return task_id


def cmdline(pid: int) -> str:
    """A process's command line as ``ps`` shows it ('' when it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def parent_pid(pid: int) -> int:
    """The parent pid of a process (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def task_process(ti_id: str) -> int:
    """The pid of the process running the task instance ``ti_id`` (the try's UUID).

    With the LocalExecutor, each of the scheduler's worker processes (process title
    ``airflow worker -- LocalExecutor: <task>``) is the *supervisor* of the task it runs; with the
    CeleryExecutor, a process forked by a Celery worker (title ``airflow supervisor: <TI uuid>``)
    is. The supervisor forks a child that runs
    the operator code and talks to it over a socket; it relays the child's heartbeats, XCom pushes
    and final state to the api-server. The child sets its title to
    ``airflow worker -- <TI uuid>`` (``task_runner.startup``) before it runs the operator. That child
    is what we kill: the process that sent the configure call and would have pushed its result
    (an OOM kill of the task, the usual way a task dies mid-call). Its supervisor survives and
    reports the try failed at once; killing the supervisor too would only make Airflow notice
    later (the task heartbeat timeout, 5 min by default).
    """
    wanted = f"airflow worker -- {ti_id}"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and cmdline(int(entry.name)) == wanted:
            found.append(int(entry.name))
    assert len(found) == 1, f"expected one process titled {wanted!r}, found {found}"
    [pid] = found
    supervisor = cmdline(parent_pid(pid))
    assert supervisor.startswith(("airflow worker -- LocalExecutor", "airflow supervisor: ")), (
        pid,
        supervisor,
    )
    return pid


def test_worker_killed_after_configure_post_retry_attaches(deployment: Deployment) -> None:
    """Killed between the configure POST and its XCom: the retry attaches, one configure in all."""
    stack, emulator, admin = deployment.stack, deployment.emulator, deployment.admin
    migration_task_id = create_migration_task(emulator)
    configure_path = rf"/migration/{migration_task_id}/task$"
    admin.clear_requests()
    admin.add_fault(
        action="latency", when="after", method="POST", path=configure_path, delay=HELD_ANSWER_SECONDS, count=1
    )

    started = time.monotonic()
    run_id = stack.trigger_dag(DAG_ID, {"migration_task_id": migration_task_id})

    def explain() -> str:
        return stack.explain(DAG_ID, run_id)

    # The configure POST was handled (the latency fault applies after the handler), its answer
    # is being held back: the migration runs, the task does not know it yet.
    def held_post() -> dict[str, Any] | None:
        posts = admin.requests(method="POST", path=configure_path)
        return next((post for post in posts if "latency" in post["faults"]), None)

    wait_until(held_post, "configure POST handled and held", 120, explain, every=0.1)
    assert emulator.api().detail(migration_task_id)["status"] == "FULLMIGRATING"
    ti_id = str(uuid.UUID(str(stack.db_task_instance(DAG_ID, run_id, TASK)["id"])))  # SQLite: bare hex
    pid = task_process(ti_id)
    killed_at = time.monotonic() - started
    os.kill(pid, signal.SIGKILL)
    print(f"[e2e-faults] SIGKILLed task process {pid} (TI {ti_id}) {killed_at:.1f} s after the trigger")

    state = stack.wait_run(DAG_ID, run_id, timeout=240)
    seconds = time.monotonic() - started
    # The held answer is written (to a closed socket) once the delay is over; then the log entry
    # is complete (status, handled_status).
    wait_until(
        lambda: all(
            post["duration"] is not None for post in admin.requests(method="POST", path=configure_path)
        ),
        "held configure request finished",
        HELD_ANSWER_SECONDS + 30,
        every=0.1,
    )
    posts = admin.requests(method="POST", path=configure_path)
    handled = [post for post in posts if post["handled_status"] == 200]
    figures.record(
        "faults",
        {
            "fault": f"worker killed after the configure POST, before XCom ({stack.topology.name})",
            "injected": (
                f"configure answer held {HELD_ANSWER_SECONDS:g} s after processing (latency after); "
                "SIGKILL to the task process once the POST was handled"
            ),
            "outcome": "DAG succeeds (try 2 attaches)" if state == "success" else f"run {state}",
            "attempts": len(posts),
            "configure_posts": len(posts),
            "configure_effective": len(handled),
            "seconds": round(seconds, 1),
        },
    )

    assert state == "success", explain()
    ti = stack.db_task_instance(DAG_ID, run_id, TASK)
    assert ti["state"] == "success"
    assert ti["try_number"] == 2, explain()
    history = stack.query(
        "SELECT try_number, state FROM task_instance_history WHERE dag_id = ? AND run_id = ? AND task_id = ?",
        (DAG_ID, run_id, TASK),
    )
    assert history == [(1, "failed")], history
    task_logs = stack.task_log_dir(DAG_ID, run_id, TASK)
    logs = {
        name: (task_logs / name).read_text(errors="replace") for name in ("attempt=1.log", "attempt=2.log")
    }
    assert ATTACH_LINE not in logs["attempt=1.log"]
    assert "Configuring DCS migration task" in logs["attempt=1.log"]
    assert ATTACH_LINE in logs["attempt=2.log"], logs["attempt=2.log"]
    assert "Configuring DCS migration task" not in logs["attempt=2.log"]
    # One configure POST in all, handled once; the migration ran to its end.
    assert len(posts) == 1, posts
    assert len(handled) == 1, posts
    assert emulator.api().detail(migration_task_id)["status"] in ("SUCCESS", "RELEASED")  # VM released after
    # Try 2's XComs: the task id (pushed before the wait) and the result.
    assert stack.xcom(DAG_ID, run_id, TASK, key="migration_task_id") == migration_task_id
    result = stack.xcom(DAG_ID, run_id, TASK)
    assert result["id"] == migration_task_id, result
    assert result["status"] in ("SUCCESS", "RELEASED"), result
