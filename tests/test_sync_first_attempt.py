"""The sync hook's first attempt is made before the retry controller; the policy judges it the same.

``DcsSyncHookBase._execute`` sends once outside ``tenacity`` (most calls need no second attempt)
and hands a failure to the controller. These tests pin what the policy promises either way:
attempts counted from the first one, the total time bound counted from the first attempt's start,
the same exception object raised, log lines numbered from attempt 1, and look-before-resend.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from huaweicloud_dcs_provider.api import calls
from huaweicloud_dcs_provider.api.endpoints import Api
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.api.transport import Call
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsConnectionError
from huaweicloud_dcs_provider.hooks.dcs import DcsHook

TASK_ID = "5e0c5c3b-7d4e-4b1a-9c0b-1234567890ab"


def _hook(policy: RetryPolicy, outcomes: list[Any], *, delay: float = 0.0) -> tuple[DcsHook, list[float]]:
    """A hook whose attempts return or raise ``outcomes`` in turn (no network); the send times."""
    hook = DcsHook("huaweicloud_dcs_default", retry_policy=policy)
    sent: list[float] = []

    def send(call: Any) -> Any:
        sent.append(time.monotonic())
        if delay:
            time.sleep(delay)
        outcome = outcomes[len(sent) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    hook._send = send  # type: ignore[method-assign]
    return hook, sent


def _lost() -> DcsConnectionError:
    return DcsConnectionError("DCS show_task: connection lost before the answer", request_sent=True)


def test_a_first_success_is_one_attempt() -> None:
    hook, sent = _hook(RetryPolicy(max_attempts=3, initial_wait=0), ["task"])
    assert hook._execute(calls.show_task(TASK_ID)) == "task"
    assert len(sent) == 1


def test_retryable_failures_use_every_attempt_then_raise_the_last(caplog: pytest.LogCaptureFixture) -> None:
    errors = [_lost() for _ in range(3)]
    hook, sent = _hook(RetryPolicy(max_attempts=3, initial_wait=0, max_wait=0), errors)
    with caplog.at_level(logging.WARNING), pytest.raises(DcsConnectionError) as info:
        hook._execute(calls.show_task(TASK_ID))
    assert len(sent) == 3
    assert info.value is errors[-1]
    numbers = [r.args[0] for r in caplog.records if "retrying in" in r.getMessage()]
    assert numbers == [1, 2]


def test_a_retry_after_the_first_failure_succeeds() -> None:
    hook, sent = _hook(RetryPolicy(max_attempts=3, initial_wait=0, max_wait=0), [_lost(), "task"])
    assert hook._execute(calls.show_task(TASK_ID)) == "task"
    assert len(sent) == 2


def test_a_non_retryable_first_failure_is_raised_as_it_is() -> None:
    error = DcsApiError("DCS show_task failed: HTTP 404 DCS.4133", status_code=404, error_code="DCS.4133")
    hook, sent = _hook(RetryPolicy(max_attempts=5, initial_wait=0), [error])
    with pytest.raises(DcsApiError) as info:
        hook._execute(calls.show_task(TASK_ID))
    assert info.value is error
    assert len(sent) == 1


def test_other_exceptions_pass_through_unretried() -> None:
    hook, sent = _hook(RetryPolicy(max_attempts=5, initial_wait=0), [KeyError("parse")])
    with pytest.raises(KeyError):
        hook._execute(calls.show_task(TASK_ID))
    assert len(sent) == 1


def test_the_total_time_bound_counts_the_first_attempt() -> None:
    # The first attempt alone outlasts the bound: no second attempt starts.
    policy = RetryPolicy(max_attempts=10, initial_wait=0, max_wait=0, max_total_seconds=0.2)
    hook, sent = _hook(policy, [_lost() for _ in range(10)], delay=0.25)
    with pytest.raises(DcsConnectionError):
        hook._execute(calls.show_task(TASK_ID))
    assert len(sent) == 1


def test_the_total_time_bound_stops_later_attempts() -> None:
    policy = RetryPolicy(max_attempts=50, initial_wait=0, max_wait=0, max_total_seconds=0.35)
    hook, sent = _hook(policy, [_lost() for _ in range(50)], delay=0.1)
    with pytest.raises(DcsConnectionError):
        hook._execute(calls.show_task(TASK_ID))
    assert 3 <= len(sent) <= 5
    assert sent[-1] - sent[0] < 0.35 + 0.05


def test_a_careful_call_without_a_look_is_not_resent_after_an_ambiguous_failure() -> None:
    call = calls.configure_online_task(
        TASK_ID,
        migration_method="full_amount_migration",
        resume_mode="auto",
        source_instance={"addrs": "10.0.0.1:6379"},
        target_instance={"addrs": "10.0.0.2:6379"},
    )
    error = _lost()
    hook, sent = _hook(RetryPolicy(max_attempts=5, initial_wait=0), [error, "resent"])
    with pytest.raises(DcsConnectionError) as info:
        hook._execute(call)
    assert info.value is error
    assert len(sent) == 1


def test_a_careful_call_looks_before_resending() -> None:
    call: Call[Any] = Call(Api.CONFIGURE_ONLINE_TASK, {"task_id": TASK_ID})
    looks: list[str] = []

    def found() -> str | None:
        looks.append("look")
        return "took effect"

    hook, sent = _hook(RetryPolicy(max_attempts=5, initial_wait=0, max_wait=0), [_lost(), "resent"])
    assert hook._execute(call, find_effect=found) == "took effect"
    assert len(sent) == 1
    assert looks == ["look"]
