"""ShowInstance ("Query a DCS instance", ``GET /v2/{project_id}/instances/{instance_id}``).

Through real HTTP with the emulator's own signed client:

* a registered instance answers its address (``ip``, ``port``) and what it is (``engine_version``,
  ``cache_mode``, ``max_memory``...), never a password; a Redis Cluster's ``ip`` lists its hosts
  joined by commas and ``port`` is the first port;
* a never-registered (or removed) id is HTTP 404 DCS.3022, like every other instance endpoint;
* the gateway checks it like every other call (unsigned, wrongly signed, another project);
* the admin API and ``--instance`` refuse unknown fields and malformed values, saying why;
* in real-Redis mode ``used_memory`` is what the local Redis reports, and a Redis that does not
  tell (password, not Redis, silent) costs at most half a second.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import requests

from huaweicloud_dcs_emulator import routes, signer
from huaweicloud_dcs_emulator.engines.info_memory import PROBE_TIMEOUT, used_memory_mb
from huaweicloud_dcs_emulator.local_redis import RedisServer
from huaweicloud_dcs_emulator.store import Instance
from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorApiClient, EmulatorProcess

pytestmark = pytest.mark.integration

ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Every field the emulator answers (a subset of the reference's).
FIELDS = {
    "instance_id",
    "name",
    "description",
    "engine",
    "engine_version",
    "status",
    "ip",
    "port",
    "domain_name",
    "cache_mode",
    "max_memory",
    "used_memory",
    "capacity",
    "capacity_minor",
    "spec_code",
    "no_password_access",
    "access_user",
    "product_type",
    "charging_mode",
    "vpc_id",
    "subnet_id",
    "security_group_id",
    "enterprise_project_id",
    "enable_ssl",
    "enable_publicip",
    "created_at",
}


def show(api: EmulatorApiClient, instance_id: str, **kwargs: Any) -> requests.Response:
    return api.call(routes.SHOW_INSTANCE, path_params={"instance_id": instance_id}, **kwargs)


def shown(api: EmulatorApiClient, instance_id: str) -> dict[str, Any]:
    response = show(api, instance_id)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def code(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error_code"]


def post_instances(emulator: EmulatorProcess, admin: EmulatorAdmin, payload: Any) -> requests.Response:
    return admin.session.post(f"{emulator.base_url}/_emulator/instances", json=payload, timeout=10)


# ------------------------------------------------------------------------------------------------
# The answer
# ------------------------------------------------------------------------------------------------


def test_a_registered_instance_answers_its_address_and_kind(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    [added] = emulator_admin.add_instance(
        "dcs-show-single",
        addrs="10.0.0.7:6380",
        engine_version="5.0",
        cache_mode="single",
        max_memory_mb=512,
        status="RUNNING",
    )
    assert added == {
        "id": "dcs-show-single",
        "addrs": "10.0.0.7:6380",
        "engine_version": "5.0",
        "cache_mode": "single",
        "max_memory_mb": 512,
        "status": "RUNNING",
        "no_password_access": False,
    }
    data = shown(emulator_api, "dcs-show-single")
    assert set(data) == FIELDS
    assert data["instance_id"] == "dcs-show-single"
    assert (data["ip"], data["port"]) == ("10.0.0.7", 6380)
    assert (data["engine"], data["engine_version"], data["cache_mode"]) == ("Redis", "5.0", "single")
    assert (data["status"], data["no_password_access"], data["product_type"]) == (
        "RUNNING",
        "false",
        "generic",
    )
    assert (data["max_memory"], data["capacity"], data["capacity_minor"]) == (512, 0, "0.5")
    assert isinstance(data["used_memory"], int)
    assert 0 < data["used_memory"] <= 512
    assert data["spec_code"].startswith("redis.single.")
    assert data["domain_name"].endswith(".invalid"), "a made-up name that never resolves"
    assert UUID.match(data["vpc_id"])
    assert UUID.match(data["subnet_id"])
    assert ISO_TIME.match(data["created_at"])
    assert not [key for key in data if "password" in key and key != "no_password_access"]
    assert show(emulator_api, "dcs-show-single").json() == data, "stable from one read to the next"
    logged = emulator_admin.requests(method="GET", path=r"/instances/dcs-show-single$")
    assert [(entry["status"], entry["handled_status"]) for entry in logged] == [(200, 200)] * 2


def test_the_defaults_and_the_address_a_migration_detail_shows(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    # A startup instance of the session emulator (tests/conftest.py), registered by id alone.
    data = shown(emulator_api, "dcs-instance-1")
    assert data["engine_version"] == "6.0"
    assert data["cache_mode"] == "ha"
    assert (data["max_memory"], data["capacity"], data["status"]) == (1024, 1, "RUNNING")
    assert data["port"] == 6379
    assert re.fullmatch(r"192\.168\.\d+\.\d+", data["ip"])
    # The task detail shows the same address for a side given by this id.
    task_id = emulator_api.create_ready_task("show-instance")
    body = {
        "migration_method": "full_amount_migration",
        "resume_mode": "manual",
        "source_instance": {"addrs": "127.0.0.1:6379"},
        "target_instance": {"id": "dcs-instance-1"},
    }
    configured = emulator_api.call(routes.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=body)
    assert configured.status_code == 200, configured.text
    target = emulator_api.detail(task_id)["target_instance"]
    assert (target["ip"], target["port"]) == (data["ip"], str(data["port"]))


def test_a_cluster_shows_its_hosts_joined_by_commas(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    addrs = "10.0.1.1:7000,10.0.1.2:7001,10.0.1.3:7002"
    [added] = emulator_admin.add_instance("dcs-show-cluster", addrs=addrs, max_memory_mb=8192)
    assert (added["addrs"], added["cache_mode"]) == (addrs, "cluster"), "several addresses: a cluster"
    data = shown(emulator_api, "dcs-show-cluster")
    assert data["ip"] == "10.0.1.1,10.0.1.2,10.0.1.3"
    assert data["port"] == 7000
    assert (data["cache_mode"], data["capacity"]) == ("cluster", 8)
    # The IPv6 form: bracketed in addrs, bare in ip.
    [v6] = emulator_admin.add_instance("dcs-show-v6", addrs="[fd00::1]:6379,[fd00::2]:6379")
    assert v6["addrs"] == "[fd00::1]:6379,[fd00::2]:6379"
    assert shown(emulator_api, "dcs-show-v6")["ip"] == "fd00::1,fd00::2"


def test_an_unknown_or_removed_instance_is_404_dcs_3022(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    for unknown in ("never-registered", "6f1e2d3c-ffff-4a5b-9c8d-000000000000", "a" * 300):
        response = show(emulator_api, unknown)
        assert code(response) == (404, "DCS.3022"), unknown
        assert unknown in response.json()["error_msg"]
    emulator_admin.add_instance("dcs-show-gone")
    assert show(emulator_api, "dcs-show-gone").status_code == 200
    emulator_admin.remove_instance("dcs-show-gone")
    assert code(show(emulator_api, "dcs-show-gone")) == (404, "DCS.3022")
    emulator_admin.add_instance("dcs-show-reset")
    emulator_admin.reset()
    assert code(show(emulator_api, "dcs-show-reset")) == (404, "DCS.3022"), "a reset forgets it"
    assert show(emulator_api, "dcs-instance-1").status_code == 200, "startup instances stay"


def test_the_gateway_checks_it_like_every_other_call(
    emulator: EmulatorProcess, emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    url = f"{emulator.base_url}/v2/{emulator.project_id}/instances/dcs-instance-1"
    unsigned = requests.get(url, timeout=10)
    assert code(unsigned) == (401, "APIGW.0301")
    wrong = show(emulator_api, "dcs-instance-1", credentials=signer.Credentials(emulator.access_key, "nope"))
    assert code(wrong) == (401, "APIGW.0301")
    other_project = show(emulator_api, "dcs-instance-1", project_id="0" * 32)
    assert code(other_project) == (401, "DCS.1004")
    # Only GET: the other methods are an unknown API.
    post = emulator_api.call(
        routes.Route("POST_INSTANCE", "POST", routes.SHOW_INSTANCE.path),
        path_params={"instance_id": "dcs-instance-1"},
        body={},
    )
    assert code(post) == (404, "APIGW.0101")
    assert all(entry["handled_status"] is None for entry in emulator_admin.requests(path=r"/instances/"))
    assert shown(emulator_api, "dcs-instance-1")["instance_id"] == "dcs-instance-1"


def test_fault_rules_apply_to_it(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.add_fault(method="GET", path=r"/instances/[^/]+$", status=503, count=1)
    assert code(show(emulator_api, "dcs-instance-1")) == (503, "DCS.5000")
    assert show(emulator_api, "dcs-instance-1").status_code == 200
    assert emulator_api.call(routes.LIST_TASKS).status_code == 200


# ------------------------------------------------------------------------------------------------
# Registering: admin API, command line, client
# ------------------------------------------------------------------------------------------------


def test_the_admin_api_refuses_unknown_fields_and_names_the_known_ones(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin
) -> None:
    refused = post_instances(emulator, emulator_admin, {"id": "dcs-x", "engine": "Redis", "password": "p"})
    assert refused.status_code == 400
    message = refused.json()["error"]
    assert "unknown instance field(s) ['engine', 'password']" in message
    assert (
        "known: addrs, cache_mode, engine_version, id, max_memory_mb, no_password_access, status" in message
    )
    assert "dcs-x" not in [item["id"] for item in emulator_admin.instances()]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"engine_version": 5.0}, "engine_version must be a string MAJOR.MINOR"),
        ({"engine_version": "latest"}, "engine_version must be a string MAJOR.MINOR"),
        ({"cache_mode": "sentinel"}, "cache_mode 'sentinel' is not one of single, ha, cluster, proxy"),
        ({"max_memory_mb": 0}, "max_memory_mb must be an integer number of MB from 1 to"),
        ({"max_memory_mb": "1024"}, "max_memory_mb must be an integer"),
        ({"max_memory_mb": True}, "max_memory_mb must be an integer"),
        ({"status": "running"}, "status 'running' is not an instance status"),
        ({"no_password_access": "yes"}, "no_password_access must be true or false"),
        ({"addrs": "10.0.0.1"}, "is not HOST:PORT"),
        ({"addrs": "10.0.0.1:6379,"}, "is not HOST:PORT"),
        ({"addrs": ["10.0.0.1:6379"]}, "addrs must be a string"),
        ({"addrs": "10.0.0.1:6379,10.0.0.1:6379"}, "names an address twice"),
        ({"addrs": "10.0.0.1:6379,10.0.0.2:6379", "cache_mode": "ha"}, "only a cache_mode 'cluster'"),
        ({"id": "a b"}, "instance id 'a b' is malformed"),
    ],
)
def test_the_admin_api_refuses_malformed_values_saying_why(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, item: dict[str, Any], reason: str
) -> None:
    payload = {"id": "dcs-malformed", **item}
    refused = post_instances(emulator, emulator_admin, payload)
    assert refused.status_code == 400, refused.text
    assert reason in refused.json()["error"]
    # In a batch, one bad item refuses the whole batch.
    batch = post_instances(emulator, emulator_admin, {"instances": [{"id": "dcs-fine"}, payload]})
    assert batch.status_code == 400
    assert not {"dcs-malformed", "dcs-fine"} & {entry["id"] for entry in emulator_admin.instances()}


def test_the_admin_api_takes_every_field_and_answers_them_back(
    emulator: EmulatorProcess, emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    item = {
        "id": "dcs-every-field",
        "addrs": "10.0.2.1:6379",
        "engine_version": "7.0",
        "cache_mode": "proxy",
        "max_memory_mb": 16384,
        "status": "EXTENDING",
        "no_password_access": True,
    }
    added = post_instances(emulator, emulator_admin, item)
    assert added.status_code == 201
    assert added.json() == item
    assert item in emulator_admin.instances()
    data = shown(emulator_api, "dcs-every-field")
    assert (data["engine_version"], data["cache_mode"], data["status"]) == ("7.0", "proxy", "EXTENDING")
    assert (data["max_memory"], data["capacity"], data["no_password_access"]) == (16384, 16, "true")
    # A status the reference does not list is accepted (a client must cope with it), upper case.
    emulator_admin.add_instance("dcs-odd-status", status="SOMETHING_NEW")
    assert shown(emulator_api, "dcs-odd-status")["status"] == "SOMETHING_NEW"


def test_instance_specs_of_the_command_line() -> None:
    assert Instance.parse("dcs-1=10.0.0.1:6380") == Instance("dcs-1", "10.0.0.1", 6380)
    spec = "dcs-2=10.0.0.1:7000,10.0.0.2:7001;engine_version=5.0;max_memory_mb=2048;status=FROZEN"
    cluster = Instance.parse(spec)
    assert (cluster.ip, cluster.port, cluster.addrs) == (
        "10.0.0.1,10.0.0.2",
        7000,
        "10.0.0.1:7000,10.0.0.2:7001",
    )
    assert (cluster.cache_mode, cluster.engine_version, cluster.max_memory_mb) == ("cluster", "5.0", 2048)
    assert cluster.status == "FROZEN"
    single = Instance.parse(" dcs-3 ; cache_mode = single ; no_password_access = TRUE ;")
    assert (single.cache_mode, single.no_password_access, single.port) == ("single", True, 6379)
    assert Instance.from_json(cluster.to_json()) == cluster
    for bad, reason in (
        ("x;colour=blue", "unknown instance field 'colour'"),
        ("x;engine_version", "is not KEY=VALUE"),
        ("x;status=RUNNING;status=ERROR", "status is given twice"),
        ("x;max_memory_mb=1g", "max_memory_mb must be an integer"),
        ("x;no_password_access=1", "no_password_access must be true or false"),
        ("x=10.0.0.1:1,10.0.0.2:1;cache_mode=single", "only a cache_mode 'cluster'"),
    ):
        with pytest.raises(ValueError, match=re.escape(reason)):
            Instance.parse(bad)


def test_the_command_line_registers_the_extra_fields() -> None:
    instances = (
        "dcs-cli-single=10.0.3.1:6380;engine_version=5.0;cache_mode=single;max_memory_mb=256",
        "dcs-cli-cluster=10.0.3.2:7000,10.0.3.3:7000",
    )
    with EmulatorProcess(instances=instances) as emulator:
        api, admin = emulator.api(), emulator.admin()
        admin.reset()
        single = shown(api, "dcs-cli-single")
        assert (single["ip"], single["port"], single["engine_version"]) == ("10.0.3.1", 6380, "5.0")
        assert (single["cache_mode"], single["max_memory"]) == ("single", 256)
        cluster = shown(api, "dcs-cli-cluster")
        assert (cluster["ip"], cluster["port"], cluster["cache_mode"]) == (
            "10.0.3.2,10.0.3.3",
            7000,
            "cluster",
        )
    bad = subprocess.run(
        [sys.executable, "-m", "huaweicloud_dcs_emulator", "--port", "0", "--instance", "x;engine_version=5"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "engine_version must be a string MAJOR.MINOR" in bad.stderr


# ------------------------------------------------------------------------------------------------
# used_memory in real-Redis mode
# ------------------------------------------------------------------------------------------------


def test_used_memory_is_what_a_local_redis_reports() -> None:
    with RedisServer() as free, RedisServer(password="s3cret-show") as protected:
        instances = (f"dcs-local={free.addrs}", f"dcs-protected={protected.addrs}", "dcs-made-up")
        with EmulatorProcess(real_migration=True, instances=instances) as emulator:
            api = emulator.api()
            before = shown(api, "dcs-local")["used_memory"]
            assert before >= 1
            free.client().set("big", b"x" * (8 * 1024 * 1024))
            reported = int(free.client().info("memory")["used_memory"])
            after = shown(api, "dcs-local")
            assert after["used_memory"] >= 8
            assert abs(after["used_memory"] - math.ceil(reported / (1024 * 1024))) <= 1
            # A Redis that wants a password does not tell; neither does a made-up address.
            started = time.monotonic()
            assert shown(api, "dcs-protected")["used_memory"] == 2
            assert shown(api, "dcs-made-up")["used_memory"] == 2
            assert time.monotonic() - started < 2 * PROBE_TIMEOUT + 1
            protected_view = shown(api, "dcs-protected")
            assert "s3cret-show" not in json.dumps(protected_view)
            assert "password" not in protected_view


@asynccontextmanager
async def _tcp_server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def test_the_probe_gives_up_quickly_on_what_is_not_a_willing_redis() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    async def noauth(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"memory\r\n")
        writer.write(b"-NOAUTH Authentication required.\r\n")
        await writer.drain()
        writer.close()

    async def answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"memory\r\n")
        body = b"# Memory\r\nused_memory:3145729\r\nused_memory_human:3.00M\r\n"
        writer.write(b"$%d\r\n%s\r\n" % (len(body), body))
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        async with _tcp_server(silent) as quiet, _tcp_server(noauth) as locked, _tcp_server(answers) as fine:
            started = time.monotonic()
            assert await used_memory_mb([("127.0.0.1", quiet)], timeout=0.3) is None
            assert time.monotonic() - started < 1.5
            assert await used_memory_mb([("127.0.0.1", locked)]) is None
            assert await used_memory_mb([("127.0.0.1", fine)]) == 4, "3 MB and a byte, rounded up"
            assert await used_memory_mb([("127.0.0.1", fine), ("127.0.0.1", fine)]) == 7
            assert await used_memory_mb([("127.0.0.1", fine), ("127.0.0.1", locked)]) is None
            assert await used_memory_mb([("10.0.0.1", fine)]) is None, "never a remote host"

    asyncio.run(scenario())
