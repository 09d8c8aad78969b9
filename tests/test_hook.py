"""The sync hook against the running emulator, over real sockets.

Every endpoint method is called for real; retries are observed by counting the requests the
emulator saw; validation errors are shown to send nothing.
"""

from __future__ import annotations

import json
import pickle
import time

import pytest

from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorProcess
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.api.statuses import NOT_FOUND
from huaweicloud_dcs_provider.exceptions import (
    DcsApiError,
    DcsAuthError,
    DcsConnectionError,
    DcsMigrationFailedError,
    DcsValidationError,
)
from huaweicloud_dcs_provider.hooks.dcs import DcsHook

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.05, max_wait=0.2, max_total_seconds=20)
NETWORK = {"vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}
SOURCE = {"addrs": "127.0.0.1:6379", "password": "source-Redis-pass-1"}
TARGET = {"addrs": "127.0.0.1:6380", "password": "target-Redis-pass-2"}


@pytest.fixture
def hook(emulator_conn_env: EmulatorProcess) -> DcsHook:
    return DcsHook(retry_policy=FAST_RETRY)


def _conn_env(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess, **changes: object) -> None:
    doc = json.loads(emulator.conn_uri_json())
    extra = doc.setdefault("extra", {})
    for key, value in changes.items():
        if key in ("login", "password", "host"):
            doc[key] = value
        else:
            extra[key] = value
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", json.dumps(doc))


def _ready_task(hook: DcsHook, name: str = "mig-1") -> str:
    created = hook.create_online_migration_task(name=name, poll_interval=0.1, timeout=20, **NETWORK)
    assert created["status"] == "RUNNING"
    return str(created["task_id"])


# -------------------------------------------------------------------------------- connection


def test_test_connection_succeeds(hook: DcsHook) -> None:
    ok, message = hook.test_connection()
    assert ok, message
    assert "credentials accepted" in message


def test_test_connection_wrong_sk_fails_in_words(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not-the-secret-key-at-all"
    _conn_env(monkeypatch, emulator, password=wrong)
    ok, message = DcsHook().test_connection()
    assert not ok
    assert "Authentication failed" in message
    assert "Secret Access Key is wrong" in message
    assert "HTTP 401" in message
    assert wrong not in message
    assert emulator.secret_key not in message


def test_test_connection_wrong_project_fails_in_words(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _conn_env(monkeypatch, emulator, project_id="0123456789abcdef0123456789abcdef")
    ok, message = DcsHook().test_connection()
    assert not ok
    assert "project" in message.lower()


def test_test_connection_unreachable_endpoint(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _conn_env(monkeypatch, emulator, host="http://127.0.0.1:9")
    ok, message = DcsHook().test_connection()
    assert not ok
    assert "Cannot reach the DCS endpoint http://127.0.0.1:9" in message


def test_security_token_is_sent_and_signed(
    emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    with EmulatorProcess(security_token="temporary-token-" + "x" * 40) as temp:
        monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", temp.conn_uri_json())
        assert DcsHook().test_connection()[0]
        doc = json.loads(temp.conn_uri_json())
        doc["extra"]["security_token"] = "expired-or-wrong-token"
        monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", json.dumps(doc))
        ok, message = DcsHook().test_connection()
        assert not ok
        assert "expired-or-wrong-token" not in message


# -------------------------------------------------------------------------------- lifecycle


def test_full_migration_lifecycle(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    task_id = _ready_task(hook)
    configured = hook.configure_online_migration(
        task_id,
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance=SOURCE,
        target_instance=TARGET,
        bandwidth_limit_mb=100,
    )
    assert configured.task_id == task_id
    assert configured.status == "FULLMIGRATING"
    stats = hook.get_migration_task_stats(task_id)
    assert stats.full_migration_progress is not None
    assert isinstance(stats.source_dbsize, int)
    done = hook.wait_for_task_status(task_id, ["SUCCESS"], timeout=20, poll_interval=0.2)
    assert done.status == "SUCCESS"
    detail = hook.get_migration_task(task_id)
    assert detail.bandwidth_limit_mb == 100
    assert detail.source_instance is not None
    assert detail.source_instance.addrs == SOURCE["addrs"]
    assert detail.source_instance.has_password
    text = json.dumps(detail.to_dict())
    assert SOURCE["password"] not in text
    assert TARGET["password"] not in text
    assert detail.raw["source_instance"]["password"] == "***"
    final = hook.get_migration_task_stats(task_id)
    assert final.full_migration_progress == 100
    logs = hook.list_migration_task_logs(task_id)
    assert logs
    assert all(entry.message for entry in logs)
    assert SOURCE["password"] not in json.dumps([entry.to_dict() for entry in logs])


def test_incremental_stop_restart_and_ip_switch(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    # The IP switch works only between two DCS instances (the service refuses self-hosted sides).
    emulator_admin.add_instance("dcs-ipswitch-source", "dcs-ipswitch-target")
    task_id = _ready_task(hook)
    hook.configure_online_migration(
        task_id,
        migration_method="incremental_migration",
        resume_mode="auto",
        source_instance={"id": "dcs-ipswitch-source", "password": SOURCE["password"]},
        target_instance={"id": "dcs-ipswitch-target", "password": TARGET["password"]},
    )
    hook.wait_for_task_status(task_id, ["INCRMIGRATING"], timeout=20, poll_interval=0.2)  # prose spelling
    hook.set_resume_mode(task_id, "manual")
    assert hook.get_migration_task(task_id).resume_mode == "manual"
    hook.exchange_instance_ip(task_id, exchanged_ip=["192.0.2.10", "192.0.2.11"], is_exchange_domain=False)
    deadline = time.monotonic() + 10
    while hook.get_migration_task(task_id).task_status != "EXCHANGE_SUCCESS":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    hook.rollback_instance_ip(task_id)
    stopping = hook.stop_migration_task(task_id)
    assert stopping.status in ("TERMINATING", "TERMINATED")
    hook.wait_for_task_status(task_id, ["TERMINATED"], timeout=20, poll_interval=0.2)
    results = hook.batch_restart_migration_tasks([task_id])
    assert [r.accepted for r in results] == [True]
    hook.wait_for_task_status(task_id, ["INCRMIGEATING"], timeout=20, poll_interval=0.2)
    hook.stop_migration_task_sync(task_id)
    hook.wait_for_task_status(task_id, ["TERMINATED"], timeout=20, poll_interval=0.2)


def test_batch_stop_reports_per_task(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    running = _ready_task(hook, "a")
    migrating = _ready_task(hook, "b")
    hook.configure_online_migration(
        migrating,
        migration_method="incremental_migration",
        resume_mode="auto",
        source_instance=SOURCE,
        target_instance=TARGET,
    )
    results = {r.task_id: r for r in hook.batch_stop_migration_tasks([running, migrating])}
    assert results[migrating].accepted
    assert not results[running].accepted
    assert results[running].error_code


def test_failed_migration_names_status_and_error(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    task_id = _ready_task(hook)
    hook.configure_online_migration(
        task_id,
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "127.0.0.1:1"},
        target_instance=TARGET,
    )
    with pytest.raises(DcsMigrationFailedError) as info:
        hook.wait_for_task_status(task_id, ["SUCCESS"], timeout=20, poll_interval=0.2)
    assert info.value.status == "MIGRATION_FAILED"
    assert "127.0.0.1:1" in str(info.value)


def test_list_returns_all_pages(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    ids = {
        hook.create_online_migration_task(name=f"page-{i}", wait_until_ready=False, **NETWORK)["task_id"]
        for i in range(5)
    }
    emulator_admin.clear_requests()
    tasks = hook.list_migration_tasks(page_size=2)
    assert {t.task_id for t in tasks} == ids
    assert emulator_admin.count_requests(method="GET", path="/migration-tasks$") == 3
    assert [t.task_id for t in hook.list_migration_tasks(name="page-3")] != []
    assert {t.name for t in hook.list_migration_tasks(name="page-3")} == {"page-3"}


def test_delete_then_unknown_task_is_http_400_dcs_4133(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    task_id = _ready_task(hook)
    assert hook.delete_migration_tasks([task_id]) == [task_id]
    assert task_id not in {t.task_id for t in hook.list_migration_tasks()}  # the judge of existence
    # The detail of a deleted task may answer SUCCESS (the emulator's default, the worst case) or
    # HTTP 400 DCS.4133: the error of the latter, as the hook reports it.
    emulator_admin.set_config(deleted_detail="not_found")
    with pytest.raises(DcsApiError) as info:
        hook.get_migration_task(task_id)
    err = info.value
    assert (err.status_code, err.error_code, err.is_not_found) == (400, "DCS.4133", True)
    assert "HTTP 400 DCS.4133" in str(err)
    assert err.request_id
    assert hook.get_task_status(task_id) == NOT_FOUND
    assert pickle.loads(pickle.dumps(err)).error_code == "DCS.4133"  # noqa: S301 - our own bytes


def test_job_and_whitelist(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    created = hook.create_online_migration_task(name="job", wait_until_ready=False, **NETWORK)
    job = hook.wait_for_job(created["job_id"], timeout=10, poll_interval=0.1)
    assert job.status == "SUCCESS"
    instance = "dcs-instance-1"
    groups = [{"group_name": "migration", "ip_list": ["192.168.0.10", "10.0.0.0/24"]}]
    hook.replace_whitelist(instance, enable_whitelist=True, whitelist=groups)
    whitelist = hook.get_whitelist(instance)
    assert whitelist.enable_whitelist
    assert whitelist.whitelist == groups
    job_id = hook.replace_whitelist(instance, enable_whitelist=False, whitelist=groups, asynchronous=True)
    assert job_id


def test_backup_import_task(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    task = hook.create_backup_import_task(
        task_name="import-1",
        target_instance={"id": "dcs-instance-1", "password": "import-pass-xyz"},
        backup_files={"file_source": "backup_record", "backup_id": "backup-1"},
    )
    assert task.task_id
    assert "import-pass-xyz" not in json.dumps(task.to_dict())
    assert (
        hook.wait_for_task_status(task.task_id, ["SUCCESS"], timeout=20, poll_interval=0.2).status
        == "SUCCESS"
    )


# -------------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    ("fault", "attempts"),
    [
        ({"status": 503, "count": 2}, 3),
        ({"status": 500, "error_code": "DCS.5000", "count": 1}, 2),
        ({"status": 429, "retry_after": 0.1, "count": 2}, 3),
        ({"status": 400, "error_code": "DCS.4017", "count": 2}, 3),
        ({"action": "drop", "count": 2}, 3),
    ],
)
def test_transient_failures_are_retried(
    hook: DcsHook, emulator_admin: EmulatorAdmin, fault: dict[str, object], attempts: int
) -> None:
    task_id = _ready_task(hook)
    emulator_admin.add_fault(method="GET", path=r"/migration-task/[^/]+$", **fault)  # type: ignore[arg-type]
    emulator_admin.clear_requests()
    assert hook.get_migration_task(task_id).task_id == task_id
    assert emulator_admin.count_requests(method="GET", path=r"/migration-task/[^/]+$") == attempts


@pytest.mark.parametrize(
    ("status", "code"), [(400, "DCS.4070"), (403, "DCS.2003"), (404, "DCS.3022"), (401, "DCS.1001")]
)
def test_permanent_errors_fail_at_once(
    hook: DcsHook, emulator_admin: EmulatorAdmin, status: int, code: str
) -> None:
    emulator_admin.add_fault(method="GET", path=r"/migration-tasks$", status=status, error_code=code, count=5)
    emulator_admin.clear_requests()
    with pytest.raises(DcsApiError) as info:
        hook.list_migration_tasks()
    assert info.value.status_code == status
    assert info.value.error_code == code
    assert f"HTTP {status} {code}" in str(info.value)
    assert emulator_admin.count_requests(path=r"/migration-tasks$") == 1


def test_retries_are_bounded(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.add_fault(method="GET", path=r"/migration-tasks$", status=503, count=50)
    emulator_admin.clear_requests()
    with pytest.raises(DcsApiError) as info:
        hook.list_migration_tasks()
    assert info.value.status_code == 503
    assert emulator_admin.count_requests(path=r"/migration-tasks$") == FAST_RETRY.max_attempts


def test_read_timeout_is_retried(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _conn_env(monkeypatch, emulator, timeout=0.5)
    hook = DcsHook(retry_policy=FAST_RETRY)
    emulator_admin.add_fault(action="latency", delay=2.0, method="GET", path=r"/migration-tasks$", count=1)
    emulator_admin.clear_requests()
    assert hook.list_migration_tasks() == []
    assert emulator_admin.count_requests(path=r"/migration-tasks$") == 2


def test_create_is_not_resent_after_read_timeout(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _conn_env(monkeypatch, emulator, timeout=0.5)
    hook = DcsHook(retry_policy=FAST_RETRY)
    emulator_admin.add_fault(
        action="latency", delay=2.0, method="POST", path=r"/migration/instance$", when="after", count=1
    )
    created = hook.create_online_migration_task(name="once", poll_interval=0.1, timeout=20, **NETWORK)
    assert emulator_admin.count_requests(method="POST", path=r"/migration/instance$") == 1
    tasks = hook.list_migration_tasks(name="once")
    assert [t.task_id for t in tasks] == [created["task_id"]]
    assert created["status"] == "RUNNING"


def test_create_is_resent_when_it_did_not_take_effect(hook: DcsHook, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.add_fault(method="POST", path=r"/migration/instance$", status=503, count=1)
    created = hook.create_online_migration_task(name="twice", wait_until_ready=False, **NETWORK)
    assert emulator_admin.count_requests(method="POST", path=r"/migration/instance$") == 2
    assert [t.task_id for t in hook.list_migration_tasks(name="twice")] == [created["task_id"]]


def test_connection_refused_is_a_connection_error(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _conn_env(monkeypatch, emulator, host="http://127.0.0.1:9")
    with pytest.raises(DcsConnectionError) as info:
        DcsHook(
            retry_policy=RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.01)
        ).list_migration_tasks()
    assert info.value.request_sent is False


# -------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "parameter", "allowed"),
    [
        (
            {"migration_method": "full"},
            "migration_method",
            "'full_amount_migration', 'incremental_migration'",
        ),
        ({"resume_mode": "sometimes"}, "resume_mode", "'auto', 'manual'"),
        ({"bandwidth_limit_mb": 0}, "bandwidth_limit_mb", "1..10240"),
        ({"bandwidth_limit_mb": 10241}, "bandwidth_limit_mb", "1..10240"),
        ({"bandwidth_limit_mb": True}, "bandwidth_limit_mb", "1..10240"),
        ({"source_instance": {"password": "x"}}, "source_instance", "'id'"),
        ({"source_instance": {"id": "a", "addrs": "h:1"}}, "source_instance", "'id'"),
        ({"target_instance": {"addrs": "10.0.0.1"}}, "target_instance.addrs", "host:port"),
        ({"target_instance": {"addrs": "10.0.0.1:70000"}}, "target_instance.addrs", "port 1..65535"),
        ({"target_instance": {"addrs": "h:1", "passwd": "x"}}, "target_instance", "id, addrs, password"),
        ({"migration_task_id": "../../etc"}, "migration_task_id", "letters, digits"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    hook: DcsHook, emulator_admin: EmulatorAdmin, kwargs: dict[str, object], parameter: str, allowed: str
) -> None:
    args: dict[str, object] = {
        "migration_task_id": "task-1",
        "migration_method": "full_amount_migration",
        "resume_mode": "auto",
        "source_instance": {"addrs": "10.0.0.1:6379"},
        "target_instance": {"addrs": "10.0.0.2:6379"},
        **kwargs,
    }
    task_id = args.pop("migration_task_id")
    with pytest.raises(DcsValidationError) as info:
        hook.configure_online_migration(task_id, **args)  # type: ignore[arg-type]
    assert info.value.parameter == parameter
    assert allowed in str(info.value)
    assert emulator_admin.count_requests() == 0
    assert "x" not in str(info.value).split("invalid ", 1)[1].split(":")[0]


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda h: h.delete_migration_tasks("task-1"), "migration_task_ids"),
        (lambda h: h.delete_migration_tasks([]), "migration_task_ids"),
        (lambda h: h.batch_stop_migration_tasks([f"t{i}" for i in range(51)]), "migration_task_ids"),
        (lambda h: h.list_migration_task_logs("t", log_level="DEBUG"), "log_level"),
        (lambda h: h.set_resume_mode("t", "AUTO"), "resume_mode"),
        (
            lambda h: h.exchange_instance_ip("t", exchanged_ip=["no-ip"], is_exchange_domain=False),
            "exchanged_ip",
        ),
        (
            lambda h: h.exchange_instance_ip("t", exchanged_ip=["10.0.0.1"], is_exchange_domain="no"),
            "is_exchange_domain",
        ),
        (
            lambda h: h.replace_whitelist(
                "i", enable_whitelist=True, whitelist=[{"group_name": "g", "ip_list": ["0.0.0.0"]}]
            ),
            "whitelist[0].ip_list",
        ),
        (
            lambda h: h.replace_whitelist(
                "i",
                enable_whitelist=True,
                whitelist=[{"group_name": f"g{i}", "ip_list": ["10.0.0.1"]} for i in range(5)],
            ),
            "whitelist",
        ),
        (lambda h: h.create_online_migration_task(name="", **NETWORK), "name"),
        (
            lambda h: h.create_online_migration_task(
                name="n", vpc_id="v/1", subnet_id="s", security_group_id="g"
            ),
            "vpc_id",
        ),
    ],
)
def test_other_bad_input_sends_nothing(
    hook: DcsHook, emulator_admin: EmulatorAdmin, call, parameter: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DcsValidationError) as info:
        call(hook)
    assert info.value.parameter == parameter
    assert emulator_admin.count_requests() == 0


# -------------------------------------------------------------------------------- secrets


def test_no_secret_in_repr_errors_or_logs(
    emulator: EmulatorProcess,
    emulator_admin: EmulatorAdmin,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    _conn_env(monkeypatch, emulator, security_token="tok-" + "y" * 30)
    hook = DcsHook(retry_policy=FAST_RETRY)
    assert emulator.secret_key not in repr(hook)
    assert emulator.secret_key not in repr(hook.settings)
    assert "tok-" not in repr(hook.settings)
    with pytest.raises(DcsAuthError) as info:  # the emulator has no token configured: rejected
        hook.list_migration_tasks()
    for text in (str(info.value), repr(info.value), caplog.text):
        assert emulator.secret_key not in text
        assert "tok-" + "y" * 30 not in text


def test_connection_settings_errors_name_the_field(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    _conn_env(monkeypatch, emulator, project_id=None)
    with pytest.raises(DcsValidationError, match="project_id"):
        DcsHook().list_migration_tasks()
    _conn_env(monkeypatch, emulator, host="", region=None)
    with pytest.raises(DcsValidationError, match="region"):
        DcsHook().list_migration_tasks()
    assert emulator_admin.count_requests() == 0


def test_default_endpoint_comes_from_region(
    emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    _conn_env(monkeypatch, emulator, host="", region="ap-southeast-1")
    assert DcsHook().settings.endpoint == "https://dcs.ap-southeast-1.myhuaweicloud.com"
    _conn_env(monkeypatch, emulator, host="dcs.eu-de.otc.t-systems.com")
    assert DcsHook().settings.endpoint == "https://dcs.eu-de.otc.t-systems.com"
