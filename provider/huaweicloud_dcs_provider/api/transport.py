"""What the sync and async hooks share about a request: its parts and the reading of its answer.

The hooks differ only in the client that sends the bytes (``requests`` or ``aiohttp``); how a call is
built, how its body is serialised, and how an answer becomes data or a :class:`DcsApiError` is here,
once.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar

from huaweicloud_dcs_provider import __version__
from huaweicloud_dcs_provider.api.endpoints import Endpoint
from huaweicloud_dcs_provider.api.redaction import scrub
from huaweicloud_dcs_provider.api.signing import DATE_FORMAT, PROJECT_ID_HEADER
from huaweicloud_dcs_provider.exceptions import (
    DcsApiError,
    DcsAuthError,
    DcsClockSkewError,
    DcsResponseError,
)

T = TypeVar("T")

USER_AGENT = f"airflow-provider-huaweicloud-dcs/{__version__}"
JSON_BODY_CONTENT_TYPE = "application/json;charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
MAX_ERROR_TEXT = 500
#: Characters of a non-JSON, non-HTML answer quoted in an error message.
MAX_QUOTED_TEXT = 120
#: Words of a gateway's 401 saying the signature's date is too far from its clock.
_EXPIRED_MARKERS = ("signature expired", "request expired", "x-sdk-date expired")
_GATEWAY_TIMES = re.compile(r"signature time:\s*(\d{8}T\d{6}Z)\s*,\s*server time:\s*(\d{8}T\d{6}Z)")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call: endpoint, path parameters, query, JSON body and how to read the answer."""

    api: Endpoint
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    parse: Callable[[Any], T] = field(default=lambda data: data)

    @property
    def operation(self) -> str:
        """Endpoint name for messages and logs."""
        return self.api.operation

    def path(self, project_id: str) -> str:
        """Absolute path with the project and path parameters filled in."""
        return self.api.render(project_id, **self.path_params)

    def body_bytes(self) -> bytes | None:
        """The exact bytes sent (and hashed for the signature); ``None`` for no body."""
        if self.body is None:
            return None
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def headers(self, project_id: str) -> dict[str, str]:
        """Headers set by us, all of them signed."""
        return {
            "Content-Type": JSON_BODY_CONTENT_TYPE if self.body is not None else JSON_CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            PROJECT_ID_HEADER: project_id,
        }


