"""Task lifecycle and every endpoint of the emulator, over real sockets."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from huaweicloud_dcs_emulator import routes
from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorApiClient

pytestmark = pytest.mark.integration

CREATE_BODY = {"name": "mig", "vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}
#: A DCS instance of tests/conftest.py's SUITE_INSTANCE_IDS (known to the session emulator).
TARGET_INSTANCE = "5e0c5c3b-7d4e-4b1a-9c0b-1234567890ab"


def configure_body(method: str = "full_amount_migration", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "migration_method": method,
        "resume_mode": "auto",
        "bandwidth_limit_mb": "100",
        "source_instance": {"addrs": "127.0.0.1:6379", "password": "source-secret"},
        "target_instance": {"id": TARGET_INSTANCE, "password": "target-secret"},
    }
    body.update(overrides)
    return body


def create_task(api: EmulatorApiClient, name: str = "mig") -> str:
    response = api.call(routes.CREATE_ONLINE_TASK, body=dict(CREATE_BODY, name=name))
    assert response.status_code == 200, response.text
    task_id: str = response.json()["instance_id"]
    return task_id


def running_task(api: EmulatorApiClient, name: str = "mig") -> str:
    task_id = create_task(api, name)
    api.wait_for_status(task_id, "RUNNING", timeout=5)
    return task_id


def configure(api: EmulatorApiClient, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.call(routes.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def stats(api: EmulatorApiClient, task_id: str) -> dict[str, Any]:
    response = api.call(routes.SHOW_TASK_STATS, path_params={"task_id": task_id})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def error_code(response: Any) -> str:
    code: str = response.json()["error_code"]
    return code


def test_create_job_and_creating_phase(emulator_api: EmulatorApiClient) -> None:
    response = emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY)
    body = response.json()
    assert set(body) == {"instance_id", "job_id"}
    task_id, job_id = body["instance_id"], body["job_id"]
    assert emulator_api.detail(task_id)["status"] == "CREATING"
    job = emulator_api.call(routes.SHOW_JOB, path_params={"job_id": job_id}).json()
    assert job["status"] in ("INIT", "RUNNING")
    assert job["begin_time"].isdigit()
    assert job["end_time"] == ""
    # Configuring while CREATING is refused.
    early = emulator_api.call(
        routes.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=configure_body()
    )
    assert early.status_code == 400
    assert error_code(early) == "DCS.4957"
    emulator_api.wait_for_status(task_id, "RUNNING")
    job = emulator_api.call(routes.SHOW_JOB, path_params={"job_id": job_id}).json()
    assert job["status"] == "SUCCESS"
    assert int(job["end_time"]) >= int(job["begin_time"])


def test_full_migration_lifecycle(emulator_api: EmulatorApiClient) -> None:
    task_id = running_task(emulator_api)
    answer = configure(emulator_api, task_id, configure_body())
    assert answer == {"id": task_id, "name": "mig", "status": "FULLMIGRATING", "error": ""}

    first = stats(emulator_api, task_id)
    assert first["is_migrating"] is True
    # A mix of numbers and numeric strings, as the real API/SDK give.
    assert isinstance(first["full_migration_progress"], int)
    assert isinstance(first["offset"], str)
    assert isinstance(first["source_dbsize"], int)
    assert isinstance(first["target_dbsize"], str)
    assert isinstance(first["target_input_kbps"], str)
    assert float(first["target_input_kbps"]) > 0
    assert isinstance(first["target_ops"], int)
    time.sleep(0.5)
    second = stats(emulator_api, task_id)
    assert second["full_migration_progress"] > first["full_migration_progress"]
    assert int(second["target_dbsize"]) > int(first["target_dbsize"])

    detail = emulator_api.wait_for_status(task_id, "SUCCESS")
    # The real API returns Redis passwords in clear text; the emulator does too.
    assert detail["source_instance"]["password"] == "source-secret"
    assert detail["target_instance"]["password"] == "target-secret"
    assert detail["migration_method"] == "full_amount_migration"
    assert detail["bandwidth_limit_mb"] == "100"
    for key in (
        "ecs_tenant_private_ip",
        "tenant_vpc_id",
        "created_at",
        "updated_at",
        "resume_mode",
        "version",
    ):
        assert detail[key], key
    final = stats(emulator_api, task_id)
    assert final["full_migration_progress"] == 100
    assert final["is_migrating"] is False
    assert int(final["target_dbsize"]) == final["source_dbsize"]

    logs = emulator_api.call(
        routes.LIST_TASK_LOGS, path_params={"task_id": task_id}, query={"limit": 100}
    ).json()
    messages = [entry["message"] for entry in logs["migration_logs"]]
    assert logs["log_num"] == len(messages) >= 4
    assert any("Full migration finished" in m for m in messages)
    assert not any("source-secret" in m for m in messages)
    page = emulator_api.call(
        routes.LIST_TASK_LOGS, path_params={"task_id": task_id}, query={"offset": 1, "limit": 2}
    ).json()
    assert [e["message"] for e in page["migration_logs"]] == messages[1:3]


def test_incremental_migration_exchange_stop_restart(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.set_config(full_seconds=0.6)
    # The IP switch needs DCS instances on both sides now (it refused nothing before): the source
    # is a DCS instance registered for this test, not self-hosted Redis.
    emulator_admin.add_instance("dcs-source-for-the-switch")
    task_id = running_task(emulator_api)
    configure(
        emulator_api,
        task_id,
        configure_body("incremental_migration", source_instance={"id": "dcs-source-for-the-switch"}),
    )
    emulator_api.wait_for_status(task_id, "INCRMIGEATING")
    lagging = stats(emulator_api, task_id)
    assert lagging["is_migrating"] is True
    assert lagging["full_migration_progress"] == 100
    deadline = time.monotonic() + 5
    while stats(emulator_api, task_id)["offset"] != "0":
        assert time.monotonic() < deadline, "offset never drained"
        time.sleep(0.1)
    time.sleep(0.2)
    assert stats(emulator_api, task_id)["offset"] == "0"
    assert emulator_api.detail(task_id)["status"] == "INCRMIGEATING"

    # IP switch and rollback.
    exchange = emulator_api.call(
        routes.EXCHANGE_IP,
        path_params={"task_id": task_id},
        body={"exchanged_ip": ["192.168.0.10"], "is_exchange_domain": False},
    )
    assert exchange.status_code == 204
    assert emulator_api.detail(task_id)["task_status"] == "EXCHANGING"
    again = emulator_api.call(
        routes.EXCHANGE_IP,
        path_params={"task_id": task_id},
        body={"exchanged_ip": ["192.168.0.10"], "is_exchange_domain": False},
    )
    assert again.status_code == 400
    time.sleep(0.4)
    assert emulator_api.detail(task_id)["task_status"] == "EXCHANGE_SUCCESS"
    assert emulator_api.call(routes.ROLLBACK_IP, path_params={"task_id": task_id}).status_code == 204
    time.sleep(0.4)
    assert emulator_api.detail(task_id)["task_status"] == "ROLLBACK_SUCCESS"

    # Stop.
    stopped = emulator_api.call(routes.STOP_TASK, path_params={"task_id": task_id})
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "TERMINATING"
    assert stopped.json()["task_id"] == task_id
    emulator_api.wait_for_status(task_id, "TERMINATED")
    assert stats(emulator_api, task_id)["is_migrating"] is False
    twice = emulator_api.call(routes.STOP_TASK, path_params={"task_id": task_id})
    assert twice.status_code == 400
    assert error_code(twice) == "DCS.4957"

    # Restart.
    restart = emulator_api.call(routes.BATCH_RESTART_TASKS, body={"migration_tasks": [task_id]}).json()
    assert restart["migration_tasks"][0]["result"] == "success"
    assert emulator_api.detail(task_id)["status"] == "FULLMIGRATING"
    emulator_api.wait_for_status(task_id, "INCRMIGEATING")
    bad = emulator_api.call(routes.BATCH_RESTART_TASKS, body={"migration_tasks": [task_id]}).json()
    assert bad["migration_tasks"][0]["result"] == "failed"
    assert bad["migration_tasks"][0]["error_code"] == "DCS.4957"


def test_sync_stop_and_batch_stop(emulator_api: EmulatorApiClient) -> None:
    first, second = running_task(emulator_api, "a"), running_task(emulator_api, "b")
    refused = emulator_api.call(routes.STOP_TASK_SYNC, path_params={"task_id": first})
    assert refused.status_code == 400
    assert error_code(refused) == "DCS.4957"
    configure(emulator_api, first, configure_body("incremental_migration"))
    configure(emulator_api, second, configure_body("incremental_migration"))
    response = emulator_api.call(routes.STOP_TASK_SYNC, path_params={"task_id": first})
    assert response.status_code == 204
    assert response.content == b""
    assert emulator_api.detail(first)["status"] == "TERMINATING"
    unknown = str(uuid.uuid4())
    batch = emulator_api.call(
        routes.BATCH_STOP_TASKS, body={"migration_tasks": [second, unknown, first]}
    ).json()
    results = {item["task_id"]: item for item in batch["migration_tasks"]}
    assert results[second]["result"] == "success"
    assert results[unknown]["result"] == "failed"
    assert results[unknown]["error_code"] == "DCS.4133"
    assert results[first]["result"] == "failed"
    assert results[first]["error_code"] == "DCS.4957"
    emulator_api.wait_for_status(second, "TERMINATED")


def test_delete(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    task_id = running_task(emulator_api, "to-delete")
    keep = create_task(emulator_api, "keep")
    configure(emulator_api, task_id, configure_body("incremental_migration"))
    refused = emulator_api.call(routes.DELETE_TASKS, body={"task_id_list": [task_id]})
    assert refused.status_code == 400
    assert error_code(refused) == "DCS.4957"
    emulator_api.call(routes.STOP_TASK, path_params={"task_id": task_id})
    emulator_api.wait_for_status(task_id, "TERMINATED")
    deleted = emulator_api.call(routes.DELETE_TASKS, body={"task_id_list": [task_id]})
    assert deleted.status_code == 200
    assert deleted.json() == {"task_id_list": [task_id]}

    # The default is the worst documented case now (it was HTTP 400 DCS.4133): the detail of the
    # deleted task still answers 200 with status SUCCESS, while the list no longer has it.
    assert emulator_api.detail(task_id)["status"] == "SUCCESS"
    for gone in (routes.SHOW_TASK_STATS, routes.LIST_TASK_LOGS):
        answer = emulator_api.call(gone, path_params={"task_id": task_id})
        assert (answer.status_code, error_code(answer)) == (400, "DCS.4133"), gone
    listing = emulator_api.call(routes.LIST_TASKS).json()
    assert [t["task_id"] for t in listing["migration_tasks"]] == [keep]
    assert listing["count"] == 1
    again = emulator_api.call(routes.DELETE_TASKS, body={"task_id_list": [task_id]})
    assert error_code(again) == "DCS.4133"

    # The other documented answers.
    emulator_admin.set_config(deleted_detail="DELETED")
    assert emulator_api.detail(task_id)["status"] == "DELETED"
    emulator_admin.set_config(deleted_detail="not_found")
    detail = emulator_api.call(routes.SHOW_TASK, path_params={"task_id": task_id})
    assert (detail.status_code, error_code(detail)) == (400, "DCS.4133")


def test_list_paging_and_filter(emulator_api: EmulatorApiClient) -> None:
    ids = [create_task(emulator_api, f"task-{i}") for i in range(5)]
    create_task(emulator_api, "other")
    seen: list[str] = []
    offset = 0
    while True:
        page = emulator_api.call(
            routes.LIST_TASKS, query={"offset": offset, "limit": 2, "name": "task-"}
        ).json()
        assert page["count"] == 5
        seen += [t["task_id"] for t in page["migration_tasks"]]
        offset += 2
        if offset >= page["count"]:
            break
    assert seen == list(reversed(ids)), "newest first, each task once"
    default = emulator_api.call(routes.LIST_TASKS).json()
    assert default["count"] == 6
    item = default["migration_tasks"][0]
    for key in ("task_id", "task_name", "status", "created_at", "error_message", "migration_type"):
        assert key in item
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}):
        response = emulator_api.call(routes.LIST_TASKS, query=bad)
        assert response.status_code == 400, bad
    assert emulator_api.call(routes.LIST_TASKS, query={"limit": 1000}).status_code == 200


@pytest.mark.parametrize(
    ("api", "body"),
    [
        (routes.SHOW_TASK, None),
        (routes.SHOW_TASK_STATS, None),
        (routes.LIST_TASK_LOGS, None),
        (routes.STOP_TASK, None),
        (routes.STOP_TASK_SYNC, None),
        (routes.CONFIGURE_ONLINE_TASK, configure_body()),
        (routes.UPDATE_RESUME_MODE, {"resume_mode": "manual"}),
        (routes.EXCHANGE_IP, {"exchanged_ip": ["10.0.0.1"], "is_exchange_domain": False}),
        (routes.ROLLBACK_IP, None),
    ],
)
def test_unknown_task_is_400_dcs_4133(emulator_api: EmulatorApiClient, api: routes.Route, body: Any) -> None:
    response = emulator_api.call(api, path_params={"task_id": str(uuid.uuid4())}, body=body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "DCS.4133"
    assert response.json()["error_ext_msg"] is None


def test_malformed_task_id_is_dcs_4070(emulator_api: EmulatorApiClient) -> None:
    response = emulator_api.call(routes.SHOW_TASK, path_params={"task_id": "not-a-task"})
    assert response.status_code == 400
    assert error_code(response) == "DCS.4070"


def test_request_validation(emulator_api: EmulatorApiClient) -> None:
    missing = emulator_api.call(
        routes.CREATE_ONLINE_TASK, body={"name": "x", "subnet_id": "s", "security_group_id": "g"}
    )
    assert missing.status_code == 400
    assert error_code(missing) == "DCS.4013"
    assert "vpc_id" in missing.json()["error_msg"]
    no_name = emulator_api.call(routes.CREATE_ONLINE_TASK, body=dict(CREATE_BODY, name=""))
    assert "name is required" in no_name.json()["error_msg"]
    not_json = emulator_api.call(routes.CREATE_ONLINE_TASK, raw_body=b"{not json")
    assert error_code(not_json) == "DCS.4005"
    empty = emulator_api.call(routes.CREATE_ONLINE_TASK)
    assert error_code(empty) == "DCS.4004"

    task_id = running_task(emulator_api)
    cases = [
        configure_body(bandwidth_limit_mb="0"),
        configure_body(bandwidth_limit_mb=10241),
        configure_body(bandwidth_limit_mb="fast"),
        configure_body(migration_method="copy"),
        configure_body(resume_mode=None),
        configure_body(source_instance={"id": "x", "addrs": "127.0.0.1:6379"}),
        configure_body(target_instance={"id": None, "addrs": None}),
        configure_body(source_instance={"addrs": "127.0.0.1"}),
        configure_body(target_instance={"addrs": "127.0.0.1:6379"}),
    ]
    for body in cases:
        response = emulator_api.call(
            routes.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=body
        )
        assert response.status_code == 400, body
        assert response.json()["error_msg"], body
    assert emulator_api.detail(task_id)["status"] == "RUNNING"
    ok = configure(emulator_api, task_id, configure_body(bandwidth_limit_mb=10240))
    assert ok["status"] == "FULLMIGRATING"


def test_configure_is_refused_outside_running(emulator_api: EmulatorApiClient) -> None:
    # A task is configured once now: a second configure (it used to update the bandwidth and the
    # resume mode of a migrating task with the same method and sides) is refused, so that two
    # configure calls cannot both take effect.
    task_id = running_task(emulator_api)
    configure(emulator_api, task_id, configure_body("incremental_migration"))
    same = configure_body("incremental_migration", bandwidth_limit_mb=50, resume_mode="manual")
    response = emulator_api.call(routes.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=same)
    assert response.status_code == 400
    assert error_code(response) == "DCS.4957"
    assert "RUNNING" in response.json()["error_msg"]
    detail = emulator_api.detail(task_id)
    assert detail["bandwidth_limit_mb"] == "100"
    assert detail["resume_mode"] == "auto"


def test_resume_mode(emulator_api: EmulatorApiClient) -> None:
    task_id = running_task(emulator_api)
    response = emulator_api.call(
        routes.UPDATE_RESUME_MODE, path_params={"task_id": task_id}, body={"resume_mode": "manual"}
    )
    assert response.status_code == 200
    assert response.json() == {}
    assert emulator_api.detail(task_id)["resume_mode"] == "manual"
    bad = emulator_api.call(
        routes.UPDATE_RESUME_MODE, path_params={"task_id": task_id}, body={"resume_mode": "x"}
    )
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("side", "expected"),
    [
        (
            {"source_instance": {"addrs": "127.0.0.1:1"}},
            "Failed to connect to source redis 127.0.0.1:1: Connection refused",
        ),
        (
            {"target_instance": {"addrs": "127.0.0.1:6380", "password": "wrong-password"}},
            "Failed to authenticate to target",
        ),
    ],
)
def test_failing_migration(emulator_api: EmulatorApiClient, side: dict[str, Any], expected: str) -> None:
    task_id = running_task(emulator_api)
    configure(emulator_api, task_id, configure_body(**side))
    detail = emulator_api.wait_for_status(task_id, "MIGRATION_FAILED", timeout=5)
    # The reason is not in the detail (the official SDK's ShowMigrationTaskResponse has no error
    # field): it is in the list's error_message and the ERROR log entries.
    assert "error" not in detail
    listing = emulator_api.call(routes.LIST_TASKS).json()
    assert expected in listing["migration_tasks"][0]["error_message"]
    errors = emulator_api.call(
        routes.LIST_TASK_LOGS, path_params={"task_id": task_id}, query={"log_level": "ERROR"}
    ).json()
    assert errors["log_num"] == 1
    assert expected in errors["migration_logs"][0]["message"]
    assert errors["migration_logs"][0]["log_level"] == "ERROR"
    # A failed task can be restarted and deleted.
    restart = emulator_api.call(routes.BATCH_RESTART_TASKS, body={"migration_tasks": [task_id]}).json()
    assert restart["migration_tasks"][0]["result"] == "success"


def test_admin_fail_task(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    task_id = running_task(emulator_api)
    configure(emulator_api, task_id, configure_body("incremental_migration"))
    detail = emulator_admin.fail_task(task_id, "source redis went away")
    assert detail["status"] == "MIGRATION_FAILED"
    # The admin answer holds no Redis password (the API's detail does, as the real one does).
    assert detail["source_instance"]["password"] == "***"
    assert detail["target_instance"]["password"] == "***"
    assert "source-secret" not in str(detail)
    errors = emulator_api.call(
        routes.LIST_TASK_LOGS, path_params={"task_id": task_id}, query={"log_level": "ERROR"}
    ).json()
    assert [entry["message"] for entry in errors["migration_logs"]] == ["source redis went away"]
    listing = emulator_api.call(routes.LIST_TASKS).json()
    assert listing["migration_tasks"][0]["error_message"] == "source redis went away"
    creating = emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY).json()
    emulator_admin.fail_task(creating["instance_id"], "no ECS quota")
    assert emulator_api.detail(creating["instance_id"])["status"] == "FAILED"
    job = emulator_api.call(routes.SHOW_JOB, path_params={"job_id": creating["job_id"]}).json()
    assert job["status"] == "FAIL"
    assert job["fail_reason"] == "no ECS quota"


def test_whitelist(emulator_api: EmulatorApiClient) -> None:
    instance = "0d5f4f4e-1111-2222-3333-444455556666"
    params = {"instance_id": instance}
    initial = emulator_api.call(routes.SHOW_WHITELIST, path_params=params).json()
    assert initial == {"instance_id": instance, "enable_whitelist": False, "whitelist": []}
    body = {
        "enable_whitelist": True,
        "whitelist": [{"group_name": "ecs", "ip_list": ["192.168.0.5", "10.0.0.0/24"]}],
    }
    assert emulator_api.call(routes.UPDATE_WHITELIST, path_params=params, body=body).status_code == 204
    shown = emulator_api.call(routes.SHOW_WHITELIST, path_params=params).json()
    assert shown["enable_whitelist"] is True
    assert shown["whitelist"] == body["whitelist"]

    too_many_groups = {
        "enable_whitelist": True,
        "whitelist": [{"group_name": f"g{i}", "ip_list": ["1.1.1.1"]} for i in range(5)],
    }
    too_many_ips = {
        "enable_whitelist": True,
        "whitelist": [{"group_name": "g", "ip_list": [f"10.0.0.{i}" for i in range(21)]}],
    }
    everyone = {"enable_whitelist": True, "whitelist": [{"group_name": "g", "ip_list": ["0.0.0.0/0"]}]}
    bad_bodies: list[dict[str, Any]] = [too_many_groups, too_many_ips, everyone, {"whitelist": []}]
    for bad in bad_bodies:
        response = emulator_api.call(routes.UPDATE_WHITELIST, path_params=params, body=bad)
        assert response.status_code == 400, bad

    later = {"enable_whitelist": True, "whitelist": [{"group_name": "migration", "ip_list": ["192.168.1.9"]}]}
    job = emulator_api.call(routes.UPDATE_WHITELIST_ASYNC, path_params=params, body=later).json()
    assert set(job) == {"job_id"}
    assert (
        emulator_api.call(routes.SHOW_WHITELIST, path_params=params).json()["whitelist"] == body["whitelist"]
    )
    deadline = time.monotonic() + 5
    while (
        emulator_api.call(routes.SHOW_JOB, path_params={"job_id": job["job_id"]}).json()["status"]
        != "SUCCESS"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (
        emulator_api.call(routes.SHOW_WHITELIST, path_params=params).json()["whitelist"] == later["whitelist"]
    )


def test_backup_import_task(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.set_config(full_seconds=0.4)
    body = {
        "task_name": "import",
        "migration_type": "backupfile_import",
        "migration_method": "full_amount_migration",
        "backup_files": {
            "file_source": "self_build_obs",
            "bucket_name": "b",
            "files": [{"file_name": "dump.rdb"}],
        },
        "target_instance": {"id": TARGET_INSTANCE, "password": "p"},
    }
    response = emulator_api.call(routes.CREATE_BACKUP_IMPORT_TASK, body=body)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["status"] == "MIGRATING"
    assert stats(emulator_api, created["id"])["is_migrating"] is True
    detail = emulator_api.wait_for_status(created["id"], "SUCCESS")
    assert detail["migration_type"] == "backupfile_import"
    assert detail["backup_files"]["bucket_name"] == "b"
    bad = emulator_api.call(
        routes.CREATE_BACKUP_IMPORT_TASK, body=dict(body, migration_type="online_migration")
    )
    assert bad.status_code == 400


def test_unknown_job(emulator_api: EmulatorApiClient) -> None:
    response = emulator_api.call(routes.SHOW_JOB, path_params={"job_id": str(uuid.uuid4())})
    assert response.status_code == 404
    assert response.json()["error_code"] == "DCS.4044"


@pytest.mark.parametrize("api", routes.ROUTES, ids=lambda api: api.name)
def test_every_endpoint_is_served(emulator_api: EmulatorApiClient, api: routes.Route) -> None:
    params = {"task_id": str(uuid.uuid4()), "job_id": str(uuid.uuid4()), "instance_id": str(uuid.uuid4())}
    needed = {k: v for k, v in params.items() if "{" + k + "}" in api.path}
    response = emulator_api.call(
        api, path_params=needed, body={} if api.method in ("POST", "PUT", "DELETE") else None
    )
    assert response.status_code != 401, response.text
    if response.status_code >= 400:
        assert response.json()["error_code"] != "APIGW.0101"
