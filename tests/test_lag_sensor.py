"""DcsMigrationLagSensor and the lag wait of the trigger: a small, stable lag and matching key counts.

The lag logic is checked on the tracker with hand-made reads, the trigger's serialization exactly,
and the whole wait against the emulator migrating between two real ``redis-server`` processes while
a thread keeps writing into the source: the wait must not end while writes stream in, and must end
soon after they stop. Figures are printed under "real Redis migration figures".
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from huaweicloud_dcs_emulator.testing import FAST_TIMINGS, EmulatorProcess
from huaweicloud_dcs_provider import waiting
from huaweicloud_dcs_provider.api.models import MigrationStats, MigrationTask
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.hooks.dcs import DcsHook
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationLagSensor
from huaweicloud_dcs_provider.triggers import migration as trigger_module
from huaweicloud_dcs_provider.triggers.migration import DcsMigrationTaskTrigger

if TYPE_CHECKING:
    from redis_servers import RedisPair, RedisServer

pytest_plugins = ["redis_servers", "airflow_fixtures"]

TASK = "0b6b7d1c-1234-4abc-8def-1234567890ab"
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.05, max_wait=0.2, max_total_seconds=20)
NETWORK = {"vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}
WRITES_PER_SECOND = 2_000
POLL = 0.2


# ------------------------------------------------------------------------------------------------
# The lag logic, read by read
# ------------------------------------------------------------------------------------------------


class Lines:
    """A logger that keeps the formatted lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _add(self, msg: Any, *args: Any, **_: Any) -> None:
        self.lines.append(str(msg) % args if args else str(msg))

    debug = info = warning = _add


def tracker(**kwargs: Any) -> tuple[waiting.WaitTracker, Lines]:
    lines = Lines()
    kwargs.setdefault("max_offset", 0)
    return (
        waiting.WaitTracker(
            migration_task_id=TASK, success_statuses=frozenset({"INCRMIGEATING"}), logger=lines, **kwargs
        ),
        lines,
    )


def read(
    t: waiting.WaitTracker,
    offset: int | None,
    source: int = 100,
    target: int = 100,
    status: str = "INCRMIGEATING",
) -> dict[str, Any] | None:
    task = MigrationTask(task_id=TASK, name="mig", status=status, status_class="")
    stats = MigrationStats(offset=offset, source_dbsize=source, target_dbsize=target)
    return t.on_task(task, stats=stats)


def test_succeeds_after_consecutive_small_offsets_and_logs_the_trend() -> None:
    t, lines = tracker(consecutive_samples=3)
    for offset in (1200, 340, 0, 0):
        assert read(t, offset) is None
    assert "offset 1200 -> 340 -> 0 -> 0 (2/3 samples ok), keys 100/100 (source/target)" in lines.lines[-1]
    event = read(t, 0)
    assert event is not None
    assert event["status"] == "success"
    assert "caught up after 5 reads: offset 1200 -> 340 -> 0 -> 0 -> 0 (3/3 samples ok)" in event["message"]
    assert event["stats"]["offset"] == 0
    assert event["task_status"] == "INCRMIGEATING"
    assert t.polls == 5


def test_a_spike_or_a_missing_figure_restarts_the_count() -> None:
    t, _ = tracker(consecutive_samples=2, max_offset=10)
    assert read(t, 5) is None
    assert read(t, 11) is None  # spike
    assert t.lag_samples_ok == 0
    assert read(t, 10) is None
    assert (
        t.on_task(MigrationTask(task_id=TASK, name=None, status="INCRMIGEATING", status_class=""), stats=None)
        is None
    )  # no figures
    assert t.lag_samples_ok == 0
    assert read(t, 0) is None
    assert read(t, 0) is not None


def test_key_counts_must_match_within_the_tolerance() -> None:
    t, lines = tracker(consecutive_samples=1, key_count_tolerance=5)
    assert read(t, 0, source=50_000, target=49_990) is None
    assert "keys 50000/49990" in lines.lines[-1]
    assert read(t, 0, source=50_000, target=49_995) is not None


