"""The distributed deployment only: triggerer high availability and trigger queues, end to end.

One :data:`~e2e.airflow_stack.POSTGRES_CELERY` deployment for the module: PostgreSQL, the
CeleryExecutor with two workers (consuming ``default`` and ``dcs``), two triggerers consuming
``default``, trigger queues on (``[triggerer] queues_enabled``); the emulator simulates the
migrations.

1. **Trigger queues.** Two deferred waits with ``queue="dcs"`` (``tests/e2e/dags/dcs_queue_wait.py``):
   the configure operator's own wait and the sensor's. Their trigger rows carry queue ``dcs``, and
   while no triggerer consumes ``dcs`` neither of the two ``default`` triggerers takes them (they
   stay unassigned, the migrations go on). A third triggerer started with ``--queues=dcs`` takes
   them at once and is the only one that ever runs them; the run succeeds, each migration
   configured once.
2. **High availability.** N mapped migrations waited for deferred
   (``tests/e2e/dags/dcs_load_mapped_migrations.py``) until every wait is held by a triggerer;
   then the triggerer holding the most waits is SIGKILLed (process group: its trigger runner
   too) and not restarted. The other triggerer takes over every wait the dead one held (the
   takeover time is measured: from the kill until the last of them is reassigned), each finishes,
   the run succeeds with every task on its first try, and the emulator handled exactly N configure
   calls. Recorded in the ``ha`` figures table.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_versions import requires_airflow3_deployment
from e2e.airflow_stack import POSTGRES_CELERY, AirflowStack
from e2e.deployment import Deployment, emulator_and_airflow, mapped_load_env, wait_until
from huaweicloud_dcs_emulator.testing import EmulatorAdmin
from reliability import figures

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.distributed,
    pytest.mark.timeout(600),
    requires_airflow3_deployment,
]

DAGS = Path(__file__).resolve().parent / "dags"
QUEUE_DAG_ID = "dcs_queue_wait"
LOAD_DAG_ID = "dcs_load_mapped_migrations"
#: Deferred waits held by the two triggerers when one is killed (``$DCS_HA_WAITS``, else 24).
HA_WAITS = int(os.environ.get("DCS_HA_WAITS") or 24)
#: Seconds between two status reads of each wait.
POLL_SECONDS = 2
#: How long the ``dcs`` trigger must stay unassigned while no triggerer consumes ``dcs``: well
#: over the triggerers' loop (1 s) and heartbeat (2 s) intervals.
UNCLAIMED_SECONDS = 8.0
EMULATOR_TIMINGS = {"create_seconds": 0.5, "full_seconds": 25.0, "stop_seconds": 0.5, "fail_seconds": 0.3}
CONFIGURE_PATH = re.compile(r"/migration/([^/]+)/task$")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The emulator and the PostgreSQL/Celery deployment with both DAGs; all stopped after."""
    root = tmp_path_factory.mktemp("e2e-distributed")
    with emulator_and_airflow(
        root,
        emulator_config=EMULATOR_TIMINGS,
        dag_files=[DAGS / "dcs_queue_wait.py", DAGS / "dcs_load_mapped_migrations.py"],
        env=mapped_load_env(HA_WAITS, POLL_SECONDS),
        admin_timeout=60,
        topology=POSTGRES_CELERY,
        parallelism=POSTGRES_CELERY.workers * POSTGRES_CELERY.worker_concurrency,
    ) as deployment:
        print(f"\n[distributed] Airflow up in {deployment.stack.startup_seconds:.1f} s ({root})")
        yield deployment


def handled_configures(admin: EmulatorAdmin) -> Counter[str]:
    """Configure calls the emulator handled (HTTP 200 from its handler), by migration task."""
    return Counter(
        found.group(1)
        for request in admin.requests(method="POST")
        if request["handled_status"] == 200 and (found := CONFIGURE_PATH.search(request["path"]))
    )


def wait_triggers(stack: AirflowStack, dag_id: str, run_id: str) -> list[tuple[int, int | None, str | None]]:
    """``(trigger id, triggerer job id, queue)`` of the run's deferred task instances."""
    rows = stack.query(
        "SELECT t.id, t.triggerer_id, t.queue FROM trigger t JOIN task_instance ti ON ti.trigger_id = t.id "
        "WHERE ti.dag_id = ? AND ti.run_id = ? ORDER BY t.id",
        (dag_id, run_id),
    )
    return [(int(tid), None if job is None else int(job), queue) for tid, job, queue in rows]


