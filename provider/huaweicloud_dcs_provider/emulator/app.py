"""The emulator's ``aiohttp.web`` application: the 19 DCS v2 migration endpoints plus the admin API.

Request pipeline (outermost first):

1. request id + request log: every response carries ``X-Request-Id`` (uuid hex); every non-admin
   request is logged (method, path, query, status, time, faults applied);
   every API answer carries a ``Date`` header of the gateway's clock (shifted by the
   ``clock_skew_seconds`` config value);
2. fault injection (``/_emulator/faults`` rules, ``before`` and ``after`` the API);
3. gateway: unknown API -> 404 ``APIGW.0101``; signature check (against the gateway's clock) ->
   401 ``APIGW.0301``; project id of the path (and of ``X-Project-Id``, when sent) must be the
   configured one -> 401 ``DCS.1004``;
4. the endpoint handler (:class:`~.state.TaskStore` does the work).

The admin API under ``/_emulator/`` is unsigned and never faulted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

from aiohttp import web

from huaweicloud_dcs_provider import __version__
from huaweicloud_dcs_provider.emulator import auth
from huaweicloud_dcs_provider.emulator.engine import LiveEngine, MigrationEngine, build_engine
from huaweicloud_dcs_provider.emulator.faults import FaultRule, FaultStore, LoggedRequest, RequestLog
from huaweicloud_dcs_provider.emulator.state import (
    INVALID_JSON,
    EmulatorConfig,
    EmulatorError,
    TaskStore,
)
from huaweicloud_dcs_provider.endpoints import Api

log = logging.getLogger("huaweicloud_dcs_provider.emulator")

ADMIN_PREFIX = "/_emulator/"
API_PREFIX = "/v2/"
PROJECT_MISMATCH = "DCS.1004"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class EmulatorSettings:
    """Credentials and startup configuration of one emulator.

    ``real_migration``: really copy keys when a task's source and target are both a loopback
    ``addrs`` (needs the ``redis`` package; see :mod:`.redis_engine`); otherwise every migration
    is simulated.
    """

    auth: auth.AuthConfig
    config: EmulatorConfig = field(default_factory=EmulatorConfig)
    real_migration: bool = False


class Emulator:
    """Everything the handlers share: store, faults, request log, credentials."""

    def __init__(
        self,
        settings: EmulatorSettings,
        *,
        engine: MigrationEngine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.auth = settings.auth
        self.engine = engine or build_engine(settings.real_migration)
        self.store = TaskStore(settings.config, engine=self.engine, clock=clock)
        self.faults = FaultStore()
        self.requests = RequestLog()
        self.started = time.time()

    def gateway_time(self) -> float:
        """The gateway's clock: this machine's, shifted by ``clock_skew_seconds``."""
        return time.time() + self.store.config.clock_skew_seconds

    def reset(self) -> None:
        """Clear tasks, jobs, whitelists, faults and the request log; restore startup timings."""
        self.store.reset()
        self.faults.clear()
        self.requests.clear()


EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _emulator(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


def error_response(request: web.Request, status: int, body: dict[str, Any]) -> web.Response:
    """A JSON error; remembers the code for the request log."""
    request["error_code"] = body.get("error_code")
    return web.json_response(body, status=status)


def _gateway_error(request: web.Request, failure: auth.AuthFailure) -> web.Response:
    return error_response(
        request,
        failure.status,
        {
            "error_code": failure.error_code,
            "error_msg": failure.error_msg,
            "request_id": request["request_id"],
        },
    )


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise EmulatorError(
            400, INVALID_JSON, "The message body contains invalid characters or is not in JSON format."
        ) from None


def _ok(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


def _no_content() -> web.Response:
    return web.Response(status=204)


def _is_admin(request: web.Request) -> bool:
    return request.path.startswith(ADMIN_PREFIX)


# --------------------------------------------------------------------------------------------
# Middlewares
# --------------------------------------------------------------------------------------------


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Assign ``X-Request-Id``; log every non-admin request with its outcome."""
    request_id = uuid.uuid4().hex
    request["request_id"] = request_id
    entry: LoggedRequest | None = None
    if not _is_admin(request):
        raw_query = request.raw_path.partition("?")[2]
        entry = _emulator(request).requests.add(
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
            exc.headers["Date"] = _http_date(_emulator(request).gateway_time())
        raise
    finish(response.status)
    if not response.prepared:  # a ``reset`` fault has sent its headers already
        response.headers["X-Request-Id"] = request_id
        if entry is not None:
            response.headers["Date"] = _http_date(_emulator(request).gateway_time())
    return response


def _http_date(timestamp: float) -> str:
    """An HTTP ``Date`` value (RFC 9110 IMF-fixdate)."""
    return formatdate(timestamp, usegmt=True)


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
    broken.headers["Date"] = _http_date(_emulator(request).gateway_time())
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
    if _is_admin(request):
        return await handler(request)
    faults = _emulator(request).faults
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


@web.middleware
async def gateway_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Route check, signature check, project check and error formatting of API requests."""
    if _is_admin(request):
        return await handler(request)
    emulator = _emulator(request)
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
    failure = auth.verify(
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


# --------------------------------------------------------------------------------------------
# API handlers (one per ``endpoints.Api`` member)
# --------------------------------------------------------------------------------------------


def _store(request: web.Request) -> TaskStore:
    return _emulator(request).store


async def create_backup_import_task(request: web.Request) -> web.Response:
    """#1 POST /migration-task."""
    return _ok(_store(request).create_import_task(await _json_body(request)))


async def create_online_task(request: web.Request) -> web.Response:
    """#2 POST /migration/instance."""
    return _ok(_store(request).create_online_task(await _json_body(request)))


async def configure_online_task(request: web.Request) -> web.Response:
    """#3 POST /migration/{task_id}/task."""
    return _ok(_store(request).configure(request.match_info["task_id"], await _json_body(request)))


async def show_task(request: web.Request) -> web.Response:
    """#4 GET /migration-task/{task_id} (a forced status shows as ``status_override`` in the log)."""
    detail, forced = _store(request).detail_with_override(request.match_info["task_id"])
    if forced:
        request["faults"].append("status_override")
    return _ok(detail)


async def show_task_stats(request: web.Request) -> web.Response:
    """#5 GET /migration-task/{task_id}/stats (a real migration's figures are refreshed first)."""
    engine = _emulator(request).engine
    if isinstance(engine, LiveEngine):
        await engine.refresh(request.match_info["task_id"].lower())
    return _ok(_store(request).stats(request.match_info["task_id"]))


async def list_tasks(request: web.Request) -> web.Response:
    """#6 GET /migration-tasks?offset=&limit=&name=."""
    query = request.query
    return _ok(_store(request).list_tasks(query.get("offset"), query.get("limit"), query.get("name")))


async def list_task_logs(request: web.Request) -> web.Response:
    """#7 GET /migration-task/{task_id}/logs?offset=&limit=&log_level=."""
    query = request.query
    return _ok(
        _store(request).logs(
            request.match_info["task_id"], query.get("offset"), query.get("limit"), query.get("log_level")
        )
    )


async def stop_task(request: web.Request) -> web.Response:
    """#8 POST /migration-task/{task_id}/stop."""
    return _ok(_store(request).stop(request.match_info["task_id"]))


async def stop_task_sync(request: web.Request) -> web.Response:
    """#9 POST /migration-task/{task_id}/sync-stop (204)."""
    _store(request).stop(request.match_info["task_id"])
    return _no_content()


async def batch_stop_tasks(request: web.Request) -> web.Response:
    """#10 POST /migration-task/batch-stop."""
    return _ok(_store(request).batch_stop(await _json_body(request)))


async def batch_restart_tasks(request: web.Request) -> web.Response:
    """#11 POST /migration-tasks/batch-restart."""
    return _ok(_store(request).batch_restart(await _json_body(request)))


async def delete_tasks(request: web.Request) -> web.Response:
    """#12 DELETE /migration-tasks/delete (JSON body)."""
    return _ok(_store(request).delete(await _json_body(request)))


async def update_resume_mode(request: web.Request) -> web.Response:
    """#13 PUT /migration-task/{task_id}."""
    return _ok(_store(request).set_resume_mode(request.match_info["task_id"], await _json_body(request)))


async def exchange_ip(request: web.Request) -> web.Response:
    """#14 POST /migration-task/{task_id}/exchange-ip (204)."""
    _store(request).exchange_ip(request.match_info["task_id"], await _json_body(request))
    return _no_content()


async def rollback_ip(request: web.Request) -> web.Response:
    """#15 POST /migration-task/{task_id}/rollback-ip (204)."""
    _store(request).rollback_ip(request.match_info["task_id"])
    return _no_content()


async def show_job(request: web.Request) -> web.Response:
    """#16 GET /jobs/{job_id}."""
    return _ok(_store(request).job(request.match_info["job_id"]))


async def show_whitelist(request: web.Request) -> web.Response:
    """#17 GET /instance/{instance_id}/whitelist."""
    return _ok(_store(request).show_whitelist(request.match_info["instance_id"]))


async def update_whitelist(request: web.Request) -> web.Response:
    """#18 PUT /instance/{instance_id}/whitelist (204)."""
    _store(request).update_whitelist(request.match_info["instance_id"], await _json_body(request))
    return _no_content()


async def update_whitelist_async(request: web.Request) -> web.Response:
    """#19 PUT /instance/{instance_id}/whitelist-async (job id)."""
    return _ok(
        _store(request).update_whitelist_async(request.match_info["instance_id"], await _json_body(request))
    )


API_HANDLERS: dict[Api, Handler] = {
    Api.CREATE_BACKUP_IMPORT_TASK: create_backup_import_task,
    Api.CREATE_ONLINE_TASK: create_online_task,
    Api.CONFIGURE_ONLINE_TASK: configure_online_task,
    Api.SHOW_TASK: show_task,
    Api.SHOW_TASK_STATS: show_task_stats,
    Api.LIST_TASKS: list_tasks,
    Api.LIST_TASK_LOGS: list_task_logs,
    Api.STOP_TASK: stop_task,
    Api.STOP_TASK_SYNC: stop_task_sync,
    Api.BATCH_STOP_TASKS: batch_stop_tasks,
    Api.BATCH_RESTART_TASKS: batch_restart_tasks,
    Api.DELETE_TASKS: delete_tasks,
    Api.UPDATE_RESUME_MODE: update_resume_mode,
    Api.EXCHANGE_IP: exchange_ip,
    Api.ROLLBACK_IP: rollback_ip,
    Api.SHOW_JOB: show_job,
    Api.SHOW_WHITELIST: show_whitelist,
    Api.UPDATE_WHITELIST: update_whitelist,
    Api.UPDATE_WHITELIST_ASYNC: update_whitelist_async,
}


# --------------------------------------------------------------------------------------------
# Admin API
# --------------------------------------------------------------------------------------------


def _admin_error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _admin_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body is not JSON"}), content_type="application/json"
        ) from None


