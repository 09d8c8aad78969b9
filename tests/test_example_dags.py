"""The example DAGs in ``dags/``: they load with no import errors, and they run with ``dag.test()``.

The runs go against one emulator that requires temporary credentials (a security token), with one
``AIRFLOW_HOME`` in a temp dir migrated once for the session. Each ``dag.test()`` runs in a child
process (``scripts/demo_dag.py --run-dag``, the same runner as the demo), so the test process's
own Airflow state is never touched; the child's whole output, i.e. the task logs (``dag.test()``
writes no per-task log files), is saved under ``AIRFLOW_HOME/logs/dag-test/``.

Three runs, done once and shared with ``test_secret_scan.py`` through :func:`example_runs`:

* ``full_ok``: the full migration succeeds, and its sensor really defers (trigger run inline);
* ``full_failed``: the source is ``127.0.0.1:1``, so the migration ends in ``MIGRATION_FAILED``;
* ``cutover``: the incremental cutover, with the human approval skipped by its param; its Redis
  password connections are stored in the metadata DB (the full runs use environment variables).
  The cutover DAGs need ``ApprovalOperator`` (Airflow 3.1+): on Airflow 2 a third full migration,
  ``full_db_conns``, reads its Redis passwords from those metadata-DB connections instead.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import dag_runner
from airflow_versions import AIRFLOW_V_3, AIRFLOW_V_3_1, requires_hitl
from huaweicloud_dcs_emulator.testing import (
    EmulatorProcess,
    random_security_token,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
DAGS = REPO / "dags"
FULL_DAG = "example_dcs_full_migration"
CUTOVER_DAG = "example_dcs_incremental_cutover"
#: The example DAGs with a human approval step (``ApprovalOperator``): Airflow 3.1+ only.
HITL_DAG_FILES = frozenset({f"{CUTOVER_DAG}.py", "example_dcs_cutover_runbook.py"})
#: The run whose Redis passwords come from connections stored in the metadata DB.
DB_CONN_RUN = "cutover" if AIRFLOW_V_3_1 else "full_db_conns"
#: The full copy lasts 3 s and the sensor polls every second, so the sensor defers.
TIMINGS = {
    "create_seconds": 0.3,
    "full_seconds": 3.0,
    "stop_seconds": 0.3,
    "fail_seconds": 1.0,
    "job_seconds": 0.2,
}
REFUSED_SOURCE = "127.0.0.1:1"
REFUSED_ERROR = f"Failed to connect to source redis {REFUSED_SOURCE}: Connection refused"


runner = dag_runner.load()


@dataclass
class ExampleRuns:
    """The shared runs: where they happened, the secrets they used and what they produced."""

    airflow_home: Path
    emulator: EmulatorProcess
    secrets: dict[str, str]
    runs: dict[str, Any] = field(default_factory=dict)  # label -> runner.DagTestRun
    migration_task_ids: dict[str, str] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        """The SQLite metadata DB."""
        return self.airflow_home / "airflow.db"

    @property
    def log_dir(self) -> Path:
        """Where the task logs are (``AIRFLOW_HOME/logs``)."""
        return self.airflow_home / "logs"


_SHARED: dict[str, ExampleRuns] = {}


def example_runs(tmp_path_factory: pytest.TempPathFactory, add_finalizer: Callable[..., Any]) -> ExampleRuns:
    """Do the three example runs once per session (later calls return the same result)."""
    if "runs" in _SHARED:
        return _SHARED["runs"]
    home = tmp_path_factory.mktemp("example-dags-airflow-home")
    emulator = EmulatorProcess(config=TIMINGS, security_token=random_security_token())
    emulator.start()
    add_finalizer(emulator.stop)
    conn = emulator.conn_dict()
    conn["extra"] = {**dict(conn["extra"]), "region": "ap-southeast-1"}  # type: ignore[call-overload]
    shared = ExampleRuns(
        airflow_home=home,
        emulator=emulator,
        secrets={
            "secret access key": emulator.secret_key,
            "security token": str(emulator.security_token),
            "redis source password (env connection)": "src-" + secrets.token_urlsafe(18),
            "redis target password (env connection)": "tgt-" + secrets.token_urlsafe(18),
            "redis source password (DB connection)": "dbsrc-" + secrets.token_urlsafe(18),
            "redis target password (DB connection)": "dbtgt-" + secrets.token_urlsafe(18),
        },
    )
    # The full runs read the Redis passwords from environment connections, the cutover from
    # connections stored in the metadata DB (other conn ids, given through the DAG's params).
    db_conns = {
        "dcs_redis_source_db": {
            "conn_type": "generic",
            "password": shared.secrets["redis source password (DB connection)"],
        },
        "dcs_redis_target_db": {
            "conn_type": "generic",
            "password": shared.secrets["redis target password (DB connection)"],
        },
    }
    env = runner.airflow_env(
        home,
        {
            "AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": json.dumps(conn),
            "AIRFLOW_CONN_DCS_REDIS_SOURCE": json.dumps(
                {"conn_type": "generic", "password": shared.secrets["redis source password (env connection)"]}
            ),
            "AIRFLOW_CONN_DCS_REDIS_TARGET": json.dumps(
                {"conn_type": "generic", "password": shared.secrets["redis target password (env connection)"]}
            ),
            runner.DB_CONNECTIONS_ENV: json.dumps(db_conns),
        },
    )
    runner.migrate_once(home, env)

    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    mp = pytest.MonkeyPatch()
    add_finalizer(mp.undo)
    mp.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", json.dumps(conn))
    hook = DcsHook()
    network = {"vpc_id": "vpc-test", "subnet_id": "subnet-test", "security_group_id": "sg-test"}
    full_labels = ("full_ok", "full_failed") if AIRFLOW_V_3_1 else ("full_ok", "full_failed", DB_CONN_RUN)
    for label in full_labels:
        created = hook.create_online_migration_task(name=f"test-{label}", poll_interval=0.1, **network)
        shared.migration_task_ids[label] = str(created["task_id"])
    mp.undo()

    jobs = [
        runner.DagTestJob("full_ok", FULL_DAG, {"migration_task_id": shared.migration_task_ids["full_ok"]}),
        runner.DagTestJob(
            "full_failed",
            FULL_DAG,
            {"migration_task_id": shared.migration_task_ids["full_failed"], "source_addrs": REFUSED_SOURCE},
            no_retries=True,
        ),
    ]
    db_conns_conf = {
        "source_password_conn_id": "dcs_redis_source_db",
        "target_password_conn_id": "dcs_redis_target_db",
    }
    if AIRFLOW_V_3_1:
        jobs.append(
            runner.DagTestJob(
                DB_CONN_RUN,
                CUTOVER_DAG,
                {"require_approval": False, "migration_task_name": "test-cutover", **db_conns_conf},
            )
        )
    else:  # no cutover DAG before 3.1 (ApprovalOperator): a full migration reads the DB connections
        jobs.append(
            runner.DagTestJob(
                DB_CONN_RUN,
                FULL_DAG,
                {"migration_task_id": shared.migration_task_ids[DB_CONN_RUN], **db_conns_conf},
            )
        )
    shared.runs.update(runner.run_dags_in_child(jobs, env, home / "logs" / "dag-test"))
    if AIRFLOW_V_3_1:
        cutover_xcom = shared.runs["cutover"].result.get("xcom", {})
        shared.migration_task_ids["cutover"] = str(
            cutover_xcom.get("create_migration_task", {}).get("return_value", "")
        )
    _SHARED["runs"] = shared
    return shared


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> ExampleRuns:
    """The shared example runs."""
    return example_runs(tmp_path_factory, request.session.addfinalizer)


def _explain(run: Any) -> str:
    return f"state={run.state} rc={run.returncode} tasks={run.tasks}; output tail:\n{run.output[-5000:]}"


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------


def test_example_dags_load_without_import_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.models import DagBag  # airflow.dag_processing.dagbag's on Airflow 3

    monkeypatch.setenv("DCS_EXAMPLE_POLL_SECONDS", "60")
    bag = DagBag(dag_folder=str(DAGS), safe_mode=False)
    errors = bag.import_errors
    if not AIRFLOW_V_3_1:  # the HITL DAGs cannot import ApprovalOperator there (their own test skips)
        errors = {path: error for path, error in errors.items() if Path(path).name not in HITL_DAG_FILES}
    assert errors == {}
    assert set(bag.dag_ids) >= ({FULL_DAG, CUTOVER_DAG} if AIRFLOW_V_3_1 else {FULL_DAG})

    full = bag.dags[FULL_DAG]
    assert [t.task_id for t in full.topological_sort()] == [
        "configure_full_migration",
        "wait_for_full_migration",
        "report",
    ]
    sensor = full.get_task("wait_for_full_migration")
    assert sensor.deferrable is True
    assert sensor.success_statuses == ("SUCCESS",)
    assert full.get_task("configure_full_migration").migration_method == "full_amount_migration"


@requires_hitl
def test_cutover_dag_loads_with_its_approval_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.models import DagBag

    monkeypatch.setenv("DCS_EXAMPLE_POLL_SECONDS", "60")
    bag = DagBag(dag_folder=str(DAGS / f"{CUTOVER_DAG}.py"), safe_mode=False)
    assert bag.import_errors == {}
    cutover = bag.dags[CUTOVER_DAG]
    assert cutover.get_task("wait_for_incremental_sync").success_statuses == ("INCRMIGEATING",)
    assert cutover.get_task("configure_incremental_migration").migration_method == "incremental_migration"
    assert type(cutover.get_task("approve_cutover")).__name__ == "ApprovalOperator"
    assert cutover.get_task("stop_migration_task").trigger_rule == "none_failed_min_one_success"
    assert cutover.params["require_approval"] is True  # the gate is on unless a run turns it off


def test_docs_quote_every_section_of_the_dags() -> None:
    """Every ``# --8<-- [start:x]`` ... ``[end:x]`` section is quoted in the docs (a snippet include,
    so the site always shows the current code: ``scripts/docs.sh`` fails on a missing section)."""
    # The cutover runbook DAG is quoted in its own page.
    docs = "".join(page.read_text() for page in sorted((REPO / "docs").glob("*.md")))
    sections = {
        (path.name, match[1])
        for path in sorted(DAGS.glob("*.py"))
        for match in re.finditer(
            r"# --8<-- \[start:(\w+)\]\n(.*?)\n[ ]*# --8<-- \[end:\1\]", path.read_text(), re.S
        )
    }
    assert len(sections) >= 10
    missing = sorted(
        f"{file}:{name}" for file, name in sections if f'--8<-- "dags/{file}:{name}"' not in docs
    )
    assert missing == [], f"no page in docs/ quotes the sections {missing}"


def test_every_snippet_in_the_docs_links_to_the_file_it_quotes() -> None:
    """A page read on the forge or in a clone shows a ``--8<--`` line, not the code: each snippet
    block has a plain link to the quoted file next to it (the repository URL: ``mkdocs --strict``
    refuses relative links that leave ``docs/``)."""
    repo_url = re.search(r"^repo_url: (\S+)$", (REPO / "mkdocs.yml").read_text(), re.M)
    assert repo_url is not None
    snippet = re.compile(r'^--8<-- "([^":]+)(?::\w+)?"\s*$')
    pages = sorted((REPO / "docs").rglob("*.md"))
    seen, unlinked = 0, []
    for page in pages:
        lines = page.read_text().splitlines()
        fence_open: int | None = None
        for number, line in enumerate(lines):
            if line.startswith("```"):
                fence_open = number if fence_open is None else None
                continue
            match = snippet.match(line)
            if match is None:
                continue
            seen += 1
            quoted = match[1]
            assert (REPO / quoted).is_file(), f"{page.name}:{number + 1} quotes a missing {quoted}"
            start = end = number
            if fence_open is not None:
                start = fence_open
                end = next(i for i in range(number, len(lines)) if lines[i].strip() == "```")
            near = "\n".join(lines[max(0, start - 3) : start] + lines[end + 1 : end + 4])
            if f"]({repo_url[1]}/blob/main/{quoted})" not in near:
                unlinked.append(f"{page.relative_to(REPO)}:{number + 1} {quoted}")
    assert seen >= 30, seen
    assert unlinked == [], f"snippets with no link to the quoted file next to them: {unlinked}"


def test_example_dags_hold_no_literal_passwords() -> None:
    for path in DAGS.glob("*.py"):
        text = path.read_text()
        assert '"password":' not in text, path
        assert "password_conn_id" in text, path


# ------------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------------


def test_full_migration_succeeds_with_a_real_deferral(runs: ExampleRuns) -> None:
    run = runs.runs["full_ok"]
    task_id = runs.migration_task_ids["full_ok"]
    assert run.state == "success", _explain(run)
    assert run.tasks == {
        "configure_full_migration": "success",
        "wait_for_full_migration": "success",
        "report": "success",
    }
    # The sensor deferred and its trigger ran (inline, as dag.test() does), then it resumed.
    if AIRFLOW_V_3:  # Airflow 2's dag.test() runs the trigger without pausing the task first
        assert "Pausing task as DEFERRED" in run.output
    assert "[DAG TEST] running trigger in line" in run.output
    assert f"Watching DCS migration task {task_id}" in run.output
    assert f"DCS migration task {task_id} reached SUCCESS" in run.output

    xcom = run.result["xcom"]
    assert xcom["configure_full_migration"]["migration_task_id"] == task_id
    assert task_id in xcom["configure_full_migration"]["dcs_console_url"]
    assert xcom["wait_for_full_migration"]["return_value"]["status"] == "SUCCESS"
    report = xcom["report"]["return_value"]
    assert report["status"] == "SUCCESS"
    assert report["keys_match"] is True
    assert report["source_keys"] == report["target_keys"] > 0
    # By now (later runs came after this one) the emulator may have released the finished task's
    # migration ECS, as the cloud does: SUCCESS, then RELEASED.
    assert runs.emulator.api().detail(task_id)["status"] in ("SUCCESS", "RELEASED")


def test_green_runs_log_no_error_line(runs: ExampleRuns) -> None:
    """A successful run shows no error (e.g. the extra link's XCom lookup: issue 17)."""
    green = {label: run for label, run in runs.runs.items() if run.state == "success"}
    assert "full_ok" in green
    for label, run in green.items():
        errors = [line for line in run.output.splitlines() if "[error" in line or " ERROR " in line]
        assert errors == [], f"{label}:\n" + "\n".join(errors)


def test_failing_full_migration_names_the_status_and_the_api_error(runs: ExampleRuns) -> None:
    run = runs.runs["full_failed"]
    task_id = runs.migration_task_ids["full_failed"]
    assert run.state == "failed", _explain(run)
    assert run.tasks == {
        "configure_full_migration": "success",
        "wait_for_full_migration": "failed",
        "report": "upstream_failed",
    }
    expected = f"DCS migration task {task_id} failed with status MIGRATION_FAILED: {REFUSED_ERROR}"
    failure_lines = [line for line in run.output.splitlines() if "DcsMigrationFailedError" in line]
    assert any(expected in line for line in failure_lines), _explain(run)
    assert runs.emulator.api().detail(task_id)["status"] == "MIGRATION_FAILED"


@requires_hitl
def test_incremental_cutover_stops_after_the_gate(runs: ExampleRuns) -> None:
    run = runs.runs["cutover"]
    assert run.state == "success", _explain(run)
    assert run.tasks == {
        "create_migration_task": "success",
        "configure_incremental_migration": "success",
        "wait_for_incremental_sync": "success",
        "check_lag": "success",
        "cutover_gate": "success",
        "approve_cutover": "skipped",
        "approval_not_required": "success",
        "stop_migration_task": "success",
    }
    task_id = runs.migration_task_ids["cutover"]
    xcom = run.result["xcom"]
    assert xcom["wait_for_incremental_sync"]["return_value"]["status"] == "INCRMIGEATING"
    assert xcom["check_lag"]["return_value"]["offset"] == 0
    assert xcom["stop_migration_task"]["return_value"]["status"] == "TERMINATED"
    detail = runs.emulator.api().detail(task_id)
    assert detail["status"] == "TERMINATED"
    assert detail["migration_method"] == "incremental_migration"