def _error_text(value: Any) -> str | None:
    """An error field as text: only strings and numbers (a nested structure is not quoted)."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _find_error_fields(data: Any, _depth: int = 0) -> tuple[str | None, str | None]:
    """Error code and message in any of the shapes the SDK accepts, or a few levels down."""
    if not isinstance(data, Mapping) or _depth > 4:
        return None, None
    for code_key, msg_key in (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message")):
        if data.get(code_key) is not None or data.get(msg_key) is not None:
            return _error_text(data.get(code_key)), _error_text(data.get(msg_key))
    for value in data.values():
        if isinstance(value, Mapping):
            code, msg = _find_error_fields(value, _depth + 1)
            if code or msg:
                return code, msg
    return None, None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def _request_id(headers: Mapping[str, str]) -> str | None:
    for key, value in headers.items():
        if key.lower() in ("x-request-id", "x-openstack-request-id"):
            return value
    return None


def decode_body(body: bytes) -> Any:
    """JSON of a response body; ``{}`` for an empty one; the text itself when not JSON."""
    if not body or not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to read
        return body.decode("utf-8", errors="replace")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _is_html(text: str) -> bool:
    start = text.lstrip()[:200].lower()
    return start.startswith("<") and (
        "<html" in start or "<!doctype" in start or "<head" in start or "<body" in start or "<title" in start
    )


def _html_summary(text: str) -> str:
    """A gateway's or proxy's HTML page in a few words: its title (or its first text)."""
    match = _TITLE.search(text)
    words = match.group(1) if match else _TAG.sub(" ", text)
    words = " ".join(html.unescape(words).split())[:MAX_QUOTED_TEXT]
    described = (
        f"an HTML page titled {words!r}"
        if match
        else f"an HTML page ({words!r})"
        if words
        else "an HTML page"
    )
    return f"{described}, from a proxy or gateway in front of the DCS API rather than the API itself"


def _quoted_text(text: str) -> str:
    short = " ".join(text.split())
    return short if len(short) <= MAX_QUOTED_TEXT else short[: MAX_QUOTED_TEXT - 3] + "..."


def read_response(
    call: Call[T],
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Iterable[str | None] = (),
) -> T:
    """Turn an HTTP answer into the call's result, or raise :class:`DcsApiError`.

    A 2xx answer of a call that returns data must hold a JSON document, whatever its
    ``Content-Type`` says (valid JSON under ``text/html`` is accepted): an empty, cut-off or
    non-JSON body raises :class:`DcsResponseError` instead of being read as "no data". Calls whose
    endpoint returns no data (:attr:`Endpoint.returns_data`) accept any body. ``secrets`` (the
    secret key, the token, passwords just sent) are replaced by ``***`` in every error text.
    """
    if 200 <= status < 300:
        if not call.api.returns_data:
            data = decode_body(body)
            return call.parse(scrub(data, secrets) if isinstance(data, dict | list) else {})
        document = _json_document(body)
        if document is None:
            raise unreadable_answer(call.operation, status, headers, body, secrets=secrets)
        # An answer may echo a secret under any name (a password in an error text): scrubbed.
        return call.parse(scrub(document, secrets))
    raise api_error(call.operation, status, headers, decode_body(body), secrets=secrets)


def _json_document(body: bytes) -> dict[str, Any] | list[Any] | None:
    if not body or not body.strip():
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to read
        return None
    return data if isinstance(data, dict | list) else None


def unreadable_answer(
    operation: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Iterable[str | None] = (),
) -> DcsResponseError:
    """The error for a 2xx answer without the JSON document the call needs."""
    content_type = _header(headers, "content-type") or "none"
    request_id = _request_id(headers)
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        what = f"an empty body ({len(body)} bytes, Content-Type {content_type})"
        detail = ""
    else:
        what = f"a body that is not JSON ({len(body)} bytes, Content-Type {content_type})"
        stripped = text.lstrip()
        if stripped[:1] in ("{", "["):
            # Never quoted: a detail may hold Redis passwords in clear text.
            detail = ": the JSON document is cut off or damaged (a connection or a proxy truncated it?)"
        elif _is_html(text):
            detail = f": {_html_summary(text)}"
        else:
            detail = f": {_quoted_text(text)!r}"
    message = f"DCS {operation} answered HTTP {status} with {what}{detail}"
    if request_id:
        message += f" (request id {request_id})"
    message += ". A JSON document was expected; the request may have been processed."
    return DcsResponseError(
        str(scrub(message, secrets)),
        status_code=status,
        error_msg=str(scrub(detail.lstrip(": "), secrets)) or None,
        request_id=request_id,
        operation=operation,
    )


def _parse_sdk_date(text: str) -> datetime:
    return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=UTC)


def clock_offset(headers: Mapping[str, str], msg: str | None, *, now: float | None = None) -> float | None:
    """Seconds the gateway's clock is ahead of this machine's (negative: behind), if the answer says.

    From the ``Date`` header of the answer (1 s resolution), else from the gateway's "signature
    time:...,server time:..." message.
    """
    date = _header(headers, "date")
    if date:
        try:
            server = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            server = None
        if server is not None:
            if server.tzinfo is None:
                server = server.replace(tzinfo=UTC)
            return server.timestamp() - (time.time() if now is None else now)
    match = _GATEWAY_TIMES.search(msg or "")
    if match:
        try:
            signed, server_time = (_parse_sdk_date(value) for value in match.groups())
        except ValueError:
            return None
        return (server_time - signed).total_seconds()
    return None


def _clock_advice(offset: float | None) -> str:
    if offset is None:
        return (
            "The gateway rejected the request's signature as expired: this machine's clock is "
            "probably more than 15 minutes off the DCS gateway's; fix the clock (NTP) on this machine."
        )
    seconds = round(abs(offset))
    if seconds < 60:
        return (
            "The gateway rejected the request's signature as expired although this machine's clock "
            f"is within {seconds} s of the DCS gateway's: the request was delayed or replayed, or the "
            "clock was wrong when it was signed; check the clock (NTP) and any proxy in between."
        )
    side = "behind" if offset > 0 else "ahead of"
    return (
        f"The gateway rejected the request's signature as expired: this machine's clock is {seconds} s "
        f"{side} the DCS gateway's; fix the clock (NTP) on this machine."
    )


def _is_expired_signature(status: int, code: str | None, msg: str | None) -> bool:
    text = (msg or "").lower()
    return status == 401 and (code == "APIGW.0303" or any(marker in text for marker in _EXPIRED_MARKERS))


def api_error(
    operation: str,
    status: int,
    headers: Mapping[str, str],
    data: Any,
    *,
    secrets: Iterable[str | None] = (),
) -> DcsApiError:
    """The error for a non-2xx answer; its message names the HTTP status and the DCS error code.

    An HTML page (a proxy's or gateway's error page) is summed up by its title, never quoted
    whole; a 401 for an expired signature raises :class:`DcsClockSkewError`, which says how far
    this machine's clock is off; known ``secrets`` are replaced by ``***``.
    """
    secrets = [s for s in secrets if s]
    code, msg = _find_error_fields(data)
    if msg is None and isinstance(data, str) and data.strip():
        msg = _html_summary(data) if _is_html(data) else data.strip()[:MAX_ERROR_TEXT]
    if isinstance(msg, str):
        msg = str(scrub(msg[:MAX_ERROR_TEXT], secrets))
    if code is not None:  # the API's id of the error: a short password must not rewrite it
        code = str(scrub({"error_code": code}, secrets)["error_code"])
    request_id = _request_id(headers)
    message = f"DCS {operation} failed: HTTP {status}"
    if code:
        message += f" {code}"
    if msg:
        message += f": {msg}"
    if request_id:
        message += f" (request id {request_id})"
    common: dict[str, Any] = {
        "status_code": status,
        "error_code": code,
        "error_msg": msg,
        "request_id": request_id,
        "operation": operation,
        "retry_after": _retry_after(headers),
    }
    if _is_expired_signature(status, code, msg):
        offset = clock_offset(headers, msg)
        return DcsClockSkewError(f"{message}. {_clock_advice(offset)}", offset_seconds=offset, **common)
    cls = DcsAuthError if status in (401, 403) else DcsApiError
    return cls(message, **common)
