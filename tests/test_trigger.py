"""DcsMigrationTaskTrigger: serialization, and every way a wait ends, against the real emulator."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pytest

from huaweicloud_dcs_provider import waiting
from huaweicloud_dcs_provider.api.models import MigrationLog, MigrationStats, MigrationTask
from huaweicloud_dcs_provider.api.plan import drive_async
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.api.transport import Call
from huaweicloud_dcs_provider.triggers import migration as trigger_module
from huaweicloud_dcs_provider.triggers.migration import DcsMigrationTaskTrigger

if TYPE_CHECKING:
    from airflow_fixtures import DcsTestEnv

pytest_plugins = ["airflow_fixtures"]

TASK = "0b6b7d1c-1234-4abc-8def-1234567890ab"
DETAIL = r"/migration-task/[0-9a-f-]+$"


@pytest.fixture(autouse=True)
def fast_poll_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook's in-call retries, shortened (the poll loop's own tolerance is what is tested)."""
    monkeypatch.setattr(
        trigger_module,
        "POLL_RETRY_POLICY",
        RetryPolicy(max_attempts=2, initial_wait=0.05, max_wait=0.1, max_total_seconds=5),
    )


async def run_trigger(trigger: DcsMigrationTaskTrigger, timeout: float = 30) -> list[dict[str, Any]]:
    """All events of a run (exactly one is expected), with a safety timeout."""

    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(collect(), timeout)


def make(task_id: str = TASK, **kwargs: Any) -> DcsMigrationTaskTrigger:
    kwargs.setdefault("poll_interval", 0.2)
    return DcsMigrationTaskTrigger(migration_task_id=task_id, **kwargs)


# ------------------------------------------------------------------------------------------------
# Serialization
# ------------------------------------------------------------------------------------------------


def test_serialize_exact_kwargs_and_round_trip() -> None:
    trigger = DcsMigrationTaskTrigger(
        migration_task_id=TASK,
        dcs_conn_id="my_dcs",
        success_statuses=["incrmigrating", "SUCCESS"],
        poll_interval=15,
        deadline=1_900_000_000,
        max_consecutive_errors=7,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "huaweicloud_dcs_provider.triggers.migration.DcsMigrationTaskTrigger"
    assert kwargs == {
        "migration_task_id": TASK,
        "dcs_conn_id": "my_dcs",
        "success_statuses": ["INCRMIGEATING", "SUCCESS"],
        "poll_interval": 15.0,
        "deadline": 1_900_000_000.0,
        "max_consecutive_errors": 7,
    }
    # Plain JSON data only, and it rebuilds the same trigger.
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert DcsMigrationTaskTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_serialized_trigger_holds_no_secret(dcs_env: DcsTestEnv) -> None:
    _, kwargs = make(dcs_conn_id="huaweicloud_dcs_default").serialize()
    text = json.dumps(kwargs) + repr(make())
    assert dcs_env.emulator.secret_key not in text
    assert dcs_env.emulator.access_key not in text
    assert set(kwargs) == {
        "migration_task_id",
        "dcs_conn_id",
        "success_statuses",
        "poll_interval",
        "deadline",
        "max_consecutive_errors",
    }


def test_default_kwargs() -> None:
    _, kwargs = DcsMigrationTaskTrigger(migration_task_id=TASK).serialize()
    assert kwargs == {
        "migration_task_id": TASK,
        "dcs_conn_id": "huaweicloud_dcs_default",
        "success_statuses": ["SUCCESS"],
        "poll_interval": waiting.DEFAULT_POLL_INTERVAL,
        "deadline": None,
        "max_consecutive_errors": waiting.DEFAULT_MAX_CONSECUTIVE_ERRORS,
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"migration_task_id": "../etc/passwd"},
        {"migration_task_id": 42},
        {"dcs_conn_id": ""},
        {"success_statuses": ["DONE"]},
        {"success_statuses": "SUCCESS"},
        {"success_statuses": []},
        {"success_statuses": [lambda: "SUCCESS"]},
        {"poll_interval": 0},
        {"poll_interval": "30"},
        {"poll_interval": float("nan")},
        {"deadline": "tomorrow"},
        {"deadline": object()},
        {"max_consecutive_errors": 0},
        {"max_consecutive_errors": 2.5},
        {"max_consecutive_errors": True},
    ],
)
def test_invalid_kwargs_are_refused_at_construction(kwargs: dict[str, Any]) -> None:
    kwargs = {"migration_task_id": TASK, **kwargs}
    with pytest.raises(ValueError, match=r"."):  # DcsValidationError is a ValueError too
        DcsMigrationTaskTrigger(**kwargs)


