"""The fault-injection middleware: applies the matching rules of :mod:`.faults` to API requests.

Rules of ``when: before`` apply before the gateway and the API see the request; rules of ``when:
after`` apply to the API's answer, once its side effect has happened. Admin requests are never
faulted.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from huaweicloud_dcs_emulator.faults import FaultRule
from huaweicloud_dcs_emulator.responses import http_date
from huaweicloud_dcs_emulator.routes import is_admin_path
from huaweicloud_dcs_emulator.service import Handler, emulator_of


def _fault_response(request: web.Request, rule: FaultRule) -> web.Response:
    headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
    if rule.body is not None:
        kind = rule.content_type or ("text/html" if rule.body.lstrip().startswith("<") else "text/plain")
        request["error_code"] = None
        headers["Content-Type"] = kind
        return web.Response(status=rule.status, body=rule.body.encode("utf-8"), headers=headers)
    body = rule.error_body()
    request["error_code"] = body["error_code"]
    response = web.json_response(body, status=rule.status, headers=headers or None)
    if rule.content_type:
        response.headers["Content-Type"] = rule.content_type
    return response


def _body_of(response: web.StreamResponse | None) -> bytes:
    body = getattr(response, "body", None)
    return bytes(body) if isinstance(body, bytes | bytearray) else b""


def _copied_headers(response: web.StreamResponse) -> dict[str, str]:
    skip = {"content-length", "transfer-encoding"}
    return {key: value for key, value in response.headers.items() if key.lower() not in skip}


def _truncate(response: web.StreamResponse, keep: int) -> web.Response:
    """The answer with only the first ``keep`` bytes of its body (and a matching length)."""
    body = _body_of(response)[:keep]
    return web.Response(status=response.status, body=body, headers=_copied_headers(response))


async def _reset(request: web.Request, response: web.StreamResponse, keep: int | None) -> web.StreamResponse:
    """Send the headers with the full length and part of the body, then close the connection."""
    body = _body_of(response)
    part = body[: len(body) // 2 if keep is None else min(keep, max(0, len(body) - 1))]
    broken = web.StreamResponse(status=response.status, headers=_copied_headers(response))
    broken.headers["X-Request-Id"] = request["request_id"]
    broken.headers["Date"] = http_date(emulator_of(request).gateway_time())
    broken.content_length = len(body)
    await broken.prepare(request)
    if part:
        await broken.write(part)
    transport = request.transport
    if transport is not None:
        transport.close()  # flushes what was written, then FIN: the body ends early
    return broken


def _drop(request: web.Request) -> web.Response:
    request["dropped"] = True
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=499)


async def _apply(
    request: web.Request, rules: list[FaultRule], answer: web.StreamResponse | None = None
) -> web.StreamResponse | None:
    """Apply the chosen rules; ``answer`` is the handler's response (``when: after`` only)."""
    for rule in rules:
        request["faults"].append(rule.action)
        if rule.action == "latency":
            await asyncio.sleep(rule.delay)
        elif rule.action == "drop":
            return _drop(request)
        elif rule.action == "status":
            return _fault_response(request, rule)
        elif answer is None:  # pragma: no cover - refused when the rule is added
            continue
        elif rule.action == "truncate":
            return _truncate(answer, rule.keep_bytes or 0)
        elif rule.action == "content_type":
            answer.headers["Content-Type"] = rule.content_type or "text/plain"
            return answer
        elif rule.action == "reset":
            return await _reset(request, answer, rule.keep_bytes)
    return None


def _handled(request: web.Request, status: int) -> None:
    """Record the status of a request the endpoint handler processed (not one the gateway refused)."""
    if not request.get("reached_handler"):
        return
    request["handled_status"] = status
    entry = request.get("log_entry")
    if entry is not None:
        entry.handled_status = status


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply matching fault rules before and/or after the API handles the request."""
    if is_admin_path(request.path):
        return await handler(request)
    faults = emulator_of(request).faults
    early = await _apply(request, faults.take("before", request.method, request.path))
    if early is not None:
        return early
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _handled(request, exc.status)
        raise
    _handled(request, response.status)
    late = await _apply(request, faults.take("after", request.method, request.path), response)
    return late if late is not None else response
