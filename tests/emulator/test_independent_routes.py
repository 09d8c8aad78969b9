"""The emulator is independent of the client it tests.

It is written from the API reference: its route table, status names and signature check are its
own, and it imports nothing of the provider. So a client that spells a path wrong, or signs wrong,
fails against it, as it would against the real service, instead of agreeing with itself:

* a provider endpoint table with one path deliberately wrong makes ``DcsHook``'s call fail with
  HTTP 404 ``APIGW.0101`` (and nothing happens to the task), while the correct table works;
* a provider signer with a wrong canonical URI makes the same call fail with HTTP 401
  ``APIGW.0301``, while the correct signer works;
* the two tables, spelled apart, name the same endpoints: the 19 of data migration and "Query a
  DCS instance" (the emulator may serve an instance endpoint the client does not call yet);
* no module of ``huaweicloud_dcs_emulator`` imports ``huaweicloud_dcs_provider`` (the sources are
  read with ``ast``, and a fresh interpreter imports every module and checks ``sys.modules``).

The first two run the emulator in this very process (its aiohttp application served from a
thread), started after the provider's table or signer was spoilt: an emulator that took its routes
or its signature check from the provider would then share the mistake and answer 200.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

import huaweicloud_dcs_emulator
from huaweicloud_dcs_emulator import routes, signer
from huaweicloud_dcs_emulator.app import EmulatorSettings, create_app
from huaweicloud_dcs_emulator.auth import AuthConfig
from huaweicloud_dcs_emulator.connection import connection_document
from huaweicloud_dcs_emulator.store import EmulatorConfig
from huaweicloud_dcs_emulator.testing import (
    FAST_TIMINGS,
    EmulatorAdmin,
    EmulatorApiClient,
    random_credentials,
)
from huaweicloud_dcs_provider.api import signing
from huaweicloud_dcs_provider.api.endpoints import Api
from huaweicloud_dcs_provider.exceptions import DcsApiError
from huaweicloud_dcs_provider.hooks.dcs import DcsHook

# Served in this process, the emulator's request storage warns as aiohttp >= 3.12 does (a
# subprocess emulator's warnings go to its own log).
pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")

PACKAGE = Path(huaweicloud_dcs_emulator.__file__).parent
PROVIDER = "huaweicloud_dcs_provider"
WRONG_CONFIGURE_PATH = "/migration/{task_id}/tasks"  # the real one ends in "/task"
CONFIGURE = {
    "migration_method": "full_amount_migration",
    "resume_mode": "manual",
    "source_instance": {"addrs": "127.0.0.1:6379"},
    "target_instance": {"addrs": "127.0.0.1:6380"},
}


# ------------------------------------------------------------------------------------------------
# The client's table and signer, against an emulator in this process
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InProcess:
    """An emulator served from a thread of this process."""

    base_url: str
    api: EmulatorApiClient
    admin: EmulatorAdmin
    conn_json: str


@contextlib.contextmanager
def emulator_in_this_process() -> Iterator[InProcess]:
    """The emulator's application, created now, on a free loopback port."""
    access_key, secret_key, project_id = random_credentials()
    settings = EmulatorSettings(
        auth=AuthConfig(access_key=access_key, secret_key=secret_key, project_id=project_id),
        config=EmulatorConfig().updated(FAST_TIMINGS),
    )
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings), access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    thread = threading.Thread(target=loop.run_forever, name="in-process-emulator", daemon=True)
    thread.start()
    try:
        document = connection_document(
            base_url=base_url, access_key=access_key, secret_key=secret_key, project_id=project_id
        )
        yield InProcess(
            base_url=base_url,
            api=EmulatorApiClient(base_url, signer.Credentials(access_key, secret_key), project_id),
            admin=EmulatorAdmin(base_url, token=settings.admin_token),
            conn_json=json.dumps(document),
        )
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.fixture
def spoilt_configure_path() -> Iterator[str]:
    """The provider's table with CONFIGURE_ONLINE_TASK's path spelled wrong; yields the right one."""
    member = Api.CONFIGURE_ONLINE_TASK
    right = member.path
    object.__setattr__(member, "path", WRONG_CONFIGURE_PATH)  # a frozen dataclass member
    try:
        yield right
    finally:
        object.__setattr__(member, "path", right)