async def admin_health(request: web.Request) -> web.Response:
    """``GET /_emulator/health``."""
    emulator = _emulator(request)
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "project_id": emulator.auth.project_id,
            "access_key": emulator.auth.access_key,
            "temporary_credentials": emulator.auth.security_token is not None,
            "uptime": round(time.time() - emulator.started, 3),
        }
    )


async def admin_requests(request: web.Request) -> web.Response:
    """``GET /_emulator/requests?method=&path=`` (path: regex searched in the path)."""
    emulator = _emulator(request)
    try:
        entries = [
            e.to_json()
            for e in emulator.requests.entries(request.query.get("method"), request.query.get("path"))
        ]
    except Exception as err:  # invalid regex
        return _admin_error(f"invalid filter: {err}")
    return web.json_response({"requests": entries, "count": len(entries)})


async def admin_clear_requests(request: web.Request) -> web.Response:
    """``DELETE /_emulator/requests``."""
    return web.json_response({"cleared": _emulator(request).requests.clear()})


async def admin_list_faults(request: web.Request) -> web.Response:
    """``GET /_emulator/faults``."""
    return web.json_response({"faults": [r.to_json() for r in _emulator(request).faults.rules()]})


async def admin_add_fault(request: web.Request) -> web.Response:
    """``POST /_emulator/faults`` with one rule (or ``{"faults": [rules]}``)."""
    data = await _admin_json(request)
    items = data["faults"] if isinstance(data, dict) and isinstance(data.get("faults"), list) else [data]
    try:
        rules = [FaultRule.from_json(item) for item in items]
    except ValueError as err:
        return _admin_error(str(err))
    store = _emulator(request).faults
    added = [store.add(rule).to_json() for rule in rules]
    log.info("fault rule(s) added: %s", added)
    return web.json_response(
        added[0] if len(added) == 1 and "faults" not in data else {"faults": added}, status=201
    )


