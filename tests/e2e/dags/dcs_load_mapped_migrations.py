"""Load DAG of the end-to-end load test (``tests/e2e/test_load.py``): N mapped migrations.

Dynamic task mapping, two mapped tasks:

* ``create``: one :class:`DcsCreateOnlineMigrationTaskOperator` per name (``load-000`` ...), each
  waiting until its migration task is ready (``reuse_existing``: a retried create reuses its task);
* ``configure``: one :class:`DcsConfigureOnlineMigrationOperator` per created task (mapped over the
  ``create`` output, so instance *i* configures the task instance *i* created), a full migration
  between a pair of simulated Redis addresses of its own (``10.1.x.y:6379`` -> ``10.2.x.y:6379``,
  from its ``map_index``), waiting for ``SUCCESS`` deferred, in the triggerer.

Read when the file is parsed (the test gives them to every component):
``DCS_LOAD_MIGRATIONS`` (N, default 20) and ``DCS_LOAD_POLL_SECONDS`` (status reads, default 2).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from huaweicloud_dcs_provider.operators.lifecycle import DcsCreateOnlineMigrationTaskOperator
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator

MIGRATIONS = int(os.environ.get("DCS_LOAD_MIGRATIONS", "20"))
POLL_SECONDS = float(os.environ.get("DCS_LOAD_POLL_SECONDS", "2"))
#: A distinct simulated Redis per map index (the emulator simulates migrations between them).
_HOST = "{{ ti.map_index // 250 }}.{{ ti.map_index % 250 + 1 }}:6379"

with DAG(
    dag_id="dcs_load_mapped_migrations",
    description="Load test: N mapped DCS migrations, waited for deferred",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # Deferred tasks do not count here; this only bounds the running + queued ones.
    max_active_tasks=max(16, MIGRATIONS),
    default_args={"retries": 2, "retry_delay": timedelta(seconds=5)},
    tags=["test", "load"],
) as dag:
    create = DcsCreateOnlineMigrationTaskOperator.partial(
        task_id="create",
        vpc_id="vpc-load",
        subnet_id="subnet-load",
        security_group_id="sg-load",
        reuse_existing=True,
        poll_interval=1.0,
        ready_timeout=timedelta(minutes=10),
    ).expand(migration_task_name=[f"load-{index:03d}" for index in range(MIGRATIONS)])

    configure = DcsConfigureOnlineMigrationOperator.partial(
        task_id="configure",
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": f"10.1.{_HOST}"},
        target_instance={"addrs": f"10.2.{_HOST}"},
        deferrable=True,
        poll_interval=POLL_SECONDS,
        timeout=timedelta(minutes=45),
    ).expand(migration_task_id=create.output)
