"""The one retry policy of the provider, shared by the sync and the async hook.

Retried: HTTP 429, HTTP 5xx, the documented "busy" 400 codes (``DCS.4017``, ``DCS.4026``,
``DCS.4049``), connection errors and timeouts (a connection broken in the middle of the answer
included), and success answers that cannot be read (empty, cut off or not JSON:
:class:`~huaweicloud_dcs_provider.exceptions.DcsResponseError`). Everything else (other 4xx: bad
input, bad credentials, a clock the gateway finds off, unknown task; a TLS handshake that failed
for good, :class:`~huaweicloud_dcs_provider.exceptions.DcsTlsError`: an untrusted certificate, or
an endpoint answering TLS in plain HTTP) fails at once. Waits grow
exponentially with full jitter, honour a ``Retry-After`` header, and are bounded both in attempts
and in total time.

A call that must not be repeated blindly (:attr:`Endpoint.look_before_retry`: it creates a task, or
configures one) is treated specially by the hooks: after an *ambiguous* failure (the request may
have been processed: read timeout, dropped or broken reply, 5xx, an unreadable 2xx) they first check
whether the earlier attempt took effect instead of sending it again; without a way to check, they
do not retry it at all.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import tenacity

from huaweicloud_dcs_provider.exceptions import (
    BUSY_ERROR_CODES,
    DcsApiError,
    DcsConnectionError,
    DcsResponseError,
    DcsTlsError,
)

log = logging.getLogger(__name__)


def is_retryable(exc: BaseException) -> bool:
    """True for transient failures: throttling, server errors, busy codes, network faults.

    A failed TLS handshake that never fixes itself (an untrusted certificate, a plain-HTTP
    endpoint answering TLS: :class:`DcsTlsError`) is not retried.
    """
    if isinstance(exc, DcsTlsError):
        return False
    if isinstance(exc, DcsConnectionError | DcsResponseError):
        return True
    if isinstance(exc, DcsApiError):
        status = exc.status_code or 0
        return status == 429 or status >= 500 or exc.error_code in BUSY_ERROR_CODES
    return False


def is_ambiguous(exc: BaseException) -> bool:
    """True when a failed request may nevertheless have been carried out by the server."""
    if isinstance(exc, DcsConnectionError):
        return exc.request_sent
    if isinstance(exc, DcsResponseError):
        return True
    if isinstance(exc, DcsApiError):
        return (exc.status_code or 0) >= 500
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    :param max_attempts: attempts in all, the first one included (1 disables retries).
    :param initial_wait: seconds; the exponential backoff's base (full jitter on top).
    :param max_wait: seconds; upper bound of a single wait (also caps ``Retry-After``).
    :param max_total_seconds: seconds; no new attempt starts once this much time has passed.
    """

    max_attempts: int = 6
    initial_wait: float = 1.0
    max_wait: float = 20.0
    max_total_seconds: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.initial_wait < 0 or self.max_wait < 0 or self.max_total_seconds < 0:
            raise ValueError("waits must be >= 0")

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        backoff = tenacity.wait_random_exponential(multiplier=self.initial_wait, max=self.max_wait)
        seconds = float(backoff(retry_state))
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, DcsApiError) and exc.retry_after:
            seconds = max(seconds, min(exc.retry_after, self.max_wait))
        return seconds

    @staticmethod
    def _log_before_sleep(retry_state: tenacity.RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        sleep = retry_state.next_action.sleep if retry_state.next_action else 0.0
        log.warning(
            "DCS call failed (attempt %d): %s; retrying in %.1f s",
            retry_state.attempt_number,
            exc,
            sleep,
        )

    def tenacity_kwargs(
        self, *, retry_ambiguous: bool = True, started: float | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying``.

        :param retry_ambiguous: False for a call that must not be sent again after an ambiguous
            failure (and that the caller cannot check): such failures are raised at once.
        :param started: ``time.monotonic()`` when the call's first attempt started, for a caller that
            made that attempt before handing its failure to the controller (the sync hook): the
            total time bound counts from then, as it does when the controller makes every attempt.
        """
        predicate = is_retryable if retry_ambiguous else _retryable_unless_ambiguous
        total: tenacity.stop.stop_base = (
            tenacity.stop_after_delay(self.max_total_seconds)
            if started is None
            else _StopAfterTotal(started, self.max_total_seconds)
        )
        return {
            "stop": tenacity.stop_after_attempt(self.max_attempts) | total,
            "wait": self._wait,
            "retry": tenacity.retry_if_exception(predicate),
            "reraise": True,
            "before_sleep": self._log_before_sleep,
        }

    def retrying(self, *, retry_ambiguous: bool = True, started: float | None = None) -> tenacity.Retrying:
        """A synchronous retry controller (``started``: see :meth:`tenacity_kwargs`)."""
        return tenacity.Retrying(**self.tenacity_kwargs(retry_ambiguous=retry_ambiguous, started=started))

    def async_retrying(self, *, retry_ambiguous: bool = True) -> tenacity.AsyncRetrying:
        """An asynchronous retry controller (same policy)."""
        return tenacity.AsyncRetrying(**self.tenacity_kwargs(retry_ambiguous=retry_ambiguous))


class _StopAfterTotal(tenacity.stop.stop_base):
    """``stop_after_delay`` counted from a given start (the first attempt's) instead of the controller's."""

    def __init__(self, started: float, max_delay: float) -> None:
        self.started = started
        self.max_delay = max_delay

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome_at = retry_state.outcome_timestamp
        return (time.monotonic() if outcome_at is None else outcome_at) - self.started >= self.max_delay


def _retryable_unless_ambiguous(exc: BaseException) -> bool:
    return is_retryable(exc) and not is_ambiguous(exc)


DEFAULT_RETRY_POLICY = RetryPolicy()
#: For ``test_connection``: answer fast, one retry at most.
QUICK_RETRY_POLICY = RetryPolicy(max_attempts=2, initial_wait=0.5, max_wait=1.0, max_total_seconds=10.0)
