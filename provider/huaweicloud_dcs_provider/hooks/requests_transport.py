"""How the sync hook puts a call on the wire with ``requests``, and what its failures mean.

One function sends (:func:`send`), one turns a ``requests`` failure into a
:class:`~huaweicloud_dcs_provider.exceptions.DcsConnectionError` that says whether the request may
have reached the server (:func:`connection_error`). Reading the answer is shared with the async
hook (:func:`huaweicloud_dcs_provider.api.transport.read_response`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from huaweicloud_dcs_provider.api.transport import Call
from huaweicloud_dcs_provider.connection import (
    DcsConnectionSettings,
    tls_failure_detail,
    tls_failure_message,
)
from huaweicloud_dcs_provider.exceptions import DcsConnectionError, DcsTlsError

#: Words in a ``requests`` failure that say the request never left this machine.
_NEVER_SENT = ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError", "Connection refused")


def connection_error(exc: requests.RequestException, operation: str, endpoint: str) -> DcsConnectionError:
    """A transport failure of ``requests`` as a :class:`DcsConnectionError` (was it sent?)."""
    if isinstance(exc, requests.ConnectTimeout):
        return DcsConnectionError(
            f"DCS {operation}: connect to {endpoint} timed out", request_sent=False, operation=operation
        )
    if isinstance(exc, requests.Timeout):
        return DcsConnectionError(
            f"DCS {operation}: no answer from {endpoint} in time (read timeout)",
            request_sent=True,
            operation=operation,
        )
    text = repr(exc)
    if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in text:
        return DcsTlsError(
            tls_failure_message(operation, endpoint, tls_failure_detail(text)),
            request_sent=False,
            operation=operation,
        )
    never_sent = any(marker in text for marker in _NEVER_SENT)
    reason = "connection refused or host unknown" if never_sent else "connection lost before the answer"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        reason = "connection broken in the middle of the answer (the request may have been processed)"
    return DcsConnectionError(
        f"DCS {operation}: {reason} ({endpoint})", request_sent=not never_sent, operation=operation
    )


def send(
    session: requests.Session,
    send_options: Mapping[str, Any],
    settings: DcsConnectionSettings,
    call: Call[Any],
) -> tuple[int, Mapping[str, str], bytes]:
    """One signed attempt of ``call`` on ``session``: ``(status, headers, body)``, no retry.

    Prepared and sent without the session's cookie jar, hooks and redirect handling (the API uses
    none of them; redirects are never followed): the same request (the session's headers, then
    the call's; the session's signer, adapters, proxies and TLS settings) at a lower cost per call.
    ``send_options`` is what ``requests`` would merge in from the environment before every send.
    """
    prepared = requests.PreparedRequest()
    prepared.prepare(
        method=call.api.method,
        url=settings.endpoint + call.path(settings.project_id),
        headers={**session.headers, **call.headers(settings.project_id)},
        data=call.body_bytes(),
        params=call.query or None,
        auth=session.auth,
    )
    try:
        response = session.get_adapter(prepared.url or "").send(
            prepared, timeout=(settings.connect_timeout, settings.read_timeout), **send_options
        )
        body = response.content  # read here: a reply broken off midway is a connection error
    except requests.RequestException as exc:
        raise connection_error(exc, call.operation, settings.endpoint) from None
    return response.status_code, response.headers, body
