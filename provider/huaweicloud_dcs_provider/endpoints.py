"""Every DCS v2 data-migration endpoint, declared once.

The hook, the emulator and the tests all read this table; nothing else spells a path. Paths are
relative to ``/v2/{project_id}`` and use ``{task_id}``, ``{job_id}`` and ``{instance_id}``
placeholders. Note the API's own inconsistencies, kept as they are on the wire: ``migration-task``
vs ``migration-tasks`` vs ``migration``, ``instance`` (singular) for whitelists, and a ``DELETE``
that carries a JSON body.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote


@dataclass(frozen=True)
class Endpoint:
    """One API operation: HTTP method, path template and the success status codes."""

    operation: str
    method: str
    path: str
    success: tuple[int, ...] = (200,)
    #: True when a repeat of the call could create something twice (never blindly retried).
    creates: bool = False

    def render(self, project_id: str, **params: str) -> str:
        """Full path with ``/v2/{project_id}`` and URL-quoted path parameters."""
        values = {key: quote(str(value), safe="") for key, value in params.items()}
        return f"/v2/{quote(project_id, safe='')}" + self.path.format(**values)


class Api(Endpoint, Enum):
    """The endpoints of ``dcs-api.md`` section 2 (numbers in comments)."""

    CREATE_BACKUP_IMPORT_TASK = ("create_backup_import_task", "POST", "/migration-task", (200,), True)  # 1
    CREATE_ONLINE_TASK = ("create_online_task", "POST", "/migration/instance", (200,), True)  # 2
    CONFIGURE_ONLINE_TASK = ("configure_online_task", "POST", "/migration/{task_id}/task")  # 3
    SHOW_TASK = ("show_task", "GET", "/migration-task/{task_id}")  # 4
    SHOW_TASK_STATS = ("show_task_stats", "GET", "/migration-task/{task_id}/stats")  # 5
    LIST_TASKS = ("list_tasks", "GET", "/migration-tasks")  # 6
    LIST_TASK_LOGS = ("list_task_logs", "GET", "/migration-task/{task_id}/logs")  # 7
    STOP_TASK = ("stop_task", "POST", "/migration-task/{task_id}/stop")  # 8
    STOP_TASK_SYNC = ("stop_task_sync", "POST", "/migration-task/{task_id}/sync-stop", (204, 200))  # 9
    BATCH_STOP_TASKS = ("batch_stop_tasks", "POST", "/migration-task/batch-stop")  # 10
    BATCH_RESTART_TASKS = ("batch_restart_tasks", "POST", "/migration-tasks/batch-restart")  # 11
    DELETE_TASKS = ("delete_tasks", "DELETE", "/migration-tasks/delete")  # 12
    UPDATE_RESUME_MODE = ("update_resume_mode", "PUT", "/migration-task/{task_id}")  # 13
    EXCHANGE_IP = ("exchange_ip", "POST", "/migration-task/{task_id}/exchange-ip", (200, 204))  # 14
    ROLLBACK_IP = ("rollback_ip", "POST", "/migration-task/{task_id}/rollback-ip", (200, 204))  # 15
    SHOW_JOB = ("show_job", "GET", "/jobs/{job_id}")  # 16
    SHOW_WHITELIST = ("show_whitelist", "GET", "/instance/{instance_id}/whitelist")  # 17
    UPDATE_WHITELIST = ("update_whitelist", "PUT", "/instance/{instance_id}/whitelist", (204, 200))  # 18
    UPDATE_WHITELIST_ASYNC = (
        "update_whitelist_async",
        "PUT",
        "/instance/{instance_id}/whitelist-async",
    )  # 19

    @property
    def aiohttp_route(self) -> str:
        """The route pattern a server (the emulator) registers for this endpoint."""
        return "/v2/{project_id}" + self.path
