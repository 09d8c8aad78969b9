"""DAG of the e2e deployment-fault test ``tests/e2e/test_deployment_faults.py``: one configure task.

A full migration between two simulated Redis addresses of an existing migration task (the run's
``migration_task_id`` param), waited for deferred; ``retries=1`` with a short ``retry_delay``: the
test kills the task's process right after its configure call and expects the retry to attach to
the migration the first try started.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator

with DAG(
    dag_id="dcs_configure_worker_kill",
    description="Configure a migration; the test kills the worker after the configure call",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={"migration_task_id": Param("", type="string")},
    tags=["test"],
) as dag:
    DcsConfigureOnlineMigrationOperator(
        task_id="configure",
        migration_task_id="{{ params.migration_task_id }}",
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "10.9.0.1:6379"},
        target_instance={"addrs": "10.9.0.2:6379"},
        deferrable=True,
        poll_interval=1.0,
        timeout=timedelta(minutes=10),
        retries=1,
        retry_delay=timedelta(seconds=2),
    )
