"""DcsMigrationTaskSensor in deferrable, poke and reschedule modes, against the real emulator."""

from __future__ import annotations

import importlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

# Not in common-compat's sdk; airflow.exceptions re-exports the Task SDK's class on Airflow 3.
from airflow.exceptions import AirflowRescheduleException
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException, TaskDeferred

from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.exceptions import DcsError, DcsMigrationFailedError
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor
from huaweicloud_dcs_provider.triggers import migration as trigger_module
from huaweicloud_dcs_provider.triggers.migration import DcsMigrationTaskTrigger

if TYPE_CHECKING:
    from airflow_fixtures import DcsTestEnv

pytest_plugins = ["airflow_fixtures"]

NO_RETRY = RetryPolicy(max_attempts=1)
DETAIL = r"/migration-task/[0-9a-f-]+$"


def sensor(task_id: str, **kwargs: Any) -> DcsMigrationTaskSensor:
    kwargs.setdefault("poke_interval", 0.1)
    kwargs.setdefault("timeout", 60)
    return DcsMigrationTaskSensor(task_id="wait", migration_task_id=task_id, **kwargs)


def context() -> dict[str, Any]:
    from airflow_fixtures import make_context

    return make_context()


def test_defaults_and_template_fields() -> None:
    s = DcsMigrationTaskSensor(task_id="wait", migration_task_id="{{ ti.xcom_pull('create') }}")
    assert s.deferrable is True
    assert s.poke_interval == 30
    assert s.success_statuses == ("SUCCESS",)
    assert s.dcs_conn_id == "huaweicloud_dcs_default"
    assert s.template_fields == ("migration_task_id",)
    assert DcsMigrationTaskSensor(
        task_id="w", migration_task_id="x", success_statuses="incrmigrating"
    ).success_statuses == ("INCRMIGEATING",)


