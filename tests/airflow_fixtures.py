"""Fixtures for the operator, sensor and trigger tests (loaded with ``pytest_plugins``).

* ``dcs_env``: the default DCS connection points at the (freshly reset) emulator, with a region
  (so console links can be built), plus a ``redis_source`` connection holding a Redis password
  and a ``dcs_wrong_sk`` connection whose secret key is wrong. Returns a :class:`DcsTestEnv`.
* ``airflow_db_home`` (session): an ``AIRFLOW_HOME`` in a temp dir for ``dag.test()`` runs, which
  happen in a subprocess (DB migrated there first), so the test process's own Airflow
  configuration (wherever it points) is never touched.
* helpers to build a minimal task context and to create ready migration tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from airflow_versions import AIRFLOW_V_3
from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorProcess
from huaweicloud_dcs_provider.api.retry import RetryPolicy

REPO = Path(__file__).resolve().parent.parent
REGION = "ap-southeast-1"
REDIS_SOURCE_PASSWORD = "s3cret-from-connection"
NETWORK = {"vpc_id": "vpc-test", "subnet_id": "subnet-test", "security_group_id": "sg-test"}
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.05, max_wait=0.2, max_total_seconds=10)
#: Emulator timings (seconds) for these tests: a full sync takes FULL_SECONDS.
FULL_SECONDS = 0.8
TIMINGS = {
    "create_seconds": 0.1,
    "full_seconds": FULL_SECONDS,
    "stop_seconds": 0.2,
    "fail_seconds": 0.2,
    "job_seconds": 0.1,
}
#: Self-hosted Redis "instances" the simulated engine migrates between (loopback, never contacted).
SOURCE = {"addrs": "127.0.0.1:6379"}
TARGET = {"addrs": "127.0.0.1:6380"}


@dataclass
class DcsTestEnv:
    """What a test needs to drive the emulator."""

    emulator: EmulatorProcess
    admin: EmulatorAdmin

    def create_ready_task(self, name: str = "mig") -> str:
        """A migration task in RUNNING (ready to be configured)."""
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        hook = DcsHook(retry_policy=FAST_RETRY)
        created = hook.create_online_migration_task(name=name, poll_interval=0.1, timeout=20, **NETWORK)
        return str(created["task_id"])

    def configure(
        self,
        task_id: str,
        *,
        method: str = "full_amount_migration",
        source: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
    ) -> None:
        """Start a migration directly through the hook."""
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        DcsHook(retry_policy=FAST_RETRY).configure_online_migration(
            task_id,
            migration_method=method,
            resume_mode="manual",
            source_instance=source or SOURCE,
            target_instance=target or TARGET,
        )

    def status(self, task_id: str) -> str:
        """The task's status now."""
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        return DcsHook(retry_policy=FAST_RETRY).get_task_status(task_id)

    def wait_status(self, task_id: str, wanted: str, timeout: float = 15.0) -> None:
        """Block until the task has status ``wanted``."""
        deadline = time.monotonic() + timeout
        while self.status(task_id) != wanted:
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} never reached {wanted}")
            time.sleep(0.05)

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """The emulator's request log."""
        return self.admin.requests(method=method, path=path)


def conn_json(emulator: EmulatorProcess, *, secret_key: str | None = None) -> str:
    """The emulator's connection document with a region (and optionally another secret key)."""
    document = emulator.conn_dict()
    extra = dict(document["extra"])  # type: ignore[call-overload]
    extra["region"] = REGION
    document["extra"] = extra
    if secret_key is not None:
        document["password"] = secret_key
    return json.dumps(document)


@pytest.fixture
def dcs_env(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> DcsTestEnv:
    """Connections pointing at the freshly reset emulator (default, redis_source, dcs_wrong_sk)."""
    emulator_admin.set_config(**TIMINGS)
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", conn_json(emulator))
    monkeypatch.setenv("AIRFLOW_CONN_DCS_WRONG_SK", conn_json(emulator, secret_key="not-the-secret-key"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_REDIS_SOURCE",
        json.dumps({"conn_type": "generic", "host": "127.0.0.1", "password": REDIS_SOURCE_PASSWORD}),
    )
    return DcsTestEnv(emulator=emulator, admin=emulator_admin)


def make_context(**extra: Any) -> dict[str, Any]:
    """A minimal task context: a ``ti`` mock that records ``xcom_push`` calls."""
    ti = mock.MagicMock(name="ti")
    ti.pushed = {}
    ti.xcom_push.side_effect = lambda key, value, **_: ti.pushed.__setitem__(key, value)
    ti.get_first_reschedule_date.return_value = None
    ti.try_number = 1
    return {"ti": ti, **extra}


@pytest.fixture
def no_reschedule_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sensor in ``reschedule`` mode finds no earlier reschedule of its task (a first poke).

    On Airflow 3 the task instance answers that (:func:`make_context`'s
    ``ti.get_first_reschedule_date``); Airflow 2's sensor reads the ``task_reschedule`` table of the
    metadata DB instead, which the test process does not have.
    """
    if not AIRFLOW_V_3:
        monkeypatch.setattr("airflow.sensors.base._orig_start_date", lambda **_: None)


@pytest.fixture(scope="session")
def airflow_db_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of a throw-away ``AIRFLOW_HOME`` (SQLite); :func:`run_dag_file` migrates its DB.

    The DB is migrated inside the ``dag.test()`` subprocess (like ``airflow db migrate``), which
    saves one Airflow start-up; the test process's own Airflow configuration is never touched.
    """
    home = tmp_path_factory.mktemp("airflow-home")
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
    )
    return env


#: Prepended to the ``__main__`` block of a DAG file run by :func:`run_dag_file`. Airflow 2's
#: migration applies alembic.ini's logging configuration (root logger at WARNING), which would hide
#: the INFO lines of ``dag.test()`` and of the inline trigger: Airflow's own is put back after it.
MIGRATE_DB = "from airflow.utils.db import upgradedb; upgradedb()" + (
    "" if AIRFLOW_V_3 else "; from airflow.logging_config import configure_logging; configure_logging()"
)


def run_dag_file(
    name: str, source: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Write a DAG file into the DAGs folder of ``env`` and run it (``dag.test()`` in ``__main__``)."""
    dags = Path(env["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    path = dags / f"{name}.py"
    path.write_text(source)
    return subprocess.run(
        [sys.executable, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=str(REPO),
    )
