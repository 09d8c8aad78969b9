"""Answer helpers shared by the middlewares: JSON errors and the gateway's ``Date`` header."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

from aiohttp import web


def error_response(request: web.Request, status: int, body: dict[str, Any]) -> web.Response:
    """A JSON error; remembers the code for the request log."""
    request["error_code"] = body.get("error_code")
    return web.json_response(body, status=status)


def http_date(timestamp: float) -> str:
    """An HTTP ``Date`` value (RFC 9110 IMF-fixdate)."""
    return formatdate(timestamp, usegmt=True)
