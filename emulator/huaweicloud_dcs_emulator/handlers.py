"""The endpoint handlers: one per route, each one :class:`~.store.task_store.TaskStore` operation."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from huaweicloud_dcs_emulator import routes
from huaweicloud_dcs_emulator.engines.info_memory import used_memory_mb
from huaweicloud_dcs_emulator.engines.protocol import LiveEngine
from huaweicloud_dcs_emulator.routes import Route
from huaweicloud_dcs_emulator.service import Handler, emulator_of
from huaweicloud_dcs_emulator.store.errors import INVALID_JSON, EmulatorError
from huaweicloud_dcs_emulator.store.task_store import TaskStore


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


def _store(request: web.Request) -> TaskStore:
    return emulator_of(request).store


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
    engine = emulator_of(request).engine
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


async def show_instance(request: web.Request) -> web.Response:
    """GET /instances/{instance_id} ("Query a DCS instance"; HTTP 404 DCS.3022 if not registered).

    In real-Redis mode, ``used_memory`` is what the instance's local Redis reports (``INFO
    memory``, at most half a second); otherwise, or when it does not tell, a made-up figure.
    """
    emulator = emulator_of(request)
    instance_id = request.match_info["instance_id"]
    used = None
    if emulator.settings.real_migration:
        used = await used_memory_mb(emulator.store.instances.require(instance_id, "instance_id").nodes)
    return _ok(emulator.store.show_instance(instance_id, used_memory_mb=used))


#: The handler of every route of :data:`.routes.ROUTES`.
API_HANDLERS: dict[Route, Handler] = {
    routes.CREATE_BACKUP_IMPORT_TASK: create_backup_import_task,
    routes.CREATE_ONLINE_TASK: create_online_task,
    routes.CONFIGURE_ONLINE_TASK: configure_online_task,
    routes.SHOW_TASK: show_task,
    routes.SHOW_TASK_STATS: show_task_stats,
    routes.LIST_TASKS: list_tasks,
    routes.LIST_TASK_LOGS: list_task_logs,
    routes.STOP_TASK: stop_task,
    routes.STOP_TASK_SYNC: stop_task_sync,
    routes.BATCH_STOP_TASKS: batch_stop_tasks,
    routes.BATCH_RESTART_TASKS: batch_restart_tasks,
    routes.DELETE_TASKS: delete_tasks,
    routes.UPDATE_RESUME_MODE: update_resume_mode,
    routes.EXCHANGE_IP: exchange_ip,
    routes.ROLLBACK_IP: rollback_ip,
    routes.SHOW_JOB: show_job,
    routes.SHOW_WHITELIST: show_whitelist,
    routes.UPDATE_WHITELIST: update_whitelist,
    routes.UPDATE_WHITELIST_ASYNC: update_whitelist_async,
    routes.SHOW_INSTANCE: show_instance,
}
