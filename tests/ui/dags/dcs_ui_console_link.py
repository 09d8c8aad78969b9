"""DAG of the web-UI test ``tests/ui/test_airflow_ui.py``: one configure task with our extra link.

A full migration between two simulated Redis addresses of an existing migration task (the run's
``migration_task_id`` param), waited for in the worker. It uses the connection
``huaweicloud_dcs_default`` that the test saved through the UI's connection form; the operator
pushes the task's console URL, which the task instance page shows as the "DCS Migration Task"
extra link.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator

with DAG(
    dag_id="dcs_ui_console_link",
    description="Configure a DCS migration (the web-UI test's run: its console extra link)",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={"migration_task_id": Param("", type="string")},
    tags=["test", "dcs"],
) as dag:
    DcsConfigureOnlineMigrationOperator(
        task_id="configure",
        migration_task_id="{{ params.migration_task_id }}",
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "10.9.0.1:6379"},
        target_instance={"addrs": "10.9.0.2:6379"},
        deferrable=False,
        poll_interval=0.5,
        timeout=timedelta(minutes=5),
    )
