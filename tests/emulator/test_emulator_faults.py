"""Fault injection, request log and the rest of the admin API, over real sockets."""

from __future__ import annotations

import time

import pytest
import requests

from huaweicloud_dcs_emulator import routes
from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorApiClient, EmulatorProcess

pytestmark = pytest.mark.integration

CREATE_BODY = {"name": "mig", "vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}


def test_status_fault_with_count(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    rule = emulator_admin.add_fault(method="GET", path=r"/migration-tasks$", status=503, count=2)
    assert rule["remaining"] == 2
    codes = [emulator_api.call(routes.LIST_TASKS).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    failed = emulator_api.call(routes.LIST_TASKS)
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
    throttled = emulator_api.call(routes.LIST_TASKS)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error_code"] == "APIGW.0308"
    assert "X-Request-Id" in throttled.headers

    emulator_admin.add_fault(status=400, error_code="DCS.4017", error_msg="busy")
    busy = emulator_api.call(routes.LIST_TASKS)
    assert busy.status_code == 400
    assert busy.json() == {"error_code": "DCS.4017", "error_msg": "busy", "error_ext_msg": None}

    emulator_admin.add_fault(status=502, body="<html><body>Bad Gateway</body></html>")
    html = emulator_api.call(routes.LIST_TASKS)
    assert html.status_code == 502
    assert html.headers["Content-Type"].startswith("text/html")


def test_fault_matching_by_method_and_path(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(method="POST", path=r"/migration/instance$", status=500, count=None)
    assert emulator_api.call(routes.LIST_TASKS).status_code == 200
    assert emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY).status_code == 500
    assert emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY).status_code == 500
    [rule] = emulator_admin.faults()
    assert rule["hits"] == 2
    assert rule["remaining"] is None
    emulator_admin.clear_faults()
    assert emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY).status_code == 200
    assert emulator_api.call(routes.LIST_TASKS).json()["count"] == 1, "faulted creates had no side effect"


def test_drop_before_has_no_side_effect(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(action="drop", method="POST")
    with pytest.raises(requests.ConnectionError):
        emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY)
    assert emulator_api.call(routes.LIST_TASKS).json()["count"] == 0
    [entry] = emulator_admin.requests(method="POST")
    assert entry["status"] is None
    assert entry["fault"] == "drop"


def test_drop_after_keeps_the_side_effect(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(action="drop", method="POST", path=r"/migration/instance$", when="after")
    with pytest.raises(requests.ConnectionError):
        emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY)
    listing = emulator_api.call(routes.LIST_TASKS).json()
    assert listing["count"] == 1, "the task was created although the client saw no answer"


def test_latency_after_read_timeout_keeps_the_side_effect(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(action="latency", method="POST", delay=1.0, when="after")
    with pytest.raises(requests.ReadTimeout):
        emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY, timeout=0.3)
    assert emulator_api.call(routes.LIST_TASKS).json()["count"] == 1
    [entry] = emulator_admin.requests(method="POST")
    assert entry["fault"] == "latency"


def test_latency_before(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.add_fault(action="latency", delay=0.3)
    started = time.monotonic()
    response = emulator_api.call(routes.LIST_TASKS)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    emulator_api.call(routes.LIST_TASKS)
    assert time.monotonic() - started < 0.3, "count=1: only the first request was delayed"


def test_latency_then_status(emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.add_fault(action="latency", delay=0.2)
    emulator_admin.add_fault(status=504)
    started = time.monotonic()
    assert emulator_api.call(routes.LIST_TASKS).status_code == 504
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
    emulator_api.call(routes.LIST_TASKS, query={"limit": 3})
    emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY)
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
    # The default is the worst documented case now (was "not_found"): a deleted task's detail
    # still answers, with status SUCCESS. Lower-case spellings are accepted.
    assert startup["deleted_detail"] == "SUCCESS"
    assert startup["released_stats"] == "kept"
    assert startup["release_after_seconds"] == 2.0
    assert startup["time_scale"] == 1.0
    changed = emulator_admin.set_config(create_seconds=0.1, deleted_detail="deleted", time_scale=2)
    assert changed["deleted_detail"] == "DELETED"
    assert changed["create_seconds"] == 0.1
    with pytest.raises(RuntimeError):
        emulator_admin.set_config(create_seconds=-1)
    with pytest.raises(RuntimeError):
        emulator_admin.set_config(unknown_knob=1)
    emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY)
    emulator_admin.add_fault(status=503, count=None)
    emulator_admin.reset()
    assert emulator_admin.config() == startup
    assert emulator_admin.faults() == []
    assert emulator_admin.requests() == []
    assert emulator_api.call(routes.LIST_TASKS).json()["count"] == 0


def test_fail_unknown_task_via_admin(emulator_admin: EmulatorAdmin) -> None:
    with pytest.raises(RuntimeError, match="404"):
        emulator_admin.fail_task("5e0c5c3b-7d4e-4b1a-9c0b-1234567890ab")


def test_probability_fault_is_seeded_and_partial(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    def run(seed: int) -> list[int]:
        emulator_admin.clear_faults()
        emulator_admin.add_fault(
            path=r"/migration-tasks$", status=503, count=None, probability=0.3, seed=seed
        )
        return [emulator_api.call(routes.LIST_TASKS).status_code for _ in range(60)]

    first = run(7)
    assert first == run(7), "the same seed gives the same sequence of faults"
    assert first != run(8)
    failed = first.count(503)
    assert 5 <= failed <= 35, f"about 30% of 60 requests faulted, got {failed}"
    assert set(first) == {200, 503}
    again = run(8)
    [rule] = emulator_admin.faults()
    assert rule["hits"] == again.count(503), "spared requests do not count as hits"
    with pytest.raises(RuntimeError, match="probability"):
        emulator_admin.add_fault(probability=0)


def test_handled_status_tells_whether_the_api_processed_the_request(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(method="POST", path=r"/migration/instance$", status=503)
    emulator_admin.add_fault(method="POST", path=r"/migration/instance$", action="drop", when="after")
    assert emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY).status_code == 503
    with pytest.raises(requests.ConnectionError):
        emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY)
    log = emulator_admin.requests(method="POST", path=r"/migration/instance$")
    assert [(e["status"], e["handled_status"]) for e in log] == [(503, None), (None, 200)]


# ------------------------------------------------------------------------------------------------
# Raw answers, damaged answers, a skewed gateway clock, forced statuses
# ------------------------------------------------------------------------------------------------

LIST = r"/migration-tasks$"


def test_raw_body_with_any_status_and_content_type(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(method="GET", path=LIST, status=200, body="")
    empty = emulator_api.call(routes.LIST_TASKS)
    assert (empty.status_code, empty.content) == (200, b"")
    emulator_admin.add_fault(path=LIST, status=201, body='{"fixed": true}', content_type="application/json")
    fixed = emulator_api.call(routes.LIST_TASKS)
    assert (fixed.status_code, fixed.json(), fixed.headers["Content-Type"]) == (
        201,
        {"fixed": True},
        "application/json",
    )
    emulator_admin.add_fault(path=LIST, status=502, body="<html><title>502 Bad Gateway</title></html>")
    page = emulator_api.call(routes.LIST_TASKS)
    assert page.status_code == 502
    assert page.headers["Content-Type"].startswith("text/html")
    assert [e["handled_status"] for e in emulator_admin.requests()] == [None, None, None]
    with pytest.raises(RuntimeError, match="200-599 with a raw 'body'"):
        emulator_admin.add_fault(status=200)


def test_truncate_after_keeps_the_side_effect(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(method="POST", action="truncate", when="after", keep_bytes=10)
    response = emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY)
    assert response.status_code == 200
    assert response.content == b'{"instance'
    assert response.headers["Content-Length"] == "10"
    assert emulator_api.call(routes.LIST_TASKS).json()["count"] == 1
    [entry] = emulator_admin.requests(method="POST")
    assert (entry["status"], entry["handled_status"], entry["fault"]) == (200, 200, "truncate")


def test_content_type_after_replaces_only_the_header(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(path=LIST, action="content_type", when="after", content_type="text/html")
    response = emulator_api.call(routes.LIST_TASKS)
    assert response.headers["Content-Type"] == "text/html"
    assert response.json() == {"count": 0, "migration_tasks": []}


def test_reset_after_breaks_the_answer_in_the_middle(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(method="POST", action="reset", when="after", keep_bytes=5)
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY)
    assert emulator_api.call(routes.LIST_TASKS).json()["count"] == 1, "the request was processed"
    [entry] = emulator_admin.requests(method="POST")
    assert (entry["handled_status"], entry["fault"]) == (200, "reset")


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"action": "truncate", "keep_bytes": 3}, "when='after'"),
        ({"action": "reset"}, "when='after'"),
        ({"action": "truncate", "when": "after"}, "keep_bytes"),
        ({"action": "content_type", "when": "after"}, "content_type"),
        ({"action": "reset", "when": "after", "keep_bytes": -1}, "keep_bytes"),
    ],
)
def test_invalid_damage_rules_are_refused(emulator_admin: EmulatorAdmin, rule: dict, problem: str) -> None:
    response = emulator_admin.session.post(f"{emulator_admin.base_url}/_emulator/faults", json=rule)
    assert response.status_code == 400
    assert problem in response.json()["error"]