def test_still_in_full_sync_keeps_waiting_and_does_not_count() -> None:
    t, _ = tracker(consecutive_samples=1)
    assert read(t, 0, status="FULLMIGRATING") is None
    assert t.lag_samples_ok == 0
    assert read(t, 0) is not None


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("MIGRATION_FAILED", "failed with status MIGRATION_FAILED"),
        ("TERMINATED", "The task was stopped before it got there"),
        ("SUCCESS", "ended in status SUCCESS"),
    ],
)
def test_failure_and_other_ends_fail_with_a_clear_message(status: str, words: str) -> None:
    t, _ = tracker()
    event = read(t, 0, status=status)
    assert event is not None
    assert event["status"] == "failure"
    assert words in event["message"]


def test_timeout_names_the_last_lag() -> None:
    now = [1000.0]
    t, _ = tracker(deadline=1001.0, clock=lambda: now[0])
    assert read(t, 7) is None
    now[0] = 1002.0
    event = t.on_task(
        MigrationTask(task_id=TASK, name=None, status="INCRMIGEATING", status_class=""),
        stats=MigrationStats(offset=3),
        final=True,
    )
    assert event is not None
    assert event["status"] == "timeout"
    assert "Last lag: offset 7 -> 3 (0/3 samples ok)" in event["message"]


# ------------------------------------------------------------------------------------------------
# Serialization and parameters
# ------------------------------------------------------------------------------------------------


