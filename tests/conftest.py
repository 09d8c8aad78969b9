"""Shared fixtures.

Emulator fixtures (one emulator subprocess per test session, fast timings, the DCS instance ids
of :data:`SUITE_INSTANCE_IDS` registered):

* ``emulator`` (session): the running :class:`EmulatorProcess` (``.base_url``, ``.access_key``,
  ``.secret_key``, ``.project_id``, ``.conn_uri_json()``, ``.credentials()``).
* ``emulator_admin``: an :class:`EmulatorAdmin` (it sends the emulator's admin token); the
  emulator is reset (tasks, faults, request log, timings, instances added by a test) before each
  test that uses it.
* ``emulator_api``: a signed :class:`EmulatorApiClient` (implies ``emulator_admin``'s reset).
* ``emulator_conn_env``: sets ``AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT`` to the emulator's
  connection JSON for the test (implies the reset); returns the ``EmulatorProcess``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from huaweicloud_dcs_emulator.testing import (
    FAST_TIMINGS,
    EmulatorAdmin,
    EmulatorApiClient,
    EmulatorProcess,
)

# ------------------------------------------------------------------------------------------------
# Emulator
# ------------------------------------------------------------------------------------------------


#: The made-up DCS instance ids the suite's tests name, known to the session emulator from its
#: start (like the cloud, it refuses an instance it does not know: HTTP 404 DCS.3022). A test
#: about other instances registers them with ``EmulatorAdmin.add_instance``.
SUITE_INSTANCE_IDS = (
    "dcs-instance-1",  # test_hook.py: whitelist calls, backup import target
    "dcs-instance-source",  # test_real_migration.py: a cloud source stays simulated
    "TARGET_ID",  # test_assets.py: the asset DAG's target
    "6f1e2d3c-0000-4a5b-9c8d-112233445566",  # test_assets.py, dags/example_dcs_asset_scheduling.py
    "5e0c5c3b-7d4e-4b1a-9c0b-1234567890ab",  # tests/emulator: configure / import targets
    "0d5f4f4e-1111-2222-3333-444455556666",  # tests/emulator: whitelists
)


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    """One emulator subprocess for the whole session (random credentials, fast timings)."""
    with EmulatorProcess(config=FAST_TIMINGS, instances=SUITE_INSTANCE_IDS) as process:
        yield process


@pytest.fixture
def emulator_admin(emulator: EmulatorProcess) -> EmulatorAdmin:
    """Admin client; the emulator is reset before the test."""
    admin = emulator.admin()
    admin.reset()
    return admin


@pytest.fixture
def emulator_api(emulator: EmulatorProcess, emulator_admin: EmulatorAdmin) -> EmulatorApiClient:
    """Signed DCS API client of the (freshly reset) emulator."""
    return emulator.api()


@pytest.fixture
def emulator_conn_env(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> EmulatorProcess:
    """``AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT`` points at the (freshly reset) emulator."""
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", emulator.conn_uri_json())
    return emulator


# ------------------------------------------------------------------------------------------------
# Load test size (tests/e2e/test_load.py)
# ------------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--load-migrations N``: mapped migrations of the e2e load test (the issue's full run: 200)."""
    parser.addoption(
        "--load-migrations",
        type=int,
        default=None,
        help="mapped migrations in tests/e2e/test_load.py (default: $DCS_LOAD_MIGRATIONS, else 20)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """The option wins over ``$DCS_LOAD_MIGRATIONS``; set before test modules are imported (the
    load test sizes its timeout from it)."""
    value = config.getoption("--load-migrations", default=None)
    if value is not None:
        if value < 1:
            raise pytest.UsageError("--load-migrations must be >= 1")
        os.environ["DCS_LOAD_MIGRATIONS"] = str(value)


# The session-wide secret scan (registry, collectors; tests/test_zz_secret_hygiene.py runs it last).
pytest_plugins = ["secret_hygiene"]
