"""DAG of the trigger-queue test (``tests/e2e/test_distributed.py``): a wait on queue ``dcs``.

A full migration of an existing migration task (the run's ``migration_task_id`` param) between two
simulated Redis addresses, configured on a Celery worker consuming ``dcs`` and waited for deferred:
with ``[triggerer] queues_enabled`` the trigger takes the task's ``queue``, so only a triggerer
started with ``--queues`` naming ``dcs`` runs it.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator

with DAG(
    dag_id="dcs_queue_wait",
    description="A deferred migration wait on the trigger queue 'dcs'",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={"migration_task_id": Param("", type="string")},
    tags=["test"],
) as dag:
    DcsConfigureOnlineMigrationOperator(
        task_id="configure",
        queue="dcs",
        migration_task_id="{{ params.migration_task_id }}",
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "10.8.0.1:6379"},
        target_instance={"addrs": "10.8.0.2:6379"},
        deferrable=True,
        poll_interval=1.0,
        timeout=timedelta(minutes=10),
    )
