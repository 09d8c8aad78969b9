"""Operators (configure, create, stop, delete) and the console link, against the real emulator."""

from __future__ import annotations

import json
import re
import textwrap
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat import sdk as compat_sdk
from airflow.providers.common.compat.sdk import TaskDeferred

from huaweicloud_dcs_emulator.testing import EmulatorProcess
from huaweicloud_dcs_provider.api.endpoints import Api
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.exceptions import (
    DcsApiError,
    DcsError,
    DcsMigrationFailedError,
    DcsValidationError,
)
from huaweicloud_dcs_provider.links import CONSOLE_URL_XCOM_KEY, DcsMigrationTaskLink, console_url
from huaweicloud_dcs_provider.operators.lifecycle import (
    DcsCreateOnlineMigrationTaskOperator,
    DcsDeleteMigrationTaskOperator,
    DcsStopMigrationTaskOperator,
)
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator

if TYPE_CHECKING:
    from airflow_fixtures import DcsTestEnv

pytest_plugins = ["airflow_fixtures"]

CONFIGURE_POST = r"/migration/[0-9a-f-]+/task$"
DETAIL = r"/migration-task/[0-9a-f-]+$"
LITERAL_PASSWORD = "literal-pass-in-dag"
CONN_PASSWORD = "s3cret-from-connection"  # airflow_fixtures.REDIS_SOURCE_PASSWORD


def context(**extra: Any) -> dict[str, Any]:
    from airflow_fixtures import make_context

    return make_context(**extra)


def configure_op(task_id: str, **kwargs: Any) -> DcsConfigureOnlineMigrationOperator:
    kwargs.setdefault("migration_method", "full_amount_migration")
    kwargs.setdefault("resume_mode", "manual")
    kwargs.setdefault("source_instance", {"addrs": "127.0.0.1:6379", "password_conn_id": "redis_source"})
    kwargs.setdefault("target_instance", {"addrs": "127.0.0.1:6380"})
    kwargs.setdefault("poll_interval", 0.1)
    kwargs.setdefault("deferrable", False)
    return DcsConfigureOnlineMigrationOperator(task_id="configure", migration_task_id=task_id, **kwargs)


def raw_detail(emulator: EmulatorProcess, task_id: str) -> dict[str, Any]:
    """The task as the API sends it (with passwords, which the provider's models never keep)."""
    response = emulator.api().call(Api.SHOW_TASK, path_params={"task_id": task_id})
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture
def masked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Values registered with Airflow's secrets masker during the test."""
    seen: list[str] = []
    monkeypatch.setattr(compat_sdk, "mask_secret", lambda value, *a, **k: seen.append(value), raising=False)
    return seen


# ------------------------------------------------------------------------------------------------
# Configure: parameters and secrets
# ------------------------------------------------------------------------------------------------


def test_configure_defaults_and_template_fields() -> None:
    op = configure_op("t", deferrable=None)
    assert op.wait_for_completion is True
    assert op.deferrable is False  # [operators] default_deferrable
    assert op.timeout == 7 * 24 * 3600
    assert set(op.template_fields) == {
        "migration_task_id",
        "migration_method",
        "resume_mode",
        "source_instance",
        "target_instance",
        "bandwidth_limit_mb",
    }
    assert op.ui_color
    assert any(isinstance(link, DcsMigrationTaskLink) for link in op.operator_extra_links)


@pytest.mark.parametrize(
    ("instance", "problem"),
    [
        ({"addrs": "a:1", "user": "x"}, "unknown key"),
        ({"addrs": "a:1", "password": "p", "password_conn_id": "c"}, "not both"),
    ],
)
def test_configure_invalid_instance_fails_at_parse_time(instance: dict[str, Any], problem: str) -> None:
    with pytest.raises(DcsValidationError, match=problem):
        configure_op("t", source_instance=instance)


def test_configure_invalid_success_status_fails_at_parse_time() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        configure_op("t", success_statuses=["FINISHED"])


