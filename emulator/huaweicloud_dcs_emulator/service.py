"""What every handler shares: the task store, the fault rules, the request log, the credentials
(of the API, and the admin API's token)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from huaweicloud_dcs_emulator.auth import AuthConfig
from huaweicloud_dcs_emulator.engines.factory import build_engine
from huaweicloud_dcs_emulator.engines.protocol import MigrationEngine
from huaweicloud_dcs_emulator.faults import FaultStore
from huaweicloud_dcs_emulator.request_log import RequestLog
from huaweicloud_dcs_emulator.store.config import EmulatorConfig
from huaweicloud_dcs_emulator.store.instances import Instance
from huaweicloud_dcs_emulator.store.task_store import TaskStore


def new_admin_token() -> str:
    """A random admin token (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


#: An aiohttp request handler (an endpoint, or the next step of a middleware).
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class EmulatorSettings:
    """Credentials and startup configuration of one emulator.

    ``admin_token``: the secret of the admin API (``X-Emulator-Token``); ``repr`` hides it.
    ``real_migration``: really copy keys when a task's source and target are both a loopback
    ``addrs`` (needs the ``redis`` package; see :mod:`.engines.redis_engine`); otherwise every migration
    is simulated.
    """

    auth: AuthConfig
    config: EmulatorConfig = field(default_factory=EmulatorConfig)
    real_migration: bool = False
    #: The DCS instances known from the start (kept across a reset).
    instances: tuple[Instance, ...] = ()
    #: What every admin request must send in ``X-Emulator-Token`` (random unless given).
    admin_token: str = field(default_factory=new_admin_token, repr=False)


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
        self.store = TaskStore(settings.config, engine=self.engine, clock=clock, instances=settings.instances)
        self.faults = FaultStore()
        self.requests = RequestLog()
        self.started = time.time()

    def gateway_time(self) -> float:
        """The gateway's clock: this machine's, shifted by ``clock_skew_seconds``."""
        return time.time() + self.store.config.clock_skew_seconds

    def reset(self) -> None:
        """Clear tasks, jobs, whitelists, added instances, faults and the request log; restore the
        startup configuration."""
        self.store.reset()
        self.faults.clear()
        self.requests.clear()


EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)


def emulator_of(request: web.Request) -> Emulator:
    """The emulator serving ``request``."""
    return request.app[EMULATOR]
