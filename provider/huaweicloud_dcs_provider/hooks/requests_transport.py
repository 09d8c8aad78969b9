"""How the sync hook puts a call on the wire with ``requests``, and what its failures mean.

One function sends (:func:`send`), one turns a ``requests`` failure into a
:class:`~huaweicloud_dcs_provider.exceptions.DcsConnectionError` that says whether the request may
have reached the server (:func:`connection_error`). Reading the answer is shared with the async
hook (:func:`huaweicloud_dcs_provider.api.transport.read_response`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

import requests

from huaweicloud_dcs_provider.api.signing import RequestsSigner
from huaweicloud_dcs_provider.api.transport import Call
from huaweicloud_dcs_provider.connection import (
    DcsConnectionSettings,
    plain_http_message,
    plain_text_answer,
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
    plain = plain_text_answer(text) if isinstance(exc, requests.exceptions.SSLError) else None
    if plain:  # a plain-HTTP server answered the handshake: no retry will change that
        return DcsTlsError(
            plain_http_message(operation, endpoint, plain), request_sent=False, operation=operation
        )
    never_sent = any(marker in text for marker in _NEVER_SENT)
    reason = "connection refused or host unknown" if never_sent else "connection lost before the answer"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        reason = "connection broken in the middle of the answer (the request may have been processed)"
    return DcsConnectionError(
        f"DCS {operation}: {reason} ({endpoint})", request_sent=not never_sent, operation=operation
    )


@dataclass(frozen=True)
class _Target:
    """A call's URL as ``requests`` prepares it, split for the signer."""

    url: str
    split: SplitResult
    query: tuple[tuple[str, str], ...]


@functools.lru_cache(maxsize=256)
def _target(url: str, query: tuple[tuple[str, str], ...]) -> _Target:
    """``requests``' own preparation of a URL and its query (pure, so kept: a wait polls one URL)."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, list(query) or None)
    final = prepared.url or ""
    split = urlsplit(final)
    return _Target(final, split, tuple(parse_qsl(split.query, keep_blank_values=True)))


def _kept_target(url: str, query: list[tuple[str, str]]) -> _Target | None:
    try:
        return _target(url, tuple(query))
    except TypeError:  # a query value that cannot be a cache key: prepared the long way
        return None


def prepare(
    session: requests.Session, settings: DcsConnectionSettings, call: Call[Any]
) -> requests.PreparedRequest:
    """The signed request of one attempt of ``call``: the session's headers, then the call's.

    Exactly what ``PreparedRequest.prepare`` builds with the session's signer as ``auth`` and no
    cookies, at a lower cost per call: the URL is prepared (and split) once per distinct URL, and
    the signer is handed the split URL instead of parsing the prepared one again. A session whose
    ``auth`` is not this provider's signer is prepared by ``requests`` itself.
    """
    url = settings.endpoint + call.path(settings.project_id)
    headers = {**session.headers, **call.headers(settings.project_id)}
    body = call.body_bytes()
    prepared = requests.PreparedRequest()
    signer = session.auth
    target = _kept_target(url, call.query) if type(signer) is RequestsSigner else None
    if target is None or not isinstance(signer, RequestsSigner):
        params = call.query or None
        prepared.prepare(
            method=call.api.method, url=url, headers=headers, data=body, params=params, auth=signer
        )
        return prepared
    # The steps of ``prepare``: method, URL, headers, (no) cookies, body, auth; no hooks.
    prepared.prepare_method(call.api.method)
    prepared.url = target.url
    prepared.prepare_headers(headers)
    prepared.prepare_body(body, None)
    signer.sign_split(prepared, target.split, target.query)
    prepared.prepare_content_length(prepared.body)
    return prepared


def send(
    session: requests.Session,
    send_options: Mapping[str, Any],
    settings: DcsConnectionSettings,
    call: Call[Any],
) -> tuple[int, Mapping[str, str], bytes]:
    """One signed attempt of ``call`` on ``session``: ``(status, headers, body)``, no retry.

    Prepared (:func:`prepare`) and sent without the session's cookie jar, hooks and redirect
    handling (the API uses none of them; redirects are never followed): the same request (the
    session's headers, then the call's; the session's signer, adapters, proxies and TLS settings)
    at a lower cost per call. ``send_options`` is what ``requests`` would merge in from the
    environment before every send.
    """
    prepared = prepare(session, settings, call)
    try:
        response = session.get_adapter(prepared.url or "").send(
            prepared, timeout=(settings.connect_timeout, settings.read_timeout), **send_options
        )
        body = response.content  # read here: a reply broken off midway is a connection error
    except requests.RequestException as exc:
        raise connection_error(exc, call.operation, settings.endpoint) from None
    return response.status_code, response.headers, body