def test_clock_skew_expires_valid_signatures_and_shows_in_date(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    from email.utils import parsedate_to_datetime

    ok = emulator_api.call(routes.LIST_TASKS)
    assert abs(parsedate_to_datetime(ok.headers["Date"]).timestamp() - time.time()) < 3
    assert emulator_admin.set_clock_skew(1200)["clock_skew_seconds"] == 1200
    rejected = emulator_api.call(routes.LIST_TASKS)
    assert rejected.status_code == 401
    assert rejected.json()["error_code"] == "APIGW.0301"
    assert "signature expired" in rejected.json()["error_msg"]
    assert abs(parsedate_to_datetime(rejected.headers["Date"]).timestamp() - time.time() - 1200) < 3
    emulator_admin.set_clock_skew(-600)  # within 15 minutes: accepted
    assert emulator_api.call(routes.LIST_TASKS).status_code == 200
    with pytest.raises(RuntimeError, match="clock_skew_seconds"):
        emulator_admin.set_clock_skew(100_000)
    emulator_admin.reset()
    assert emulator_admin.config()["clock_skew_seconds"] == 0


def test_forced_status_goes_backwards_then_resumes(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.set_config(create_seconds=0.05, full_seconds=30)
    task_id = emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY).json()["instance_id"]
    emulator_api.wait_for_status(task_id, "RUNNING")
    body = {
        "migration_method": "full_amount_migration",
        "resume_mode": "manual",
        "source_instance": {"addrs": "127.0.0.1:6379"},
        "target_instance": {"addrs": "127.0.0.1:6380"},
    }
    assert emulator_api.call(routes.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=body).ok
    emulator_admin.clear_requests()
    forced = emulator_admin.force_status(task_id, "MIGRATING", reads=1, skip_reads=1)
    assert (forced["forced_status"], forced["real_status"]) == ("MIGRATING", "FULLMIGRATING")
    seen = [emulator_api.detail(task_id)["status"] for _ in range(3)]
    assert seen == ["FULLMIGRATING", "MIGRATING", "FULLMIGRATING"]
    faults = [e["faults"] for e in emulator_admin.requests(method="GET", path=r"/migration-task/")]
    assert faults == [[], ["status_override"], []]

    emulator_admin.force_status(task_id, "RESYNCING", seconds=0.3)
    assert emulator_api.detail(task_id)["status"] == "RESYNCING"
    listed = emulator_api.call(routes.LIST_TASKS).json()["migration_tasks"][0]
    assert listed["status"] == "RESYNCING"
    time.sleep(0.35)
    assert emulator_api.detail(task_id)["status"] == "FULLMIGRATING"
    with pytest.raises(RuntimeError, match="seconds and/or reads"):
        emulator_admin.force_status(task_id, "MIGRATING")
    with pytest.raises(RuntimeError, match="404"):
        emulator_admin.force_status("5e0c5c3b-7d4e-4b1a-9c0b-1234567890ab", "MIGRATING", reads=1)


def test_handled_status_shows_while_the_answer_is_still_delayed(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_fault(method="POST", action="latency", delay=1.5, when="after")
    with pytest.raises(requests.ReadTimeout):
        emulator_api.call(routes.CREATE_ONLINE_TASK, body=CREATE_BODY, timeout=0.3)
    [entry] = emulator_admin.requests(method="POST")
    assert entry["handled_status"] == 200, "processed, although the answer is still on its way"
    assert entry["status"] is None