def test_password_is_kept_out_of_template_fields_and_serialized_dag() -> None:
    from airflow.providers.common.compat.sdk import DAG

    from airflow_versions import serialize_dag

    with DAG(dag_id="secret_check", schedule=None) as dag:
        op = configure_op(
            "{{ params.task }}",
            source_instance={"addrs": "127.0.0.1:6379", "password": LITERAL_PASSWORD},
            target_instance={"addrs": "127.0.0.1:6380", "password": "{{ conn.redis_target.password }}"},
        )
    for field in op.template_fields:
        assert LITERAL_PASSWORD not in repr(getattr(op, field))
        assert "conn.redis_target" not in repr(getattr(op, field))
    assert op.source_instance == {"addrs": "127.0.0.1:6379"}
    serialized = json.dumps(serialize_dag(dag), default=str)
    assert LITERAL_PASSWORD not in serialized
    assert LITERAL_PASSWORD not in repr(op)


def test_rendered_template_fields_hold_no_password(dcs_env: DcsTestEnv, masked: list[str]) -> None:
    task_id = dcs_env.create_ready_task()
    ctx = context(
        params={"src": "127.0.0.1:6379", "task": task_id},
        conn=SimpleNamespace(redis_target=SimpleNamespace(password="target-pass-from-template")),
    )
    op = configure_op(
        "{{ params.task }}",
        source_instance={"addrs": "{{ params.src }}", "password_conn_id": "redis_source"},
        target_instance={"addrs": "127.0.0.1:6380", "password": "{{ conn.redis_target.password }}"},
        wait_for_completion=False,
    )
    op.render_template_fields(ctx)
    rendered = {field: getattr(op, field) for field in op.template_fields}
    assert rendered["source_instance"] == {"addrs": "127.0.0.1:6379", "password_conn_id": "redis_source"}
    assert rendered["target_instance"] == {"addrs": "127.0.0.1:6380"}
    assert rendered["migration_task_id"] == task_id
    result = op.execute(ctx)
    # Both passwords reached the API ...
    detail = raw_detail(dcs_env.emulator, task_id)
    assert detail["source_instance"]["password"] == CONN_PASSWORD
    assert detail["target_instance"]["password"] == "target-pass-from-template"
    # ... were registered with the masker, and appear in no rendered field, XCom or result.
    assert CONN_PASSWORD in masked
    assert "target-pass-from-template" in masked
    visible = json.dumps([rendered, result, ctx["ti"].pushed], default=str)
    assert CONN_PASSWORD not in visible
    assert "target-pass-from-template" not in visible


def test_password_conn_id_template_rendering_empty_means_no_password(dcs_env: DcsTestEnv) -> None:
    # The example DAGs' params say "'' for none": a template that renders empty sends no password.
    task_id = dcs_env.create_ready_task()
    op = configure_op(
        task_id,
        source_instance={"addrs": "127.0.0.1:6379", "password_conn_id": "{{ params.source_conn }}"},
        wait_for_completion=False,
    )
    ctx = context(params={"source_conn": ""})
    op.render_template_fields(ctx)
    op.execute(ctx)
    detail = raw_detail(dcs_env.emulator, task_id)
    assert not detail["source_instance"].get("password")
    assert len(dcs_env.requests(method="POST", path=CONFIGURE_POST)) == 1


def test_literal_empty_password_conn_id_means_no_password(dcs_env: DcsTestEnv) -> None:
    # docs/quickstart.md: '""' for a Redis without a password, as a literal too, not only a template.
    task_id = dcs_env.create_ready_task()
    op = configure_op(
        task_id,
        source_instance={"addrs": "127.0.0.1:6379", "password_conn_id": ""},
        target_instance={"addrs": "127.0.0.1:6380", "password_conn_id": "  "},
        wait_for_completion=False,
    )
    op.execute(context())
    detail = raw_detail(dcs_env.emulator, task_id)
    assert not detail["source_instance"].get("password")
    assert not detail["target_instance"].get("password")
    assert len(dcs_env.requests(method="POST", path=CONFIGURE_POST)) == 1


def test_password_conn_id_not_a_string_says_what_is_allowed() -> None:
    with pytest.raises(DcsValidationError) as info:
        configure_op("t", source_instance={"addrs": "a:1", "password_conn_id": 3})
    assert str(info.value) == (
        "invalid source_instance.password_conn_id: must be a string, got int "
        "(allowed: an Airflow connection id, or '' for a Redis without a password)"
    )


