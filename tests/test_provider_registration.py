"""The provider is discovered by Airflow and its connection form is declared both ways."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from huaweicloud_dcs_provider.hooks.dcs import DcsAsyncHook, DcsHook
from huaweicloud_dcs_provider.provider_info import get_provider_info


def _airflow(args: list[str], tmp_path: Path) -> str:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_provider_info_matches_airflow_schema() -> None:
    import airflow
    import jsonschema
    from airflow import providers_manager  # noqa: F401  (the schema ships beside it)

    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    schema = json.loads(schema_path.read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == "airflow-provider-huaweicloud-dcs"
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == DcsHook.conn_type == "huaweicloud_dcs"
    assert conn_type["conn-fields"]["security_token"]["schema"]["format"] == "password"


def test_hooks_declare_the_connection_attributes() -> None:
    for hook in (DcsHook, DcsAsyncHook):
        assert hook.conn_name_attr == "dcs_conn_id"
        assert hook.default_conn_name == "huaweicloud_dcs_default"
        assert hook.conn_type == "huaweicloud_dcs"
    behaviour = DcsHook.get_ui_field_behaviour()
    assert behaviour["relabeling"]["login"] == "Access Key ID"
    assert behaviour["relabeling"]["password"] == "Secret Access Key"


@pytest.mark.integration
def test_airflow_registers_the_connection_form(tmp_path: Path) -> None:
    """Airflow's providers manager has our form fields and layout: read from the provider info on
    Airflow 3.2+, from the hook's own methods before (Airflow 2 ignores inherited ones)."""
    code = (
        "import json\n"
        "from airflow.providers_manager import ProvidersManager\n"
        "manager = ProvidersManager()\n"
        "widgets = sorted(name for name in manager.connection_form_widgets if 'huaweicloud_dcs' in name)\n"
        "behaviour = manager.field_behaviours.get('huaweicloud_dcs')\n"
        "print(json.dumps({'widgets': widgets, 'behaviour': behaviour}))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    form = json.loads(result.stdout.strip().splitlines()[-1])
    assert form["widgets"] == [
        f"extra__huaweicloud_dcs__{name}" for name in ("ca_bundle", "project_id", "region", "security_token")
    ]
    assert form["behaviour"]["relabeling"]["login"] == "Access Key ID"
    assert set(form["behaviour"]["hidden_fields"]) == {"schema", "port"}


@pytest.mark.integration
def test_airflow_cli_lists_the_provider_and_hook(tmp_path: Path) -> None:
    providers = _airflow(["providers", "list", "-o", "json"], tmp_path)
    names = {p["package_name"] for p in json.loads(providers[providers.index("[") :])}
    assert "airflow-provider-huaweicloud-dcs" in names
    hooks = _airflow(["providers", "hooks", "-o", "json"], tmp_path)
    rows = json.loads(hooks[hooks.index("[") :])
    ours = [row for row in rows if row.get("connection_type") == "huaweicloud_dcs"]
    assert ours
    assert ours[0]["class"] == "huaweicloud_dcs_provider.hooks.dcs.DcsHook"


@pytest.mark.integration
def test_connection_added_with_the_cli_is_used(tmp_path: Path, emulator_conn_env, emulator_admin) -> None:  # type: ignore[no-untyped-def]
    """``airflow connections add`` (metadata DB) gives a working hook, like the env var form."""
    emulator = emulator_conn_env
    doc = json.loads(emulator.conn_uri_json())
    _airflow(["db", "migrate"], tmp_path)
    _airflow(
        [
            "connections",
            "add",
            "dcs_from_cli",
            "--conn-type",
            "huaweicloud_dcs",
            # "--opt=value": a random secret may start with "-", which argparse takes for an option.
            f"--conn-login={doc['login']}",
            f"--conn-password={doc['password']}",
            f"--conn-host={doc['host']}",
            f"--conn-extra={json.dumps(doc['extra'])}",
        ],
        tmp_path,
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    env.pop("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", None)
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "connections", "test", "dcs_from_cli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Connection success!" in out.stdout, out.stdout + out.stderr[-2000:]
    assert emulator_admin.count_requests(method="GET", path=r"/migration-tasks$") == 1
    assert doc["password"] not in out.stdout + out.stderr
