"""Status judgement, the wait tracker and the event mapping of :mod:`huaweicloud_dcs_provider.waiting`."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from huaweicloud_dcs_provider import waiting
from huaweicloud_dcs_provider.api import statuses, validation
from huaweicloud_dcs_provider.api.models import MigrationLog, MigrationStats, MigrationTask
from huaweicloud_dcs_provider.api.statuses import TaskStatus
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsAuthError, DcsError, DcsMigrationFailedError
from huaweicloud_dcs_provider.waiting import EventStatus, Verdict, WaitTracker, judge

TASK = "0b6b7d1c-1234-4abc-8def-1234567890ab"
SUCCESS = frozenset({"SUCCESS"})

# Every known status, judged by a caller waiting for SUCCESS.
EXPECTED_FOR_SUCCESS = {
    TaskStatus.CREATING: Verdict.IN_PROGRESS,
    TaskStatus.RUNNING: Verdict.IN_PROGRESS,
    TaskStatus.MIGRATING: Verdict.IN_PROGRESS,
    TaskStatus.FULLMIGRATING: Verdict.IN_PROGRESS,
    # A stop under way: SUCCESS can no longer come (issue 13; it used to wait until the deadline).
    TaskStatus.TERMINATING: Verdict.ENDED_ELSEWHERE,
    TaskStatus.MIGRATION_SUCCESS: Verdict.IN_PROGRESS,
    TaskStatus.SUCCESS: Verdict.REACHED,
    TaskStatus.FAILED: Verdict.FAILED,
    TaskStatus.MIGRATION_FAILED: Verdict.FAILED,
    TaskStatus.ERROR: Verdict.FAILED,
    TaskStatus.INCRMIGEATING: Verdict.ENDED_ELSEWHERE,
    TaskStatus.TERMINATED: Verdict.ENDED_ELSEWHERE,
    TaskStatus.RELEASED: Verdict.ENDED_ELSEWHERE,
    TaskStatus.DELETED: Verdict.ENDED_ELSEWHERE,
}


def task(status: str, error: str = "", name: str = "mig") -> MigrationTask:
    return MigrationTask.from_api({"task_id": TASK, "task_name": name, "status": status, "error": error})


def test_every_known_status_has_an_expectation() -> None:
    assert set(EXPECTED_FOR_SUCCESS) == set(TaskStatus)


@pytest.mark.parametrize(("status", "verdict"), EXPECTED_FOR_SUCCESS.items())
def test_judge_when_waiting_for_success(status: TaskStatus, verdict: Verdict) -> None:
    assert judge(status.value, SUCCESS) is verdict
    # Spelling does not matter.
    assert judge(f" {status.value.lower()} ", SUCCESS) is verdict


def test_judge_incremental_target_accepts_both_spellings() -> None:
    targets = statuses.normalize_targets(["INCRMIGRATING"])
    assert targets == {"INCRMIGEATING"}
    assert judge("INCRMIGEATING", targets) is Verdict.REACHED
    assert judge("INCRMIGRATING", targets) is Verdict.REACHED
    assert judge("FULLMIGRATING", targets) is Verdict.IN_PROGRESS
    assert judge("SUCCESS", targets) is Verdict.ENDED_ELSEWHERE


def test_judge_waiting_for_a_stop_tolerates_a_still_migrating_task() -> None:
    targets = frozenset({"TERMINATED"})
    assert judge("INCRMIGEATING", targets) is Verdict.IN_PROGRESS
    assert judge("FULLMIGRATING", targets) is Verdict.IN_PROGRESS
    assert judge("TERMINATING", targets) is Verdict.IN_PROGRESS
    assert judge("TERMINATED", targets) is Verdict.REACHED
    assert judge("MIGRATION_FAILED", targets) is Verdict.FAILED


@pytest.mark.parametrize("status", ["BRAND_NEW_STATE", "", None, "SUCCEEDED"])
def test_unknown_status_is_never_success(status: str | None) -> None:
    assert judge(status, SUCCESS) is Verdict.UNKNOWN
    assert not judge(status, SUCCESS).is_final


def test_not_found_is_terminal_unless_awaited() -> None:
    assert judge(statuses.NOT_FOUND, SUCCESS) is Verdict.ENDED_ELSEWHERE
    assert judge(statuses.NOT_FOUND, frozenset({statuses.NOT_FOUND})) is Verdict.REACHED


def test_unknown_awaited_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        statuses.normalize_targets(["DONE"])


# ------------------------------------------------------------------------------------------------
# Tracker
# ------------------------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tracker(**kwargs: Any) -> WaitTracker:
    kwargs.setdefault("success_statuses", SUCCESS)
    return WaitTracker(migration_task_id=TASK, **kwargs)


def test_tracker_success_event_carries_ids_status_and_stats() -> None:
    stats = MigrationStats(full_migration_progress=100, source_dbsize=10, target_dbsize=10, offset=0)
    event = tracker().on_task(task("SUCCESS"), stats=stats)
    assert event == {
        "status": "success",
        "migration_task_id": TASK,
        "task_status": "SUCCESS",
        "task_name": "mig",
        "message": f"DCS migration task {TASK} reached SUCCESS; the full copy is complete: "
        "full sync 100%, keys 10/10 (source/target), incremental offset 0.",
        "error_text": None,
        "stats": {"full_migration_progress": 100, "offset": 0, "source_dbsize": 10, "target_dbsize": 10},
    }


def test_tracker_failure_names_status_and_error_text() -> None:
    event = tracker().on_task(task("MIGRATION_FAILED", error="WRONGPASS for source"))
    assert event is not None
    assert event["status"] == "failure"
    assert event["error_text"] == "WRONGPASS for source"
    assert "MIGRATION_FAILED" in event["message"]
    assert "WRONGPASS for source" in event["message"]


def test_tracker_failure_without_error_text_uses_error_logs() -> None:
    logs = [
        MigrationLog(created_at="t1", log_level="ERROR", message="first"),
        MigrationLog(created_at="t2", log_level="ERROR", message="second"),
        MigrationLog(created_at="t3", log_level="ERROR", message="second"),
    ]
    t = tracker()
    assert t.wants_error_logs(task("FAILED"), Verdict.FAILED)
    assert not t.wants_error_logs(task("FAILED", error="x"), Verdict.FAILED)
    event = t.on_task(task("FAILED"), error_logs=logs)
    assert event is not None
    assert event["error_text"] == "first | second"


def test_tracker_ended_elsewhere_explains() -> None:
    event = tracker().on_task(task("TERMINATED"))
    assert event is not None
    assert event["status"] == "failure"
    assert "TERMINATED" in event["message"]
    assert "not an awaited status (SUCCESS)" in event["message"]
    incremental = tracker().on_task(task("INCRMIGEATING"))
    assert incremental is not None
    assert "success_statuses=('INCRMIGEATING',)" in incremental["message"]
    gone = tracker().on_task(None)
    assert gone is not None
    assert gone["task_status"] == statuses.NOT_FOUND
    assert "does not exist" in gone["message"]


def test_tracker_unknown_status_warns_once_and_keeps_waiting(caplog: pytest.LogCaptureFixture) -> None:
    t = tracker()
    with caplog.at_level(logging.INFO, logger="huaweicloud_dcs_provider.waiting"):
        assert t.on_task(task("QUANTUM_FLUX")) is None
        assert t.on_task(task("QUANTUM_FLUX")) is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "QUANTUM_FLUX" in warnings[0].getMessage()
    assert t.last_status == "QUANTUM_FLUX"


def test_tracker_progress_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    stats = MigrationStats(full_migration_progress=45, source_dbsize=100, target_dbsize=45, offset=7)
    with caplog.at_level(logging.INFO, logger="huaweicloud_dcs_provider.waiting"):
        assert tracker().on_task(task("FULLMIGRATING"), stats=stats) is None
    text = caplog.text
    assert "FULLMIGRATING" in text
    assert "full sync 45%" in text
    assert "keys 100/45" in text
    assert "offset 7" in text


def test_tracker_deadline_and_sleep() -> None:
    clock = Clock()
    t = tracker(deadline=clock.now + 10, clock=clock)
    assert not t.timer.passed()
    assert t.timer.pause(30) == 10
    assert t.timer.pause(4) == 4
    clock.now += 10
    assert t.timer.passed()
    assert t.timer.pause(30) == 0
    assert tracker().timer.pause(30) == 30  # no deadline


def test_tracker_final_read_in_progress_is_timeout_but_reached_is_success() -> None:
    clock = Clock()
    t = tracker(deadline=clock.now - 1, clock=clock)
    event = t.on_task(task("FULLMIGRATING"), final=True)
    assert event is not None
    assert event["status"] == "timeout"
    assert "still FULLMIGRATING" in event["message"]
    assert "left running" in event["message"]
    # The re-check at the deadline wins when the task got there in time.
    complete = MigrationStats(full_migration_progress=100, source_dbsize=10, target_dbsize=10)
    done = tracker(deadline=clock.now - 1, clock=clock).on_task(task("SUCCESS"), stats=complete, final=True)
    assert done is not None
    assert done["status"] == "success"
    # A SUCCESS whose figures cannot be read is not confirmed: at the deadline that is a timeout.
    unsure = tracker(deadline=clock.now - 1, clock=clock).on_task(task("SUCCESS"), final=True)
    assert unsure is not None
    assert unsure["status"] == "timeout"
    assert "not confirmed" in unsure["message"]


def test_tracker_confirms_a_full_success_from_the_figures() -> None:
    """SUCCESS with figures short of 100% is read again, then fails; unreadable figures end in an error."""
    t = tracker(max_unconfirmed_reads=2)
    short = MigrationStats(full_migration_progress=45, source_dbsize=10, target_dbsize=4)
    assert t.on_task(task("SUCCESS"), stats=short) is None
    failed = t.on_task(task("SUCCESS"), stats=short)
    assert failed is not None
    assert failed["status"] == "failure"
    assert "full sync 45%" in failed["message"]
    blind = tracker(max_consecutive_errors=2)
    assert blind.on_task(task("SUCCESS")) is None
    ended = blind.on_task(task("SUCCESS"))
    assert ended is not None
    assert ended["status"] == "error"
    assert "cannot be confirmed" in ended["message"]


def test_tracker_transient_errors_are_counted_then_give_up() -> None:
    t = tracker(max_consecutive_errors=3)
    busy = DcsApiError("HTTP 503", status_code=503)
    assert t.on_read_error(busy) is None
    assert t.on_read_error(busy) is None
    t.on_task(task("FULLMIGRATING"))  # a good read resets the count
    assert t.consecutive_errors == 0
    assert t.on_read_error(busy) is None
    assert t.on_read_error(busy) is None
    event = t.on_read_error(busy)
    assert event is not None
    assert event["status"] == "error"
    assert "3 failed status checks in a row" in event["message"]


def test_tracker_fatal_error_ends_at_once() -> None:
    event = tracker().on_read_error(DcsAuthError("HTTP 401 APIGW.0301: bad signature", status_code=401))
    assert event is not None
    assert event["status"] == "error"
    assert "401" in event["message"]
    assert "not transient" in event["message"]
    other = tracker().on_read_error(RuntimeError("boom"))
    assert other is not None
    assert other["status"] == "error"
    assert "RuntimeError: boom" in other["message"]


def test_tracker_transient_error_at_deadline_is_timeout() -> None:
    t = tracker(deadline=1.0)
    t.last_status = "FULLMIGRATING"
    event = t.on_read_error(DcsApiError("HTTP 502", status_code=502), final=True)
    assert event is not None
    assert event["status"] == "timeout"
    assert "HTTP 502" in event["message"]


# ------------------------------------------------------------------------------------------------
# Event mapping
# ------------------------------------------------------------------------------------------------


def event(status: Any, **extra: Any) -> dict[str, Any]:
    payload = {"status": status, "migration_task_id": TASK, "task_status": "X", "message": f"msg {status}"}
    payload.update(extra)
    return payload


def test_handle_success_returns_the_event() -> None:
    ok = event("success", task_status="SUCCESS")
    assert waiting.handle_event(ok) is ok
    assert waiting.result_of(ok) == {"id": TASK, "name": None, "status": "SUCCESS", "stats": None}


def test_handle_failure_raises_migration_failed() -> None:
    with pytest.raises(DcsMigrationFailedError, match="msg failure") as info:
        waiting.handle_event(event("failure", task_status="MIGRATION_FAILED", error_text="boom"))
    assert info.value.status == "MIGRATION_FAILED"
    assert info.value.error_text == "boom"
    assert info.value.task_id == TASK


def test_handle_timeout_uses_the_given_exception() -> None:
    class Timeout(Exception):
        pass

    with pytest.raises(Timeout, match="msg timeout"):
        waiting.handle_event(event("timeout"), timeout_error=Timeout)
    with pytest.raises(DcsError, match="msg timeout"):
        waiting.handle_event(event("timeout"))


def test_handle_error_raises() -> None:
    with pytest.raises(DcsError, match="msg error"):
        waiting.handle_event(event("error"))


@pytest.mark.parametrize("bad", [None, {}, "success", {"status": 1}, event("cancelled"), event("SUCCESS")])
def test_handle_unknown_or_malformed_event_fails(bad: Any) -> None:
    with pytest.raises(DcsError):
        waiting.handle_event(bad)


def test_handle_event_about_another_task_fails() -> None:
    with pytest.raises(DcsError, match="expected"):
        waiting.handle_event(event("success"), expected_task_id="other")


def test_every_event_status_is_mapped() -> None:
    outcomes = {}
    for status in EventStatus:
        try:
            waiting.handle_event(event(status.value))
            outcomes[status] = "returned"
        except DcsMigrationFailedError:
            outcomes[status] = "failed"
        except DcsError:
            outcomes[status] = "raised"
    assert outcomes == {
        EventStatus.SUCCESS: "returned",
        EventStatus.FAILURE: "failed",
        EventStatus.TIMEOUT: "raised",
        EventStatus.ERROR: "raised",
    }


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45.4, "45s"),
        (725, "12m 05s"),
        (3 * 3600 + 7 * 60, "3h 07m"),
        (2 * 86400 + 4 * 3600, "2d 04h"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert waiting.human_duration(seconds) == text


def test_to_seconds() -> None:
    assert validation.seconds("x", timedelta(minutes=2)) == 120
    assert validation.seconds("x", 5) == 5.0
    assert validation.optional_seconds("x", None) is None
    for bad in (0, -1, True, "10", float("inf"), float("nan"), 10**400):
        with pytest.raises(ValueError, match="x must be"):
            validation.seconds("x", bad)  # type: ignore[arg-type]


def test_framework_timeout_is_beyond_the_deadline() -> None:
    import time

    now = time.time()
    backstop = waiting.framework_timeout(now + 100, 30)
    assert backstop is not None
    assert backstop.total_seconds() >= 100 + waiting.FRAMEWORK_TIMEOUT_BUFFER - 1
    assert waiting.framework_timeout(None, 30) is None


def test_error_text_is_shortened() -> None:
    text = waiting.error_text_of("x" * 5000)
    assert text is not None
    assert len(text) == waiting.MAX_ERROR_TEXT
    assert waiting.error_text_of("  ") is None
    assert waiting.error_text_of(None, []) is None
