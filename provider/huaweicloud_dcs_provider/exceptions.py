"""Errors raised by the DCS provider. None of them ever carries a secret."""

from __future__ import annotations

from typing import Any

from huaweicloud_dcs_provider.compat import AirflowException, AirflowFailException

#: DCS error code returned (with HTTP 400) for a migration task that does not exist.
TASK_NOT_FOUND_CODE = "DCS.4133"
#: "Busy" 400 codes that the service returns while a job on the instance is running: retried.
BUSY_ERROR_CODES = frozenset({"DCS.4017", "111400017", "DCS.4026", "DCS.4049"})


class DcsError(AirflowException):
    """Base class of every error raised by this provider."""


class DcsValidationError(DcsError, ValueError):
    """A parameter is invalid; raised before any request is sent."""

    def __init__(self, parameter: str, problem: str, allowed: str | None = None) -> None:
        self.parameter = parameter
        message = f"invalid {parameter}: {problem}"
        if allowed:
            message += f" (allowed: {allowed})"
        super().__init__(message)


class DcsApiError(DcsError):
    """The DCS API answered with an error (or could not be reached).

    :param status_code: HTTP status, or ``None`` when no response arrived.
    :param error_code: DCS error code such as ``DCS.4133`` (``None`` if the body had none).
    :param error_msg: the API's error text.
    :param request_id: the ``X-Request-Id`` of the failed call, for Huawei support.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
        operation: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code  # type: ignore[assignment]  # HTTP status of the API answer
        self.retry_after = retry_after
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.operation = operation
        super().__init__(message)

    @property
    def is_not_found(self) -> bool:
        """True for an unknown migration task (HTTP 400 ``DCS.4133``)."""
        return self.error_code == TASK_NOT_FOUND_CODE

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, error_code={self.error_code!r}, "
            f"error_msg={self.error_msg!r}, request_id={self.request_id!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_api_error,
            (
                type(self),
                str(self),
                self.status_code,
                self.error_code,
                self.error_msg,
                self.request_id,
                self.operation,
            ),
        )


def _rebuild_api_error(cls: type[DcsApiError], message: str, *args: Any) -> DcsApiError:
    status_code, error_code, error_msg, request_id, operation = args
    return cls(
        message,
        status_code=status_code,
        error_code=error_code,
        error_msg=error_msg,
        request_id=request_id,
        operation=operation,
    )


class DcsAuthError(DcsApiError):
    """The gateway rejected the credentials or the signature (HTTP 401/403)."""


class DcsClockSkewError(DcsAuthError):
    """The gateway rejected a correct signature as expired: this machine's clock is off.

    ``offset_seconds`` is how far the gateway's clock is ahead of this machine's (negative:
    behind), measured from the answer's ``Date`` header (or the gateway's message); ``None`` when
    the answer did not say. Permanent: retrying does not fix a clock.
    """

    def __init__(self, message: str, *, offset_seconds: float | None = None, **kwargs: Any) -> None:
        self.offset_seconds = offset_seconds
        super().__init__(message, **kwargs)


class DcsResponseError(DcsApiError):
    """A success answer (2xx) that cannot be read: empty, cut off, or not JSON where data is due.

    The request reached the API and may have been processed (ambiguous); the hooks retry it, after
    checking first for calls that must not be repeated blindly.
    """


class DcsConnectionError(DcsApiError):
    """The endpoint could not be reached or did not answer in time.

    ``request_sent`` is False when the request certainly never reached the server (connection
    refused, connect timeout), True when it may have been processed (read timeout, dropped reply).
    """

    def __init__(self, message: str, *, request_sent: bool, operation: str | None = None) -> None:
        self.request_sent = request_sent
        super().__init__(message, operation=operation)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_connection_error, (type(self), str(self), self.request_sent, self.operation))


def _rebuild_connection_error(
    cls: type[DcsConnectionError], message: str, request_sent: bool, operation: str | None
) -> DcsConnectionError:
    return cls(message, request_sent=request_sent, operation=operation)


class DcsTlsError(DcsConnectionError):
    """The TLS handshake failed in a way no retry fixes: never retried.

    The endpoint's certificate failed verification (fix the connection's ``ca_bundle``, for a
    private CA, or the endpoint), or the endpoint answered the handshake in plain HTTP (write
    ``http://`` in the host if it serves plain HTTP). The request was not sent.
    """


class DcsMigrationFailedError(DcsError, AirflowFailException):
    """A migration task ended in a failure status (or not in the status that was awaited).

    Final: Airflow does not retry the task (a retry would only read the same failure again).
    """

    def __init__(self, message: str, *, task_id: str, status: str, error_text: str | None = None) -> None:
        self.task_id = task_id
        self.status = status
        self.error_text = error_text
        super().__init__(message)
