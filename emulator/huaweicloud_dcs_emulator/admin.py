"""The admin API under ``/_emulator/``: health, request log, fault rules, timings, task overrides.

Unsigned, never faulted and never logged; for tests and demos only.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from aiohttp import web

from huaweicloud_dcs_emulator import __version__
from huaweicloud_dcs_emulator.faults import FaultRule
from huaweicloud_dcs_emulator.routes import ADMIN_PREFIX
from huaweicloud_dcs_emulator.service import emulator_of
from huaweicloud_dcs_emulator.store.errors import EmulatorError

log = logging.getLogger("huaweicloud_dcs_emulator")


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
    """``GET /_emulator/requests?method=&path=`` (path: regex searched in the path)."""
    emulator = emulator_of(request)
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
    """Register the admin API on ``router``."""
    admin = ADMIN_PREFIX.rstrip("/")
    router.add_get(f"{admin}/health", admin_health)
    router.add_get(f"{admin}/requests", admin_requests)
    router.add_delete(f"{admin}/requests", admin_clear_requests)
    router.add_get(f"{admin}/faults", admin_list_faults)
    router.add_post(f"{admin}/faults", admin_add_fault)
    router.add_delete(f"{admin}/faults", admin_clear_faults)
    router.add_delete(f"{admin}/faults/{{fault_id}}", admin_delete_fault)
    router.add_post(f"{admin}/reset", admin_reset)
    router.add_get(f"{admin}/config", admin_get_config)
    router.add_post(f"{admin}/config", admin_set_config)
    router.add_post(f"{admin}/tasks/{{task_id}}/fail", admin_fail_task)
    router.add_post(f"{admin}/tasks/{{task_id}}/status", admin_force_status)
