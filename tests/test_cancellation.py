"""Opt-in cancellation (``stop_on_kill``): a user's kill stops the migration, nothing else does.

Against the emulator: the configure operator's and the sensors' ``on_kill`` (worker side), the
trigger's ``on_kill`` (triggerer side, deferred), and a cancelled trigger (what a triggerer restart
does), which must never stop anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, TaskDeferred

from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.exceptions import DcsError
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationLagSensor, DcsMigrationTaskSensor
from huaweicloud_dcs_provider.triggers import migration as trigger_module
from huaweicloud_dcs_provider.triggers.migration import DcsMigrationTaskTrigger

if TYPE_CHECKING:
    from airflow_fixtures import DcsTestEnv

pytest_plugins = ["airflow_fixtures"]

STOP = r"/migration-task/[0-9a-f-]+/stop$"
INCREMENTAL = "incremental_migration"


@pytest.fixture(autouse=True)
def fast_poll_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        trigger_module,
        "POLL_RETRY_POLICY",
        RetryPolicy(max_attempts=2, initial_wait=0.05, max_wait=0.1, max_total_seconds=5),
    )


def incremental_task(dcs_env: DcsTestEnv) -> str:
    """A task in INCRMIGEATING (incremental sync, which never ends by itself)."""
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method=INCREMENTAL)
    dcs_env.wait_status(task_id, "INCRMIGEATING")
    return task_id


def assert_stopped(dcs_env: DcsTestEnv, task_id: str) -> None:
    assert len(dcs_env.requests(method="POST", path=STOP)) == 1
    assert dcs_env.status(task_id) in ("TERMINATING", "TERMINATED")
    dcs_env.wait_status(task_id, "TERMINATED")


def assert_left_running(dcs_env: DcsTestEnv, task_id: str) -> None:
    assert not dcs_env.requests(method="POST", path=STOP)
    assert dcs_env.status(task_id) in ("FULLMIGRATING", "INCRMIGEATING")


def configure_op(task_id: str, **kwargs: Any) -> DcsConfigureOnlineMigrationOperator:
    return DcsConfigureOnlineMigrationOperator(
        task_id="configure",
        migration_task_id=task_id,
        migration_method=INCREMENTAL,
        resume_mode="manual",
        source_instance={"addrs": "127.0.0.1:6379"},
        target_instance={"addrs": "127.0.0.1:6380"},
        poll_interval=0.1,
        deferrable=True,
        **kwargs,
    )


def trigger(task_id: str, **kwargs: Any) -> DcsMigrationTaskTrigger:
    return DcsMigrationTaskTrigger(
        migration_task_id=task_id, success_statuses=["SUCCESS"], poll_interval=0.1, **kwargs
    )


# ------------------------------------------------------------------------------------------------
# Trigger (deferred tasks)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opt_in", [True, False])
def test_trigger_on_kill_stops_only_with_opt_in(dcs_env: DcsTestEnv, opt_in: bool) -> None:
    task_id = incremental_task(dcs_env)
    kwargs = {"stop_on_kill": True} if opt_in else {}
    # The trigger as the triggerer rebuilds it from its serialized kwargs.
    _classpath, serialized = trigger(task_id, **kwargs).serialize()
    assert serialized.get("stop_on_kill") is (True if opt_in else None)
    asyncio.run(DcsMigrationTaskTrigger(**serialized).on_kill())
    if opt_in:
        assert_stopped(dcs_env, task_id)
    else:
        assert_left_running(dcs_env, task_id)


def test_trigger_cancellation_and_cleanup_never_stop(dcs_env: DcsTestEnv) -> None:
    """A triggerer restart cancels the trigger's run and cleans up: the migration goes on."""
    task_id = incremental_task(dcs_env)
    run_trigger = trigger(task_id, stop_on_kill=True)

    async def run_then_cancel() -> None:
        events = run_trigger.run()
        pending = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.5)  # a few polls
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
        await events.aclose()
        await run_trigger.cleanup()

    asyncio.run(run_then_cancel())
    assert_left_running(dcs_env, task_id)


