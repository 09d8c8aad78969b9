"""A DAG author's test: the full-migration DAG, run offline with ``dag.test()``.

The ``dcs_connection`` fixture (installed with the emulator) starts the DCS emulator once per
session, resets it for this test and points ``huaweicloud_dcs_default`` at it.
"""

import importlib.util
import os
from pathlib import Path

os.environ["DCS_EXAMPLE_POLL_SECONDS"] = "0.5"  # the example DAG's poll interval; fast offline


def load_dag(name: str):
    """Import ``<name>.py`` of the DAGs folder (``conftest.py`` sets it) and return its ``dag``."""
    path = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def test_full_migration_dag_succeeds_offline(dcs_connection) -> None:
    # A migration task for the DAG to configure, as the cloud would have it.
    migration_task_id = dcs_connection.api.create_ready_task("nightly-copy")
    dag = load_dag("example_dcs_full_migration")

    run = dag.test(
        run_conf={
            "migration_task_id": migration_task_id,
            "source_password_conn_id": "",  # the emulator needs no Redis password
            "target_password_conn_id": "",
        }
    )

    assert "success" in str(run.state).lower()
    # Configured exactly once, and the migration finished.
    configure_calls = dcs_connection.admin.requests(method="POST", path=f"{migration_task_id}/task$")
    assert len(configure_calls) == 1
    # SUCCESS, or already RELEASED: like the cloud, the emulator releases a finished full
    # migration's ECS a little later (release_after_seconds).
    assert dcs_connection.api.detail(migration_task_id)["status"] in ("SUCCESS", "RELEASED")