def test_trigger_serializes_lag_settings_only_when_set() -> None:
    base = {
        "migration_task_id": TASK,
        "dcs_conn_id": "huaweicloud_dcs_default",
        "success_statuses": ["INCRMIGEATING"],
        "poll_interval": 5.0,
        "deadline": None,
        "max_consecutive_errors": 5,
    }
    plain = DcsMigrationTaskTrigger(
        migration_task_id=TASK, success_statuses=["INCRMIGEATING"], poll_interval=5
    )
    assert plain.serialize()[1] == base  # unchanged: triggers serialized before these existed stay valid
    lag = DcsMigrationTaskTrigger(
        migration_task_id=TASK,
        success_statuses=["INCRMIGEATING"],
        poll_interval=5,
        max_offset=0,
        consecutive_samples=4,
        key_count_tolerance=2,
        stop_on_kill=True,
    )
    kwargs = lag.serialize()[1]
    assert kwargs == {
        **base,
        "max_offset": 0,
        "consecutive_samples": 4,
        "key_count_tolerance": 2,
        "stop_on_kill": True,
    }
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert DcsMigrationTaskTrigger(**kwargs).serialize()[1] == kwargs
    assert DcsMigrationTaskTrigger(**base).serialize()[1] == base


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"max_offset": -1}, "max_offset"),
        ({"consecutive_samples": 0}, "consecutive_samples"),
        ({"key_count_tolerance": True}, "key_count_tolerance"),
    ],
)
def test_invalid_lag_settings_fail_at_parse_time(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        DcsMigrationLagSensor(task_id="lag", migration_task_id=TASK, **kwargs)
    with pytest.raises(ValueError, match=problem):
        DcsMigrationTaskTrigger(migration_task_id=TASK, **{"max_offset": 0, **kwargs})


def test_lag_sensor_defaults() -> None:
    sensor = DcsMigrationLagSensor(task_id="lag", migration_task_id=TASK)
    assert sensor.success_statuses == ("INCRMIGEATING",)
    assert (sensor.max_offset, sensor.consecutive_samples, sensor.key_count_tolerance) == (0, 3, 0)
    assert sensor.deferrable is True
    assert sensor.stop_on_kill is False
    with pytest.raises(TypeError, match="success_statuses"):
        DcsMigrationLagSensor(task_id="lag", migration_task_id=TASK, success_statuses=["SUCCESS"])


# ------------------------------------------------------------------------------------------------
# Real Redis: writes streaming in, then stopping
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(config=FAST_TIMINGS, real_migration=True) as process:
        yield process


@pytest.fixture
def hook(real_emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> DcsHook:
    real_emulator.admin().reset()
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", real_emulator.conn_uri_json())
    monkeypatch.setattr(
        trigger_module,
        "POLL_RETRY_POLICY",
        RetryPolicy(max_attempts=2, initial_wait=0.05, max_wait=0.1, max_total_seconds=5),
    )
    return DcsHook(retry_policy=FAST_RETRY)


def incremental(hook: DcsHook, pair: RedisPair) -> str:
    with pair.source.client(0) as client:
        client.mset({f"seed:{i}": i for i in range(5_000)})
    created = hook.create_online_migration_task(
        name=f"lag-{secrets.token_hex(4)}", poll_interval=0.05, timeout=20, **NETWORK
    )
    task_id = str(created["task_id"])
    hook.configure_online_migration(
        task_id,
        migration_method="incremental_migration",
        resume_mode="manual",
        source_instance=pair.source.endpoint(),
        target_instance=pair.target.endpoint(),
    )
    hook.wait_for_task_status(task_id, ["INCRMIGEATING"], timeout=60, poll_interval=0.05)
    return task_id


class Writer(threading.Thread):
    """Writes new keys into the source at about ``rate`` writes per second until stopped."""

    def __init__(self, server: RedisServer, rate: int = WRITES_PER_SECOND) -> None:
        super().__init__(daemon=True)
        self.server, self.rate = server, rate
        self.stopping = threading.Event()
        self.written = 0
        self.last_write = 0.0

    def run(self) -> None:
        batch = self.rate // 100  # every 10 ms
        with self.server.client(0) as client:
            began = time.monotonic()
            while not self.stopping.is_set():
                pipe = client.pipeline(transaction=False)
                for i in range(self.written, self.written + batch):
                    pipe.set(f"stream:{i}", i)
                pipe.execute()
                self.written += batch
                self.last_write = time.monotonic()
                time.sleep(max(0.0, began + self.written / self.rate - time.monotonic()))

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


def test_lag_wait_holds_while_writes_stream_and_ends_after_they_stop(
    hook: DcsHook, redis_pair: RedisPair, figures: Callable[[str], None]
) -> None:
    task_id = incremental(hook, redis_pair)
    trigger = DcsMigrationTaskTrigger(
        migration_task_id=task_id,
        success_statuses=["INCRMIGEATING"],
        poll_interval=POLL,
        max_offset=0,
        consecutive_samples=3,
        max_key_drift=0,
    )
    writer = Writer(redis_pair.source)
    seen: dict[str, Any] = {}

    async def scenario() -> dict[str, Any]:
        events = trigger.run()
        first = asyncio.ensure_future(events.__anext__())
        writer.start()
        done, _ = await asyncio.wait({first}, timeout=4.0)  # about 20 polls while writes stream in
        seen["while_streaming"] = bool(done)
        writer.stop()
        event = await asyncio.wait_for(first, 20)
        seen["ended"] = time.monotonic()
        await events.aclose()
        payload: dict[str, Any] = event.payload
        return payload

    try:
        event = asyncio.run(scenario())
    finally:
        writer.stop()
    assert not seen["while_streaming"], "the lag wait ended while writes were still streaming in"
    assert event["status"] == "success", event
    assert event["stats"]["offset"] == 0
    assert event["stats"]["source_dbsize"] == event["stats"]["target_dbsize"] == 5_000 + writer.written
    after = seen["ended"] - writer.last_write
    assert writer.written >= 6_000
    polls = int(event["message"].split(" reads: ")[0].rsplit(" ", 1)[-1])
    # Reads while writes streamed in did not count (keys moved); three clean ones came after. How
    # many reads fit in the 4 s depends on the machine's load, so only "more than 3" is asserted.
    assert polls >= trigger.consecutive_samples + 2
    figures(
        f"lag wait (trigger, max_offset=0, max_key_drift=0, 3 samples, poll {POLL} s): held 4 s while "
        f"{writer.written:,} writes streamed in (~{WRITES_PER_SECOND:,}/s), success {after:.2f} s after "
        f"the last write, {polls} polls in all; {event['message'].split(' reads: ')[-1]}"
    )


def test_lag_sensor_poke_mode_counts_samples_across_pokes(
    hook: DcsHook, redis_pair: RedisPair, figures: Callable[[str], None]
) -> None:
    task_id = incremental(hook, redis_pair)
    sensor = DcsMigrationLagSensor(
        task_id="lag",
        migration_task_id=task_id,
        deferrable=False,
        mode="poke",
        poke_interval=POLL,
        timeout=20,
        consecutive_samples=3,
        max_key_drift=0,
    )
    from airflow_fixtures import make_context

    writer = Writer(redis_pair.source)
    writer.start()
    stopper = threading.Timer(2.0, writer.stop)  # the sensor pokes ~10 times while writes stream in
    stopper.start()
    try:
        result = sensor.execute(make_context())
        ended = time.monotonic()
        streaming = not writer.stopping.is_set()
    finally:
        stopper.cancel()
        writer.stop()
    assert not streaming, "the sensor succeeded while writes were still streaming in"
    assert result["status"] == "INCRMIGEATING"
    assert result["stats"]["offset"] == 0
    assert result["stats"]["source_dbsize"] == result["stats"]["target_dbsize"] == 5_000 + writer.written
    tracker = sensor._poke_tracker
    assert tracker is not None
    # Pokes while writes streamed in did not count; three clean ones came after, each poke adding
    # one read to the same tracker. How many pokes fit in 2 s depends on the machine's load.
    assert tracker.polls >= sensor.consecutive_samples + 2
    figures(
        f"lag sensor (poke mode, max_offset=0, max_key_drift=0, 3 samples, poll {POLL} s): success "
        f"{ended - writer.last_write:.2f} s after the last of {writer.written:,} writes, "
        f"{tracker.polls} polls in all"
    )


def test_lag_sensor_reschedule_mode_samples_within_one_poke(hook: DcsHook, redis_pair: RedisPair) -> None:
    """Nothing survives a reschedule: one poke takes its consecutive reads itself."""
    from airflow_fixtures import make_context

    task_id = incremental(hook, redis_pair)
    with redis_pair.source.client(0) as client:
        client.mset({f"late:{i}": i for i in range(1_000)})
    sensor = DcsMigrationLagSensor(
        task_id="lag",
        migration_task_id=task_id,
        deferrable=False,
        mode="reschedule",
        poke_interval=POLL,
        max_key_drift=0,
    )
    for _ in range(10):  # each poke is what one reschedule would run
        began = time.monotonic()
        result = sensor.poke(make_context())
        if result:
            break
    assert result.is_done
    assert result.xcom_value["stats"]["source_dbsize"] == 6_000
    assert time.monotonic() - began >= 2 * POLL  # the successful poke took three reads, POLL apart


def test_deferrable_lag_sensor_checks_once_then_defers_with_the_lag_settings(
    hook: DcsHook, redis_pair: RedisPair
) -> None:
    from airflow.providers.common.compat.sdk import TaskDeferred

    from airflow_fixtures import make_context

    task_id = incremental(hook, redis_pair)
    sensor = DcsMigrationLagSensor(
        task_id="lag",
        migration_task_id=task_id,
        poke_interval=POLL,
        timeout=30,
        key_count_tolerance=3,
        max_key_drift=0,
        stop_on_kill=True,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())  # one good read is not three
    kwargs = deferred.value.trigger.serialize()[1]
    assert {key: kwargs[key] for key in ("max_offset", "consecutive_samples", "key_count_tolerance")} == {
        "max_offset": 0,
        "consecutive_samples": 3,
        "key_count_tolerance": 3,
    }
    assert kwargs["max_key_drift"] == 0
    assert kwargs["stop_on_kill"] is True
    event = asyncio.run(asyncio.wait_for(deferred.value.trigger.run().__anext__(), 20)).payload
    result = sensor.execute_complete(make_context(), event=event)
    assert result["status"] == "INCRMIGEATING"
    assert result["stats"]["offset"] == 0
