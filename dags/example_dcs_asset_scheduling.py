"""Schedule a DAG on "migration finished": an asset event for the target DCS instance.

Two DAGs:

* ``example_dcs_migrate_into_instance`` configures a full migration into a DCS instance and waits
  for it (deferred). The configure task has the instance's asset in ``outlets``: when the
  migration succeeds, Airflow records an asset event for ``huaweicloud-dcs://<instance id>``, with
  the migration task id, status and key counts in its ``extra``.
* ``example_dcs_after_migration`` is scheduled on that asset: it runs when the event is recorded,
  and reads what the event says (here it only reports it; a real one would rebuild a cache index,
  warm a replica or tell the application team).

Set ``TARGET_INSTANCE_ID`` to your instance's id; the migration task comes from the
``migration_task_id`` param. See ``docs/assets.md``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum

# The Task SDK's authoring names (airflow.sdk) on Airflow 3; common-compat maps them to their
# Airflow 2 homes, so these DAGs also run on 2.11.
from airflow.providers.common.compat.sdk import DAG, Param, task

from huaweicloud_dcs_provider.assets import dcs_instance_asset
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator

#: Seconds between two status reads (the tests against the emulator use 1).
POLL_SECONDS = float(os.environ.get("DCS_EXAMPLE_POLL_SECONDS", "60"))

# --8<-- [start:howto_dcs_asset_of_the_target]
#: The DCS instance the data goes into, and its asset: the same object on both sides.
TARGET_INSTANCE_ID = "6f1e2d3c-0000-4a5b-9c8d-112233445566"
TARGET = dcs_instance_asset(TARGET_INSTANCE_ID)
# --8<-- [end:howto_dcs_asset_of_the_target]

with DAG(
    dag_id="example_dcs_migrate_into_instance",
    description="Full migration into a DCS instance; emits the instance's asset event when done",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "migration_task_id": Param(type="string", description="Online migration task to configure."),
        "source_addrs": Param("10.0.0.12:6379", type="string", description="Source Redis host:port."),
        "source_password_conn_id": Param(
            "", type="string", description="Connection whose password is the source's ('' for none)."
        ),
    },
    tags=["example", "huaweicloud", "dcs", "assets"],
    doc_md=__doc__,
):
    # --8<-- [start:howto_dcs_asset_producer]
    DcsConfigureOnlineMigrationOperator(
        task_id="migrate_into_instance",
        migration_task_id="{{ params.migration_task_id }}",
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={
            "addrs": "{{ params.source_addrs }}",
            "password_conn_id": "{{ params.source_password_conn_id }}",
        },
        target_instance={"id": TARGET_INSTANCE_ID},
        deferrable=True,  # waits in the triggerer
        poll_interval=POLL_SECONDS,
        timeout=timedelta(hours=12),
        outlets=[TARGET],  # the event is emitted when this task succeeds: the migration finished
    )
    # --8<-- [end:howto_dcs_asset_producer]


# --8<-- [start:howto_dcs_asset_consumer]
with DAG(
    dag_id="example_dcs_after_migration",
    description="Runs when a migration into the DCS instance finished (its asset event)",
    schedule=[TARGET],
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["example", "huaweicloud", "dcs", "assets"],
):

    @task
    def report_migration(**context: Any) -> list[dict[str, Any]]:
        """What the triggering events say: the migration task, its status, the key counts."""
        events = context.get("triggering_asset_events") or context.get("triggering_dataset_events")
        facts = [dict(event.extra) for asset_events in (events or {}).values() for event in asset_events]
        for fact in facts:
            print(f"DCS instance {TARGET_INSTANCE_ID} got new data: {fact}")
        return facts

    report_migration()
# --8<-- [end:howto_dcs_asset_consumer]
