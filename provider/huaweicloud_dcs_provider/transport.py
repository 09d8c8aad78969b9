"""What the sync and async hooks share about a request: its parts and the reading of its answer.

The hooks differ only in the client that sends the bytes (``requests`` or ``aiohttp``); how a call is
built, how its body is serialised, and how an answer becomes data or a :class:`DcsApiError` is here,
once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from huaweicloud_dcs_provider import __version__
from huaweicloud_dcs_provider.endpoints import Endpoint
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsAuthError
from huaweicloud_dcs_provider.signing import PROJECT_ID_HEADER

T = TypeVar("T")

USER_AGENT = f"airflow-provider-huaweicloud-dcs/{__version__}"
JSON_BODY_CONTENT_TYPE = "application/json;charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
MAX_ERROR_TEXT = 500


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


def _find_error_fields(data: Any) -> tuple[str | None, str | None]:
    """Error code and message in any of the shapes the SDK accepts, or one level down."""
    if not isinstance(data, Mapping):
        return None, None
    for code_key, msg_key in (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message")):
        if data.get(code_key) is not None or data.get(msg_key) is not None:
            code = data.get(code_key)
            msg = data.get(msg_key)
            return (str(code) if code is not None else None, str(msg) if msg is not None else None)
    for value in data.values():
        if isinstance(value, Mapping):
            code, msg = _find_error_fields(value)
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
    except ValueError:
        return body.decode("utf-8", errors="replace")


def read_response(call: Call[T], status: int, headers: Mapping[str, str], body: bytes) -> T:
    """Turn an HTTP answer into the call's result, or raise :class:`DcsApiError`."""
    data = decode_body(body)
    if 200 <= status < 300:
        return call.parse(data if isinstance(data, dict | list) else {})
    raise api_error(call.operation, status, headers, data)


def api_error(operation: str, status: int, headers: Mapping[str, str], data: Any) -> DcsApiError:
    """The error for a non-2xx answer; its message names the HTTP status and the DCS error code."""
    code, msg = _find_error_fields(data)
    if msg is None and isinstance(data, str) and data.strip():
        msg = data.strip()[:MAX_ERROR_TEXT]
    if isinstance(msg, str):
        msg = msg[:MAX_ERROR_TEXT]
    request_id = _request_id(headers)
    message = f"DCS {operation} failed: HTTP {status}"
    if code:
        message += f" {code}"
    if msg:
        message += f": {msg}"
    if request_id:
        message += f" (request id {request_id})"
    cls = DcsAuthError if status in (401, 403) else DcsApiError
    return cls(
        message,
        status_code=status,
        error_code=code,
        error_msg=msg,
        request_id=request_id,
        operation=operation,
        retry_after=_retry_after(headers),
    )