def test_trigger_module_does_not_import_aiohttp() -> None:
    # Only what our modules add counts: Airflow 2's own ``import airflow`` already loads requests.
    code = (
        "import sys\n"
        "import airflow\n"
        "already = set(sys.modules)\n"
        "import huaweicloud_dcs_provider.triggers.migration\n"
        "import huaweicloud_dcs_provider.sensors.migration\n"
        "import huaweicloud_dcs_provider.operators.migration\n"
        "heavy = ('aiohttp', 'requests', 'airflow.providers.http.hooks.http')\n"
        "print(sorted(m for m in heavy if m in sys.modules and m not in already))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


# ------------------------------------------------------------------------------------------------
# Outcomes, against the emulator
# ------------------------------------------------------------------------------------------------


async def test_full_migration_success_with_progress(
    dcs_env: DcsTestEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    events = await run_trigger(make(task_id))
    assert len(events) == 1
    event = events[0]
    assert event["status"] == "success"
    assert event["task_status"] == "SUCCESS"
    assert event["migration_task_id"] == task_id
    assert event["task_name"] == "mig"
    assert event["stats"]["full_migration_progress"] == 100
    assert set(event) == {
        "status",
        "migration_task_id",
        "task_status",
        "task_name",
        "message",
        "error_text",
        "stats",
    }
    assert "FULLMIGRATING; full sync" in capsys.readouterr().out  # progress was logged on the way
    # One HTTP session, one connection lookup: the emulator saw only reads.
    assert not dcs_env.requests(method="POST", path=r"/stop$")


async def test_incremental_wait_for_incrmigeating(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method="incremental_migration")
    (event,) = await run_trigger(make(task_id, success_statuses=["INCRMIGRATING"]))
    assert event["status"] == "success"
    assert event["task_status"] == "INCRMIGEATING"


async def test_incremental_task_never_reaches_success(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method="incremental_migration")
    (event,) = await run_trigger(make(task_id))
    assert event["status"] == "failure"
    assert event["task_status"] == "INCRMIGEATING"
    assert "never ends by itself" in event["message"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"addrs": "127.0.0.1:1"}, "Connection refused"),
        ({"addrs": "127.0.0.1:6379", "password": "wrong-password"}, "WRONGPASS"),
    ],
)
async def test_failed_migration_names_status_and_error(
    dcs_env: DcsTestEnv, source: dict[str, Any], expected: str
) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, source=source)
    (event,) = await run_trigger(make(task_id))
    assert event["status"] == "failure"
    assert event["task_status"] == "MIGRATION_FAILED"
    assert expected in event["error_text"]
    assert "MIGRATION_FAILED" in event["message"]
    assert expected in event["message"]
    assert "wrong-password" not in json.dumps(event)


async def test_stopped_task_while_waiting_for_success(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method="incremental_migration")
    dcs_env.wait_status(task_id, "INCRMIGEATING")
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    DcsHook().stop_migration_task(task_id)
    dcs_env.wait_status(task_id, "TERMINATED")
    (event,) = await run_trigger(make(task_id))
    assert event["status"] == "failure"
    assert event["task_status"] == "TERMINATED"
    assert "not an awaited status" in event["message"]


async def test_unknown_task_ends_with_failure(dcs_env: DcsTestEnv) -> None:
    (event,) = await run_trigger(make(str(uuid.uuid4())))
    assert event["status"] == "failure"
    assert event["task_status"] == "NOT_FOUND"


async def test_transient_errors_are_ridden_out(dcs_env: DcsTestEnv) -> None:
    """3 x 503 on the status read, then OK: the trigger still succeeds."""
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    dcs_env.admin.add_fault(method="GET", path=DETAIL, status=503, count=3)
    (event,) = await run_trigger(make(task_id))
    assert event["status"] == "success"
    failed = [r for r in dcs_env.requests(method="GET", path=DETAIL) if r["status"] == 503]
    assert len(failed) == 3


