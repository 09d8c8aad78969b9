"""Fault injection, request log and the rest of the admin API, over real sockets."""

from __future__ import annotations

import time

import pytest
import requests

from huaweicloud_dcs_provider.emulator.testing import EmulatorAdmin, EmulatorApiClient, EmulatorProcess
from huaweicloud_dcs_provider.endpoints import Api

pytestmark = pytest.mark.integration

CREATE_BODY = {"name": "mig", "vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}


def test_status_fault_with_count(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    rule = emulator_admin.add_fault(method="GET", path=r"/migration-tasks$", status=503, count=2)
    assert rule["remaining"] == 2
    codes = [emulator_api.call(Api.LIST_TASKS).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    failed = emulator_api.call(Api.LIST_TASKS)
    assert failed.status_code == 200
    log = emulator_admin.requests(path=r"/migration-tasks$")
    assert [entry["status"] for entry in log] == [503, 503, 200, 200]
    assert [entry["fault"] for entry in log] == ["status", "status", None, None]
    assert log[0]["error_code"] == "DCS.5000"
    assert emulator_admin.faults() == [], "rule expired after count requests"


def test_status_fault_body_and_retry_after(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(status=429, retry_after=2)
    throttled = emulator_api.call(Api.LIST_TASKS)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error_code"] == "APIGW.0308"
    assert "X-Request-Id" in throttled.headers

    emulator_admin.add_fault(status=400, error_code="DCS.4017", error_msg="busy")
    busy = emulator_api.call(Api.LIST_TASKS)
    assert busy.status_code == 400
    assert busy.json() == {"error_code": "DCS.4017", "error_msg": "busy", "error_ext_msg": None}

    emulator_admin.add_fault(status=502, body="<html><body>Bad Gateway</body></html>")
    html = emulator_api.call(Api.LIST_TASKS)
    assert html.status_code == 502
    assert html.headers["Content-Type"].startswith("text/html")


def test_fault_matching_by_method_and_path(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(method="POST", path=r"/migration/instance$", status=500, count=None)
    assert emulator_api.call(Api.LIST_TASKS).status_code == 200
    assert emulator_api.call(Api.CREATE_ONLINE_TASK, body=CREATE_BODY).status_code == 500
    assert emulator_api.call(Api.CREATE_ONLINE_TASK, body=CREATE_BODY).status_code == 500
    [rule] = emulator_admin.faults()
    assert rule["hits"] == 2
    assert rule["remaining"] is None
    emulator_admin.clear_faults()
    assert emulator_api.call(Api.CREATE_ONLINE_TASK, body=CREATE_BODY).status_code == 200
    assert emulator_api.call(Api.LIST_TASKS).json()["count"] == 1, "faulted creates had no side effect"


def test_drop_before_has_no_side_effect(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(action="drop", method="POST")
    with pytest.raises(requests.ConnectionError):
        emulator_api.call(Api.CREATE_ONLINE_TASK, body=CREATE_BODY)
    assert emulator_api.call(Api.LIST_TASKS).json()["count"] == 0
    [entry] = emulator_admin.requests(method="POST")
    assert entry["status"] is None
    assert entry["fault"] == "drop"


def test_drop_after_keeps_the_side_effect(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(action="drop", method="POST", path=r"/migration/instance$", when="after")
    with pytest.raises(requests.ConnectionError):
        emulator_api.call(Api.CREATE_ONLINE_TASK, body=CREATE_BODY)
    listing = emulator_api.call(Api.LIST_TASKS).json()
    assert listing["count"] == 1, "the task was created although the client saw no answer"


def test_latency_after_read_timeout_keeps_the_side_effect(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(action="latency", method="POST", delay=1.0, when="after")
    with pytest.raises(requests.ReadTimeout):
        emulator_api.call(Api.CREATE_ONLINE_TASK, body=CREATE_BODY, timeout=0.3)
    assert emulator_api.call(Api.LIST_TASKS).json()["count"] == 1
    [entry] = emulator_admin.requests(method="POST")
    assert entry["fault"] == "latency"


def test_latency_before(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.add_fault(action="latency", delay=0.3)
    started = time.monotonic()
    response = emulator_api.call(Api.LIST_TASKS)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    emulator_api.call(Api.LIST_TASKS)
    assert time.monotonic() - started < 0.3, "count=1: only the first request was delayed"


def test_latency_then_status(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.add_fault(action="latency", delay=0.2)
    emulator_admin.add_fault(status=504)
    started = time.monotonic()
    assert emulator_api.call(Api.LIST_TASKS).status_code == 504
    assert time.monotonic() - started >= 0.2
    [entry] = emulator_admin.requests()
    assert entry["faults"] == ["latency", "status"]


def test_admin_api_is_never_faulted(emulator: EmulatorProcess, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.add_fault(action="drop", count=None)
    assert emulator_admin.health()["status"] == "ok"
    assert len(emulator_admin.faults()) == 1
    assert emulator_admin.requests() == []


def test_invalid_fault_rules_are_refused(emulator_admin: EmulatorAdmin) -> None:
    for rule in ({"action": "explode"}, {"status": 200}, {"path": "("}, {"count": 0}, {"when": "during"}):
        response = emulator_admin.session.post(f"{emulator_admin.base_url}/_emulator/faults", json=rule)
        assert response.status_code == 400, rule
        assert response.json()["error"]


def test_request_log_and_clear(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    emulator_api.call(Api.LIST_TASKS, query={"limit": 3})
    emulator_api.call(Api.CREATE_ONLINE_TASK, body=CREATE_BODY)
    entries = emulator_admin.requests()
    assert [(e["method"], e["status"]) for e in entries] == [("GET", 200), ("POST", 200)]
    assert entries[0]["query"] == "limit=3"
    assert entries[0]["path"].endswith("/migration-tasks")
    assert entries[0]["time"] > 0
    assert emulator_admin.count_requests(method="POST") == 1
    emulator_admin.clear_requests()
    assert emulator_admin.requests() == []


def test_reset_and_config(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    startup = emulator_admin.config()
    assert startup["create_seconds"] == 0.5
    assert startup["deleted_detail"] == "not_found"
    changed = emulator_admin.set_config(create_seconds=0.1, deleted_detail="DELETED")
    assert changed["create_seconds"] == 0.1
    with pytest.raises(RuntimeError):
        emulator_admin.set_config(create_seconds=-1)
    with pytest.raises(RuntimeError):
        emulator_admin.set_config(unknown_knob=1)
    emulator_api.call(Api.CREATE_ONLINE_TASK, body=CREATE_BODY)
    emulator_admin.add_fault(status=503, count=None)
    emulator_admin.reset()
    assert emulator_admin.config() == startup
    assert emulator_admin.faults() == []
    assert emulator_admin.requests() == []
    assert emulator_api.call(Api.LIST_TASKS).json()["count"] == 0


def test_fail_unknown_task_via_admin(emulator_admin: EmulatorAdmin) -> None:
    with pytest.raises(RuntimeError, match="404"):
        emulator_admin.fail_task("5e0c5c3b-7d4e-4b1a-9c0b-1234567890ab")
