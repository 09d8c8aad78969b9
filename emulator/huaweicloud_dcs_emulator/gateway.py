"""The API gateway in front of the endpoints: route check, signature check, project check.

Unknown API -> HTTP 404 ``APIGW.0101``; a bad signature (checked against the gateway's clock) ->
HTTP 401 ``APIGW.0301``; the project id of the path (and of ``X-Project-Id``, when sent) must be
the configured one -> HTTP 401 ``DCS.1004``. Errors of the endpoint handlers become their JSON
error answers (an unexpected exception: HTTP 500 ``DCS.5000``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from huaweicloud_dcs_emulator.auth import AuthFailure, verify
from huaweicloud_dcs_emulator.responses import error_response
from huaweicloud_dcs_emulator.routes import API_PREFIX, is_admin_path
from huaweicloud_dcs_emulator.service import Handler, emulator_of
from huaweicloud_dcs_emulator.store.errors import EmulatorError

log = logging.getLogger("huaweicloud_dcs_emulator")

PROJECT_MISMATCH = "DCS.1004"


def _gateway_error(request: web.Request, failure: AuthFailure) -> web.Response:
    return error_response(
        request,
        failure.status,
        {
            "error_code": failure.error_code,
            "error_msg": failure.error_msg,
            "request_id": request["request_id"],
        },
    )


@web.middleware
async def gateway_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Route check, signature check, project check and error formatting of API requests."""
    if is_admin_path(request.path):
        return await handler(request)
    emulator = emulator_of(request)
    match_exc = request.match_info.http_exception
    if match_exc is not None or not request.path.startswith(API_PREFIX):
        message = "The API does not exist or has not been published in the environment"
        if isinstance(match_exc, web.HTTPMethodNotAllowed):
            message = "The API does not exist"
        return error_response(
            request,
            404,
            {"error_code": "APIGW.0101", "error_msg": message, "request_id": request["request_id"]},
        )
    body = await request.read()
    failure = verify(
        method=request.method,
        raw_target=request.raw_path,
        headers=request.headers,
        body=body,
        config=emulator.auth,
        now=datetime.fromtimestamp(emulator.gateway_time(), UTC),
    )
    if failure is not None:
        log.info("rejected %s %s: %s", request.method, request.path, failure.error_msg)
        return _gateway_error(request, failure)
    project_id = request.match_info.get("project_id", "")
    header_project = request.headers.get("X-Project-Id")
    if project_id != emulator.auth.project_id or (header_project and header_project != project_id):
        shown = project_id if project_id != emulator.auth.project_id else header_project
        return error_response(
            request,
            401,
            {
                "error_code": PROJECT_MISMATCH,
                "error_msg": f"The project ID {shown} does not match the credentials' project.",
                "error_ext_msg": None,
            },
        )
    request["reached_handler"] = True
    try:
        return await handler(request)
    except EmulatorError as err:
        return error_response(request, err.status, err.body())
    except web.HTTPException:
        raise
    except Exception:
        log.exception("internal error handling %s %s", request.method, request.path)
        return error_response(
            request, 500, {"error_code": "DCS.5000", "error_msg": "Internal error.", "error_ext_msg": None}
        )
