"""Assets: ``huaweicloud-dcs://<instance id>`` and the events a finished migration emits.

* The scheme is registered with Airflow (its providers manager) and Airflow itself refuses a
  malformed URI through our handler.
* Outlets are checked when the DAG is parsed: an asset on a configure task that does not wait, or
  naming another instance than the task's target, is refused with a message naming ``outlets``.
* A real ``dag.test()`` run (real metadata DB) records one asset event per succeeding task that has
  the asset as an outlet (the deferred configure operator and the sensor), with the migration's
  task id, status and key counts in the event's extra, and no secret in it.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from airflow_versions import AIRFLOW_V_3
from huaweicloud_dcs_provider import assets
from huaweicloud_dcs_provider.exceptions import DcsValidationError
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor

if TYPE_CHECKING:
    from airflow_fixtures import DcsTestEnv

pytest_plugins = ["airflow_fixtures"]

TARGET_ID = "6f1e2d3c-0000-4a5b-9c8d-112233445566"


def test_asset_names_the_instance_and_matches_itself() -> None:
    asset = assets.dcs_instance_asset(TARGET_ID)
    assert asset.uri.rstrip("/") == f"huaweicloud-dcs://{TARGET_ID}"
    # Producer and consumer build it with the same call: Airflow must see the same asset.
    assert asset == assets.dcs_instance_asset(TARGET_ID)
    assert assets.instance_id_of(asset) == TARGET_ID
    assert assets.create_asset(instance_id=TARGET_ID) == asset


@pytest.mark.parametrize("bad", ["", "a/b", "../x", "id with space", "x?y=1", "-starts-with-dash"])
def test_asset_of_a_malformed_instance_id_is_refused(bad: str) -> None:
    with pytest.raises(DcsValidationError, match="instance_id"):
        assets.dcs_instance_asset(bad)


@pytest.mark.parametrize(
    "uri",
    [
        "huaweicloud-dcs://",
        "huaweicloud-dcs://id/extra/path",
        "huaweicloud-dcs://user:pw@id",
        "huaweicloud-dcs://id:6379",
        "huaweicloud-dcs://id?db=1",
    ],
)
def test_sanitize_uri_refuses_anything_but_one_instance(uri: str) -> None:
    with pytest.raises(ValueError, match="huaweicloud-dcs://"):
        assets.sanitize_uri(urlsplit(uri))


def test_scheme_is_registered_with_airflow() -> None:
    try:  # Airflow 3: the task SDK's registry
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        handlers = ProvidersManagerTaskRuntime().asset_uri_handlers
    except ImportError:  # Airflow 2: datasets
        from airflow.providers_manager import ProvidersManager

        handlers = ProvidersManager().dataset_uri_handlers
    assert handlers["huaweicloud-dcs"] is assets.sanitize_uri


def test_airflow_refuses_a_malformed_dcs_uri_through_the_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.common.compat.sdk import Asset

    if not AIRFLOW_V_3:  # Airflow 2 only warns about a URI the handler refuses, unless told to be strict
        monkeypatch.setenv("AIRFLOW__CORE__STRICT_DATASET_URI_VALIDATION", "True")

    with pytest.raises(ValueError, match="name one instance"):
        Asset(uri="huaweicloud-dcs://id/db/0")


def _configure(**kwargs: object) -> DcsConfigureOnlineMigrationOperator:
    defaults: dict[str, object] = {
        "task_id": "configure",
        "migration_task_id": "task-1",
        "migration_method": "full_amount_migration",
        "resume_mode": "manual",
        "source_instance": {"addrs": "10.0.0.1:6379"},
        "target_instance": {"id": TARGET_ID},
    }
    defaults.update(kwargs)
    return DcsConfigureOnlineMigrationOperator(**defaults)  # type: ignore[arg-type]


def test_outlet_on_a_configure_task_that_does_not_wait_is_refused_at_parse_time() -> None:
    with pytest.raises(DcsValidationError, match="outlets") as info:
        _configure(wait_for_completion=False, outlets=[assets.dcs_instance_asset(TARGET_ID)])
    assert "wait_for_completion=True" in str(info.value)


def test_outlet_naming_another_instance_than_the_target_is_refused() -> None:
    with pytest.raises(DcsValidationError, match="outlets") as info:
        _configure(outlets=[assets.dcs_instance_asset("other-instance")])
    assert "other-instance" in str(info.value)
    assert TARGET_ID in str(info.value)


def test_outlets_that_are_fine_are_kept() -> None:
    asset = assets.dcs_instance_asset(TARGET_ID)
    assert asset in _configure(outlets=[asset]).outlets
    # A templated target cannot be compared before rendering: accepted.
    templated = _configure(target_instance={"id": "{{ params.target }}"}, outlets=[asset])
    assert asset in templated.outlets
    sensor = DcsMigrationTaskSensor(task_id="wait", migration_task_id="task-1", outlets=[asset])
    assert asset in sensor.outlets


def test_event_extra_holds_facts_not_secrets() -> None:
    result = {
        "id": "task-1",
        "status": "SUCCESS",
        "stats": {"source_dbsize": 10, "target_dbsize": 10, "password": "never"},
        "source": {"password": "never"},
    }
    extra = assets.event_extra(result, migration_method="full_amount_migration")
    assert extra == {
        "migration_task_id": "task-1",
        "status": "SUCCESS",
        "source_keys": 10,
        "target_keys": 10,
        "migration_method": "full_amount_migration",
    }


ASSET_DAG = textwrap.dedent(
    """
    import json
    from airflow.providers.common.compat.sdk import DAG
    from huaweicloud_dcs_provider.assets import dcs_instance_asset
    from huaweicloud_dcs_provider.operators.lifecycle import DcsCreateOnlineMigrationTaskOperator
    from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
    from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor

    TARGET = dcs_instance_asset("TARGET_ID")
    TASK_ID = "{{ ti.xcom_pull(task_ids='create') }}"
    with DAG(dag_id="dcs_asset_test", schedule=None, catchup=False) as dag:
        create = DcsCreateOnlineMigrationTaskOperator(
            task_id="create", migration_task_name="assettest", vpc_id="vpc-1", subnet_id="subnet-1",
            security_group_id="sg-1", poll_interval=0.2,
        )
        configure = DcsConfigureOnlineMigrationOperator(
            task_id="configure", migration_task_id=TASK_ID, migration_method="full_amount_migration",
            resume_mode="manual",
            source_instance={"addrs": "127.0.0.1:6379", "password_conn_id": "redis_source"},
            target_instance={"id": "TARGET_ID"},
            deferrable=True, poll_interval=0.5, outlets=[TARGET],
        )
        wait = DcsMigrationTaskSensor(
            task_id="wait", migration_task_id=TASK_ID, poke_interval=0.5, outlets=[TARGET],
        )
        create >> configure >> wait

    def events():
        from airflow.utils.session import create_session
        try:
            from airflow.models.asset import AssetEvent as Event, AssetModel as Model
            asset_id = Event.asset_id
        except ImportError:  # Airflow 2
            from airflow.models.dataset import DatasetEvent as Event, DatasetModel as Model
            asset_id = Event.dataset_id
        with create_session() as session:
            rows = session.query(Event, Model).join(Model, Model.id == asset_id).all()
            return [
                {"uri": model.uri, "task_id": event.source_task_id, "extra": event.extra}
                for event, model in rows
            ]

    if __name__ == "__main__":
        MIGRATE_DB
        if hasattr(dag, "sync_to_db"):  # Airflow 2: dag.test() leaves the datasets to the DAG processor
            dag.sync_to_db()
        run = dag.test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        print("RESULT " + json.dumps({"state": str(run.state), "tasks": states, "events": events()}))
    """
)


@pytest.mark.integration
def test_dag_test_run_emits_one_event_per_waiting_task_with_the_migration_facts(
    dcs_env: DcsTestEnv, airflow_db_home: dict[str, str]
) -> None:
    from airflow_fixtures import MIGRATE_DB, conn_json, run_dag_file

    env = dict(airflow_db_home)
    env["AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT"] = conn_json(dcs_env.emulator)
    env["AIRFLOW_CONN_REDIS_SOURCE"] = os.environ["AIRFLOW_CONN_REDIS_SOURCE"]
    dcs_env.admin.set_config(full_seconds=1.5)  # the configure task really defers
    script = ASSET_DAG.replace("MIGRATE_DB", MIGRATE_DB).replace("TARGET_ID", TARGET_ID)
    result = run_dag_file("dcs_asset_test", script, env)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no result:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
    outcome = json.loads(lines[-1][len("RESULT ") :])
    assert outcome["state"] == "success", f"{outcome}\n{result.stdout[-8000:]}"
    events = sorted(outcome["events"], key=lambda event: event["task_id"])
    assert [event["task_id"] for event in events] == ["configure", "wait"], events
    # The migration task the DAG configured (the id is in the configure call's path).
    (configure_call,) = dcs_env.requests(method="POST", path=r"/migration/[0-9a-f-]+/task$")
    migration_task_id = re.search(r"/migration/([0-9a-f-]+)/task", configure_call["path"]).group(1)
    for event in events:
        assert event["uri"].rstrip("/") == f"huaweicloud-dcs://{TARGET_ID}"
        extra = event["extra"]
        assert extra["status"] in ("SUCCESS", "RELEASED")  # RELEASED: its VM released after
        assert extra["migration_task_id"] == migration_task_id
        assert isinstance(extra["source_keys"], int)
        assert extra["source_keys"] == extra["target_keys"]
    assert events[0]["extra"]["migration_method"] == "full_amount_migration"
    text = json.dumps(outcome)
    assert dcs_env.emulator.secret_key not in text
    assert "s3cret" not in text
