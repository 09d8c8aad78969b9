"""What the e2e modules share around one deployment: the emulator beside Airflow, and the test's waits.

* :func:`emulator_and_airflow`: an :class:`~huaweicloud_dcs_emulator.testing.EmulatorProcess`
  (simulated migrations), then an :class:`~e2e.airflow_stack.AirflowStack` whose default DCS
  connection points at it; both stopped when the block ends.
* :func:`mapped_load_env`: the environment of ``tests/e2e/dags/dcs_load_mapped_migrations.py``.
* :func:`wait_until`: poll a condition of the test (an emulator request, a metadata-DB row) until it
  holds, or fail saying what did not happen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e.airflow_stack import AirflowStack
from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorProcess


@dataclass
class Deployment:
    """Airflow and the emulator of a test module."""

    stack: AirflowStack
    emulator: EmulatorProcess
    admin: EmulatorAdmin


@contextmanager
def emulator_and_airflow(
    root: Path,
    *,
    emulator_config: Mapping[str, float],
    dag_files: Sequence[Path],
    env: Mapping[str, str] | None = None,
    admin_timeout: float | None = None,
    **stack_options: Any,
) -> Iterator[Deployment]:
    """The emulator, and Airflow under ``root / "airflow"`` with ``dag_files``; both stopped after.

    ``env`` is added to the Airflow components' environment after the connection
    ``AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT``; ``stack_options`` go to :class:`AirflowStack`
    (``topology``, ``parallelism``).
    """
    with ExitStack() as cleanup:
        emulator = cleanup.enter_context(EmulatorProcess(config=dict(emulator_config)))
        stack_env = {"AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": emulator.conn_uri_json(), **(env or {})}
        stack = cleanup.enter_context(
            AirflowStack(root / "airflow", dag_files=list(dag_files), env=stack_env, **stack_options)
        )
        admin = emulator.admin() if admin_timeout is None else emulator.admin(timeout=admin_timeout)
        yield Deployment(stack=stack, emulator=emulator, admin=admin)


def mapped_load_env(migrations: int, poll_seconds: float) -> dict[str, str]:
    """How many mapped migrations the load DAG runs, and how often each of its waits reads."""
    return {"DCS_LOAD_MIGRATIONS": str(migrations), "DCS_LOAD_POLL_SECONDS": str(poll_seconds)}


def wait_until(
    condition: Callable[[], Any],
    what: str,
    timeout: float,
    explain: Callable[[], str] | None = None,
    every: float = 0.2,
) -> Any:
    """Call ``condition()`` every ``every`` seconds until it returns something truthy; return that.

    After ``timeout`` seconds: :class:`AssertionError` naming ``what``, with ``explain()`` (the
    run's state and logs) appended when given.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout:g} s{explain() if explain else ''}")
        time.sleep(every)
