"""Example DAG: move a Redis to DCS with incremental sync, then stop after a human-approved cutover.

It follows the cutover runbook (docs/example-dags.md has it step by step):

1. **create** an online migration task (its migration VM) in the VPC, subnet and security group
   that reach both Redis servers, and wait until it is ready to be configured;
2. **configure** an incremental migration (a full copy, then continuous sync);
3. **wait** until incremental sync runs (status ``INCRMIGEATING``, the API's spelling), deferred;
4. **check the lag**: poll the statistics until the replication offset is at most
   ``max_offset`` and report the key counts for the people doing the cutover;
5. **approve**: a person freezes writes on the source, checks that the offset is 0 and switches
   the clients to the target, then presses *Approve* in the UI (Airflow's Human-in-the-loop
   ``ApprovalOperator``, Airflow 3.1+). *Reject* skips the stop: the sync keeps running;
6. **stop** the migration task and wait until it is ``TERMINATED``.

Set the ``require_approval`` param to false to skip the human gate (for tests and the emulator
only: it stops the sync as soon as the lag is small).

Redis passwords come from Airflow connections (``password_conn_id``); the DCS API credentials are
the ``huaweicloud_dcs_default`` connection. The defaults work against the local emulator.
``DCS_EXAMPLE_POLL_SECONDS`` (environment, read when the DAG is parsed) sets how often statuses
are read: 60 s unless set.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, Param, PokeReturnValue, chain, task

from huaweicloud_dcs_provider.operators.lifecycle import (
    DcsCreateOnlineMigrationTaskOperator,
    DcsStopMigrationTaskOperator,
)
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor

#: Seconds between two status reads (the emulator's tests use 1).
POLL_SECONDS = float(os.environ.get("DCS_EXAMPLE_POLL_SECONDS", "60"))

# --8<-- [start:howto_dcs_incremental_cutover_params]
PARAMS = {
    "migration_task_name": Param("orders-cache-cutover", type="string", minLength=1),
    "vpc_id": Param("vpc-demo", type="string", description="VPC of the migration VM."),
    "subnet_id": Param("subnet-demo", type="string", description="Subnet (network ID) of the VM."),
    "security_group_id": Param("sg-demo", type="string", description="Security group of the VM."),
    "source_addrs": Param("127.0.0.1:6379", type="string", description="Source Redis host:port."),
    "source_password_conn_id": Param("dcs_redis_source", type="string"),
    "target_addrs": Param("127.0.0.1:6380", type="string", description="Target Redis host:port."),
    "target_password_conn_id": Param("dcs_redis_target", type="string"),
    "bandwidth_limit_mb": Param(200, type="integer", minimum=1, maximum=10240),
    "max_offset": Param(
        0, type="integer", minimum=0, description="Replication offset at which the lag counts as drained."
    ),
    "require_approval": Param(
        True, type="boolean", description="Wait for a person to approve the stop (false: tests only)."
    ),
}
# --8<-- [end:howto_dcs_incremental_cutover_params]

with DAG(
    dag_id="example_dcs_incremental_cutover",
    description="Incremental migration to DCS with a human-approved cutover and stop",
    schedule=None,  # started by hand for the cutover window
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    tags=["example", "huaweicloud", "dcs"],
    doc_md=__doc__,
) as dag:
    # --8<-- [start:howto_operator_dcs_create_migration_task]
    create = DcsCreateOnlineMigrationTaskOperator(
        task_id="create_migration_task",
        migration_task_name="{{ params.migration_task_name }}",
        vpc_id="{{ params.vpc_id }}",
        subnet_id="{{ params.subnet_id }}",
        security_group_id="{{ params.security_group_id }}",
        description="Incremental migration for the cutover of run {{ run_id }}",
        reuse_existing=True,  # a retry reuses the task it created instead of making a second VM
        poll_interval=POLL_SECONDS,
        ready_timeout=timedelta(minutes=30),
    )
    # --8<-- [end:howto_operator_dcs_create_migration_task]

    # --8<-- [start:howto_operator_dcs_configure_incremental_migration]
    configure = DcsConfigureOnlineMigrationOperator(
        task_id="configure_incremental_migration",
        migration_task_id=create.output,  # the id the create task returned
        migration_method="incremental_migration",
        resume_mode="manual",  # a dropped link must not silently start a new full sync
        source_instance={
            "addrs": "{{ params.source_addrs }}",
            "password_conn_id": "{{ params.source_password_conn_id }}",
        },
        target_instance={
            "addrs": "{{ params.target_addrs }}",
            "password_conn_id": "{{ params.target_password_conn_id }}",
        },
        bandwidth_limit_mb="{{ params.bandwidth_limit_mb }}",
        wait_for_completion=False,
    )
    # --8<-- [end:howto_operator_dcs_configure_incremental_migration]

    # --8<-- [start:howto_sensor_dcs_wait_incremental]
    wait_incremental = DcsMigrationTaskSensor(
        task_id="wait_for_incremental_sync",
        migration_task_id=create.output,
        success_statuses=("INCRMIGEATING",),  # full copy done, incremental sync running
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(hours=24),
        retries=2,  # see docs/operators.md, "Deferral on Airflow 3.3.2"
    )
    # --8<-- [end:howto_sensor_dcs_wait_incremental]

    # --8<-- [start:howto_dcs_check_lag]
    @task.sensor(poke_interval=POLL_SECONDS, timeout=timedelta(hours=2).total_seconds(), mode="poke")
    def check_lag(migration_task_id: str, max_offset: int) -> PokeReturnValue:
        """Done when the replication offset is at most ``max_offset``; returns the figures."""
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        stats = DcsHook().get_migration_task_stats(migration_task_id)
        figures = {
            "offset": stats.offset,
            "source_keys": stats.source_dbsize,
            "target_keys": stats.target_dbsize,
            "is_migrating": stats.is_migrating,
        }
        print(f"DCS migration {migration_task_id}: {stats.describe()}")
        drained = stats.offset is not None and stats.offset <= int(max_offset)
        return PokeReturnValue(is_done=drained, xcom_value=figures)

    lag = check_lag(create.output, "{{ params.max_offset }}")
    # --8<-- [end:howto_dcs_check_lag]

    # --8<-- [start:howto_dcs_cutover_gate]
    @task.branch
    def cutover_gate(params: dict[str, Any] | None = None) -> str:
        """Ask a person (the normal case), or go straight on when the run says so (tests)."""
        require_approval = (params or {}).get("require_approval", True)
        return "approve_cutover" if require_approval is not False else "approval_not_required"

    approve = ApprovalOperator(
        task_id="approve_cutover",
        subject="Cut over {{ params.source_addrs }} to {{ params.target_addrs }}?",
        body=(
            "Incremental sync is live: {{ ti.xcom_pull(task_ids='check_lag') }}.\n\n"
            "Before approving: freeze writes on the source, check that the offset is 0 and that "
            "the key counts match, and switch the clients to the target. **Approve** stops the "
            "migration task; **Reject** leaves the sync running."
        ),
        response_timeout=timedelta(hours=8),
    )
    no_approval = EmptyOperator(task_id="approval_not_required")
    # --8<-- [end:howto_dcs_cutover_gate]

    # --8<-- [start:howto_operator_dcs_stop_migration_task]
    stop = DcsStopMigrationTaskOperator(
        task_id="stop_migration_task",
        migration_task_id=create.output,
        poll_interval=POLL_SECONDS,
        timeout=timedelta(minutes=30),
        trigger_rule="none_failed_min_one_success",  # after either branch of the gate
    )
    # --8<-- [end:howto_operator_dcs_stop_migration_task]

    gate = cutover_gate()
    chain(create, configure, wait_incremental, lag, gate, [approve, no_approval], stop)


if __name__ == "__main__":
    dag.test(run_conf={"require_approval": False})