async def admin_clear_faults(request: web.Request) -> web.Response:
    """``DELETE /_emulator/faults``."""
    _emulator(request).faults.clear()
    return web.json_response({"faults": []})


async def admin_delete_fault(request: web.Request) -> web.Response:
    """``DELETE /_emulator/faults/{fault_id}``."""
    try:
        fault_id = int(request.match_info["fault_id"])
    except ValueError:
        return _admin_error("fault id must be an integer")
    if not _emulator(request).faults.remove(fault_id):
        return _admin_error(f"no fault rule {fault_id}", 404)
    return web.json_response({"deleted": fault_id})


async def admin_reset(request: web.Request) -> web.Response:
    """``POST /_emulator/reset``."""
    emulator = _emulator(request)
    emulator.reset()
    return web.json_response({"status": "reset", "config": emulator.store.config.to_dict()})


async def admin_get_config(request: web.Request) -> web.Response:
    """``GET /_emulator/config``."""
    return web.json_response(_emulator(request).store.config.to_dict())


async def admin_set_config(request: web.Request) -> web.Response:
    """``POST /_emulator/config`` with the keys to change."""
    data = await _admin_json(request)
    if not isinstance(data, dict):
        return _admin_error("config must be a JSON object")
    try:
        config = _emulator(request).store.set_config(data)
    except ValueError as err:
        return _admin_error(str(err))
    return web.json_response(config.to_dict())