def _configure(task_id: str) -> None:
    DcsHook().configure_online_migration(task_id, **CONFIGURE)


@pytest.mark.integration
def test_a_wrong_path_in_the_client_table_is_an_unknown_api(
    spoilt_configure_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulator_in_this_process() as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", emulator.conn_json)
        task_id = emulator.api.create_ready_task("independent-routes")
        with pytest.raises(DcsApiError) as failure:
            _configure(task_id)
        assert failure.value.status_code == 404
        assert failure.value.error_code == "APIGW.0101"
        [sent] = emulator.admin.requests(method="POST", path=r"/tasks$")
        assert sent["path"].endswith(f"/migration/{task_id}/tasks")
        assert sent["handled_status"] is None, "the gateway refused it; no handler ran"
        assert emulator.api.detail(task_id)["status"] == "RUNNING", "nothing happened to the task"

        object.__setattr__(Api.CONFIGURE_ONLINE_TASK, "path", spoilt_configure_path)  # mended
        _configure(task_id)
        assert emulator.api.detail(task_id)["status"] == "FULLMIGRATING"
        [configured] = emulator.admin.requests(method="POST", path=r"/task$")
        assert configured["status"] == 200


@pytest.mark.integration
def test_a_wrong_canonical_uri_in_the_client_signer_is_a_bad_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    right = signing.canonical_uri
    # A classic slip: the canonical URI without its trailing "/" (the reference appends one).
    monkeypatch.setattr(signing, "canonical_uri", lambda path: right(path).rstrip("/"))
    with emulator_in_this_process() as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", emulator.conn_json)
        task_id = emulator.api.create_ready_task("independent-signature")
        with pytest.raises(DcsApiError) as failure:
            _configure(task_id)
        assert failure.value.status_code == 401
        assert failure.value.error_code == "APIGW.0301"
        assert emulator.api.detail(task_id)["status"] == "RUNNING"

        monkeypatch.setattr(signing, "canonical_uri", right)
        _configure(task_id)
        assert emulator.api.detail(task_id)["status"] == "FULLMIGRATING"


def test_the_two_tables_spelled_apart_name_the_same_endpoints() -> None:
    provider = {(api.name, api.method, api.path) for api in Api}
    emulator = {(route.name, route.method, route.path) for route in routes.ROUTES}
    migration = {(route.name, route.method, route.path) for route in routes.MIGRATION_ROUTES}
    instance = {(route.name, route.method, route.path) for route in routes.INSTANCE_ROUTES}
    assert len(emulator) == len(routes.ROUTES) == 20
    assert len(migration) == 19
    assert instance == {("SHOW_INSTANCE", "GET", "/instances/{instance_id}")}
    # Every endpoint the client calls is served under the same name, method and path.
    assert provider <= emulator, sorted(provider - emulator)
    # The emulator serves every migration endpoint the client knows, and nothing else beyond
    # the instance endpoints (which a client may not call yet).
    assert migration <= provider
    assert emulator - provider <= instance


# ------------------------------------------------------------------------------------------------
# No import of the provider
# ------------------------------------------------------------------------------------------------


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
        ):
            names += [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
    return names


def test_no_emulator_module_imports_the_provider() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20
    offenders = {
        str(path.relative_to(PACKAGE)): name
        for path in sources
        for name in _imported_modules(path)
        if name == PROVIDER or name.startswith(PROVIDER + ".")
    }
    assert offenders == {}


def test_importing_every_emulator_module_loads_nothing_of_the_provider() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import huaweicloud_dcs_emulator as package\n"
        "names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + '.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] == {PROVIDER!r})\n"
        "assert len(names) > 20, names\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
