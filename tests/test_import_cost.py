"""Parsing a DAG that uses our operators and sensors loads no HTTP stack, retry library, trigger or
Redis client.

DAG files are parsed constantly, so the modules users import in them (every operator module,
``sensors.migration``) import their hooks, HTTP clients, retry policy, trigger and the ``redis``
client (with the data checks) only when a task runs (``execute``, the ``hook`` property, the defer
path). Checked in a fresh interpreter that first imports ``DAG`` (``airflow.sdk``'s on Airflow 3,
through common-compat), as a DAG file does: the modules our import adds must not include any of the
heavy ones. (``bench/bench_parse_cost.py`` measures the time.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from airflow_versions import AIRFLOW_V_3
from huaweicloud_dcs_provider.provider_info import OPERATOR_MODULES

DAG_MODULES = (
    *(f"huaweicloud_dcs_provider.operators.{name}" for name in OPERATOR_MODULES),
    "huaweicloud_dcs_provider.sensors.migration",
)

#: Must not be loaded by importing (and using in a DAG) the modules above: a module or its submodules.
HEAVY = (
    "requests",
    "aiohttp",
    "yarl",
    "tenacity",
    "airflow.providers.http.hooks",
    "airflow.triggers.base",
    "huaweicloud_dcs_provider.hooks",
    "huaweicloud_dcs_provider.triggers",
    "huaweicloud_dcs_provider.api.transport",
    "huaweicloud_dcs_provider.api.calls",
    "huaweicloud_dcs_provider.api.signing",
    "huaweicloud_dcs_provider.api.retry",
    "redis",
    "huaweicloud_dcs_provider.datacheck",
    "huaweicloud_dcs_provider.operators.preflight_facts",
    # Lineage (the openlineage extra) is for task run time only.
    "huaweicloud_dcs_provider.lineage",
    "openlineage",
    "airflow.providers.openlineage",
)

CHILD = textwrap.dedent(
    """
    import json, sys
    from airflow.providers.common.compat.sdk import DAG
    before = set(sys.modules)
    for name in sys.argv[1].split(","):
        __import__(name)
    if sys.argv[2] == "dag":
        import datetime
        from huaweicloud_dcs_provider.operators import batch, lifecycle as life, migration as m
        from huaweicloud_dcs_provider.operators import ip_switch as c, preflight as p, verify as v
        from huaweicloud_dcs_provider.sensors import migration as s

        with DAG("import_cost", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
            m.DcsConfigureOnlineMigrationOperator(
                task_id="configure", migration_task_id="t", migration_method="full_amount_migration",
                resume_mode="auto", source_instance={"addrs": "10.0.0.1:6379", "password_conn_id": "r"},
                target_instance={"id": "i"}, deferrable=True,
            )
            life.DcsStopMigrationTaskOperator(task_id="stop", migration_task_id="t")
            p.DcsMigrationPreflightOperator(
                task_id="preflight", source_instance={"addrs": "10.0.0.1:6379", "password_conn_id": "r"},
                target_instance={"id": "i"}, ip_switch=True,
            )
            v.DcsVerifyMigrationOperator(
                task_id="verify", migration_task_id="t", source_instance={"password_conn_id": "r"},
                mode="sample", qps=1000,
            )
            c.DcsExchangeInstanceIpOperator(task_id="exchange", migration_task_id="t")
            s.DcsMigrationTaskSensor(task_id="wait", migration_task_id="t")
            s.DcsMigrationLagSensor(task_id="lag", migration_task_id="t", max_offset=10)
    print(json.dumps(sorted(set(sys.modules) - before)))
    """
)


def _added_modules(mode: str) -> list[str]:
    env = dict(os.environ, AIRFLOW__CORE__LOAD_EXAMPLES="False")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, ",".join(DAG_MODULES), mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    added: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return added


def _heavy(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize("mode", ["import", "dag"])
def test_dag_modules_load_no_heavy_module(mode: str) -> None:
    added = _added_modules(mode)
    assert set(DAG_MODULES) <= set(added), "the check must see our modules being imported"
    assert _heavy(added) == []


def test_the_check_would_see_a_heavy_import() -> None:
    """The subprocess check is not blind: our hook module does pull the heavy modules in."""
    child = CHILD.replace('sys.argv[1].split(",")', '["huaweicloud_dcs_provider.hooks.dcs"]')
    proc = subprocess.run(
        [sys.executable, "-c", child, "", "import"],
        capture_output=True,
        text=True,
        env=dict(os.environ, AIRFLOW__CORE__LOAD_EXAMPLES="False"),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    heavy = _heavy(json.loads(proc.stdout.strip().splitlines()[-1]))
    if AIRFLOW_V_3:  # Airflow 2 loads requests with ``import airflow`` itself, before the check starts
        assert "requests" in heavy
    assert "airflow.providers.http.hooks" in heavy
    assert "huaweicloud_dcs_provider.api.retry" in heavy