async def admin_fail_task(request: web.Request) -> web.Response:
    """``POST /_emulator/tasks/{task_id}/fail`` ``{"error": "..."}``."""
    data = await _admin_json(request)
    error = data.get("error") if isinstance(data, dict) else None
    if error is not None and not isinstance(error, str):
        return _admin_error("error must be a string")
    try:
        detail = _emulator(request).store.fail_task(
            request.match_info["task_id"], error or "Injected failure"
        )
    except EmulatorError as err:
        return web.json_response({"error": err.error_msg, "error_code": err.error_code}, status=404)
    return web.json_response(detail)


async def admin_force_status(request: web.Request) -> web.Response:
    """``POST /_emulator/tasks/{task_id}/status`` ``{"status", "seconds", "reads", "skip_reads"}``."""
    data = await _admin_json(request)
    if not isinstance(data, dict):
        return _admin_error("body must be a JSON object")
    unknown = sorted(set(data) - {"status", "seconds", "reads", "skip_reads"})
    if unknown:
        return _admin_error(f"unknown field(s) {unknown}; known: reads, seconds, skip_reads, status")
    try:
        result = _emulator(request).store.force_status(
            request.match_info["task_id"],
            data.get("status"),  # type: ignore[arg-type]  # checked by force_status
            seconds=data.get("seconds"),
            reads=data.get("reads"),
            skip_reads=data.get("skip_reads") or 0,
        )
    except EmulatorError as err:
        return web.json_response({"error": err.error_msg, "error_code": err.error_code}, status=404)
    except ValueError as err:
        return _admin_error(str(err))
    log.info("forced status: %s", result)
    return web.json_response(result)


# --------------------------------------------------------------------------------------------
# Factory
# --------------------------------------------------------------------------------------------


def create_app(
    settings: EmulatorSettings,
    *,
    engine: MigrationEngine | None = None,
    clock: Callable[[], float] | None = None,
) -> web.Application:
    """Build the emulator application (routes for every ``endpoints.Api`` member + admin API)."""
    app = web.Application(middlewares=[request_log_middleware, fault_middleware, gateway_middleware])
    emulator = Emulator(settings, engine=engine, clock=clock or time.time)
    app[EMULATOR] = emulator
    live = emulator.engine
    if isinstance(live, LiveEngine):

        async def close_engine(_app: web.Application) -> None:
            await live.aclose()

        app.on_cleanup.append(close_engine)
    missing = set(Api) - set(API_HANDLERS)
    if missing:  # pragma: no cover - guarded by tests
        raise RuntimeError(f"endpoints without a handler: {sorted(a.name for a in missing)}")
    for api, handler in API_HANDLERS.items():
        app.router.add_route(api.method, api.aiohttp_route, handler, name=api.name)
    admin = ADMIN_PREFIX.rstrip("/")
    app.router.add_get(f"{admin}/health", admin_health)
    app.router.add_get(f"{admin}/requests", admin_requests)
    app.router.add_delete(f"{admin}/requests", admin_clear_requests)
    app.router.add_get(f"{admin}/faults", admin_list_faults)
    app.router.add_post(f"{admin}/faults", admin_add_fault)
    app.router.add_delete(f"{admin}/faults", admin_clear_faults)
    app.router.add_delete(f"{admin}/faults/{{fault_id}}", admin_delete_fault)
    app.router.add_post(f"{admin}/reset", admin_reset)
    app.router.add_get(f"{admin}/config", admin_get_config)
    app.router.add_post(f"{admin}/config", admin_set_config)
    app.router.add_post(f"{admin}/tasks/{{task_id}}/fail", admin_fail_task)
    app.router.add_post(f"{admin}/tasks/{{task_id}}/status", admin_force_status)
    return app
