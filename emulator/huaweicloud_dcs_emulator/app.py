"""The emulator's ``aiohttp.web`` application: the 19 DCS v2 migration endpoints, "Query a DCS
instance", and the admin API.

Request pipeline (outermost first):

1. :mod:`.request_tracing`: request id and request log;
2. :mod:`.fault_injection`: the ``/_emulator/faults`` rules, ``before`` and ``after`` the API;
3. :mod:`.gateway`: route, signature and project checks;
4. the endpoint handler (:mod:`.handlers`; :class:`~.store.task_store.TaskStore` does the work).

The admin API under ``/_emulator/`` (:mod:`.admin`) is unsigned and never faulted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from huaweicloud_dcs_emulator.admin import add_admin_routes
from huaweicloud_dcs_emulator.engines.protocol import LiveEngine, MigrationEngine
from huaweicloud_dcs_emulator.fault_injection import fault_middleware
from huaweicloud_dcs_emulator.gateway import gateway_middleware
from huaweicloud_dcs_emulator.handlers import API_HANDLERS
from huaweicloud_dcs_emulator.request_tracing import request_log_middleware
from huaweicloud_dcs_emulator.routes import ROUTES
from huaweicloud_dcs_emulator.service import EMULATOR, Emulator, EmulatorSettings

__all__ = ["EmulatorSettings", "create_app"]


def create_app(
    settings: EmulatorSettings,
    *,
    engine: MigrationEngine | None = None,
    clock: Callable[[], float] | None = None,
) -> web.Application:
    """Build the emulator application (a route for every endpoint of :data:`.routes.ROUTES` + admin API)."""
    app = web.Application(middlewares=[request_log_middleware, fault_middleware, gateway_middleware])
    emulator = Emulator(settings, engine=engine, clock=clock or time.time)
    app[EMULATOR] = emulator
    live = emulator.engine
    if isinstance(live, LiveEngine):

        async def close_engine(_app: web.Application) -> None:
            await live.aclose()

        app.on_cleanup.append(close_engine)
    missing = set(ROUTES) - set(API_HANDLERS)
    if missing:  # pragma: no cover - guarded by tests
        raise RuntimeError(f"endpoints without a handler: {sorted(route.name for route in missing)}")
    for route in ROUTES:
        app.router.add_route(route.method, route.pattern, API_HANDLERS[route], name=route.name)
    add_admin_routes(app.router)
    return app
