"""No false success, nothing lost: the wrong outcomes a trusted migration step must never give.

Each test is a case where the provider once reported success for a migration that did not
complete (or failed one that did, or waited for something that could no longer come), played
against the emulator as the real service behaves at its worst:

* a task stopped and deleted mid-migration whose detail still answers ``SUCCESS``;
* ``RELEASED`` after a real success, and ``RELEASED`` without one;
* ``TERMINATING`` while ``SUCCESS`` is awaited;
* a Redis password so short (``0``, ``S``) that scrubbing it everywhere rewrote ids and statuses,
  or one that is part of an id or a figure;
* a create retried after the first try's create took effect.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest

from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.exceptions import DcsMigrationFailedError
from huaweicloud_dcs_provider.hooks.dcs import DcsHook
from huaweicloud_dcs_provider.operators.lifecycle import DcsCreateOnlineMigrationTaskOperator
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor
from huaweicloud_dcs_provider.triggers.migration import DcsMigrationTaskTrigger
from reliability import figures

if TYPE_CHECKING:
    from airflow_fixtures import DcsTestEnv

pytest_plugins = ["airflow_fixtures"]

FAST = RetryPolicy(max_attempts=2, initial_wait=0.05, max_wait=0.1, max_total_seconds=5)
CREATE_POST = r"/migration/instance$"


def context(**extra: Any) -> dict[str, Any]:
    from airflow_fixtures import make_context

    return make_context(**extra)


def wait_sensor(task_id: str, **kwargs: Any) -> DcsMigrationTaskSensor:
    kwargs.setdefault("poke_interval", 0.1)
    kwargs.setdefault("timeout", 30)
    return DcsMigrationTaskSensor(task_id="wait", migration_task_id=task_id, **kwargs)


async def run_trigger(task_id: str, **kwargs: Any) -> dict[str, Any]:
    trigger = DcsMigrationTaskTrigger(migration_task_id=task_id, poll_interval=0.1, **kwargs)
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger fired no event")


def start_slow_full_migration(dcs_env: DcsTestEnv, seconds: float = 60.0) -> str:
    """A full migration that stays in its copy phase for ``seconds``."""
    dcs_env.admin.set_config(full_seconds=seconds)
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    dcs_env.wait_status(task_id, "FULLMIGRATING")
    return task_id


def outcome(record: str, case: str, result: str) -> None:
    figures.record(record, {"case": case, "result": result})


# ------------------------------------------------------------------------------------------------
# A deleted task reads as SUCCESS
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["poke", "deferrable", "trigger"])
def test_a_task_deleted_mid_migration_that_reads_success_fails_the_wait(
    dcs_env: DcsTestEnv, mode: str
) -> None:
    task_id = start_slow_full_migration(dcs_env)
    hook = DcsHook(retry_policy=FAST)
    hook.stop_migration_task(task_id)
    dcs_env.wait_status(task_id, "TERMINATED")
    hook.delete_migration_tasks([task_id])
    dcs_env.admin.set_config(deleted_detail="SUCCESS")  # the detail of the deleted task says SUCCESS
    assert hook.get_migration_task(task_id).status == "SUCCESS"
    if mode == "trigger":
        event = asyncio.run(run_trigger(task_id))
        assert event["status"] == "failure", event
        message = event["message"]
    else:
        with pytest.raises(DcsMigrationFailedError) as raised:
            wait_sensor(task_id, deferrable=mode == "deferrable").execute(context())
        message = str(raised.value)
    assert "deleted" in message, message
    assert "SUCCESS" in message, message
    outcome(
        "wrong_outcomes", f"task stopped and deleted mid-migration, detail answers SUCCESS ({mode})", message
    )


def test_a_real_success_is_still_a_success(dcs_env: DcsTestEnv) -> None:
    """The confirmation (still listed, copy complete) passes a migration that did finish."""
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    result = wait_sensor(task_id, deferrable=False).execute(context())
    assert result["status"] == "SUCCESS"
    assert result["stats"]["full_migration_progress"] == 100


# ------------------------------------------------------------------------------------------------
# RELEASED
# ------------------------------------------------------------------------------------------------


def test_released_after_a_real_success_passes(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    dcs_env.wait_status(task_id, "SUCCESS")
    dcs_env.admin.force_status(task_id, "RELEASED", seconds=60)  # its migration VM was released since
    result = wait_sensor(task_id, deferrable=False).execute(context())
    assert result["status"] == "RELEASED"
    event = asyncio.run(run_trigger(task_id))
    assert event["status"] == "success", event
    assert "released" in event["message"].lower()
    outcome("wrong_outcomes", "SUCCESS, then RELEASED (the migration VM released)", event["message"])


def test_released_without_a_success_fails(dcs_env: DcsTestEnv) -> None:
    task_id = start_slow_full_migration(dcs_env)
    dcs_env.admin.force_status(task_id, "RELEASED", seconds=60)  # released while the copy ran
    with pytest.raises(DcsMigrationFailedError) as raised:
        wait_sensor(task_id, deferrable=False).execute(context())
    message = str(raised.value)
    assert "RELEASED" in message, message
    assert "not" in message, message
    outcome("wrong_outcomes", "RELEASED while the full copy was not complete", message)


# ------------------------------------------------------------------------------------------------
# TERMINATING
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["poke", "trigger"])
def test_a_stop_under_way_ends_a_wait_for_success_promptly(dcs_env: DcsTestEnv, mode: str) -> None:
    task_id = start_slow_full_migration(dcs_env)
    dcs_env.admin.set_config(stop_seconds=60)  # TERMINATING for a minute
    DcsHook(retry_policy=FAST).stop_migration_task(task_id)
    started = time.monotonic()
    if mode == "trigger":
        event = asyncio.run(run_trigger(task_id, deadline=time.time() + 30))
        assert event["status"] == "failure", event
        message = event["message"]
    else:
        with pytest.raises(DcsMigrationFailedError) as raised:
            wait_sensor(task_id, deferrable=False).execute(context())
        message = str(raised.value)
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed
    assert "being stopped" in message, message
    assert "TERMINATING" in message, message
    assert "left running" not in message
    outcome("wrong_outcomes", f"TERMINATING while SUCCESS is awaited ({mode})", f"{elapsed:.1f} s: {message}")


def test_a_wait_for_the_stop_itself_still_waits_through_terminating(dcs_env: DcsTestEnv) -> None:
    task_id = start_slow_full_migration(dcs_env)
    dcs_env.admin.set_config(stop_seconds=0.5)
    DcsHook(retry_policy=FAST).stop_migration_task(task_id)
    result = wait_sensor(task_id, deferrable=False, success_statuses=("TERMINATED",)).execute(context())
    assert result["status"] == "TERMINATED"


# ------------------------------------------------------------------------------------------------
# Short passwords
# ------------------------------------------------------------------------------------------------


def migrate_with_password(dcs_env: DcsTestEnv, password_of: Any) -> tuple[str, Any]:
    """A full migration whose Redis password is ``password_of(task_id)``, waited for by the hook:
    every id, status, address and figure it reads must be intact, the password never shown."""
    task_id = dcs_env.create_ready_task()
    password = password_of(task_id)
    hook = DcsHook(retry_policy=FAST)
    hook.configure_online_migration(
        task_id,
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "127.0.0.1:6379", "password": password},
        target_instance={"addrs": "127.0.0.1:6380", "password": password},
    )
    done = hook.wait_for_task_status(task_id, ["SUCCESS"], timeout=30, poll_interval=0.1)
    assert done.task_id == task_id
    assert done.status == "SUCCESS"
    assert done.source_instance is not None
    assert done.source_instance.addrs == "127.0.0.1:6379"
    assert done.raw["source_instance"]["db"] == "0"  # the database number, even for a password "0"
    stats = hook.get_migration_task_stats(task_id)
    assert stats.full_migration_progress == 100
    listed = [t.task_id for t in hook.list_migration_tasks()]
    assert task_id in listed
    # The password itself is still never shown: the API echoes it under "password".
    assert done.raw["source_instance"]["password"] == "***"
    return task_id, done


@pytest.mark.parametrize("password", ["0", "S", "1", "-"])
def test_a_short_redis_password_never_rewrites_ids_statuses_or_numbers(
    dcs_env: DcsTestEnv, password: str
) -> None:
    task_id, done = migrate_with_password(dcs_env, lambda _: password)
    outcome("wrong_outcomes", f"Redis password {password!r}", f"id {task_id}, status {done.status} intact")


def test_a_long_password_inside_the_task_id_never_rewrites_ids_statuses_or_numbers(
    dcs_env: DcsTestEnv,
) -> None:
    """A password of 8+ characters that happens to be part of the task id (here: its first 8 hex
    digits) is still no reason to rewrite an id: the wait must see its own task, the figures intact."""
    task_id, done = migrate_with_password(dcs_env, lambda task_id: task_id[:8])
    outcome(
        "wrong_outcomes",
        "Redis password of 8 characters inside the task id",
        f"id {task_id}, status {done.status} intact",
    )


def test_no_secret_rewrites_an_id_a_status_or_a_number_whatever_its_length() -> None:
    """Well-formed ids, statuses, codes, figures (strings in the API) and times are never rewritten
    by a secret they contain; free text is scrubbed, and so is a structural field that is not
    well-formed or is a secret itself (an API echoing a secret there)."""
    from huaweicloud_dcs_provider.api.redaction import scrub

    answer = {
        "task_id": "0f6a8a58-bf84-45ab-8ec3-119e13c65c5a",
        "status": "SUCCESS",
        "error_code": "DCS.4133",
        "source_dbsize": "100000000",
        "offset": "1000000000",
        "full_migration_progress": "100",
        "created_at": "2026-12-01T00:00:00Z",
        "description": "password 00000000 and 0f6a8a58 echoed",
    }
    secrets = ["00000000", "0f6a8a58", "UCCES", "4133"]
    scrubbed = scrub(answer, secrets)
    assert {k: scrubbed[k] for k in answer if k != "description"} == {
        k: v for k, v in answer.items() if k != "description"
    }
    assert scrubbed["description"] == "password *** and *** echoed"
    echoed = scrub({"status": "status: 0f6a8a58!", "task_id": "00000000", "offset": "12 00000000"}, secrets)
    assert echoed == {"status": "status: ***!", "task_id": "***", "offset": "12 ***"}


# ------------------------------------------------------------------------------------------------
# A retried create
# ------------------------------------------------------------------------------------------------


class StateStore:
    """Stands in for Airflow 3.3's ``task_state_store`` (one task instance, every try)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.values[key] = value


