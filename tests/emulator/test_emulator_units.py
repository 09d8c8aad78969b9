"""Unit tests of the emulator's pure parts (no sockets): store with a fake clock, auth, rules."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from huaweicloud_dcs_emulator import auth, signature, signer
from huaweicloud_dcs_emulator.engines.loopback import is_loopback_host, require_loopback
from huaweicloud_dcs_emulator.engines.protocol import EngineError, Method, MigrationSpec, Phase, RedisEndpoint
from huaweicloud_dcs_emulator.engines.simulated import SimulatedEngine, simulated_failure
from huaweicloud_dcs_emulator.faults import FaultRule, FaultStore
from huaweicloud_dcs_emulator.store import EmulatorConfig, EmulatorError, TaskStore

CREATE = {"name": "t", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def configure_body(method: str = "full_amount_migration", **sides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "migration_method": method,
        "resume_mode": "manual",
        "source_instance": {"addrs": "127.0.0.1:6379"},
        "target_instance": {"addrs": "127.0.0.1:6380"},
    }
    body.update(sides)
    return body


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> TaskStore:
    config = EmulatorConfig(create_seconds=10, full_seconds=100, stop_seconds=5, fail_seconds=2)
    return TaskStore(config, clock=clock)


def test_lifecycle_times_with_fake_clock(store: TaskStore, clock: FakeClock) -> None:
    task_id = store.create_online_task(CREATE)["instance_id"]
    clock.advance(9.9)
    assert store.detail(task_id)["status"] == "CREATING"
    clock.advance(0.2)
    assert store.detail(task_id)["status"] == "RUNNING"
    store.configure(task_id, configure_body("incremental_migration"))
    clock.advance(50)
    half = store.stats(task_id)
    assert half["full_migration_progress"] == 50
    # Nobody polls during the switch to incremental: the log still has the exact time.
    clock.advance(70)
    assert store.detail(task_id)["status"] == "INCRMIGEATING"
    logs = store.logs(task_id, None, "100", None)["migration_logs"]
    incremental = next(e for e in logs if e["log_code"] == "migration.incremental")
    expected = datetime.fromtimestamp(clock.now - 20, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert incremental["created_at"].startswith(expected)
    clock.advance(200)
    assert store.stats(task_id)["offset"] == "0"
    store.stop(task_id)
    clock.advance(4.9)
    assert store.detail(task_id)["status"] == "TERMINATING"
    clock.advance(0.2)
    assert store.detail(task_id)["status"] == "TERMINATED"


def test_failure_timing(store: TaskStore, clock: FakeClock) -> None:
    task_id = store.create_online_task(CREATE)["instance_id"]
    clock.advance(10)
    store.configure(task_id, configure_body(source_instance={"addrs": "127.0.0.1:1"}))
    clock.advance(1.9)
    assert store.detail(task_id)["status"] == "FULLMIGRATING"
    clock.advance(0.2)
    detail = store.detail(task_id)
    assert detail["status"] == "MIGRATION_FAILED"
    # The reason is where the real service puts it (the detail has no ``error`` field, as in the
    # official SDK's ShowMigrationTaskResponse): the ERROR log entries and the list's error_message.
    assert "error" not in detail
    reason = "Failed to connect to source redis 127.0.0.1:1: Connection refused"
    [entry] = store.logs(task_id, None, None, "ERROR")["migration_logs"]
    assert entry["message"] == reason
    assert store.list_tasks(None, None, None)["migration_tasks"][0]["error_message"] == reason


def test_errors_carry_dcs_codes(store: TaskStore) -> None:
    with pytest.raises(EmulatorError) as err:
        store.detail("6a0c5c3b-7d4e-4b1a-9c0b-1234567890ab")
    assert (err.value.status, err.value.error_code) == (400, "DCS.4133")
    assert err.value.body() == {
        "error_code": "DCS.4133",
        "error_msg": err.value.error_msg,
        "error_ext_msg": None,
    }
    with pytest.raises(EmulatorError) as err:
        store.detail("../etc")
    assert err.value.error_code == "DCS.4070"


def test_reset_restores_startup_config(store: TaskStore) -> None:
    store.set_config({"full_seconds": 1})
    store.create_online_task(CREATE)
    store.reset()
    assert store.config.full_seconds == 100
    assert store.list_tasks(None, None, None)["count"] == 0


def test_config_validation() -> None:
    config = EmulatorConfig()
    assert config.updated({"stop_seconds": 3}).stop_seconds == 3.0
    for bad in ({"stop_seconds": "3"}, {"stop_seconds": -1}, {"deleted_detail": "gone"}, {"nope": 1}):
        with pytest.raises(ValueError, match=r"."):
            config.updated(bad)


def test_simulated_engine_and_loopback() -> None:
    source = RedisEndpoint("source", addrs="127.0.0.1:6379,localhost:6380", password="p")
    target = RedisEndpoint("target", instance_id="abc", password="wrong-password")
    spec = MigrationSpec("task", Method.FULL, source, target, full_seconds_hint=10, failure_delay_hint=1)
    assert simulated_failure(spec) is not None
    assert "password" not in repr(source).replace("password=***", "")
    engine = SimulatedEngine()
    engine.start(spec, now=0)
    assert engine.poll("task", 0.5).phase is Phase.FULL
    failed = engine.poll("task", 1.5)
    assert failed.phase is Phase.FAILED
    assert failed.error is not None
    assert "target" in failed.error
    assert is_loopback_host("127.0.0.2")
    assert is_loopback_host("::1")
    assert not is_loopback_host("10.0.0.5")
    require_loopback(source)
    with pytest.raises(EngineError):
        require_loopback(RedisEndpoint("source", addrs="10.0.0.5:6379"))
    with pytest.raises(EngineError):
        require_loopback(target)


# ------------------------------------------------------------------------------------------------
# auth.verify
# ------------------------------------------------------------------------------------------------

CONFIG = auth.AuthConfig(access_key="AK", secret_key="SK", project_id="p")
NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def _signed(
    path: str = "/v2/p/migration-tasks", query: Any = None, body: bytes | None = None
) -> tuple[str, dict[str, str]]:
    prepared = signer.prepare_signed(
        method="GET" if body is None else "POST",
        base_url="http://127.0.0.1:8780",
        path=path,
        query=query,
        headers={"Content-Type": "application/json"},
        body=body,
        credentials=signer.Credentials("AK", "SK"),
        sdk_date=signature.format_sdk_date(NOW),
    )
    target = prepared.url.split("127.0.0.1:8780", 1)[1]
    return target, prepared.headers


def test_verify_accepts_and_rejects() -> None:
    target, headers = _signed(query=[("name", "a b"), ("x", ""), ("x", "1")])
    assert (
        auth.verify(method="GET", raw_target=target, headers=headers, body=b"", config=CONFIG, now=NOW)
        is None
    )
    assert auth.verify(method="POST", raw_target=target, headers=headers, body=b"", config=CONFIG, now=NOW)
    late = NOW + timedelta(minutes=16)
    failure = auth.verify(method="GET", raw_target=target, headers=headers, body=b"", config=CONFIG, now=late)
    assert failure is not None
    assert "signature expired" in failure.error_msg
    assert failure.error_code == "APIGW.0301"
    assert failure.status == 401
    unsigned_host = dict(headers)
    unsigned_host["Authorization"] = unsigned_host["Authorization"].replace("host;", "")
    failure = auth.verify(
        method="GET", raw_target=target, headers=unsigned_host, body=b"", config=CONFIG, now=NOW
    )
    assert failure is not None
    assert "host must be signed" in failure.error_msg


def test_split_raw_query() -> None:
    assert auth.split_raw_query("a=1&b=&c&&d=%2B+x") == [("a", "1"), ("b", ""), ("c", ""), ("d", "++x")]


def test_auth_config_repr_hides_secrets() -> None:
    config = auth.AuthConfig(access_key="AK", secret_key="TOPSECRET", project_id="p", security_token="TOKEN")
    assert "TOPSECRET" not in repr(config)
    assert "TOKEN" not in repr(config)


# ------------------------------------------------------------------------------------------------
# Fault rules
# ------------------------------------------------------------------------------------------------


def test_fault_store_take() -> None:
    faults = FaultStore()
    latency = faults.add(FaultRule.from_json({"action": "latency", "delay": 0.1, "count": None}))
    first = faults.add(FaultRule.from_json({"status": 500, "method": "get", "path": "/stats$"}))
    faults.add(FaultRule.from_json({"status": 502}))
    taken = faults.take("before", "GET", "/v2/p/migration-task/x/stats")
    assert [r.id for r in taken] == [latency.id, first.id]
    assert first not in faults.rules()
    assert [r.status for r in faults.take("before", "GET", "/v2/p/migration-task/x/stats")[1:]] == [502]
    assert faults.take("after", "GET", "/x") == []
    assert faults.rules() == [latency]


def test_fault_rule_defaults() -> None:
    rule = FaultRule.from_json({"status": 429, "retry_after": 1.5})
    assert rule.retry_after == "1"
    assert rule.error_body()["error_code"] == "APIGW.0308"
    assert FaultRule.from_json({"status": 503}).error_body()["error_code"] == "DCS.5000"
    with pytest.raises(ValueError, match="unknown"):
        FaultRule.from_json({"stauts": 500})


def test_emulator_does_not_import_airflow() -> None:
    code = (
        "import sys, huaweicloud_dcs_emulator.app, huaweicloud_dcs_emulator.__main__;"
        "bad = [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
