"""The admin API under ``/_emulator/``: health, request log, fault rules, timings, instances,
task overrides.

Not signed like the DCS API: every admin request must send the emulator's per-run admin token in
``X-Emulator-Token`` (compared in constant time; HTTP 401 otherwise). Never faulted, never logged;
for tests and demos only. No admin answer holds a Redis password (task records are redacted), and
client-supplied path patterns are bounded (:mod:`.path_patterns`).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any

from aiohttp import web

from huaweicloud_dcs_emulator import __version__
from huaweicloud_dcs_emulator.faults import FaultRule
from huaweicloud_dcs_emulator.request_log import FilterTooSlow
from huaweicloud_dcs_emulator.routes import ADMIN_PREFIX, ADMIN_TOKEN_HEADER
from huaweicloud_dcs_emulator.service import Handler, emulator_of
from huaweicloud_dcs_emulator.store.errors import EmulatorError
from huaweicloud_dcs_emulator.store.instances import Instance

#: What replaces a Redis password in an admin answer.
REDACTED = "***"

log = logging.getLogger("huaweicloud_dcs_emulator")


def _admin_error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def redacted(value: Any) -> Any:
    """``value`` with every non-empty ``password`` replaced by ``***`` (any depth)."""
    if isinstance(value, dict):
        return {
            key: REDACTED if key == "password" and item not in (None, "") else redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def _guarded(handler: Handler) -> Handler:
    """``handler``, answered only for requests that send the admin token (HTTP 401 otherwise)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        expected = emulator_of(request).settings.admin_token.encode("utf-8")
        sent = request.headers.get(ADMIN_TOKEN_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(sent, expected):
            log.info(
                "admin request %s %s refused: missing or wrong admin token", request.method, request.path
            )
            return web.json_response(
                {
                    "error": f"missing or wrong admin token: send the emulator's admin token in the "
                    f"{ADMIN_TOKEN_HEADER} header (printed at startup, in the ready file)"
                },
                status=401,
            )
        return await handler(request)

    guarded.__doc__ = handler.__doc__
    return guarded


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
    emulator = emulator_of(request)
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
    """``GET /_emulator/requests?method=&path=`` (path: a bounded regex searched in the path)."""
    emulator = emulator_of(request)
    try:
        found = await emulator.requests.filtered(request.query.get("method"), request.query.get("path"))
    except FilterTooSlow as err:
        return _admin_error(str(err))
    except ValueError as err:  # a refused pattern
        return _admin_error(f"invalid filter: {err}")
    entries = [entry.to_json() for entry in found]
    return web.json_response({"requests": entries, "count": len(entries)})


async def admin_clear_requests(request: web.Request) -> web.Response:
    """``DELETE /_emulator/requests``."""
    return web.json_response({"cleared": emulator_of(request).requests.clear()})


async def admin_list_faults(request: web.Request) -> web.Response:
    """``GET /_emulator/faults``."""
    return web.json_response({"faults": [r.to_json() for r in emulator_of(request).faults.rules()]})


async def admin_add_fault(request: web.Request) -> web.Response:
    """``POST /_emulator/faults`` with one rule (or ``{"faults": [rules]}``)."""
    data = await _admin_json(request)
    items = data["faults"] if isinstance(data, dict) and isinstance(data.get("faults"), list) else [data]
    try:
        rules = [FaultRule.from_json(item) for item in items]
    except ValueError as err:
        return _admin_error(str(err))
    store = emulator_of(request).faults
    added = [store.add(rule).to_json() for rule in rules]
    log.info("fault rule(s) added: %s", added)
    return web.json_response(
        added[0] if len(added) == 1 and "faults" not in data else {"faults": added}, status=201
    )


async def admin_clear_faults(request: web.Request) -> web.Response:
    """``DELETE /_emulator/faults``."""
    emulator_of(request).faults.clear()
    return web.json_response({"faults": []})


async def admin_delete_fault(request: web.Request) -> web.Response:
    """``DELETE /_emulator/faults/{fault_id}``."""
    try:
        fault_id = int(request.match_info["fault_id"])
    except ValueError:
        return _admin_error("fault id must be an integer")
    if not emulator_of(request).faults.remove(fault_id):
        return _admin_error(f"no fault rule {fault_id}", 404)
    return web.json_response({"deleted": fault_id})


async def admin_reset(request: web.Request) -> web.Response:
    """``POST /_emulator/reset``."""
    emulator = emulator_of(request)
    emulator.reset()
    return web.json_response({"status": "reset", "config": emulator.store.config.to_dict()})


async def admin_get_config(request: web.Request) -> web.Response:
    """``GET /_emulator/config``."""
    return web.json_response(emulator_of(request).store.config.to_dict())


async def admin_set_config(request: web.Request) -> web.Response:
    """``POST /_emulator/config`` with the keys to change."""
    data = await _admin_json(request)
    if not isinstance(data, dict):
        return _admin_error("config must be a JSON object")
    try:
        config = emulator_of(request).store.set_config(data)
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
        detail = emulator_of(request).store.fail_task(
            request.match_info["task_id"], error or "Injected failure"
        )
    except EmulatorError as err:
        return web.json_response({"error": err.error_msg, "error_code": err.error_code}, status=404)
    return web.json_response(redacted(detail))


async def admin_list_instances(request: web.Request) -> web.Response:
    """``GET /_emulator/instances``."""
    instances = emulator_of(request).store.instances.all()
    return web.json_response({"instances": [instance.to_json() for instance in instances]})


async def admin_add_instance(request: web.Request) -> web.Response:
    """``POST /_emulator/instances`` ``{"id", "addrs", "engine_version", "cache_mode",
    "max_memory_mb", "status", "no_password_access"}`` (all but ``id`` optional; or
    ``{"instances": [...]}``); HTTP 400 with the reason for an unknown field or a malformed value."""
    data = await _admin_json(request)
    many = isinstance(data, dict) and isinstance(data.get("instances"), list)
    items = data["instances"] if many else [data]
    try:
        instances = [Instance.from_json(item) for item in items]
    except ValueError as err:
        return _admin_error(str(err))
    registry = emulator_of(request).store.instances
    added = [registry.add(instance).to_json() for instance in instances]
    log.info("DCS instance(s) registered: %s", [item["id"] for item in added])
    return web.json_response({"instances": added} if many else added[0], status=201)


async def admin_remove_instance(request: web.Request) -> web.Response:
    """``DELETE /_emulator/instances/{instance_id}``: as if the instance were deleted in the cloud."""
    instance_id = request.match_info["instance_id"]
    if not emulator_of(request).store.instances.remove(instance_id):
        return _admin_error(f"no DCS instance {instance_id}", 404)
    return web.json_response({"deleted": instance_id})


async def admin_force_status(request: web.Request) -> web.Response:
    """``POST /_emulator/tasks/{task_id}/status`` ``{"status", "seconds", "reads", "skip_reads"}``."""
    data = await _admin_json(request)
    if not isinstance(data, dict):
        return _admin_error("body must be a JSON object")
    unknown = sorted(set(data) - {"status", "seconds", "reads", "skip_reads"})
    if unknown:
        return _admin_error(f"unknown field(s) {unknown}; known: reads, seconds, skip_reads, status")
    try:
        result = emulator_of(request).store.force_status(
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


def add_admin_routes(router: web.UrlDispatcher) -> None:
    """Register the admin API on ``router`` (every route behind the admin token)."""
    admin = ADMIN_PREFIX.rstrip("/")
    for method, path, handler in (
        ("GET", "health", admin_health),
        ("GET", "requests", admin_requests),
        ("DELETE", "requests", admin_clear_requests),
        ("GET", "faults", admin_list_faults),
        ("POST", "faults", admin_add_fault),
        ("DELETE", "faults", admin_clear_faults),
        ("DELETE", "faults/{fault_id}", admin_delete_fault),
        ("POST", "reset", admin_reset),
        ("GET", "config", admin_get_config),
        ("POST", "config", admin_set_config),
        ("GET", "instances", admin_list_instances),
        ("POST", "instances", admin_add_instance),
        ("DELETE", "instances/{instance_id}", admin_remove_instance),
        ("POST", "tasks/{task_id}/fail", admin_fail_task),
        ("POST", "tasks/{task_id}/status", admin_force_status),
    ):
        router.add_route(method, f"{admin}/{path}", _guarded(handler))