def test_waits_on_queue_dcs_run_only_on_the_triggerer_of_dcs(deployment: Deployment) -> None:
    """Queue ``dcs``: no ``default`` triggerer takes the waits; the ``dcs`` triggerer alone runs them."""
    stack, emulator, admin = deployment.stack, deployment.emulator, deployment.admin
    migrations = {
        "operator_wait": emulator.api().create_ready_task("queue-dcs-operator", timeout=30),
        "sensor_wait": emulator.api().create_ready_task("queue-dcs-sensor", timeout=30),
    }
    run_id = stack.trigger_dag(
        QUEUE_DAG_ID,
        {"operator_task_id": migrations["operator_wait"], "sensor_task_id": migrations["sensor_wait"]},
    )

    def explain() -> str:
        return stack.explain(QUEUE_DAG_ID, run_id)

    for task in migrations:
        stack.wait_task_state(QUEUE_DAG_ID, run_id, task, {"deferred"}, timeout=120)
    rows = wait_triggers(stack, QUEUE_DAG_ID, run_id)
    assert len(rows) == 2, rows
    assert {queue for _, _, queue in rows} == {"dcs"}, rows
    # Neither default triggerer claims them, however long we wait (while the migrations go on).
    unclaimed_until = time.monotonic() + UNCLAIMED_SECONDS
    while time.monotonic() < unclaimed_until:
        holders = {job for _, job, _ in wait_triggers(stack, QUEUE_DAG_ID, run_id)}
        assert holders == {None}, f"a wait on queue dcs was taken by triggerer job(s) {holders}{explain()}"
        time.sleep(0.5)
    assert {emulator.api().detail(task_id)["status"] for task_id in migrations.values()} == {"FULLMIGRATING"}

    started = time.monotonic()
    dcs_job = stack.start_triggerer("triggerer-dcs", ["triggerer", "--queues=dcs"])
    wait_until(
        lambda: {job for _, job, _ in wait_triggers(stack, QUEUE_DAG_ID, run_id)} == {dcs_job},
        "dcs triggerer claims both waits",
        60,
        explain,
    )
    claimed_after = time.monotonic() - started
    assert stack.wait_run(QUEUE_DAG_ID, run_id, timeout=120) == "success", explain()
    print(f"[distributed] the dcs triggerer (job {dcs_job}) claimed both waits in {claimed_after:.1f} s")

    configures = handled_configures(admin)
    for task, migration_task_id in migrations.items():
        # Only the dcs triggerer ever ran the trigger (trigger logs are named by triggerer job).
        assert set(stack.trigger_log_files(QUEUE_DAG_ID, run_id, task)) == {dcs_job}, explain()
        assert configures[migration_task_id] == 1, configures
        ti = stack.db_task_instance(QUEUE_DAG_ID, run_id, task)
        assert (ti["queue"], ti["try_number"], ti["state"]) == ("dcs", 1, "success"), ti


def test_killed_triggerer_waits_are_taken_over_and_finish(deployment: Deployment) -> None:
    """SIGKILL the triggerer holding most waits: the other takes all over; N configures, no retry."""
    stack, admin = deployment.stack, deployment.admin
    admin.set_config(full_seconds=60.0)  # every wait outlives the kill and the takeover
    before = handled_configures(admin)
    run_id = stack.trigger_dag(LOAD_DAG_ID)

    def explain() -> str:
        return stack.explain(LOAD_DAG_ID, run_id)

    def all_held() -> list[tuple[int, int | None, str | None]] | None:
        rows = wait_triggers(stack, LOAD_DAG_ID, run_id)
        return rows if len(rows) == HA_WAITS and all(job is not None for _, job, _ in rows) else None

    rows = wait_until(all_held, f"all {HA_WAITS} waits deferred and held", 240, explain)
    [(db_connections,)] = stack.query(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
    )
    held = Counter(job for _, job, _ in rows)
    victim_job, victim_waits = held.most_common(1)[0]
    victim = stack.triggerer_named(victim_job)
    [survivor] = [name for name in ("triggerer", "triggerer-2") if name != victim]
    survivor_job = stack.job_id_of(survivor)
    moved = {tid for tid, job, _ in rows if job == victim_job}
    killed_at = time.monotonic()
    stack.kill_component(victim, signal.SIGKILL)

    def taken_over() -> bool:
        now = {tid: job for tid, job, _ in wait_triggers(stack, LOAD_DAG_ID, run_id)}
        return all(now.get(tid, survivor_job) == survivor_job for tid in moved)

    wait_until(taken_over, "waits of the killed triggerer taken over", 120, explain)
    takeover = time.monotonic() - killed_at
    api = deployment.emulator.api()
    still_migrating = sum(
        api.detail(str(stack.xcom(LOAD_DAG_ID, run_id, "create", map_index=index)))["status"]
        == "FULLMIGRATING"
        for index in range(HA_WAITS)
    )
    state = stack.wait_run(LOAD_DAG_ID, run_id, timeout=300)
    configures = handled_configures(admin) - before
    tis = stack.query(
        "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?",
        (LOAD_DAG_ID, run_id),
    )
    row = figures.record(
        "ha",
        {
            "topology": POSTGRES_CELERY.name,
            "waits": HA_WAITS,
            "held_by_killed": victim_waits,
            "held_by_survivor": HA_WAITS - victim_waits,
            "takeover_seconds": round(takeover, 1),
            "still_migrating_at_takeover": still_migrating,
            "configure_effective": sum(configures.values()),
            "postgres_connections": db_connections,
            "run_state": state,
            "heartbeat_seconds": 2,
            "health_check_threshold_seconds": 10,
        },
    )
    print(f"[distributed] {row}")

    assert state == "success", explain()
    assert Counter((task_id, ti_state) for task_id, ti_state, _ in tis) == Counter(
        {("create", "success"): HA_WAITS, ("configure", "success"): HA_WAITS}
    ), tis
    assert {tries for _, _, tries in tis} == {1}, f"a task was retried: {tis}"
    assert len(configures) == HA_WAITS, configures
    assert set(configures.values()) == {1}, configures
    # The waits really were taken over while they were still waiting for their migration.
    assert still_migrating > 0
    assert takeover < 60, takeover