async def test_network_drops_are_ridden_out(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    dcs_env.admin.add_fault(action="drop", method="GET", path=DETAIL, count=2)
    (event,) = await run_trigger(make(task_id))
    assert event["status"] == "success"


async def test_too_many_transient_errors_end_with_error(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.admin.add_fault(method="GET", path=DETAIL, status=502, count=None)
    (event,) = await run_trigger(make(task_id, max_consecutive_errors=2))
    assert event["status"] == "error"
    assert "2 failed status checks in a row" in event["message"]
    assert "502" in event["message"]


async def test_wrong_secret_key_ends_quickly_with_error(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    started = time.monotonic()
    (event,) = await run_trigger(make(task_id, dcs_conn_id="dcs_wrong_sk"), timeout=10)
    assert time.monotonic() - started < 3
    assert event["status"] == "error"
    assert "401" in event["message"]
    assert "not transient" in event["message"]
    assert "not-the-secret-key" not in json.dumps(event)
    assert dcs_env.emulator.secret_key not in json.dumps(event)


async def test_missing_connection_ends_with_error(dcs_env: DcsTestEnv) -> None:
    (event,) = await run_trigger(make(dcs_conn_id="no_such_connection"), timeout=10)
    assert event["status"] == "error"
    assert "no_such_connection" in event["message"]


async def test_deadline_passed_but_recheck_sees_success(dcs_env: DcsTestEnv) -> None:
    """The deadline passes while the status flips to SUCCESS: the re-check reports success."""
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)  # the full sync takes FULL_SECONDS (0.8 s) in the emulator
    trigger = make(task_id, poll_interval=1.5, deadline=time.time() + 0.2)
    (event,) = await run_trigger(trigger)
    assert event["status"] == "success"
    assert event["task_status"] == "SUCCESS"


async def test_timeout_when_still_in_progress(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()  # RUNNING (never configured): stays in progress
    dcs_env.admin.clear_requests()
    started = time.monotonic()
    (event,) = await run_trigger(make(task_id, poll_interval=0.2, deadline=time.time() + 1.0))
    elapsed = time.monotonic() - started
    assert event["status"] == "timeout"
    assert event["task_status"] == "RUNNING"
    assert "still RUNNING at the wait deadline" in event["message"]
    assert 0.9 < elapsed < 5
    assert not dcs_env.requests(method="POST")  # nothing was stopped or changed


async def test_cancelled_trigger_never_stops_the_migration(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id, method="incremental_migration")
    dcs_env.admin.clear_requests()
    trigger = make(task_id, success_statuses=["TERMINATED"], poll_interval=0.1)
    runner = asyncio.ensure_future(run_trigger(trigger))
    await asyncio.sleep(0.6)
    assert not runner.done()
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    await trigger.cleanup()
    assert dcs_env.requests(method="GET", path=DETAIL)
    assert not dcs_env.requests(method="POST")
    assert dcs_env.status(task_id) in ("FULLMIGRATING", "INCRMIGEATING")


async def test_sleeps_before_the_first_read(dcs_env: DcsTestEnv) -> None:
    task_id = dcs_env.create_ready_task()
    dcs_env.configure(task_id)
    dcs_env.admin.clear_requests()
    runner = asyncio.ensure_future(run_trigger(make(task_id, poll_interval=1.0)))
    await asyncio.sleep(0.5)
    assert not dcs_env.requests(method="GET", path=DETAIL)
    (event,) = await runner
    assert event["status"] == "success"


# ------------------------------------------------------------------------------------------------
# Corners the emulator cannot reach (fake async hook)
# ------------------------------------------------------------------------------------------------


class FakeAsyncHook:
    """Stands in for DcsAsyncHook: scripted detail answers (statuses, dicts or exceptions)."""

    instances: list[FakeAsyncHook] = []

    def __init__(self, script: Iterable[Any], logs: Iterable[str] = ()) -> None:
        self.script = list(script)
        self.logs = [
            MigrationLog(created_at=str(i), log_level="ERROR", message=m) for i, m in enumerate(logs)
        ]
        self.reads = 0
        self.sessions = 0
        self.last_id = ""
        self.last_status = ""
        self.stats_never = False

    def __call__(self, dcs_conn_id: str, **_: Any) -> FakeAsyncHook:
        FakeAsyncHook.instances.append(self)
        return self

    async def __aenter__(self) -> FakeAsyncHook:
        self.sessions += 1
        return self

    async def __aexit__(self, *_: Any) -> None:
        return None

    async def get_migration_task(self, task_id: str) -> MigrationTask:
        item = self.script[min(self.reads, len(self.script) - 1)]
        self.reads += 1
        if isinstance(item, BaseException):
            raise item
        data = item if isinstance(item, dict) else {"status": item}
        found = MigrationTask.from_api({"task_id": task_id, "task_name": "fake", **data})
        self.last_id, self.last_status = task_id, found.status
        return found

    async def get_migration_task_stats(self, task_id: str) -> Any:
        """Down while the copy runs; the full copy's figures at SUCCESS (unless ``stats_never``)."""
        if self.last_status == "SUCCESS" and not self.stats_never:
            return MigrationStats(full_migration_progress=100, source_dbsize=3, target_dbsize=3)
        raise RuntimeError("stats are down")

    async def list_migration_task_logs(self, task_id: str, **_: Any) -> list[MigrationLog]:
        return self.logs

    async def execute_call(self, call: Call[Any]) -> Any:
        """The calls a trigger's plan sends, answered by the scripted methods above."""
        task_id = call.path_params.get("task_id", "")
        if call.operation == "show_task":
            return await self.get_migration_task(task_id)
        if call.operation == "show_task_stats":
            return await self.get_migration_task_stats(task_id)
        if call.operation == "list_task_logs":
            logs = await self.list_migration_task_logs(task_id)
            return len(logs), logs
        if call.operation == "list_tasks":  # the confirmation of a success: the task is still listed
            return 1, [
                MigrationTask.from_api({"task_id": self.last_id, "task_name": "fake", "status": "SUCCESS"})
            ]
        raise AssertionError(f"the trigger sent an unexpected call: {call.operation}")

    async def run_plan(self, plan: Any) -> Any:
        return await drive_async(plan, self.execute_call)


@pytest.fixture
def fake_hook(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeAsyncHook]:
    """Install a fake async hook for the trigger: ``fake_hook(script, logs=...)``."""

    def install(script: Iterable[Any], logs: Iterable[str] = ()) -> FakeAsyncHook:
        fake = FakeAsyncHook(script, logs)
        monkeypatch.setattr("huaweicloud_dcs_provider.hooks.dcs.DcsAsyncHook", fake)
        return fake

    return install


async def test_unknown_status_keeps_polling(
    fake_hook: Callable[..., FakeAsyncHook], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = fake_hook(["QUANTUM_FLUX", "QUANTUM_FLUX", "FULLMIGRATING", "SUCCESS"])
    (event,) = await run_trigger(make(poll_interval=0.01))
    assert event["status"] == "success"
    assert fake.reads == 4
    assert fake.sessions == 1  # one HTTP session for the whole run
    out = capsys.readouterr().out
    assert "QUANTUM_FLUX" in out
    assert "does not know" in out


async def test_unknown_status_is_not_success_at_the_deadline(fake_hook: Callable[..., FakeAsyncHook]) -> None:
    fake_hook(["QUANTUM_FLUX"])
    (event,) = await run_trigger(make(poll_interval=0.01, deadline=time.time() + 0.1))
    assert event["status"] == "timeout"
    assert event["task_status"] == "QUANTUM_FLUX"


async def test_failure_without_error_text_reads_error_logs(fake_hook: Callable[..., FakeAsyncHook]) -> None:
    fake_hook([{"status": "MIGRATION_FAILED", "error": ""}], logs=["source unreachable", "disk full"])
    (event,) = await run_trigger(make(poll_interval=0.01))
    assert event["status"] == "failure"
    assert event["error_text"] == "source unreachable | disk full"
    assert "MIGRATION_FAILED: source unreachable | disk full" in event["message"]


async def test_stats_failures_are_tolerated(fake_hook: Callable[..., FakeAsyncHook]) -> None:
    fake_hook(["FULLMIGRATING", "FULLMIGRATING", "SUCCESS"])
    (event,) = await run_trigger(make(poll_interval=0.01))
    assert event["status"] == "success"
    assert event["stats"]["full_migration_progress"] == 100


async def test_a_success_whose_figures_never_come_is_not_reported(
    fake_hook: Callable[..., FakeAsyncHook],
) -> None:
    """SUCCESS cannot be confirmed without the figures: the wait ends in an error, not a success."""
    fake = fake_hook(["FULLMIGRATING", "SUCCESS"])
    fake.stats_never = True
    (event,) = await run_trigger(make(poll_interval=0.01))
    assert event["status"] == "error"
    assert "cannot be confirmed" in event["message"]


class BrokenHook(FakeAsyncHook):
    async def __aenter__(self) -> FakeAsyncHook:
        raise RuntimeError("session exploded")


async def test_unexpected_exception_becomes_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("huaweicloud_dcs_provider.hooks.dcs.DcsAsyncHook", BrokenHook(["SUCCESS"]))
    (event,) = await run_trigger(make(poll_interval=0.01))
    assert event["status"] == "error"
    assert "failed unexpectedly: RuntimeError: session exploded" in event["message"]
