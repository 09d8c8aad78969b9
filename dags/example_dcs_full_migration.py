"""Example DAG: a full migration of a Redis into DCS, run in a low-traffic window.

Three steps: **configure** an existing online migration task for a full migration (this starts
it), **wait** for it to finish with a deferrable sensor (the wait runs in the triggerer, not in a
worker slot) and **report** the key counts read from the migration's statistics.

The migration task (the migration VM in the VPC that reaches both Redis servers) is created
beforehand, e.g. with ``DcsCreateOnlineMigrationTaskOperator`` or in the console. Its id comes from
the ``migration_task_id`` param of the run, or else from the Airflow Variable
``dcs_full_migration_task_id``. A migration task carries one migration (the service configures
it once, while it is ``RUNNING``): point the Variable at a fresh task for each window; a run on a
task that already ended fails saying so, before sending anything.

Redis passwords are never written here: each side names an Airflow connection whose password is
the Redis password (``password_conn_id``). The DCS API credentials are the
``huaweicloud_dcs_default`` connection.

The defaults work against the local emulator (``scripts/demo.sh`` runs this DAG end to end).
``DCS_EXAMPLE_POLL_SECONDS`` (environment, read when the DAG is parsed) sets how often the status
is read: 60 s unless set.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum

# The Task SDK's authoring names (airflow.sdk) on Airflow 3; common-compat maps them to their
# Airflow 2 homes, so this DAG also runs on 2.11.
from airflow.providers.common.compat.sdk import DAG, Param, chain, task

from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor

#: Seconds between two status reads of the sensor (the emulator's demo uses 1).
POLL_SECONDS = float(os.environ.get("DCS_EXAMPLE_POLL_SECONDS", "60"))

# --8<-- [start:howto_dcs_full_migration_params]
PARAMS = {
    "migration_task_id": Param(
        None,
        type=["null", "string"],
        description="Online migration task to configure; empty: the Variable dcs_full_migration_task_id.",
    ),
    "source_addrs": Param(
        "127.0.0.1:6379", type="string", description="Source Redis, host:port[,host:port...]."
    ),
    "source_password_conn_id": Param(
        "dcs_redis_source",
        type="string",
        description="Airflow connection whose password is the source Redis password ('' for none).",
    ),
    "target_addrs": Param(
        "127.0.0.1:6380", type="string", description="Target Redis (or DCS instance address)."
    ),
    "target_password_conn_id": Param(
        "dcs_redis_target",
        type="string",
        description="Airflow connection whose password is the target Redis password ('' for none).",
    ),
    "resume_mode": Param("manual", enum=["manual", "auto"], description="Reconnect after a link drop."),
    "bandwidth_limit_mb": Param(
        200, type="integer", minimum=1, maximum=10240, description="Bandwidth cap of the copy, MB/s."
    ),
}
# --8<-- [end:howto_dcs_full_migration_params]

with DAG(
    dag_id="example_dcs_full_migration",
    description="Full migration of a Redis into DCS: configure, wait (deferred), report",
    schedule="0 2 * * 6",  # Saturdays at 02:00, a low-traffic window
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    tags=["example", "huaweicloud", "dcs"],
    doc_md=__doc__,
) as dag:
    # --8<-- [start:howto_operator_dcs_configure_full_migration]
    configure = DcsConfigureOnlineMigrationOperator(
        task_id="configure_full_migration",
        migration_task_id=(
            "{{ params.migration_task_id or var.value.get('dcs_full_migration_task_id', '') }}"
        ),
        migration_method="full_amount_migration",
        resume_mode="{{ params.resume_mode }}",
        source_instance={
            "addrs": "{{ params.source_addrs }}",
            "password_conn_id": "{{ params.source_password_conn_id }}",
        },
        target_instance={
            "addrs": "{{ params.target_addrs }}",
            "password_conn_id": "{{ params.target_password_conn_id }}",
        },
        bandwidth_limit_mb="{{ params.bandwidth_limit_mb }}",
        wait_for_completion=False,  # the sensor below waits, deferred
    )
    # --8<-- [end:howto_operator_dcs_configure_full_migration]

    # --8<-- [start:howto_sensor_dcs_migration_task]
    wait = DcsMigrationTaskSensor(
        task_id="wait_for_full_migration",
        # The id the configure task pushed (XCom key "migration_task_id") before it returned.
        migration_task_id=configure.output["migration_task_id"],
        success_statuses=("SUCCESS",),
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(hours=12),
        retries=2,  # see docs/operators.md, "Deferral on Airflow 3.3.2"
    )
    # --8<-- [end:howto_sensor_dcs_migration_task]

    # --8<-- [start:howto_dcs_report_stats]
    @task
    def report(migration_task_id: str) -> dict[str, Any]:
        """Log and return the key counts of the finished migration (no passwords: counts only)."""
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        hook = DcsHook()  # the huaweicloud_dcs_default connection
        detail = hook.get_migration_task(migration_task_id)
        stats = hook.get_migration_task_stats(migration_task_id)
        result = {
            "migration_task_id": migration_task_id,
            "status": detail.status,
            "source_keys": stats.source_dbsize,
            "target_keys": stats.target_dbsize,
            "full_migration_progress": stats.full_migration_progress,
            "keys_match": stats.source_dbsize is not None and stats.source_dbsize == stats.target_dbsize,
        }
        print(f"DCS migration {migration_task_id} is {detail.status}: {stats.describe()}")
        return result

    report_stats = report(configure.output["migration_task_id"])
    # --8<-- [end:howto_dcs_report_stats]

    chain(configure, wait, report_stats)


if __name__ == "__main__":
    dag.test()