def create_op(**kwargs: Any) -> DcsCreateOnlineMigrationTaskOperator:
    from airflow_fixtures import NETWORK

    return DcsCreateOnlineMigrationTaskOperator(
        task_id="create", migration_task_name="orders-move", poll_interval=0.1, **NETWORK, **kwargs
    )


def try_context(try_number: int, store: StateStore | None) -> dict[str, Any]:
    ctx = context() if store is None else context(task_state_store=store)
    ctx["ti"].try_number = try_number
    return ctx


@pytest.mark.parametrize("with_store", [True, False], ids=["task-state-store", "name-only"])
def test_a_retried_create_finds_the_task_the_first_try_made(dcs_env: DcsTestEnv, with_store: bool) -> None:
    store = StateStore() if with_store else None
    first = create_op().execute(try_context(1, store))
    # The worker dies here; the scheduler starts try 2 of the same task instance.
    second = create_op().execute(try_context(2, store))
    assert second == first
    assert len(dcs_env.requests(method="POST", path=CREATE_POST)) == 1
    if store is not None:
        assert store.values["dcs_migration_task_id"] == first
    outcome(
        "wrong_outcomes",
        f"create retried after it took effect ({'task state store' if with_store else 'by name'})",
        f"try 2 reused {first}; 1 create POST",
    )