@pytest.mark.parametrize("side", ["source_instance", "target_instance"])
def test_missing_password_connection_names_the_parameter(dcs_env: DcsTestEnv, side: str) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.admin.clear_requests()
    op = configure_op(task_id, **{side: {"addrs": "127.0.0.1:6381", "password_conn_id": "no_such_redis"}})
    with pytest.raises(DcsValidationError) as info:
        op.execute(context())
    assert info.value.parameter == f"{side}.password_conn_id"
    assert str(info.value).startswith(
        f"invalid {side}.password_conn_id: Airflow connection 'no_such_redis' is not defined: add it"
    ), info.value
    assert "isn't defined" not in str(info.value)
    assert not dcs_env.requests()  # refused before any request


def test_connection_without_password_is_refused(dcs_env: DcsTestEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_EMPTY_REDIS", json.dumps({"conn_type": "generic", "host": "x"}))
    task_id = dcs_env.create_ready_task()
    op = configure_op(task_id, source_instance={"addrs": "127.0.0.1:6379", "password_conn_id": "empty_redis"})
    with pytest.raises(DcsValidationError, match="has no password"):
        op.execute(context())
    assert not dcs_env.requests(method="POST", path=CONFIGURE_POST)


def test_configure_reads_the_task_once_before_configuring(dcs_env: DcsTestEnv) -> None:
    """The operator decides from one read of the task; the hook does not read it again."""
    task_id = dcs_env.create_ready_task()
    dcs_env.admin.clear_requests()
    configure_op(task_id, wait_for_completion=False).execute(context())
    sent = [(r["method"], r["path"]) for r in dcs_env.requests()]
    configure_at = [
        i for i, (method, path) in enumerate(sent) if method == "POST" and re.search(CONFIGURE_POST, path)
    ]
    assert len(configure_at) == 1, sent
    reads = [path for method, path in sent[: configure_at[0]] if method == "GET" and re.search(DETAIL, path)]
    assert len(reads) == 1, sent


# ------------------------------------------------------------------------------------------------
# Configure: waiting (sync), results, XCom
# ------------------------------------------------------------------------------------------------


def test_configure_full_migration_waits_for_success(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task("full-mig")
    ctx = context()
    result = configure_op(task_id, bandwidth_limit_mb=100).execute(ctx)
    assert result["id"] == task_id
    assert result["name"] == "full-mig"
    assert result["status"] == "SUCCESS"
    assert result["stats"]["full_migration_progress"] == 100
    pushed = ctx["ti"].pushed
    assert pushed["migration_task_id"] == task_id
    assert pushed[CONSOLE_URL_XCOM_KEY] == console_url("ap-southeast-1", task_id)
    assert "region=ap-southeast-1" in pushed[CONSOLE_URL_XCOM_KEY]
    text = json.dumps([result, pushed])
    assert CONN_PASSWORD not in text
    assert "password" not in text
    assert dcs_env.emulator.secret_key not in text


def test_configure_incremental_waits_for_incremental_sync_by_default(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    result = configure_op(task_id, migration_method="incremental_migration", resume_mode="auto").execute(
        context()
    )
    assert result["status"] == "INCRMIGEATING"


def test_configure_without_waiting_returns_at_once(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    result = configure_op(task_id, wait_for_completion=False).execute(context())
    assert result["status"] == "FULLMIGRATING"
    assert set(result) >= {"id", "name", "status"}
    assert result["id"] == task_id


def test_configure_waits_for_a_task_still_being_created(dcs_env: DcsTestEnv) -> None:
    from airflow_fixtures import NETWORK
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    created = DcsHook().create_online_migration_task(name="young", wait_until_ready=False, **NETWORK)
    result = configure_op(created["task_id"]).execute(context())
    assert result["status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"addrs": "127.0.0.1:1"}, "Connection refused"),
        ({"addrs": "127.0.0.1:6379", "password": "wrong-password"}, "WRONGPASS"),
    ],
)
def test_failing_migration_names_status_and_api_error(
    dcs_env: DcsTestEnv, source: dict[str, Any], expected: str
) -> None:
    task_id = dcs_env.create_ready_task()
    with pytest.raises(DcsMigrationFailedError) as info:
        configure_op(task_id, source_instance=source).execute(context())
    message = str(info.value)
    assert "MIGRATION_FAILED" in message
    assert expected in message
    assert info.value.status == "MIGRATION_FAILED"
    assert "wrong-password" not in message


def test_configure_timeout_leaves_the_migration_running(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    started = time.monotonic()
    with pytest.raises(DcsError, match="still FULLMIGRATING at the wait deadline"):
        configure_op(task_id, timeout=0.3).execute(context())
    assert time.monotonic() - started < 3
    assert not dcs_env.requests(method="POST", path=r"/stop$")


def test_configure_rides_out_transient_errors_while_waiting(dcs_env: DcsTestEnv) -> None:
    """3 x 503 on the status reads after configuring: the wait goes on and succeeds."""
    task_id = dcs_env.create_ready_task()
    op = configure_op(task_id)
    op.hook.retry_policy = RetryPolicy(max_attempts=1)  # the poll loop itself must ride them out
    configure = op.hook.send_configure  # what the operator sends its (checked) configure call with

    def configure_then_break(*args: Any, **kwargs: Any) -> Any:
        answer = configure(*args, **kwargs)
        dcs_env.admin.add_fault(method="GET", path=DETAIL, status=503, count=3)
        return answer

    op.hook.send_configure = configure_then_break  # type: ignore[method-assign]
    result = op.execute(context())
    assert result["status"] == "SUCCESS"
    failed = [r for r in dcs_env.requests(method="GET", path=DETAIL) if r["status"] == 503]
    assert len(failed) == 3


# ------------------------------------------------------------------------------------------------
# Configure: idempotency
# ------------------------------------------------------------------------------------------------


def test_retry_after_crash_attaches_instead_of_configuring_again(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    # First try: configures, then "crashes" (we simply do not wait).
    configure_op(task_id, wait_for_completion=False).execute(context())
    # Retry with the same arguments: attaches to the running migration and waits for it.
    result = configure_op(task_id).execute(context())
    assert result["status"] == "SUCCESS"
    assert len(dcs_env.requests(method="POST", path=CONFIGURE_POST)) == 1


def test_retry_after_success_attaches(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    configure_op(task_id).execute(context())
    retry = context()
    retry["ti"].try_number = 2
    result = configure_op(task_id).execute(retry)
    assert result["status"] == "SUCCESS"
    assert len(dcs_env.requests(method="POST", path=CONFIGURE_POST)) == 1


def test_new_run_on_a_finished_task_is_refused_in_words(dcs_env: DcsTestEnv) -> None:
    """A task carries one migration: a new run on a finished task neither reconfigures it (the
    service refuses a configure outside RUNNING) nor reports its old copy as this run's."""
    task_id = dcs_env.create_ready_task()
    configure_op(task_id).execute(context())
    with pytest.raises(DcsError, match="cannot be configured again") as raised:
        configure_op(task_id).execute(context())
    assert "Create a new migration task" in str(raised.value)
    assert len(dcs_env.requests(method="POST", path=CONFIGURE_POST)) == 1


def test_running_migration_with_other_instances_is_refused(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    configure_op(task_id, wait_for_completion=False).execute(context())
    other = configure_op(task_id, source_instance={"addrs": "127.0.0.1:7000", "password": LITERAL_PASSWORD})
    with pytest.raises(DcsError, match="different configuration") as info:
        other.execute(context())
    message = str(info.value)
    assert "Redis 127.0.0.1:6379" in message
    assert "Redis 127.0.0.1:7000" in message
    assert LITERAL_PASSWORD not in message
    assert len(dcs_env.requests(method="POST", path=CONFIGURE_POST)) == 1


def test_running_migration_with_other_method_is_refused(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    configure_op(task_id, wait_for_completion=False).execute(context())
    with pytest.raises(DcsError, match="its method is full_amount_migration"):
        configure_op(task_id, migration_method="incremental_migration").execute(context())


def test_unknown_task_fails_clearly(dcs_env: DcsTestEnv) -> None:
    with pytest.raises(DcsError, match=r"does not exist \(DCS.4133\)"):
        configure_op("6f1c2a7e-0000-4000-8000-000000000000").execute(context())


# ------------------------------------------------------------------------------------------------
# Configure: deferrable
# ------------------------------------------------------------------------------------------------


def test_configure_deferrable_defers_with_plain_kwargs(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    ctx = context()
    op = configure_op(task_id, deferrable=True, poll_interval=15, timeout=600)
    with pytest.raises(TaskDeferred) as info:
        op.execute(ctx)
    deferred = info.value
    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == "huaweicloud_dcs_provider.triggers.migration.DcsMigrationTaskTrigger"
    assert kwargs["success_statuses"] == ["SUCCESS"]
    assert kwargs["poll_interval"] == 15
    assert time.time() < kwargs["deadline"] <= time.time() + 600
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout.total_seconds() > 600
    # The task id and the link were pushed before deferring; nothing secret travels.
    assert ctx["ti"].pushed["migration_task_id"] == task_id
    assert CONSOLE_URL_XCOM_KEY in ctx["ti"].pushed
    travelling = json.dumps([kwargs, deferred.kwargs], default=str)
    assert CONN_PASSWORD not in travelling
    assert "password" not in travelling
    # The trigger's event comes back to execute_complete.
    event = {
        "status": "success",
        "migration_task_id": task_id,
        "task_status": "SUCCESS",
        "task_name": "mig",
        "message": "done",
        "error_text": None,
        "stats": None,
    }
    result = op.execute_complete(ctx, event=event, **(deferred.kwargs or {}))
    assert result["status"] == "SUCCESS"
    assert result["id"] == task_id
    failure = dict(event, status="failure", task_status="MIGRATION_FAILED", message="boom", error_text="x")
    with pytest.raises(DcsMigrationFailedError, match="boom"):
        op.execute_complete(ctx, event=failure)
    with pytest.raises(DcsError, match="Unknown"):
        op.execute_complete(ctx, event=dict(event, status="cancelled"))


def test_configure_deferrable_does_not_defer_when_already_done(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, source={"addrs": "127.0.0.1:6379", "password": CONN_PASSWORD})
    dcs_env.wait_status(task_id, "SUCCESS")
    retry = context()  # the worker died after configuring; the migration finished meanwhile
    retry["ti"].try_number = 2
    result = configure_op(task_id, deferrable=True).execute(retry)
    assert result["status"] == "SUCCESS"
    assert not dcs_env.requests(method="POST", path=CONFIGURE_POST)[1:]


# ------------------------------------------------------------------------------------------------
# Create
# ------------------------------------------------------------------------------------------------


def create_op(**kwargs: Any) -> DcsCreateOnlineMigrationTaskOperator:
    return DcsCreateOnlineMigrationTaskOperator(
        task_id="create",
        migration_task_name="nightly",
        vpc_id="vpc-1",
        subnet_id="subnet-1",
        security_group_id="sg-1",
        poll_interval=0.05,
        **kwargs,
    )


def test_create_waits_until_ready_and_returns_the_id(dcs_env: DcsTestEnv) -> None:
    ctx = context()
    task_id = create_op(description="from Airflow").execute(ctx)
    assert dcs_env.status(task_id) == "RUNNING"
    assert ctx["ti"].pushed["migration_task_id"] == task_id
    assert task_id in ctx["ti"].pushed[CONSOLE_URL_XCOM_KEY]


def test_create_reuse_existing(dcs_env: DcsTestEnv) -> None:
    first = create_op(reuse_existing=True).execute(context())
    second = create_op(reuse_existing=True).execute(context())
    assert first == second
    assert len(dcs_env.requests(method="POST", path=r"/migration/instance$")) == 1
    # Without the flag a second task is created.
    third = create_op().execute(context())
    assert third != first


def test_create_reuse_skips_configured_tasks(dcs_env: DcsTestEnv) -> None:
    first = create_op(reuse_existing=True).execute(context())
    dcs_env.configure(first)
    second = create_op(reuse_existing=True).execute(context())
    assert second != first


# ------------------------------------------------------------------------------------------------
# Stop and delete
# ------------------------------------------------------------------------------------------------


def test_stop_waits_until_terminated_and_is_idempotent(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method="incremental_migration")
    dcs_env.wait_status(task_id, "INCRMIGEATING")
    stop = DcsStopMigrationTaskOperator(task_id="stop", migration_task_id=task_id, poll_interval=0.05)
    assert stop.execute(context())["status"] == "TERMINATED"
    again = DcsStopMigrationTaskOperator(task_id="stop", migration_task_id=task_id, poll_interval=0.05)
    assert again.execute(context())["status"] == "TERMINATED"
    assert len(dcs_env.requests(method="POST", path=r"/stop$")) == 1


def test_stop_without_waiting(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method="incremental_migration")
    stop = DcsStopMigrationTaskOperator(task_id="stop", migration_task_id=task_id, wait_for_completion=False)
    assert stop.execute(context())["status"] == "TERMINATING"


def test_delete_confirms_through_the_list_and_is_idempotent(dcs_env: DcsTestEnv) -> None:
    dcs_env.admin.set_config(deleted_detail="SUCCESS")  # the detail call lies after deletion
    task_id = dcs_env.create_ready_task()
    delete = DcsDeleteMigrationTaskOperator(task_id="delete", migration_task_id=task_id, poll_interval=0.05)
    assert delete.execute(context()) == task_id
    assert dcs_env.status(task_id) == "SUCCESS"  # the lie
    assert len(dcs_env.requests(method="DELETE")) == 1
    assert (
        DcsDeleteMigrationTaskOperator(task_id="delete", migration_task_id=task_id).execute(context())
        == task_id
    )
    assert len(dcs_env.requests(method="DELETE")) == 1


def test_delete_of_a_migrating_task_fails_with_the_api_error(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method="incremental_migration")
    with pytest.raises(DcsApiError, match=r"DCS\.4957"):
        DcsDeleteMigrationTaskOperator(task_id="delete", migration_task_id=task_id).execute(context())


# ------------------------------------------------------------------------------------------------
# Console link
# ------------------------------------------------------------------------------------------------


def test_console_url() -> None:
    url = console_url("ap-southeast-1", "abc-123")
    assert url is not None
    assert url.startswith("https://console.huaweicloud.com/dcs/?region=ap-southeast-1#/dcs/migration")
    assert "abc-123" in url
    assert console_url(None, "abc", "https://dcs.cn-north-4.myhuaweicloud.com") == console_url(
        "cn-north-4", "abc"
    )
    assert console_url(None, "abc", "http://127.0.0.1:8780") is None
    assert console_url("ap-southeast-1", "") is None


def test_link_reads_xcom_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    class FakeXCom:
        @staticmethod
        def get_value(*, ti_key: Any, key: str) -> Any:
            calls.append({"ti_key": ti_key, "key": key})
            return "https://console.example/x"

    monkeypatch.setattr(compat_sdk, "XCom", FakeXCom, raising=False)
    link = DcsMigrationTaskLink()
    assert link.name == "DCS Migration Task"
    assert link.xcom_key == CONSOLE_URL_XCOM_KEY
    assert link.get_link(operator=None, ti_key="key") == "https://console.example/x"
    assert calls == [{"ti_key": "key", "key": CONSOLE_URL_XCOM_KEY}]
    FakeXCom.get_value = staticmethod(lambda **_: None)  # type: ignore[method-assign]
    assert link.get_link(operator=None, ti_key="key") == ""


def test_link_of_a_task_that_pushed_no_url_asks_without_a_failing_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Airflow 3 logs an error for a missing XCom: a delete (no URL pushed) must not cause one."""
    asked: list[str] = []

    class FakeXCom:
        @staticmethod
        def get_all(*, key: str, dag_id: str, task_id: str, run_id: str) -> Any:
            asked.append(f"get_all {dag_id}/{run_id}/{task_id}/{key}")
            return None

        @staticmethod
        def get_value(*, ti_key: Any, key: str) -> Any:
            asked.append("get_value")
            raise AssertionError("a lookup of a missing XCom logs an error on Airflow 3")

    monkeypatch.setattr(compat_sdk, "XCom", FakeXCom, raising=False)
    ti_key = SimpleNamespace(dag_id="d", task_id="delete", run_id="r", map_index=-1)
    assert DcsMigrationTaskLink().get_link(operator=None, ti_key=ti_key) == ""
    assert asked == [f"get_all d/r/delete/{CONSOLE_URL_XCOM_KEY}"]


# ------------------------------------------------------------------------------------------------
# A real dag.test() run (one, it costs ~15 s): create -> configure (deferred) -> sensor -> stop -> delete
# ------------------------------------------------------------------------------------------------

DAG_SCRIPT = textwrap.dedent(
    """
    import json
    from airflow.providers.common.compat.sdk import DAG
    from huaweicloud_dcs_provider.operators.lifecycle import (
        DcsCreateOnlineMigrationTaskOperator,
        DcsDeleteMigrationTaskOperator,
        DcsStopMigrationTaskOperator,
    )
    from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
    from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor

    TASK_ID = "{{ ti.xcom_pull(task_ids='create') }}"
    with DAG(dag_id="dcs_migration_test", schedule=None, catchup=False) as dag:
        create = DcsCreateOnlineMigrationTaskOperator(
            task_id="create", migration_task_name="dagtest", vpc_id="vpc-1", subnet_id="subnet-1",
            security_group_id="sg-1", poll_interval=0.2,
        )
        # Deferred: the trigger runs inline, then execute_complete gets the event and the summary.
        configure = DcsConfigureOnlineMigrationOperator(
            task_id="configure", migration_task_id=TASK_ID, migration_method="incremental_migration",
            resume_mode="auto",
            source_instance={"addrs": "127.0.0.1:6379", "password_conn_id": "redis_source"},
            target_instance={"addrs": "127.0.0.1:6380", "password": "{{ conn.redis_source.password }}"},
            deferrable=True, poll_interval=0.5,
        )
        # Already INCRMIGEATING: checks once and does not defer.
        wait = DcsMigrationTaskSensor(
            task_id="wait", migration_task_id=TASK_ID, success_statuses=["INCRMIGRATING"], poke_interval=0.5,
        )
        stop = DcsStopMigrationTaskOperator(task_id="stop", migration_task_id=TASK_ID, poll_interval=0.2)
        delete = DcsDeleteMigrationTaskOperator(
            task_id="delete", migration_task_id=TASK_ID, poll_interval=0.2
        )
        create >> configure >> wait >> stop >> delete

    if __name__ == "__main__":
        MIGRATE_DB
        run = dag.test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        print("RESULT " + json.dumps({"state": str(run.state), "tasks": states}))
    """
)


@pytest.mark.integration
def test_dag_test_end_to_end(dcs_env: DcsTestEnv, airflow_db_home: dict[str, str]) -> None:
    import os

    from airflow_fixtures import MIGRATE_DB, conn_json, run_dag_file

    env = dict(airflow_db_home)
    env["AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT"] = conn_json(dcs_env.emulator)
    env["AIRFLOW_CONN_REDIS_SOURCE"] = os.environ["AIRFLOW_CONN_REDIS_SOURCE"]
    dcs_env.admin.set_config(full_seconds=2.0)  # the deferral must really wait a little
    result = run_dag_file("dcs_migration_test", DAG_SCRIPT.replace("MIGRATE_DB", MIGRATE_DB), env)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no result:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
    outcome = json.loads(lines[-1][len("RESULT ") :])
    assert outcome["state"] == "success", f"{outcome}\n{result.stdout[-8000:]}"
    assert set(outcome["tasks"].values()) == {"success"}
    output = result.stdout + result.stderr
    assert "running trigger in line" in output  # the configure task really deferred
    assert "Watching DCS migration task" in output
    assert CONN_PASSWORD not in output
    assert dcs_env.emulator.secret_key not in output
    assert len(dcs_env.requests(method="POST", path=CONFIGURE_POST)) == 1
    assert len(dcs_env.requests(method="DELETE")) == 1
    # A green run logs no error (e.g. the extra link's XCom lookup, with no region: issue 17).
    errors = [line for line in output.splitlines() if "[error" in line or " ERROR " in line]
    assert errors == [], "\n".join(errors)
