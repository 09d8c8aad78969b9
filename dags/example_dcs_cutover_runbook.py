"""Example DAG: the whole cutover runbook of a Redis → DCS (or DCS → DCS) incremental migration.

docs/cutover-runbook.md walks through it step by step, with what to do when a step fails:

1. **pre-flight**: the rules DCS's FAQ gives (SYNC/PSYNC allowed, replication settings, versions,
   no multi-DB into a cluster, an empty target big enough...), one table in the log; a DCS
   instance this worker cannot reach is looked up through the API, its Redis checks skipped;
2. **create** the migration task (its VM) and **admit** the VM's IP to the DCS whitelists;
3. **configure** a full + incremental migration with a bandwidth cap, ``resume_mode=manual``;
4. **wait for live sync** (``INCRMIGEATING``), then for the **lag** to reach 0, then a **sampled
   verify** of the data (10,000 keys from each side, re-checked over 3 rounds);
5. **approve** (a person, in the UI; the ``require_approval`` param skips it for tests);
6. **freeze writes**: YOUR step (see ``freeze_writes``); downtime starts here;
7. **drain**: the offset stays 0 for more samples, then **verify** the data key by key (every
   key both ways, ``verify_mode``: ``full`` by default): nothing is switched unless it passes;
8. **switch**: the DCS IP switch for DCS → DCS, or YOUR "clients switched" step for self-hosted;
   if the IP switch fails, it is **rolled back** and writes are unfrozen on the source;
9. **stop** the task, **resume writes**, take the VM's IP out of the whitelists, **delete** the task.

Redis passwords come from Airflow connections (``password_conn_id``); the DCS credentials are the
``huaweicloud_dcs_default`` connection. The default params work against the local emulator.
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
from airflow.sdk import DAG, Param, chain, task

from huaweicloud_dcs_provider.operators.ip_switch import (
    DcsExchangeInstanceIpOperator,
    DcsRollbackInstanceIpOperator,
)
from huaweicloud_dcs_provider.operators.lifecycle import (
    DcsCreateOnlineMigrationTaskOperator,
    DcsDeleteMigrationTaskOperator,
    DcsStopMigrationTaskOperator,
)
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.operators.preflight import DcsMigrationPreflightOperator
from huaweicloud_dcs_provider.operators.verify import DcsVerifyMigrationOperator
from huaweicloud_dcs_provider.operators.whitelist import (
    DcsAdmitMigrationEcsToWhitelistOperator,
    DcsRemoveMigrationEcsFromWhitelistOperator,
)
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationLagSensor, DcsMigrationTaskSensor

#: Seconds between two status reads (the emulator's tests use 1).
POLL_SECONDS = float(os.environ.get("DCS_EXAMPLE_POLL_SECONDS", "60"))

# --8<-- [start:howto_dcs_runbook_params]
PARAMS = {
    "migration_task_name": Param("orders-cache-runbook", type="string", minLength=1),
    "vpc_id": Param("vpc-demo", type="string", description="VPC of the migration VM."),
    "subnet_id": Param("subnet-demo", type="string", description="Subnet (network ID) of the VM."),
    "security_group_id": Param("sg-demo", type="string", description="Security group of the VM."),
    "source_instance_id": Param("", type="string", description="DCS source instance id (or empty)."),
    "source_addrs": Param("127.0.0.1:6379", type="string", description="Self-hosted source host:port."),
    "source_password_conn_id": Param("dcs_redis_source", type="string"),
    "target_instance_id": Param("", type="string", description="DCS target instance id (or empty)."),
    "target_addrs": Param("127.0.0.1:6380", type="string", description="Self-hosted target host:port."),
    "target_password_conn_id": Param("dcs_redis_target", type="string"),
    "bandwidth_limit_mb": Param(200, type="integer", minimum=1, maximum=10240),
    "verify_mode": Param(
        "full",
        enum=["full", "sample", "length", "keys"],
        description="What verify_data compares after the drain (docs/verify.md).",
    ),
    "require_approval": Param(
        True, type="boolean", description="Wait for a person to approve the cutover (false: tests only)."
    ),
    "delete_task": Param(True, type="boolean", description="Delete the task (and its VM) at the end."),
}
# --8<-- [end:howto_dcs_runbook_params]

TASK_ID = "{{ ti.xcom_pull(task_ids='create_migration_task') }}"

with DAG(
    dag_id="example_dcs_cutover_runbook",
    description="Cutover runbook: pre-flight, migrate, gate, freeze, drain, verify, switch, clean up",
    schedule=None,  # started by hand for the cutover window
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    default_args={"retries": 0},
    tags=["example", "huaweicloud", "dcs", "runbook"],
    doc_md=__doc__,
) as dag:
    # --8<-- [start:howto_dcs_runbook_endpoints]
    @task(multiple_outputs=True)
    def endpoints(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Source and target as the operators take them: ``{"id"}`` or ``{"addrs", "password_conn_id"}``."""
        p = params or {}

        def side(name: str) -> dict[str, Any]:
            if p.get(f"{name}_instance_id"):
                return {"id": p[f"{name}_instance_id"]}
            return {"addrs": p[f"{name}_addrs"], "password_conn_id": p.get(f"{name}_password_conn_id") or ""}

        source, target = side("source"), side("target")
        return {
            "source": source,
            "target": target,
            "dcs_instance_ids": [side["id"] for side in (source, target) if "id" in side],
            "dcs_to_dcs": "id" in source and "id" in target,
        }

    ends = endpoints()
    # --8<-- [end:howto_dcs_runbook_endpoints]

    # --8<-- [start:howto_operator_dcs_preflight]
    preflight = DcsMigrationPreflightOperator(
        task_id="preflight_checks",
        source_instance=ends["source"],
        target_instance=ends["target"],
    )
    # --8<-- [end:howto_operator_dcs_preflight]

    create = DcsCreateOnlineMigrationTaskOperator(
        task_id="create_migration_task",
        migration_task_name="{{ params.migration_task_name }}",
        vpc_id="{{ params.vpc_id }}",
        subnet_id="{{ params.subnet_id }}",
        security_group_id="{{ params.security_group_id }}",
        description="Cutover runbook, run {{ run_id }}",
        reuse_existing=True,
        poll_interval=POLL_SECONDS,
        ready_timeout=timedelta(minutes=30),
    )

    # --8<-- [start:howto_operator_dcs_admit_whitelist]
    admit = DcsAdmitMigrationEcsToWhitelistOperator(
        task_id="admit_migration_vm",
        migration_task_id=TASK_ID,
        # Before configure the task names no instance yet: give the DCS ones (self-hosted: none).
        instance_ids=ends["dcs_instance_ids"],
        group_name="dcs-migration",
    )
    # --8<-- [end:howto_operator_dcs_admit_whitelist]

    configure = DcsConfigureOnlineMigrationOperator(
        task_id="configure_incremental_migration",
        migration_task_id=TASK_ID,
        migration_method="incremental_migration",
        resume_mode="manual",  # a dropped link must not silently start a new full sync
        source_instance=ends["source"],
        target_instance=ends["target"],
        bandwidth_limit_mb="{{ params.bandwidth_limit_mb }}",
        wait_for_completion=False,
    )

    # --8<-- [start:howto_dcs_runbook_wait_live]
    wait_live = DcsMigrationTaskSensor(
        task_id="wait_for_live_sync",
        migration_task_id=TASK_ID,
        success_statuses=("INCRMIGEATING",),
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(hours=24),
        retries=2,  # see docs/operators.md, "Deferral on Airflow 3.3.2"
    )
    wait_lag = DcsMigrationLagSensor(
        task_id="wait_for_lag_zero",
        migration_task_id=TASK_ID,
        max_offset=0,
        consecutive_samples=3,
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(hours=4),
        retries=2,
    )
    # --8<-- [end:howto_dcs_runbook_wait_live]

    # --8<-- [start:howto_operator_dcs_verify_sample]
    verify_sample = DcsVerifyMigrationOperator(
        task_id="verify_sample",
        source_instance=ends["source"],
        target_instance=ends["target"],
        mode="sample",
        sample_size=10_000,  # from each side; the log says what a clean sample proves
        rounds=3,  # keys in flight during the live sync settle between rounds
        round_interval=min(POLL_SECONDS, 5.0),
        qps=5_000,  # the source still serves production traffic
    )
    # --8<-- [end:howto_operator_dcs_verify_sample]

    # --8<-- [start:howto_dcs_runbook_gate]
    @task.branch
    def cutover_gate(params: dict[str, Any] | None = None) -> str:
        """Ask a person (the normal case), or go straight on when the run says so (tests)."""
        require_approval = (params or {}).get("require_approval", True)
        return "approve_cutover" if require_approval is not False else "approval_not_required"

    approve = ApprovalOperator(
        task_id="approve_cutover",
        subject="Cut over DCS migration {{ ti.xcom_pull(task_ids='create_migration_task') }}?",
        body=(
            "Incremental sync is live and caught up (offset 0), and a sample of the data matched "
            "(see verify_sample). **Approve** starts the cutover: "
            "writes are frozen, the lag drained, every key compared, then the switch. "
            "**Reject** leaves the sync running."
        ),
        response_timeout=timedelta(hours=8),
    )
    no_approval = EmptyOperator(task_id="approval_not_required")
    # --8<-- [end:howto_dcs_runbook_gate]

    # --8<-- [start:howto_dcs_runbook_freeze]
    @task(trigger_rule="none_failed_min_one_success")
    def freeze_writes(migration_task_id: str) -> None:
        """YOUR STEP: stop every writer of the source. Downtime starts here.

        Replace the body with what freezes writes in your system: turn on the application's
        maintenance flag, scale the writers to zero, or ``ACL SETUSER app -@write`` on the source.
        As shipped, it only says what must be done (the example's tests stop their writer here).
        """
        print(
            f"FREEZE WRITES NOW on the source of DCS migration {migration_task_id}: the next steps "
            "wait for the offset to stay 0 and compare the key counts."
        )

    frozen = freeze_writes(TASK_ID)
    # --8<-- [end:howto_dcs_runbook_freeze]

    # --8<-- [start:howto_dcs_runbook_drain_verify]
    drain = DcsMigrationLagSensor(
        task_id="drain_to_zero",
        migration_task_id=TASK_ID,
        max_offset=0,
        consecutive_samples=5,  # writes are frozen: the offset must stay 0 for longer
        key_count_tolerance=0,
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(minutes=30),
        retries=2,
    )

    # --8<-- [start:howto_operator_dcs_verify_full]
    verified = DcsVerifyMigrationOperator(
        task_id="verify_data",
        source_instance=ends["source"],
        target_instance=ends["target"],
        mode="{{ params.verify_mode }}",
        rounds=3,
        round_interval=min(POLL_SECONDS, 5.0),
        ttl_tolerance_seconds=5,
        max_mismatches=0,  # writes are frozen: any difference stops the cutover
    )
    # --8<-- [end:howto_operator_dcs_verify_full]
    # --8<-- [end:howto_dcs_runbook_drain_verify]

    # --8<-- [start:howto_dcs_runbook_switch]
    @task.branch
    def choose_switch(dcs_to_dcs: bool) -> str:
        """DCS → DCS: switch the IPs; otherwise the clients are switched by you."""
        return "switch_ip" if dcs_to_dcs else "clients_switched"

    switch_ip = DcsExchangeInstanceIpOperator(
        task_id="switch_ip",
        migration_task_id=TASK_ID,
        poll_interval=POLL_SECONDS,
        timeout=timedelta(minutes=15),
    )

    @task
    def clients_switched(migration_task_id: str) -> None:
        """YOUR STEP (self-hosted source): point the clients at the target (config, DNS), then return."""
        print(f"SWITCH THE CLIENTS to the target of DCS migration {migration_task_id} now.")

    switched_by_you = clients_switched(TASK_ID)

    rollback_ip = DcsRollbackInstanceIpOperator(
        task_id="rollback_ip",
        migration_task_id=TASK_ID,
        poll_interval=POLL_SECONDS,
        trigger_rule="one_failed",  # only when the IP switch failed
    )

    @task(trigger_rule="none_skipped")
    def unfreeze_source(migration_task_id: str) -> None:
        """YOUR STEP (rollback path): writes go back to the source; undo what ``freeze_writes`` did."""
        print(
            f"UNFREEZE WRITES on the source of DCS migration {migration_task_id}: the switch was rolled back."
        )

    unfrozen = unfreeze_source(TASK_ID)
    # --8<-- [end:howto_dcs_runbook_switch]

    # --8<-- [start:howto_dcs_runbook_cleanup]
    stop = DcsStopMigrationTaskOperator(
        task_id="stop_migration_task",
        migration_task_id=TASK_ID,
        poll_interval=POLL_SECONDS,
        timeout=timedelta(minutes=30),
        trigger_rule="none_failed_min_one_success",  # after either switch
    )

    @task
    def resume_writes(migration_task_id: str) -> None:
        """YOUR STEP: writers go on, now against the target; watch errors and latency."""
        print(f"RESUME WRITES against the target of DCS migration {migration_task_id}.")

    resumed = resume_writes(TASK_ID)

    remove = DcsRemoveMigrationEcsFromWhitelistOperator(
        task_id="remove_migration_vm_from_whitelist",
        admitted=admit.output,  # undo exactly what the admission changed
    )

    @task.short_circuit
    def delete_wanted(params: dict[str, Any] | None = None) -> bool:
        """Keep the task while you may still roll back (``delete_task=false``)."""
        return bool((params or {}).get("delete_task", True))

    delete = DcsDeleteMigrationTaskOperator(
        task_id="delete_migration_task", migration_task_id=TASK_ID, poll_interval=POLL_SECONDS
    )
    # --8<-- [end:howto_dcs_runbook_cleanup]

    gate = cutover_gate()
    switch_choice = choose_switch(ends["dcs_to_dcs"])
    chain(ends, preflight, create, admit, configure, wait_live, wait_lag, verify_sample, gate)
    chain(gate, [approve, no_approval])
    chain([approve, no_approval], frozen, drain, verified, switch_choice, [switch_ip, switched_by_you], stop)
    chain(switch_ip, rollback_ip, unfrozen)
    chain(stop, resumed, remove, delete_wanted(), delete)


if __name__ == "__main__":
    dag.test(run_conf={"require_approval": False})