def test_a_retried_create_after_the_worker_died_mid_call_finds_it_by_name(dcs_env: DcsTestEnv) -> None:
    """The create took effect but try 1 died before it could remember the id."""
    from airflow_fixtures import NETWORK

    made = DcsHook(retry_policy=FAST).create_online_migration_task(
        name="orders-move", wait_until_ready=False, **NETWORK
    )
    store = StateStore()  # empty: try 1 never got to write it
    second = create_op().execute(try_context(2, store))
    assert second == made["task_id"]
    assert len(dcs_env.requests(method="POST", path=CREATE_POST)) == 1


def test_the_first_try_always_creates(dcs_env: DcsTestEnv) -> None:
    """A new run creates a new task even when one of that name exists (reuse is opt-in there)."""
    first = create_op().execute(try_context(1, None))
    again = create_op().execute(try_context(1, None))
    assert again != first
    assert len(dcs_env.requests(method="POST", path=CREATE_POST)) == 2


def test_a_retry_does_not_reuse_a_deleted_remembered_task(dcs_env: DcsTestEnv) -> None:
    store = StateStore()
    first = create_op().execute(try_context(1, store))
    hook = DcsHook(retry_policy=FAST)
    hook.delete_migration_tasks([first])
    second = create_op().execute(try_context(2, store))
    assert second != first
    assert store.values["dcs_migration_task_id"] == second


