"""The outermost middleware: a request id on every answer, every API request in the request log.

Every response carries ``X-Request-Id`` (uuid hex); every non-admin request is logged (method,
path, query, status, time, faults applied); every API answer carries a ``Date`` header of the
gateway's clock (shifted by the ``clock_skew_seconds`` config value).
"""

from __future__ import annotations

import logging
import time
import uuid

from aiohttp import web

from huaweicloud_dcs_emulator.request_log import LoggedRequest
from huaweicloud_dcs_emulator.responses import http_date
from huaweicloud_dcs_emulator.routes import is_admin_path
from huaweicloud_dcs_emulator.service import Handler, emulator_of

log = logging.getLogger("huaweicloud_dcs_emulator")


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Assign ``X-Request-Id``; log every non-admin request with its outcome."""
    request_id = uuid.uuid4().hex
    request["request_id"] = request_id
    entry: LoggedRequest | None = None
    if not is_admin_path(request.path):
        raw_query = request.raw_path.partition("?")[2]
        entry = emulator_of(request).requests.add(
            LoggedRequest(
                request_id=request_id,
                method=request.method,
                path=request.path,
                query=raw_query,
                time=time.time(),
            )
        )
    # Faults (and the handler's status) are recorded in the log entry as soon as they apply (a
    # delayed request shows up with its fault and handled status while it is still sleeping).
    request["faults"] = entry.faults if entry is not None else []
    request["log_entry"] = entry
    started = time.monotonic()

    def finish(status: int) -> None:
        if entry is not None:
            entry.duration = round(time.monotonic() - started, 4)
            entry.status = None if request.get("dropped") else status
            entry.handled_status = request.get("handled_status")
            entry.error_code = request.get("error_code")
            log.debug("%s %s -> %s", entry.method, entry.path, entry.status)

    try:
        response = await handler(request)
    except web.HTTPException as exc:
        finish(exc.status)
        exc.headers["X-Request-Id"] = request_id
        if entry is not None:
            exc.headers["Date"] = http_date(emulator_of(request).gateway_time())
        raise
    finish(response.status)
    if not response.prepared:  # a ``reset`` fault has sent its headers already
        response.headers["X-Request-Id"] = request_id
        if entry is not None:
            response.headers["Date"] = http_date(emulator_of(request).gateway_time())
    return response
