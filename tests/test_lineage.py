"""OpenLineage: the real OpenLineage provider and client, a ``dag.test()`` run, a file transport.

The DAG (``tests/lineage/dcs_lineage_dag.py``) configures a migration (its wait deferred) and
verifies the data between two real ``redis-server`` processes. The events the OpenLineage
listener writes must follow the spec's run-event shape (checked with a JSON schema written from
the spec, ``tests/lineage/run_event.schema.json``) and our facet's shipped schema, name the
datasets docs/lineage.md promises, and hold no secret.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import dag_runner
from huaweicloud_dcs_provider import lineage

if TYPE_CHECKING:
    from airflow_fixtures import DcsTestEnv
    from redis_servers import RedisPair

pytest_plugins = ["airflow_fixtures", "redis_servers"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FACET_SCHEMA = REPO / "provider" / "huaweicloud_dcs_provider" / "lineage" / "DcsMigrationRunFacet.json"
HAS_OPENLINEAGE = importlib.util.find_spec("airflow.providers.openlineage") is not None
requires_openlineage = pytest.mark.skipif(
    not HAS_OPENLINEAGE, reason="the openlineage extra is not installed in this environment"
)


def test_dataset_names_follow_the_documented_pattern() -> None:
    secret = "pw-never-in-lineage"
    assert lineage.datasets_of({"addrs": "10.0.0.5:6379", "password": secret}) == [
        ("redis://10.0.0.5:6379", "db0")
    ]
    assert lineage.datasets_of({"addrs": "10.0.0.5:7000,10.0.0.6:7000"}, [0]) == [
        ("redis://10.0.0.5:7000", "db0")
    ]
    assert lineage.datasets_of({"addrs": "[fd00::1]:6379"}, [3, 0, 3]) == [
        ("redis://[fd00::1]:6379", "db0"),
        ("redis://[fd00::1]:6379", "db3"),
    ]
    assert lineage.datasets_of({"id": "7c0e2f1a-inst"}) == [("huaweicloud-dcs://7c0e2f1a-inst", "db0")]
    assert lineage.datasets_of({"password_conn_id": "x"}) == []  # nothing known: no dataset
    assert lineage.datasets_of("{{ ti.xcom_pull('endpoints') }}") == []


def _conn(password: str | None) -> str:
    return json.dumps({"conn_type": "generic", "password": password})


def _pairs(datasets: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in datasets]


def _events(path: Path) -> list[dict[str, Any]]:
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@requires_openlineage
@pytest.mark.integration
def test_a_dag_run_emits_valid_lineage_with_the_datasets_and_no_secret(
    dcs_env: DcsTestEnv,
    redis_pair: RedisPair,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import jsonschema

    from airflow_fixtures import conn_json

    redis_pair.source.client(0).set("k", "v")
    redis_pair.target.client(0).set("k", "v")
    redis_pair.source.client(2).set("k2", "v")
    redis_pair.target.client(2).set("k2", "v")
    runner = dag_runner.load()
    home = tmp_path_factory.mktemp("lineage-home")
    events_file = home / "openlineage.jsonl"
    task_id = dcs_env.create_ready_task("lineage")
    env = runner.airflow_env(
        home,
        {
            "AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": conn_json(dcs_env.emulator),
            "AIRFLOW_CONN_LINEAGE_SRC": json.dumps(
                {"conn_type": "generic", "password": redis_pair.source.password}
            ),
            "AIRFLOW_CONN_LINEAGE_DST": json.dumps(
                {"conn_type": "generic", "password": redis_pair.target.password}
            ),
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "dcs-tests",
            "AIRFLOW__CORE__DAGS_FOLDER": str(HERE / "lineage"),  # dag.test() serialises from here
            "LINEAGE_TASK_ID": task_id,
            "LINEAGE_SOURCE_ADDRS": redis_pair.source.addrs,
            "LINEAGE_TARGET_ADDRS": redis_pair.target.addrs,
        },
    )
    runner.migrate_once(home, env)
    proc = subprocess.run(
        [sys.executable, str(HERE / "lineage" / "run_dag.py"), str(HERE / "lineage" / "dcs_lineage_dag.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert "DAG_STATE success" in output, output[-4000:]
    events = _events(events_file)
    if os.environ.get("DCS_LINEAGE_EVENTS_OUT"):  # keep the events (docs/lineage.md quotes one)
        Path(os.environ["DCS_LINEAGE_EVENTS_OUT"]).write_text(events_file.read_text())
    assert events, f"no OpenLineage event was written; output:\n{output[-3000:]}"

    run_event_schema = json.loads((HERE / "lineage" / "run_event.schema.json").read_text())
    facet_schema = json.loads(FACET_SCHEMA.read_text())
    for event in events:
        jsonschema.validate(event, run_event_schema)
        facet = (event.get("run", {}).get("facets") or {}).get("dcsMigration")
        if facet is not None:
            jsonschema.validate({"dcsMigration": facet}, facet_schema)

    def ours(task: str, event_type: str) -> dict[str, Any]:
        found = [
            e for e in events if e["job"]["name"] == f"dcs_lineage.{task}" and e["eventType"] == event_type
        ]
        assert found, (
            f"no {event_type} event for {task}: {[(e['job']['name'], e['eventType']) for e in events]}"
        )
        return found[-1]

    source_ns, target_ns = f"redis://{redis_pair.source.addrs}", f"redis://{redis_pair.target.addrs}"
    started = ours("configure", "START")
    assert _pairs(started["inputs"]) == [(source_ns, "db0")]
    assert _pairs(started["outputs"]) == [(target_ns, "db0")]
    assert started["run"]["facets"]["dcsMigration"]["migrationTaskId"] == task_id
    done = ours("configure", "COMPLETE")  # after the deferral: ids set again, final status known
    facet = done["run"]["facets"]["dcsMigration"]
    assert facet["migrationTaskId"] == task_id
    assert facet["migrationMethod"] == "full_amount_migration"
    assert facet["status"] == "SUCCESS"
    assert isinstance(facet["targetKeys"], int)
    verified = ours("verify", "COMPLETE")
    assert [(d["namespace"], d["name"]) for d in verified["inputs"]] == [
        (source_ns, "db0"),
        (source_ns, "db2"),
    ]
    assert [(d["namespace"], d["name"]) for d in verified["outputs"]] == [
        (target_ns, "db0"),
        (target_ns, "db2"),
    ]
    assert verified["outputs"][1]["outputFacets"]["outputStatistics"]["rowCount"] == 1
    check = verified["run"]["facets"]["dcsMigration"]["verification"]
    assert check["passed"] is True
    assert check["mode"] == "full"
    assert check["keysCompared"] == 2
    everything = events_file.read_text() + output
    for secret in (redis_pair.source.password, redis_pair.target.password, dcs_env.emulator.secret_key):
        assert secret
        assert secret not in everything


def test_without_the_extra_nothing_imports_openlineage() -> None:
    """With the OpenLineage client unimportable, the operators build and the hook's lineage call
    works: nothing of ours needs OpenLineage outside the listener's calls."""
    child = """
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name == "openlineage" or name.startswith("openlineage."):
            raise ModuleNotFoundError(name)
        return None
sys.meta_path.insert(0, Blocked())
from airflow.providers.common.compat.sdk import DAG
import datetime
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.operators.verify import DcsVerifyMigrationOperator
from huaweicloud_dcs_provider import lineage
with DAG("no_lineage", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
    DcsConfigureOnlineMigrationOperator(task_id="c", migration_task_id="t",
        migration_method="full_amount_migration", resume_mode="auto",
        source_instance={"addrs": "10.0.0.1:6379"}, target_instance={"id": "i"})
    DcsVerifyMigrationOperator(task_id="v", migration_task_id="t")
class Hook:
    import logging
    log = logging.getLogger("h")
lineage.report_hook_lineage(Hook(), {"addrs": "10.0.0.1:6379"}, {"id": "i"})
print(sorted(m for m in sys.modules if m.startswith(("openlineage", "huaweicloud_dcs_provider.lineage."))))
"""
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"
