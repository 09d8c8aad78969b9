"""The route table: every endpoint the emulator serves, spelled from ``dcs-api.md`` section 2
(the 19 data-migration endpoints) and from the reference's instance management API ("Query a DCS
instance", which a client reads a DCS instance's Redis address from).

Paths are relative to ``/v2/{project_id}`` and keep the API's own inconsistencies as they are on
the wire: ``migration-task`` vs ``migration-tasks`` vs ``migration``, ``instance`` (singular) for
whitelists, and a ``DELETE`` that carries a JSON body. The admin API lives under
:data:`ADMIN_PREFIX`, outside the gateway, behind the admin token (:data:`ADMIN_TOKEN_HEADER`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

#: Every API path starts with this.
API_PREFIX = "/v2/"
#: The admin API (not signed: it needs the per-run admin token instead; never faulted, never logged).
ADMIN_PREFIX = "/_emulator/"
#: The header every admin request sends the admin token in.
ADMIN_TOKEN_HEADER = "X-Emulator-Token"  # noqa: S105 - a header name
#: The environment variable the command line and :class:`~.clients.EmulatorAdmin` read it from.
ADMIN_TOKEN_ENV = "DCS_EMULATOR_ADMIN_TOKEN"  # noqa: S105 - a variable name


@dataclass(frozen=True)
class Route:
    """One endpoint: its name, HTTP method and path template (after ``/v2/{project_id}``)."""

    name: str
    method: str
    path: str

    @property
    def pattern(self) -> str:
        """The aiohttp route pattern (with the ``{project_id}`` placeholder)."""
        return "/v2/{project_id}" + self.path


class RouteLike(Protocol):
    """Anything naming an endpoint by method and path (a :class:`Route`, or a client's own table)."""

    @property
    def method(self) -> str:
        """HTTP method."""

    @property
    def path(self) -> str:
        """Path template after ``/v2/{project_id}``."""


def render(route: RouteLike, project_id: str, params: Mapping[str, str] | None = None) -> str:
    """The full path of ``route``: ``/v2/{project_id}`` and the URL-quoted path parameters."""
    values = {key: quote(str(value), safe="") for key, value in (params or {}).items()}
    return f"/v2/{quote(project_id, safe='')}" + route.path.format(**values)


def is_admin_path(path: str) -> bool:
    """True for the admin API's paths."""
    return path.startswith(ADMIN_PREFIX)


# The numbers are those of the reference's endpoint list.
CREATE_BACKUP_IMPORT_TASK = Route("CREATE_BACKUP_IMPORT_TASK", "POST", "/migration-task")  # 1
CREATE_ONLINE_TASK = Route("CREATE_ONLINE_TASK", "POST", "/migration/instance")  # 2
CONFIGURE_ONLINE_TASK = Route("CONFIGURE_ONLINE_TASK", "POST", "/migration/{task_id}/task")  # 3
SHOW_TASK = Route("SHOW_TASK", "GET", "/migration-task/{task_id}")  # 4
SHOW_TASK_STATS = Route("SHOW_TASK_STATS", "GET", "/migration-task/{task_id}/stats")  # 5
LIST_TASKS = Route("LIST_TASKS", "GET", "/migration-tasks")  # 6
LIST_TASK_LOGS = Route("LIST_TASK_LOGS", "GET", "/migration-task/{task_id}/logs")  # 7
STOP_TASK = Route("STOP_TASK", "POST", "/migration-task/{task_id}/stop")  # 8
STOP_TASK_SYNC = Route("STOP_TASK_SYNC", "POST", "/migration-task/{task_id}/sync-stop")  # 9
BATCH_STOP_TASKS = Route("BATCH_STOP_TASKS", "POST", "/migration-task/batch-stop")  # 10
BATCH_RESTART_TASKS = Route("BATCH_RESTART_TASKS", "POST", "/migration-tasks/batch-restart")  # 11
DELETE_TASKS = Route("DELETE_TASKS", "DELETE", "/migration-tasks/delete")  # 12
UPDATE_RESUME_MODE = Route("UPDATE_RESUME_MODE", "PUT", "/migration-task/{task_id}")  # 13
EXCHANGE_IP = Route("EXCHANGE_IP", "POST", "/migration-task/{task_id}/exchange-ip")  # 14
ROLLBACK_IP = Route("ROLLBACK_IP", "POST", "/migration-task/{task_id}/rollback-ip")  # 15
SHOW_JOB = Route("SHOW_JOB", "GET", "/jobs/{job_id}")  # 16
SHOW_WHITELIST = Route("SHOW_WHITELIST", "GET", "/instance/{instance_id}/whitelist")  # 17
UPDATE_WHITELIST = Route("UPDATE_WHITELIST", "PUT", "/instance/{instance_id}/whitelist")  # 18
UPDATE_WHITELIST_ASYNC = Route(
    "UPDATE_WHITELIST_ASYNC", "PUT", "/instance/{instance_id}/whitelist-async"
)  # 19
# Instance management ("Query a DCS instance", ShowInstance): ``instances``, plural, unlike the
# whitelists' ``instance``.
SHOW_INSTANCE = Route("SHOW_INSTANCE", "GET", "/instances/{instance_id}")

#: The data-migration endpoints, in the reference's order.
MIGRATION_ROUTES: tuple[Route, ...] = (
    CREATE_BACKUP_IMPORT_TASK,
    CREATE_ONLINE_TASK,
    CONFIGURE_ONLINE_TASK,
    SHOW_TASK,
    SHOW_TASK_STATS,
    LIST_TASKS,
    LIST_TASK_LOGS,
    STOP_TASK,
    STOP_TASK_SYNC,
    BATCH_STOP_TASKS,
    BATCH_RESTART_TASKS,
    DELETE_TASKS,
    UPDATE_RESUME_MODE,
    EXCHANGE_IP,
    ROLLBACK_IP,
    SHOW_JOB,
    SHOW_WHITELIST,
    UPDATE_WHITELIST,
    UPDATE_WHITELIST_ASYNC,
)
#: The instance management endpoints the emulator serves.
INSTANCE_ROUTES: tuple[Route, ...] = (SHOW_INSTANCE,)
#: Every endpoint.
ROUTES: tuple[Route, ...] = MIGRATION_ROUTES + INSTANCE_ROUTES
