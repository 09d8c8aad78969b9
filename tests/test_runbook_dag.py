"""``dags/example_dcs_cutover_runbook.py`` end to end with ``dag.test()`` against the emulator.

Two runs in one child process (``scripts/demo_dag.py``'s runner, as in ``test_example_dags.py``):

* ``self_hosted``: a REAL migration between two password-protected ``redis-server`` processes
  (emulator with ``real_migration=True``). The source is filled first; a background thread keeps
  writing, deleting and expiring keys on the source during the full and the incremental phase,
  and stops (the "freeze") once incremental sync is live, before the approval/freeze step. At the
  end the target holds exactly the source's data. The runbook's wall time is recorded.
* ``dcs_to_dcs``: two (simulated) DCS instances: the whitelist admission and removal, and the IP
  switch (``EXCHANGE_SUCCESS``) instead of the "clients switched" step.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dag_runner
from airflow_versions import requires_hitl
from huaweicloud_dcs_emulator.local_redis import RedisServer
from huaweicloud_dcs_emulator.testing import EmulatorProcess
from redis_data import assert_same_data, populate

pytest_plugins = ["redis_servers"]
pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
DAG_ID = "example_dcs_cutover_runbook"
TIMINGS = {
    "create_seconds": 0.3,
    "full_seconds": 1.0,
    "stop_seconds": 0.3,
    "job_seconds": 0.2,
    "exchange_seconds": 0.5,
}
SELF_HOSTED_TASKS = {
    "endpoints": "success",
    "preflight_checks": "success",
    "create_migration_task": "success",
    "admit_migration_vm": "success",
    "configure_incremental_migration": "success",
    "wait_for_live_sync": "success",
    "wait_for_lag_zero": "success",
    "verify_sample": "success",
    "cutover_gate": "success",
    "approve_cutover": "skipped",
    "approval_not_required": "success",
    "freeze_writes": "success",
    "drain_to_zero": "success",
    "verify_data": "success",
    "choose_switch": "success",
    "switch_ip": "skipped",
    "clients_switched": "success",
    "rollback_ip": "skipped",
    "unfreeze_source": "skipped",
    "stop_migration_task": "success",
    "resume_writes": "success",
    "remove_migration_vm_from_whitelist": "success",
    "delete_wanted": "success",
    "delete_migration_task": "success",
}


runner = dag_runner.load()


class Writer(threading.Thread):
    """Writes to the source until told to stop: new keys, overwrites, deletes, short TTLs."""

    def __init__(self, server: RedisServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.halt = threading.Event()
        self.writes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.server.client(0) as db0, self.server.client(1) as db1:
                n = 0
                while not self.halt.is_set():
                    pipe = db0.pipeline(transaction=False)
                    for i in range(n, n + 50):
                        pipe.set(f"live:{i}", f"v{i}")
                        pipe.hincrby("live:counters", f"c{i % 7}", 1)
                        if i % 5 == 0:
                            pipe.delete(f"live:{i - 25}")
                        if i % 11 == 0:
                            pipe.set(f"live:short:{i}", "x", px=300)  # expires during the run
                    pipe.execute()
                    db1.rpush("live:list", *[str(i) for i in range(n, n + 10)])
                    n += 50
                    self.writes += 161
                    time.sleep(0.02)
        except BaseException as exc:  # reported by the test
            self.error = exc


def _no_expiry_during_the_run(server: RedisServer, margin_ms: int = 600_000) -> None:
    """Push the TTLs ``populate`` gives (1 min and up) past the run.

    A key whose TTL lapses during the ~80 s run may expire on the target a moment before the
    source (seen once in 4 loaded runs: 2 keys present on the source, gone on the target), which
    is expiry timing, not the runbook. The writer's own short-TTL keys still expire in the run.
    """
    for db in (0, 1):
        with server.client(db) as client:
            keys = list(client.scan_iter(count=5_000))
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.pttl(key)
            ttls = pipe.execute()
            pipe = client.pipeline(transaction=False)
            for key, ttl in zip(keys, ttls, strict=True):
                if ttl > 0:
                    pipe.pexpire(key, ttl + margin_ms)
            pipe.execute()


class _LoopbackServer(RedisServer):
    """A password-less ``redis-server`` on another loopback address, on a given port if asked."""

    def __init__(self, host: str, port: int | None) -> None:
        super().__init__()
        self.host = host
        self._wanted_port = port

    def _write_config(self, directory: Path, port: int) -> Path:
        self.port = self._wanted_port or port
        return super()._write_config(directory, self.port)


@pytest.fixture
def loopback_server() -> Iterator[Callable[[str, int | None], RedisServer]]:
    """``factory(host, port)``: a server on ``host`` (127.0.0.x), stopped after the test."""
    started: list[RedisServer] = []

    def factory(host: str, port: int | None) -> RedisServer:
        server = _LoopbackServer(host, port).start(attempts=1 if port else 5)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def real_emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(config=TIMINGS, real_migration=True) as process:
        yield process


def _conn(password: str | None) -> str:
    return json.dumps({"conn_type": "generic", "password": password})


def _find_task(hook: Any, name: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = [t for t in hook.list_migration_tasks(name=name) if t.name == name]
        if tasks:
            return str(tasks[0].task_id)
        time.sleep(0.2)
    raise AssertionError(f"no migration task named {name} appeared")


@requires_hitl
def test_runbook_dag_cuts_over_with_live_writes_and_dcs_ip_switch(
    real_emulator: EmulatorProcess,
    redis_server_factory: Any,
    loopback_server: Callable[[str, int | None], RedisServer],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    figures: Callable[[str], None],
) -> None:
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    real_emulator.admin().reset()
    source = redis_server_factory(f"src-{secrets.token_urlsafe(12)}")
    target = redis_server_factory(f"dst-{secrets.token_urlsafe(12)}")
    populate(source, {0: 6_000, 1: 2_000}, seed=11)
    _no_expiry_during_the_run(source)

    conn = real_emulator.conn_dict()
    conn["extra"] = {**dict(conn["extra"]), "region": "ap-southeast-1"}  # type: ignore[call-overload]
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", json.dumps(conn))
    hook = DcsHook()
    dcs_source, dcs_target = str(uuid.uuid4()), str(uuid.uuid4())
    rollback_source, rollback_target = str(uuid.uuid4()), str(uuid.uuid4())
    # The emulator, like the cloud, knows only the DCS instances that exist: register them, each
    # at a real (empty, password-less) Redis, which the verify steps read. An IP switch needs the
    # same port on both sides: each pair shares a port on two loopback addresses.
    for pair, first_host in (((dcs_source, dcs_target), 2), ((rollback_source, rollback_target), 4)):
        port = None
        for offset, instance_id in enumerate(pair):
            server = loopback_server(f"127.0.0.{first_host + offset}", port)
            port = server.port
            real_emulator.admin().add_instance(instance_id, addrs=server.addrs)
    apps = [{"group_name": "apps", "ip_list": ["10.1.0.0/24"]}]
    hook.replace_whitelist(dcs_source, enable_whitelist=True, whitelist=apps)

    home: Path = tmp_path_factory.mktemp("runbook-airflow-home")
    env = runner.airflow_env(
        home,
        {
            "AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": json.dumps(conn),
            "AIRFLOW_CONN_RUNBOOK_SRC": _conn(source.password),
            "AIRFLOW_CONN_RUNBOOK_DST": _conn(target.password),
        },
    )
    runner.migrate_once(home, env)
    name = f"runbook-{secrets.token_hex(3)}"
    jobs = [
        runner.DagTestJob(
            "self_hosted",
            DAG_ID,
            {
                "require_approval": False,
                "migration_task_name": name,
                "source_addrs": source.addrs,
                "source_password_conn_id": "runbook_src",
                "target_addrs": target.addrs,
                "target_password_conn_id": "runbook_dst",
                "bandwidth_limit_mb": 50,
            },
        ),
        runner.DagTestJob(  # the switch's answer is an error (after the switch began): roll back
            "rollback",
            DAG_ID,
            {
                "require_approval": False,
                "migration_task_name": f"{name}-rollback",
                "source_instance_id": rollback_source,
                "target_instance_id": rollback_target,
                "delete_task": False,
            },
            no_retries=True,
        ),
        runner.DagTestJob(
            "dcs_to_dcs",
            DAG_ID,
            {
                "require_approval": False,
                "migration_task_name": f"{name}-dcs",
                "source_instance_id": dcs_source,
                "target_instance_id": dcs_target,
                "delete_task": False,
            },
        ),
    ]

    real_emulator.admin().add_fault(
        method="POST",
        path=r"/exchange-ip$",
        status=400,
        error_code="DCS.4999",
        error_msg="Injected: switch answer lost",
        when="after",
        count=1,
    )
    writer = Writer(source)
    writer.start()
    results: dict[str, Any] = {}
    child = threading.Thread(
        target=lambda: results.update(runner.run_dags_in_child(jobs, env, home / "logs" / "dag-test")),
        daemon=True,
    )
    child.start()
    try:
        task_id = _find_task(hook, name)
        hook.wait_for_task_status(task_id, ["INCRMIGEATING"], timeout=90, poll_interval=0.2)
        writes_before_live = writer.writes
        time.sleep(1.5)  # keep writing into the live incremental sync
    finally:
        writer.halt.set()  # the "freeze": before the approval/freeze step
        writer.join(timeout=10)
    child.join(timeout=240)
    assert writer.error is None, writer.error
    assert writes_before_live > 0
    assert writer.writes > writes_before_live

    run = results["self_hosted"]
    explain = f"state={run.state} tasks={run.tasks}; output tail:\n{run.output[-6000:]}"
    assert run.state == "success", explain
    assert run.tasks == SELF_HOSTED_TASKS, explain
    for secret in (source.password, target.password, real_emulator.secret_key):
        assert secret
        assert secret not in run.output  # the task logs
        assert secret not in json.dumps(run.result, default=str)  # states and XComs
    xcom = run.result["xcom"]
    assert xcom["preflight_checks"]["return_value"]["figures"]["target_keys"] == 0
    assert xcom["admit_migration_vm"]["return_value"]["changed"] == []
    sample = xcom["verify_sample"]["return_value"]
    assert sample["passed"]
    assert sample["mode"] == "sample"
    assert sample["keys_compared"] > 0
    report = xcom["verify_data"]["return_value"]
    assert report["passed"]
    assert report["mode"] == "full"
    assert report["mismatches"] == 0
    assert report["source_keys"] == report["target_keys"]
    assert report["keys_compared"] == sum(report["source_keys"].values())
    time.sleep(0.4)  # the short TTLs written last are over on both sides
    compared = assert_same_data(source, target)
    assert all(t.task_id != task_id for t in hook.list_migration_tasks(name=name))  # deleted
    figures(
        f"cutover runbook (self-hosted, real Redis): {run.wall_seconds:.1f} s wall for {len(run.tasks)} "
        f"tasks; {writer.writes:,} live writes ({writes_before_live:,} before INCRMIGEATING); "
        f"{compared:,} keys verified equal (the verify step compared {report['keys_compared']:,} in "
        f"{report['duration_s']:.2f} s)"
    )

    back = results["rollback"]
    explain = f"state={back.state} tasks={back.tasks}; output tail:\n{back.output[-6000:]}"
    assert back.state == "failed", explain
    assert back.tasks["switch_ip"] == "failed", explain
    assert back.tasks["rollback_ip"] == "success", explain
    assert back.tasks["unfreeze_source"] == "success", explain
    assert back.tasks["stop_migration_task"] == "upstream_failed", explain
    assert back.result["xcom"]["rollback_ip"]["return_value"]["task_status"] == "ROLLBACK_SUCCESS"
    assert "Injected: switch answer lost" in back.output
    back_task = _find_task(hook, f"{name}-rollback")
    assert hook.get_migration_task(back_task).status == "INCRMIGEATING"  # left running to try again

    dcs = results["dcs_to_dcs"]
    explain = f"state={dcs.state} tasks={dcs.tasks}; output tail:\n{dcs.output[-6000:]}"
    assert dcs.state == "success", explain
    assert dcs.tasks["switch_ip"] == "success", explain
    assert dcs.tasks["clients_switched"] == "skipped", explain
    assert dcs.tasks["rollback_ip"] == "skipped", explain
    assert dcs.tasks["delete_migration_task"] == "skipped", explain
    dxcom = dcs.result["xcom"]
    assert dxcom["switch_ip"]["return_value"]["task_status"] == "EXCHANGE_SUCCESS"
    admitted = dxcom["admit_migration_vm"]["return_value"]
    assert [c["instance_id"] for c in admitted["changed"]] == [dcs_source]
    assert dxcom["remove_migration_vm_from_whitelist"]["return_value"] == [dcs_source]
    assert hook.get_whitelist(dcs_source).whitelist == apps
    dcs_task = _find_task(hook, f"{name}-dcs")
    assert hook.get_migration_task(dcs_task).status == "TERMINATED"
    figures(
        f"cutover runbook (DCS to DCS, IP switch, simulated): {dcs.wall_seconds:.1f} s wall; "
        f"rollback path (switch answer lost, IP rolled back, source unfrozen): {back.wall_seconds:.1f} s wall"
    )


@requires_hitl
def test_runbook_dag_loads_with_its_safety_wiring(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("DCS_EXAMPLE_POLL_SECONDS", "60")
    bag = DagBag(dag_folder=str(REPO / "dags" / f"{DAG_ID}.py"), safe_mode=False)
    assert bag.import_errors == {}
    dag = bag.dags[DAG_ID]
    assert set(dag.task_ids) == set(SELF_HOSTED_TASKS)
    assert dag.params["require_approval"] is True  # the gate is on unless a run turns it off
    assert dag.get_task("wait_for_live_sync").success_statuses == ("INCRMIGEATING",)
    assert (
        dag.get_task("drain_to_zero").consecutive_samples
        > dag.get_task("wait_for_lag_zero").consecutive_samples
    )
    assert dag.get_task("configure_incremental_migration").resume_mode == "manual"
    assert dag.get_task("rollback_ip").trigger_rule == "one_failed"
    assert dag.get_task("rollback_ip").upstream_task_ids == {"switch_ip"}
    assert dag.get_task("unfreeze_source").trigger_rule == "none_skipped"
    assert dag.get_task("stop_migration_task").upstream_task_ids == {"switch_ip", "clients_switched"}
    # Writes are frozen only after the gate, and the task is stopped only after the switch.
    assert "freeze_writes" in dag.get_task("drain_to_zero").upstream_task_ids
    assert dag.get_task("freeze_writes").upstream_task_ids == {"approve_cutover", "approval_not_required"}


def test_runbook_docs_quote_the_dag_and_are_linked() -> None:
    text = (REPO / "dags" / f"{DAG_ID}.py").read_text()
    docs = (REPO / "docs" / "cutover-runbook.md").read_text()
    sections = {
        match[1]
        for match in re.finditer(r"# --8<-- \[start:(\w+)\]\n(.*?)\n[ ]*# --8<-- \[end:\1\]", text, re.S)
    }
    assert len(sections) >= 8
    # Quoted with snippet includes (scripts/docs.sh fails on a missing section).
    assert sorted(name for name in sections if f'--8<-- "dags/{DAG_ID}.py:{name}"' not in docs) == []
    assert "docs/cutover-runbook.md" in (REPO / "README.md").read_text()
