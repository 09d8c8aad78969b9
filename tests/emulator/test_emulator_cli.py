"""The command line: generated credentials and admin token, connection file, ready file, fixtures'
connection JSON."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from huaweicloud_dcs_emulator import routes, signer
from huaweicloud_dcs_emulator.testing import EmulatorApiClient, EmulatorProcess

pytestmark = pytest.mark.integration


def _env_without_credentials() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DCS_EMULATOR_")}


def test_generated_credentials_go_to_the_connection_file_only(tmp_path: Path) -> None:
    conn_file = tmp_path / "conn.json"
    ready_file = tmp_path / "ready"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "huaweicloud_dcs_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--conn-file",
            str(conn_file),
            "--ready-file",
            str(ready_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env_without_credentials(),
    )
    try:
        deadline = time.monotonic() + 20
        while not ready_file.exists() or not ready_file.read_text().strip():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # The ready file is a JSON document now (it was the bare port number): the port, the base
        # URL and the admin token, which the admin API needs from now on.
        ready = json.loads(ready_file.read_text())
        port = ready["port"]
        assert port > 0
        assert ready["base_url"] == f"http://127.0.0.1:{port}"
        token = ready["admin_token"]
        assert len(token) >= 32
        assert stat.S_IMODE(ready_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(conn_file.stat().st_mode) == 0o600
        document = json.loads(conn_file.read_text())
        assert document["conn_type"] == "huaweicloud_dcs"
        assert document["host"] == f"http://127.0.0.1:{port}"
        assert set(document["extra"]) == {"project_id"}
        api = EmulatorApiClient(
            document["host"],
            signer.Credentials(document["login"], document["password"]),
            document["extra"]["project_id"],
        )
        assert api.call(routes.LIST_TASKS).status_code == 200
        health = f"{ready['base_url']}/_emulator/health"
        assert requests.get(health, timeout=5).status_code == 401
        assert requests.get(health, headers={"X-Emulator-Token": token}, timeout=5).status_code == 200
        assert "admin_token" not in document, "the Airflow connection document stays as Airflow reads it"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    output = out.decode() + err.decode()
    assert f"listening on http://127.0.0.1:{port}" in out.decode()
    assert f"admin token: {token} (send it in the X-Emulator-Token header)" in out.decode()
    assert document["password"] not in output
    assert document["login"] in output


def test_half_credentials_are_refused() -> None:
    env = dict(_env_without_credentials(), DCS_EMULATOR_ACCESS_KEY="AK")
    result = subprocess.run(
        [sys.executable, "-m", "huaweicloud_dcs_emulator", "--port", "0"],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert b"secret key" in result.stderr


def test_process_repr_and_connection(emulator: EmulatorProcess) -> None:
    assert emulator.secret_key not in repr(emulator)
    assert emulator.access_key in repr(emulator)
    document = json.loads(emulator.conn_uri_json())
    assert document == {
        "conn_type": "huaweicloud_dcs",
        "login": emulator.access_key,
        "password": emulator.secret_key,
        "host": emulator.base_url,
        "extra": {"project_id": emulator.project_id},
    }
    assert emulator.running
    assert emulator.secret_key not in emulator.log_text()


def test_conn_env_fixture(emulator_conn_env: EmulatorProcess) -> None:
    assert (
        json.loads(os.environ["AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT"])["host"] == emulator_conn_env.base_url
    )
