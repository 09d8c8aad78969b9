"""pytest fixtures for testing migration DAGs offline against the local DCS emulator.

Installed with the ``huaweicloud-dcs-emulator`` distribution (which the provider's ``testing``
extra pulls in) and loaded by pytest automatically (entry point ``pytest11``, name
``huaweicloud_dcs``; ``-p no:huaweicloud_dcs`` turns it off). Loading it imports nothing heavy:
the emulator starts only when a test asks for a fixture. Only pytest loads this module, so pytest
is no dependency of the distribution.

Fixtures:

``dcs_emulator`` (session)
    The emulator running in a subprocess on a free loopback port, with random credentials and
    fast timings (a full migration takes about 1.5 s). Every migration is simulated: the Redis
    addresses in your DAG are never contacted.

``dcs_connection``
    Resets the emulator (no tasks, faults or request log from earlier tests), then points the
    Airflow connection ``dcs_conn_id`` at it for this test (an ``AIRFLOW_CONN_...`` environment
    variable; nothing is written to the metadata DB). Returns a :class:`DcsTestConnection` with
    the emulator's admin client (faults, forced statuses, the request log) and a signed API client
    (``create_ready_task()`` makes a migration task for your DAG to configure).

``dcs_conn_id``
    The connection id ``dcs_connection`` sets: ``huaweicloud_dcs_default``. Override it in your
    ``conftest.py`` to use another one.

``dcs_instance_ids``
    The DCS instance ids your DAG names (``{"id": ...}`` sides, whitelists): ``dcs_connection``
    registers them after the reset, since the emulator, like the cloud, refuses an instance it
    does not know (HTTP 404 DCS.3022). Empty by default; override it in your ``conftest.py``.

Example (``dag.test()`` needs an Airflow metadata DB: see ``docs/testing.md``)::

    def test_full_migration_dag(dcs_connection):
        task_id = dcs_connection.api.create_ready_task("nightly")
        run = dag.test(run_conf={"migration_task_id": task_id})
        assert run.state == "success"
        assert dcs_connection.admin.count_requests(method="POST", path=r"/task$") == 1
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from huaweicloud_dcs_emulator.connection import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorApiClient, EmulatorProcess


@dataclass(frozen=True)
class DcsTestConnection:
    """The emulator as seen by one test (``repr`` shows no secret)."""

    #: The Airflow connection id that points at the emulator.
    conn_id: str
    #: The running emulator (``base_url``, ``project_id``, ``conn_uri_json()``).
    emulator: EmulatorProcess
    #: Faults, forced statuses, timings, DCS instances and the request log (sends the admin token).
    admin: EmulatorAdmin
    #: Signed DCS API calls (``create_ready_task``, ``detail``, ``wait_for_status``).
    api: EmulatorApiClient

    @property
    def env_var(self) -> str:
        """The environment variable holding the connection (``AIRFLOW_CONN_<CONN_ID>``)."""
        return f"AIRFLOW_CONN_{self.conn_id.upper()}"


@pytest.fixture(scope="session")
def dcs_emulator() -> Iterator[EmulatorProcess]:
    """The local DCS emulator for the whole test session (random credentials, fast timings)."""
    from huaweicloud_dcs_emulator.testing import FAST_TIMINGS, EmulatorProcess

    with EmulatorProcess(config=FAST_TIMINGS) as process:
        yield process


@pytest.fixture
def dcs_conn_id() -> str:
    """The Airflow connection id pointed at the emulator; override to use another."""
    return DEFAULT_CONN_ID


@pytest.fixture
def dcs_instance_ids() -> tuple[str, ...]:
    """DCS instance ids ``dcs_connection`` registers in the emulator; override to add yours."""
    return ()


@pytest.fixture
def dcs_connection(
    dcs_emulator: EmulatorProcess,
    dcs_conn_id: str,
    dcs_instance_ids: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> DcsTestConnection:
    """Reset the emulator, register ``dcs_instance_ids`` and point Airflow connection
    ``dcs_conn_id`` at it for this test."""
    admin = dcs_emulator.admin()
    admin.reset()
    if dcs_instance_ids:
        admin.add_instance(*dcs_instance_ids)
    connection = DcsTestConnection(
        conn_id=dcs_conn_id, emulator=dcs_emulator, admin=admin, api=dcs_emulator.api()
    )
    monkeypatch.setenv(connection.env_var, dcs_emulator.conn_uri_json())
    return connection
