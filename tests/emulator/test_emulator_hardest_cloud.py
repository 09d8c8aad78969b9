"""The defaults that model the hardest realistic cloud, and ``time_scale``.

* a deleted task's detail still answers 200 with status SUCCESS (the list has it no more; its stats
  and logs are HTTP 400 DCS.4133);
* a full migration goes SUCCESS -> RELEASED after ``release_after_seconds`` (its stats kept);
* configure is refused outside RUNNING, so two configure calls at once cannot both take effect;
* an unknown DCS instance id fails (HTTP 404 DCS.3022), in configure, the whitelist calls and the
  IP switch; the IP switch needs two DCS instances on the same port;
* the detail has exactly the fields of the official SDK's model: a failure's reason is in the ERROR
  logs and the list's ``error_message``;
* ``time_scale`` multiplies every lifecycle duration.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from huaweicloud_dcs_emulator import routes
from huaweicloud_dcs_emulator.store import EmulatorConfig, EmulatorError, Instance, TaskStore
from huaweicloud_dcs_emulator.testing import FAST_TIMINGS, EmulatorAdmin, EmulatorApiClient, EmulatorProcess

pytestmark = pytest.mark.integration

#: ``ShowMigrationTaskResponse.openapi_types`` of the official SDK (huaweicloudsdkdcs 3.1.219).
SDK_DETAIL_FIELDS = {
    "task_id",
    "task_name",
    "description",
    "status",
    "migration_type",
    "migration_method",
    "ecs_tenant_private_ip",
    "backup_files",
    "network_type",
    "source_instance",
    "target_instance",
    "created_at",
    "updated_at",
    "released_at",
    "version",
    "resume_mode",
    "supported_features",
    "tenant_vpc_id",
    "tenant_subnet_id",
    "tenant_security_group_id",
    "bandwidth_limit_mb",
    "task_status",
}
#: ``SourceInstanceBody``/``TargetInstanceBody`` of the same SDK.
SDK_INSTANCE_FIELDS = {"addrs", "password", "task_status", "id", "ip", "port", "name", "proxy_multi_db", "db"}
SOURCE = {"addrs": "127.0.0.1:6379"}
TARGET = {"addrs": "127.0.0.1:6380"}


def body(method: str = "full_amount_migration", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "migration_method": method,
        "resume_mode": "manual",
        "source_instance": SOURCE,
        "target_instance": TARGET,
    }
    data.update(overrides)
    return data


def configure(api: EmulatorApiClient, task_id: str, data: dict[str, Any]) -> Any:
    return api.call(routes.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=data)


def code(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error_code"]


def listed(api: EmulatorApiClient, task_id: str) -> dict[str, Any] | None:
    tasks = api.call(routes.LIST_TASKS, query={"limit": 1000}).json()["migration_tasks"]
    return next((task for task in tasks if task["task_id"] == task_id), None)


# ------------------------------------------------------------------------------------------------
# Delete and release
# ------------------------------------------------------------------------------------------------


def test_a_deleted_task_still_reads_success_but_is_gone_from_the_list(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    assert emulator_admin.config()["deleted_detail"] == "SUCCESS"
    task_id = emulator_api.create_ready_task("doomed")
    assert emulator_api.call(routes.DELETE_TASKS, body={"task_id_list": [task_id]}).status_code == 200
    detail = emulator_api.call(routes.SHOW_TASK, path_params={"task_id": task_id})
    assert detail.status_code == 200
    assert detail.json()["status"] == "SUCCESS", "the worst documented answer: a deleted task reads SUCCESS"
    assert listed(emulator_api, task_id) is None
    for api in (routes.SHOW_TASK_STATS, routes.LIST_TASK_LOGS):
        assert code(emulator_api.call(api, path_params={"task_id": task_id})) == (400, "DCS.4133")


def test_a_full_migration_is_released_after_its_success(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.set_config(full_seconds=0.3, release_after_seconds=0.6)
    task_id = emulator_api.create_ready_task("released")
    assert configure(emulator_api, task_id, body()).status_code == 200
    success = emulator_api.wait_for_status(task_id, "SUCCESS", timeout=5)
    assert success["released_at"] == ""
    final = emulator_api.call(routes.SHOW_TASK_STATS, path_params={"task_id": task_id}).json()
    seen_success = time.monotonic()
    released = emulator_api.wait_for_status(task_id, "RELEASED", timeout=5)
    assert time.monotonic() - seen_success < 1.5
    assert released["released_at"] > success["updated_at"]
    # The stats keep the final figures (released_stats: kept, the default); the list shows it.
    after = emulator_api.call(routes.SHOW_TASK_STATS, path_params={"task_id": task_id})
    assert after.status_code == 200
    assert after.json() == final
    item = listed(emulator_api, task_id)
    assert item is not None
    assert item["status"] == "RELEASED"
    assert item["released_at"]
    logs = emulator_api.call(routes.LIST_TASK_LOGS, path_params={"task_id": task_id}, query={"limit": 100})
    assert "Migration ECS released" in [entry["message"] for entry in logs.json()["migration_logs"]]
    # A released task is configured no more.
    assert code(configure(emulator_api, task_id, body())) == (400, "DCS.4957")
    # released_stats: gone
    emulator_admin.set_config(released_stats="gone")
    gone = emulator_api.call(routes.SHOW_TASK_STATS, path_params={"task_id": task_id})
    assert code(gone) == (400, "DCS.4133")


def test_an_incremental_migration_is_not_released(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.set_config(full_seconds=0.2, release_after_seconds=0.1, stop_seconds=0.1)
    task_id = emulator_api.create_ready_task("incremental")
    configure(emulator_api, task_id, body("incremental_migration"))
    emulator_api.wait_for_status(task_id, "INCRMIGEATING", timeout=5)
    emulator_api.call(routes.STOP_TASK, path_params={"task_id": task_id})
    emulator_api.wait_for_status(task_id, "TERMINATED", timeout=5)
    time.sleep(0.3)
    assert emulator_api.detail(task_id)["status"] == "TERMINATED"


def test_release_with_a_fake_clock() -> None:
    now = [1_000.0]
    store = TaskStore(
        EmulatorConfig(create_seconds=1, full_seconds=10, release_after_seconds=30), clock=lambda: now[0]
    )
    task_id = store.create_online_task(
        {"name": "t", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}
    )["instance_id"]
    now[0] += 1
    store.configure(task_id, body())
    now[0] += 10
    assert store.detail(task_id)["status"] == "SUCCESS"
    now[0] += 29.9
    assert store.detail(task_id)["status"] == "SUCCESS"
    now[0] += 0.2
    detail = store.detail(task_id)
    assert detail["status"] == "RELEASED"
    assert detail["released_at"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_041)))


# ------------------------------------------------------------------------------------------------
# Configure: once, in RUNNING
# ------------------------------------------------------------------------------------------------


def test_of_two_configures_at_the_same_moment_exactly_one_takes_effect(
    emulator: EmulatorProcess, emulator_api: EmulatorApiClient
) -> None:
    task_id = emulator_api.create_ready_task("race")
    bodies = [body(bandwidth_limit_mb=str(10 * (i + 1))) for i in range(2)]
    prepared = [
        emulator_api.prepare(routes.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=data)
        for data in bodies
    ]
    barrier = threading.Barrier(len(prepared))
    answers: list[Any] = [None] * len(prepared)

    def send(index: int) -> None:
        client = emulator.api()  # a connection of its own
        barrier.wait()
        answers[index] = client.send(prepared[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(prepared))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 400], [answer.text for answer in answers]
    [winner] = [i for i, answer in enumerate(answers) if answer.status_code == 200]
    [loser] = [answer for answer in answers if answer.status_code == 400]
    assert loser.json()["error_code"] == "DCS.4957"
    detail = emulator_api.detail(task_id)
    assert detail["bandwidth_limit_mb"] == bodies[winner]["bandwidth_limit_mb"]
    logs = emulator_api.call(routes.LIST_TASK_LOGS, path_params={"task_id": task_id}, query={"limit": 100})
    configured = [e for e in logs.json()["migration_logs"] if e["log_code"] == "migration.configured"]
    assert len(configured) == 1


@pytest.mark.parametrize("status", ["CREATING", "FULLMIGRATING", "INCRMIGEATING", "SUCCESS", "TERMINATED"])
def test_configure_is_refused_in_every_status_but_running(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin, status: str
) -> None:
    emulator_admin.set_config(full_seconds=0.6, stop_seconds=0.1, create_seconds=0.2)
    if status == "CREATING":
        created = emulator_api.call(
            routes.CREATE_ONLINE_TASK,
            body={"name": "c", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"},
        )
        task_id = created.json()["instance_id"]
    else:
        task_id = emulator_api.create_ready_task("again")
        method = "full_amount_migration" if status == "SUCCESS" else "incremental_migration"
        assert configure(emulator_api, task_id, body(method)).status_code == 200
        if status != "FULLMIGRATING":
            emulator_api.wait_for_status(task_id, "SUCCESS" if status == "SUCCESS" else "INCRMIGEATING")
        if status == "TERMINATED":
            emulator_api.call(routes.STOP_TASK, path_params={"task_id": task_id})
            emulator_api.wait_for_status(task_id, "TERMINATED")
    assert emulator_api.detail(task_id)["status"] == status
    refused = configure(emulator_api, task_id, body("incremental_migration"))
    assert code(refused) == (400, "DCS.4957")
    assert status in refused.json()["error_msg"]


# ------------------------------------------------------------------------------------------------
# DCS instances
# ------------------------------------------------------------------------------------------------


def test_an_unknown_instance_id_is_404_dcs_3022(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    unknown = str(uuid.uuid4())
    task_id = emulator_api.create_ready_task("unknown")
    for side in ("source_instance", "target_instance"):
        refused = configure(emulator_api, task_id, body(**{side: {"id": unknown}}))
        assert code(refused) == (404, "DCS.3022"), side
        assert unknown in refused.json()["error_msg"]
    assert emulator_api.detail(task_id)["status"] == "RUNNING", "nothing was configured"
    params = {"instance_id": unknown}
    whitelist = {"enable_whitelist": True, "whitelist": [{"group_name": "g", "ip_list": ["10.0.0.1"]}]}
    for api, data in (
        (routes.SHOW_WHITELIST, None),
        (routes.UPDATE_WHITELIST, whitelist),
        (routes.UPDATE_WHITELIST_ASYNC, whitelist),
    ):
        assert code(emulator_api.call(api, path_params=params, body=data)) == (404, "DCS.3022"), api.name
    backup = {
        "task_name": "import",
        "migration_type": "backupfile_import",
        "migration_method": "full_amount_migration",
        "backup_files": {"file_source": "backup_record", "backup_id": "b-1"},
        "target_instance": {"id": unknown},
    }
    assert code(emulator_api.call(routes.CREATE_BACKUP_IMPORT_TASK, body=backup)) == (404, "DCS.3022")

    # Registered through the admin API, the instance is known (until the next reset).
    [added] = emulator_admin.add_instance(unknown)
    assert added["id"] == unknown
    assert emulator_api.call(routes.SHOW_WHITELIST, path_params=params).status_code == 200
    assert configure(emulator_api, task_id, body(target_instance={"id": unknown})).status_code == 200
    emulator_admin.reset()
    assert unknown not in [item["id"] for item in emulator_admin.instances()]
    # The startup instances (tests/conftest.py) survive the reset.
    assert "dcs-instance-1" in [item["id"] for item in emulator_admin.instances()]
    assert code(emulator_api.call(routes.SHOW_WHITELIST, path_params=params)) == (404, "DCS.3022")


def _switchable(
    api: EmulatorApiClient, admin: EmulatorAdmin, source: dict[str, str], target: dict[str, str]
) -> str:
    admin.set_config(full_seconds=0.2, exchange_seconds=0.2)
    task_id = api.create_ready_task("switch")
    sides = {"source_instance": source, "target_instance": target}
    assert configure(api, task_id, body("incremental_migration", **sides)).status_code == 200
    api.wait_for_status(task_id, "INCRMIGEATING", timeout=5)
    return task_id


def exchange(api: EmulatorApiClient, task_id: str) -> Any:
    return api.call(
        routes.EXCHANGE_IP,
        path_params={"task_id": task_id},
        body={"exchanged_ip": ["192.168.0.10"], "is_exchange_domain": False},
    )


def test_the_ip_switch_works_between_registered_instances(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_instance("dcs-a", "dcs-b", addrs="10.0.0.5:6379")
    task_id = _switchable(emulator_api, emulator_admin, {"id": "dcs-a"}, {"id": "dcs-b"})
    detail = emulator_api.detail(task_id)
    assert (detail["source_instance"]["ip"], detail["source_instance"]["port"]) == ("10.0.0.5", "6379")
    assert exchange(emulator_api, task_id).status_code == 204
    time.sleep(0.3)
    assert emulator_api.detail(task_id)["task_status"] == "EXCHANGE_SUCCESS"
    assert emulator_api.call(routes.ROLLBACK_IP, path_params={"task_id": task_id}).status_code == 204
    # Whitelists of registered instances work as before.
    group = {"enable_whitelist": True, "whitelist": [{"group_name": "ecs", "ip_list": ["192.168.0.5"]}]}
    params = {"instance_id": "dcs-a"}
    assert emulator_api.call(routes.UPDATE_WHITELIST, path_params=params, body=group).status_code == 204
    assert (
        emulator_api.call(routes.SHOW_WHITELIST, path_params=params).json()["whitelist"] == group["whitelist"]
    )


def test_the_ip_switch_is_refused_for_what_the_cloud_cannot_switch(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_instance("dcs-a", "dcs-c")
    emulator_admin.add_instance("dcs-other-port", addrs="10.0.0.6:6380")
    self_hosted = _switchable(emulator_api, emulator_admin, {"addrs": "10.0.0.9:6379"}, {"id": "dcs-a"})
    refused = exchange(emulator_api, self_hosted)
    assert code(refused) == (400, "DCS.4957")
    assert "self-hosted" in refused.json()["error_msg"]
    ports = _switchable(emulator_api, emulator_admin, {"id": "dcs-a"}, {"id": "dcs-other-port"})
    refused = exchange(emulator_api, ports)
    assert code(refused) == (400, "DCS.4957")
    assert "port" in refused.json()["error_msg"]
    # An instance deleted in the cloud while the migration runs.
    gone = _switchable(emulator_api, emulator_admin, {"id": "dcs-a"}, {"id": "dcs-c"})
    emulator_admin.remove_instance("dcs-c")
    assert code(exchange(emulator_api, gone)) == (404, "DCS.3022")


def test_instances_from_the_command_line_and_their_checks() -> None:
    assert Instance.parse("dcs-1=10.0.0.1:6380") == Instance("dcs-1", "10.0.0.1", 6380)
    assert Instance.parse("dcs-2").port == 6379
    for bad in ("", "a b", "x=10.0.0.1", "x=10.0.0.1:0", "../x"):
        with pytest.raises(ValueError, match=r"."):
            Instance.parse(bad)
    store = TaskStore(EmulatorConfig(), instances=[Instance.parse("dcs-1")])
    assert store.show_whitelist("dcs-1")["instance_id"] == "dcs-1"
    with pytest.raises(EmulatorError) as info:
        store.show_whitelist("dcs-2")
    assert (info.value.status, info.value.error_code) == (404, "DCS.3022")


# ------------------------------------------------------------------------------------------------
# Where a failure's reason is
# ------------------------------------------------------------------------------------------------


def test_the_detail_has_the_sdk_models_fields_and_the_reason_is_in_logs_and_list(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    task_id = emulator_api.create_ready_task("fails")
    configure(emulator_api, task_id, body(source_instance={"addrs": "127.0.0.1:1"}))
    detail = emulator_api.wait_for_status(task_id, "MIGRATION_FAILED", timeout=5)
    assert set(detail) == SDK_DETAIL_FIELDS, set(detail) ^ SDK_DETAIL_FIELDS
    assert set(detail["source_instance"]) == SDK_INSTANCE_FIELDS
    assert set(detail["target_instance"]) == SDK_INSTANCE_FIELDS
    reason = "Failed to connect to source redis 127.0.0.1:1: Connection refused"
    assert reason not in str(detail)
    errors = emulator_api.call(
        routes.LIST_TASK_LOGS, path_params={"task_id": task_id}, query={"log_level": "ERROR"}
    ).json()
    assert [entry["message"] for entry in errors["migration_logs"]] == [reason]
    item = listed(emulator_api, task_id)
    assert item is not None
    assert item["error_message"] == reason


# ------------------------------------------------------------------------------------------------
# time_scale
# ------------------------------------------------------------------------------------------------


def _creation_seconds(api: EmulatorApiClient) -> float:
    response = api.call(
        routes.CREATE_ONLINE_TASK,
        body={"name": "t", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"},
    )
    started = time.monotonic()
    api.wait_for_status(response.json()["instance_id"], "RUNNING", timeout=30)
    return time.monotonic() - started


def test_time_scale_multiplies_every_duration_with_a_fake_clock() -> None:
    now = [0.0]
    config = EmulatorConfig(create_seconds=2, full_seconds=10, time_scale=3)
    assert config.seconds("create_seconds") == 6
    assert config.seconds("release_after_seconds") == 30
    store = TaskStore(config, clock=lambda: now[0])
    task_id = store.create_online_task(
        {"name": "t", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}
    )["instance_id"]
    now[0] = 5.9
    assert store.detail(task_id)["status"] == "CREATING"
    now[0] = 6.0
    assert store.detail(task_id)["status"] == "RUNNING"
    store.configure(task_id, body())
    now[0] = 35.9
    assert store.detail(task_id)["status"] == "FULLMIGRATING"
    now[0] = 36.0
    assert store.detail(task_id)["status"] == "SUCCESS"
    with pytest.raises(ValueError, match="time_scale"):
        config.updated({"time_scale": 0})


def test_a_time_scale_of_3_makes_creation_take_3_times_as_long() -> None:
    # --time-scale on the command line (EmulatorProcess passes each config key as a flag).
    with EmulatorProcess(config={**FAST_TIMINGS, "create_seconds": 0.5, "time_scale": 3}) as slow:
        assert slow.admin().config()["time_scale"] == 3.0
        slowed = _creation_seconds(slow.api())
        slow.admin().set_config(time_scale=1)
        normal = _creation_seconds(slow.api())
    assert 1.4 <= slowed < 2.5, slowed
    assert normal < 0.9, normal
    assert 2.0 < slowed / normal < 4.5, (slowed, normal)