@pytest.mark.parametrize(("statuses", "problem"), [(("DONE",), "unknown status"), ((), "at least one")])
def test_invalid_success_statuses_fail_at_parse_time(statuses: tuple[str, ...], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        DcsMigrationTaskSensor(task_id="w", migration_task_id="x", success_statuses=statuses)


def test_deferrable_needs_a_positive_interval() -> None:
    with pytest.raises(ValueError, match="poke_interval"):
        DcsMigrationTaskSensor(task_id="w", migration_task_id="x", poke_interval=0)


# ------------------------------------------------------------------------------------------------
# Deferrable
# ------------------------------------------------------------------------------------------------


def test_defers_when_not_finished(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method="incremental_migration")
    s = sensor(task_id, poke_interval=20, timeout=3600, success_statuses=["INCRMIGEATING"])
    before = time.time()
    with pytest.raises(TaskDeferred) as info:
        s.execute(context())
    deferred = info.value
    assert deferred.method_name == "execute_complete"
    classpath, kwargs = deferred.trigger.serialize()
    assert classpath == "huaweicloud_dcs_provider.triggers.migration.DcsMigrationTaskTrigger"
    deadline = kwargs.pop("deadline")
    assert before + 3600 <= deadline <= time.time() + 3600
    assert kwargs == {
        "migration_task_id": task_id,
        "dcs_conn_id": "huaweicloud_dcs_default",
        "success_statuses": ["INCRMIGEATING"],
        "poll_interval": 20.0,
        "max_consecutive_errors": 5,
    }
    # Airflow's own deferral timeout is only a backstop beyond the trigger's deadline.
    assert deferred.timeout is not None
    assert deferred.timeout.total_seconds() > 3600
    # It checked once before deferring.
    assert len(dcs_env.requests(method="GET", path=DETAIL)) >= 1


def test_does_not_defer_when_already_finished(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    dcs_env.wait_status(task_id, "SUCCESS")
    result = sensor(task_id).execute(context())
    assert result["id"] == task_id
    assert result["status"] == "SUCCESS"
    assert result["name"] == "mig"


def test_already_failed_fails_without_deferring(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, source={"addrs": "127.0.0.1:1"})
    dcs_env.wait_status(task_id, "MIGRATION_FAILED")
    with pytest.raises(DcsMigrationFailedError) as info:
        sensor(task_id).execute(context())
    assert "MIGRATION_FAILED" in str(info.value)
    assert "Connection refused" in str(info.value)
    assert info.value.status == "MIGRATION_FAILED"


def test_transient_error_on_the_first_check_still_defers(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.admin.add_fault(method="GET", path=DETAIL, status=503, count=1)
    s = sensor(task_id)
    s.hook.retry_policy = NO_RETRY
    with pytest.raises(TaskDeferred):
        s.execute(context())


def test_wrong_credentials_fail_before_deferring(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    with pytest.raises(DcsError, match="401") as info:
        sensor(task_id, dcs_conn_id="dcs_wrong_sk").execute(context())
    assert "not-the-secret-key" not in str(info.value)


async def test_deferred_then_resumed_through_the_real_trigger(
    dcs_env: DcsTestEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defer, rebuild the trigger from its serialized form (as the triggerer does), run it, resume."""
    monkeypatch.setattr(trigger_module, "POLL_RETRY_POLICY", NO_RETRY)
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    s = sensor(task_id, poke_interval=0.2)
    with pytest.raises(TaskDeferred) as info:
        s.execute(context())
    classpath, kwargs = info.value.trigger.serialize()
    module, _, name = classpath.rpartition(".")
    trigger = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    result = s.execute_complete(context(), event=events[0])
    assert result["status"] == "SUCCESS"
    assert result["id"] == task_id


# ------------------------------------------------------------------------------------------------
# execute_complete: every event status
# ------------------------------------------------------------------------------------------------


def event(status: Any, **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "migration_task_id": "t-1",
        "task_status": "X",
        "task_name": "n",
        "message": f"message {status}",
        "error_text": None,
        "stats": None,
        **extra,
    }


def test_execute_complete_maps_every_outcome() -> None:
    s = sensor("t-1")
    assert s.execute_complete(context(), event("success", task_status="SUCCESS"))["status"] == "SUCCESS"
    with pytest.raises(DcsMigrationFailedError, match="message failure"):
        s.execute_complete(context(), event("failure", task_status="FAILED"))
    with pytest.raises(AirflowSensorTimeout, match="message timeout"):
        s.execute_complete(context(), event("timeout"))
    with pytest.raises(DcsError, match="message error"):
        s.execute_complete(context(), event("error"))
    with pytest.raises(DcsError, match="Unknown"):
        s.execute_complete(context(), event("cancelled"))
    with pytest.raises(DcsError, match="Malformed"):
        s.execute_complete(context(), None)


def test_soft_fail_skips_on_timeout() -> None:
    s = sensor("t-1", soft_fail=True)
    with pytest.raises(AirflowSkipException):
        s.resume_execution("execute_complete", {"event": event("timeout")}, context())


# ------------------------------------------------------------------------------------------------
# Poke and reschedule modes
# ------------------------------------------------------------------------------------------------


def test_poke_mode_waits_until_success(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    result = sensor(task_id, deferrable=False, mode="poke").execute(context())
    assert result["status"] == "SUCCESS"
    assert result["stats"]["full_migration_progress"] == 100
    assert len(dcs_env.requests(method="GET", path=DETAIL)) >= 2


def test_poke_mode_times_out(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()  # RUNNING forever
    with pytest.raises(AirflowSensorTimeout):
        sensor(task_id, deferrable=False, mode="poke", timeout=0.5).execute(context())


def test_poke_mode_stopped_task_fails_clearly(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method="incremental_migration")
    dcs_env.wait_status(task_id, "INCRMIGEATING")
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    DcsHook().stop_migration_task(task_id)
    dcs_env.wait_status(task_id, "TERMINATED")
    with pytest.raises(DcsMigrationFailedError, match="TERMINATED, which is not an awaited status"):
        sensor(task_id, deferrable=False).execute(context())


def test_poke_rides_out_transient_errors(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    dcs_env.wait_status(task_id, "SUCCESS")
    dcs_env.admin.add_fault(method="GET", path=DETAIL, status=503, count=1)
    s = sensor(task_id, deferrable=False)
    s.hook.retry_policy = NO_RETRY
    assert s.poke(context()) is False  # transient: keep waiting
    done = s.poke(context())
    assert done
    assert done.xcom_value["status"] == "SUCCESS"


def test_poke_unknown_task_fails(dcs_env: DcsTestEnv) -> None:
    with pytest.raises(DcsMigrationFailedError, match="does not exist"):
        sensor(str(uuid.uuid4()), deferrable=False).poke(context())


def test_reschedule_mode(dcs_env: DcsTestEnv, no_reschedule_history: None) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    s = sensor(task_id, deferrable=False, mode="reschedule", poke_interval=5)
    with pytest.raises(AirflowRescheduleException):
        s.execute(context())
    dcs_env.wait_status(task_id, "SUCCESS")
    again = sensor(task_id, deferrable=False, mode="reschedule", poke_interval=5)
    assert again.execute(context())["status"] == "SUCCESS"


def test_trigger_class_is_the_shared_one() -> None:
    assert trigger_module.DcsMigrationTaskTrigger is DcsMigrationTaskTrigger