# ------------------------------------------------------------------------------------------------
# Two configures at once
# ------------------------------------------------------------------------------------------------

CONFIGURE_POST = r"/migration/[0-9a-f-]+/task$"


def _configure_op(task_id: str, target: str) -> Any:
    from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator

    return DcsConfigureOnlineMigrationOperator(
        task_id="configure",
        migration_task_id=task_id,
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "127.0.0.1:6379"},
        target_instance={"addrs": target},
        poll_interval=0.1,
        deferrable=False,
    )


def _race(task_id: str, targets: tuple[str, str], dcs_env: DcsTestEnv) -> list[Any]:
    """Two runs configure ``task_id`` at the same moment: both read RUNNING, both send."""
    import threading

    # Both POSTs are held 0.5 s before the API sees them, so both runs read RUNNING first.
    dcs_env.admin.add_fault(action="latency", method="POST", path=CONFIGURE_POST, delay=0.5, count=2)
    outcomes: list[Any] = [None, None]

    def run(index: int) -> None:
        operator = _configure_op(task_id, targets[index])
        # The undecorated execute: Airflow 2's executor safeguard refuses a call from another thread.
        execute = getattr(type(operator).execute, "__wrapped__", type(operator).execute)
        try:
            outcomes[index] = execute(operator, context())
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def _effective_configures(dcs_env: DcsTestEnv) -> int:
    return sum(
        1
        for r in dcs_env.requests(method="POST", path=CONFIGURE_POST)
        if 200 <= int(r.get("handled_status") or 0) < 300
    )


def test_two_identical_configures_at_once_start_one_migration_and_both_attach(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    outcomes = _race(task_id, ("127.0.0.1:6380", "127.0.0.1:6380"), dcs_env)
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert [o["status"] for o in outcomes] == ["SUCCESS", "SUCCESS"]
    assert len(dcs_env.requests(method="POST", path=CONFIGURE_POST)) == 2
    assert _effective_configures(dcs_env) == 1
    outcome(
        "wrong_outcomes", "two identical configures at the same moment", "1 took effect; the other attached"
    )


def test_two_different_configures_at_once_the_loser_fails_clearly(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    outcomes = _race(task_id, ("127.0.0.1:6380", "127.0.0.1:6390"), dcs_env)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    results = [o for o in outcomes if isinstance(o, dict)]
    assert len(errors) == 1, outcomes
    assert len(results) == 1, outcomes
    assert "different configuration" in str(errors[0])
    assert "second migration" in str(errors[0])
    assert _effective_configures(dcs_env) == 1
    outcome("wrong_outcomes", "two different configures at the same moment", str(errors[0]))
