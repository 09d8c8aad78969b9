"""A DAG for tests/test_lineage.py: configure a migration (deferred wait), then verify the data."""

from __future__ import annotations

import os

import pendulum
from airflow.providers.common.compat.sdk import DAG

from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.operators.verify import DcsVerifyMigrationOperator

SOURCE = {"addrs": os.environ["LINEAGE_SOURCE_ADDRS"], "password_conn_id": "lineage_src"}
TARGET = {"addrs": os.environ["LINEAGE_TARGET_ADDRS"], "password_conn_id": "lineage_dst"}

with DAG(
    dag_id="dcs_lineage",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
) as dag:
    configure = DcsConfigureOnlineMigrationOperator(
        task_id="configure",
        migration_task_id=os.environ["LINEAGE_TASK_ID"],
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance=SOURCE,
        target_instance=TARGET,
        deferrable=True,
        poll_interval=0.2,
    )
    verify = DcsVerifyMigrationOperator(
        task_id="verify", source_instance=SOURCE, target_instance=TARGET, round_interval=0
    )
    configure >> verify
