"""The pytest fixtures installed with the emulator (``huaweicloud_dcs_emulator.pytest_plugin``).

* Used directly here: ``dcs_connection`` gives each test a reset emulator and an Airflow
  connection the hook finds by its default id.
* Used as a DAG author would (``docs/testing.md``): a separate pytest run, in its own directory
  with only a copy of the example DAG and the files of ``examples/dag_tests/`` (a ``conftest.py``
  that makes a throw-away Airflow home, a test file), runs the DAG with ``dag.test()`` against
  the emulator the plugin starts. The
  plugin is found through its entry point; nothing of this repository's test code is on the path.
* The same files as shipped, run the two ways docs/testing.md says: ``pytest`` in
  ``examples/dag_tests/`` and ``pytest examples/dag_tests`` from the repository root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from huaweicloud_dcs_emulator.pytest_plugin import DcsTestConnection

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]


def test_dcs_connection_points_the_default_connection_at_a_fresh_emulator(
    dcs_connection: DcsTestConnection,
) -> None:
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    assert dcs_connection.admin.count_requests() == 0  # reset: nothing from earlier tests
    task_id = dcs_connection.api.create_ready_task("plugin-test")
    task = DcsHook().get_migration_task(task_id)  # the default connection id, no argument
    assert task.status == "RUNNING"
    assert dcs_connection.admin.count_requests(method="GET", path=task_id) >= 1
    assert dcs_connection.emulator.secret_key not in repr(dcs_connection)


class TestConnIdOverride:
    """What a DAG author's conftest override of ``dcs_conn_id`` does."""

    @pytest.fixture
    def dcs_conn_id(self) -> str:
        return "dcs_staging"

    def test_the_connection_gets_the_overridden_id(self, dcs_connection: DcsTestConnection) -> None:
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        assert dcs_connection.env_var == "AIRFLOW_CONN_DCS_STAGING"
        task_id = dcs_connection.api.create_ready_task("staging")
        assert DcsHook("dcs_staging").get_task_status(task_id) == "RUNNING"


class TestInstanceIdsOverride:
    """A DAG author's conftest names the DCS instances the DAG uses: the emulator knows them."""

    @pytest.fixture
    def dcs_instance_ids(self) -> tuple[str, ...]:
        return ("my-target-instance",)

    def test_the_instances_are_registered_after_the_reset(self, dcs_connection: DcsTestConnection) -> None:
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        ids = [item["id"] for item in dcs_connection.admin.instances()]
        assert "my-target-instance" in ids
        assert DcsHook().get_whitelist("my-target-instance").enable_whitelist is False


def test_an_instance_the_test_did_not_name_does_not_exist(dcs_connection: DcsTestConnection) -> None:
    from huaweicloud_dcs_provider.exceptions import DcsApiError
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    with pytest.raises(DcsApiError) as info:
        DcsHook().get_whitelist("my-target-instance")
    assert (info.value.status_code, info.value.error_code) == (404, "DCS.3022")


#: The DAG author's files the docs quote (docs/testing.md).
EXAMPLE = REPO / "examples" / "dag_tests"


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_a_dag_authors_test_runs_the_example_dag_offline(pytester: pytest.Pytester) -> None:
    dags = pytester.path / "dags"
    dags.mkdir()
    shutil.copy(REPO / "dags" / "example_dcs_full_migration.py", dags)
    for name in ("conftest.py", "test_full_migration_offline.py"):
        shutil.copy(EXAMPLE / name, pytester.path)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=220)

    output = "\n".join(result.outlines + result.errlines)
    assert result.ret == 0, output[-8000:]
    result.assert_outcomes(passed=1)


@pytest.mark.integration
@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("cwd", "args"),
    [(EXAMPLE, ()), (REPO, ("examples/dag_tests",))],
    ids=["in-examples-dag_tests", "from-the-repo-root"],
)
def test_the_example_runs_as_shipped(cwd: Path, args: tuple[str, ...], tmp_path: Path) -> None:
    """``examples/dag_tests`` as it is in the repository, no copy: it finds the example DAG."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTEST_", "DCS_")) and key != "PYTHONPATH"
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ in the repository's folder
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--basetemp={tmp_path}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "1 passed" in output, output[-3000:]
    assert not (EXAMPLE / "__pycache__").exists()