def test_trigger_on_kill_never_raises(
    dcs_env: DcsTestEnv, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Best effort: a stop the API refuses (here: the task does not exist) is logged."""
    missing = "0b6b7d1c-1234-4abc-8def-1234567890ab"
    asyncio.run(trigger(missing, stop_on_kill=True).on_kill())
    assert len(dcs_env.requests(method="POST", path=STOP)) == 1
    assert f"Could not stop DCS migration task {missing}" in caplog.text + capsys.readouterr().out


# ------------------------------------------------------------------------------------------------
# Worker side: operator and sensors
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("opt_in", [True, False])
def test_configure_operator_on_kill(dcs_env: DcsTestEnv, opt_in: bool) -> None:
    from airflow_fixtures import make_context

    task_id = dcs_env.create_ready_task()
    op = configure_op(task_id, stop_on_kill=opt_in, success_statuses=["SUCCESS"])
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    assert deferred.value.trigger.serialize()[1].get("stop_on_kill") is (True if opt_in else None)
    dcs_env.wait_status(task_id, "INCRMIGEATING")
    op.on_kill()
    if opt_in:
        assert_stopped(dcs_env, task_id)
    else:
        assert_left_running(dcs_env, task_id)


def test_configure_operator_on_kill_before_configuring_stops_nothing(dcs_env: DcsTestEnv) -> None:
    task_id = incremental_task(dcs_env)
    configure_op(task_id, stop_on_kill=True).on_kill()
    assert_left_running(dcs_env, task_id)


@pytest.mark.parametrize("sensor_class", [DcsMigrationTaskSensor, DcsMigrationLagSensor])
@pytest.mark.parametrize("opt_in", [True, False])
def test_sensor_on_kill(
    dcs_env: DcsTestEnv, sensor_class: type[DcsMigrationTaskSensor], opt_in: bool
) -> None:
    task_id = incremental_task(dcs_env)
    sensor = sensor_class(task_id="wait", migration_task_id=task_id, stop_on_kill=opt_in, poke_interval=0.1)
    sensor.on_kill()
    if opt_in:
        assert_stopped(dcs_env, task_id)
    else:
        assert_left_running(dcs_env, task_id)


def test_sensor_stop_failure_is_logged_not_raised(
    dcs_env: DcsTestEnv, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "0b6b7d1c-1234-4abc-8def-1234567890ab"
    DcsMigrationTaskSensor(task_id="wait", migration_task_id=missing, stop_on_kill=True).on_kill()
    assert f"Could not stop DCS migration task {missing}" in caplog.text + capsys.readouterr().out


# ------------------------------------------------------------------------------------------------
# Wait deadline (timeout) with and without stop_on_deadline
# ------------------------------------------------------------------------------------------------


def run_deferred(deferred: TaskDeferred) -> dict[str, Any]:
    """Run the trigger of a deferral to its one event."""

    async def first() -> dict[str, Any]:
        async for event in deferred.trigger.run():
            payload: dict[str, Any] = event.payload
            return payload
        raise AssertionError("the trigger fired no event")

    return asyncio.run(asyncio.wait_for(first(), 20))


@pytest.mark.parametrize("opt_in", [True, False])
def test_configure_operator_deadline(dcs_env: DcsTestEnv, opt_in: bool) -> None:
    from airflow_fixtures import make_context

    task_id = dcs_env.create_ready_task()
    # Waiting for TERMINATED keeps the wait going while the task migrates, until the deadline.
    op = configure_op(task_id, stop_on_deadline=opt_in, success_statuses=["TERMINATED"], timeout=0.6)
    ctx = make_context()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    event = run_deferred(deferred.value)
    assert event["status"] == "timeout"
    with pytest.raises(DcsError, match="at the wait deadline") as failed:
        op.execute_complete(ctx, event=event, **(deferred.value.kwargs or {}))
    if opt_in:
        assert "The migration was stopped (stop_on_deadline)." in str(failed.value)
        assert_stopped(dcs_env, task_id)
    else:
        assert "The migration itself was left running." in str(failed.value)
        assert_left_running(dcs_env, task_id)


@pytest.mark.parametrize("opt_in", [True, False])
def test_deferred_sensor_deadline(dcs_env: DcsTestEnv, opt_in: bool) -> None:
    from airflow_fixtures import make_context

    task_id = incremental_task(dcs_env)
    sensor = DcsMigrationTaskSensor(
        task_id="wait",
        migration_task_id=task_id,
        success_statuses=["TERMINATED"],  # keeps waiting while the task migrates
        poke_interval=0.1,
        timeout=0.6,
        stop_on_deadline=opt_in,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    event = run_deferred(deferred.value)
    with pytest.raises(AirflowSensorTimeout) as failed:
        sensor.execute_complete(make_context(), event=event)
    if opt_in:
        assert "was stopped" in str(failed.value)
        assert_stopped(dcs_env, task_id)
    else:
        assert_left_running(dcs_env, task_id)


@pytest.mark.parametrize("opt_in", [True, False])
def test_poking_lag_sensor_deadline(dcs_env: DcsTestEnv, opt_in: bool) -> None:
    from airflow_fixtures import make_context

    task_id = incremental_task(dcs_env)
    sensor = DcsMigrationLagSensor(
        task_id="lag",
        migration_task_id=task_id,
        deferrable=False,
        poke_interval=0.1,
        timeout=0.5,
        max_offset=0,
        key_count_tolerance=0,
        max_key_drift=0,
        consecutive_samples=1_000,  # never satisfied in time
        stop_on_deadline=opt_in,
    )
    with pytest.raises(AirflowSensorTimeout) as failed:
        sensor.execute(make_context())
    if opt_in:
        assert "The migration was stopped (stop_on_deadline)." in str(failed.value)
        assert_stopped(dcs_env, task_id)
    else:
        assert_left_running(dcs_env, task_id)
