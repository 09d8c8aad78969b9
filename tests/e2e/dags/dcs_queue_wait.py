"""DAG of the trigger-queue test (``tests/e2e/test_distributed.py``): two waits on queue ``dcs``.

Two full migrations of existing migration tasks (the run's params) between simulated Redis
addresses, both waited for deferred on queue ``dcs``: one by the configure operator itself
(``operator_wait``), one by the sensor after a configure that does not wait (``configure`` then
``sensor_wait``). With ``[triggerer] queues_enabled`` a trigger takes its task's ``queue``, so
only a triggerer started with ``--queues`` naming ``dcs`` runs either; the tasks themselves run on
a Celery worker consuming ``dcs``.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor

MIGRATION = {"migration_method": "full_amount_migration", "resume_mode": "manual"}

with DAG(
    dag_id="dcs_queue_wait",
    description="Deferred migration waits (operator and sensor) on the trigger queue 'dcs'",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={"operator_task_id": Param("", type="string"), "sensor_task_id": Param("", type="string")},
    default_args={"queue": "dcs"},
    tags=["test"],
) as dag:
    DcsConfigureOnlineMigrationOperator(
        task_id="operator_wait",
        migration_task_id="{{ params.operator_task_id }}",
        source_instance={"addrs": "10.8.0.1:6379"},
        target_instance={"addrs": "10.8.0.2:6379"},
        deferrable=True,
        poll_interval=1.0,
        timeout=timedelta(minutes=10),
        **MIGRATION,
    )
    configure = DcsConfigureOnlineMigrationOperator(
        task_id="configure",
        migration_task_id="{{ params.sensor_task_id }}",
        source_instance={"addrs": "10.8.0.3:6379"},
        target_instance={"addrs": "10.8.0.4:6379"},
        wait_for_completion=False,
        **MIGRATION,
    )
    configure >> DcsMigrationTaskSensor(
        task_id="sensor_wait",
        migration_task_id="{{ params.sensor_task_id }}",
        deferrable=True,
        poke_interval=1.0,
        timeout=timedelta(minutes=10),
    )
