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
    #: False when the answer carries nothing the caller reads (204, an empty or a plain-text
    #: body): any body is accepted. True: a 2xx answer must hold a JSON document.
    returns_data: bool = True
    #: False when sending the call twice could do its work twice (start a second migration):
    #: after an *ambiguous* failure (the request may have been processed) the hooks look whether
    #: it took effect before sending it again, and never resend it blindly.
    repeat_safe: bool = True

    @property
    def look_before_retry(self) -> bool:
        """True when an ambiguous failure must be checked before the call is sent again."""
        return self.creates or not self.repeat_safe

    def render(self, project_id: str, **params: str) -> str:
        """Full path with ``/v2/{project_id}`` and URL-quoted path parameters."""
        values = {key: quote(str(value), safe="") for key, value in params.items()}
        return f"/v2/{quote(project_id, safe='')}" + self.path.format(**values)


def _spec(
    operation: str,
    method: str,
    path: str,
    success: tuple[int, ...] = (200,),
    *,
    creates: bool = False,
    returns_data: bool = True,
    repeat_safe: bool = True,
) -> tuple[str, str, str, tuple[int, ...], bool, bool, bool]:
    """An :class:`Api` member's value, with the flags named (the Enum takes it positionally)."""
    return (operation, method, path, success, creates, returns_data, repeat_safe)


class Api(Endpoint, Enum):
    """The endpoints of ``dcs-api.md`` section 2 (numbers in comments)."""

    CREATE_BACKUP_IMPORT_TASK = _spec(
        "create_backup_import_task", "POST", "/migration-task", creates=True
    )  # 1
    CREATE_ONLINE_TASK = _spec("create_online_task", "POST", "/migration/instance", creates=True)  # 2
    # A resend could start a second migration: after an ambiguous failure, look first.
    CONFIGURE_ONLINE_TASK = _spec(
        "configure_online_task", "POST", "/migration/{task_id}/task", repeat_safe=False
    )  # 3
    SHOW_TASK = _spec("show_task", "GET", "/migration-task/{task_id}")  # 4
    SHOW_TASK_STATS = _spec("show_task_stats", "GET", "/migration-task/{task_id}/stats")  # 5
    LIST_TASKS = _spec("list_tasks", "GET", "/migration-tasks")  # 6
    LIST_TASK_LOGS = _spec("list_task_logs", "GET", "/migration-task/{task_id}/logs")  # 7
    STOP_TASK = _spec("stop_task", "POST", "/migration-task/{task_id}/stop")  # 8
    STOP_TASK_SYNC = _spec(
        "stop_task_sync", "POST", "/migration-task/{task_id}/sync-stop", (204, 200), returns_data=False
    )  # 9
    BATCH_STOP_TASKS = _spec("batch_stop_tasks", "POST", "/migration-task/batch-stop")  # 10
    BATCH_RESTART_TASKS = _spec("batch_restart_tasks", "POST", "/migration-tasks/batch-restart")  # 11
    DELETE_TASKS = _spec("delete_tasks", "DELETE", "/migration-tasks/delete")  # 12
    UPDATE_RESUME_MODE = _spec(
        "update_resume_mode", "PUT", "/migration-task/{task_id}", returns_data=False
    )  # 13
    EXCHANGE_IP = _spec(
        "exchange_ip", "POST", "/migration-task/{task_id}/exchange-ip", (200, 204), returns_data=False
    )  # 14
    ROLLBACK_IP = _spec(
        "rollback_ip", "POST", "/migration-task/{task_id}/rollback-ip", (200, 204), returns_data=False
    )  # 15
    SHOW_JOB = _spec("show_job", "GET", "/jobs/{job_id}")  # 16
    SHOW_WHITELIST = _spec("show_whitelist", "GET", "/instance/{instance_id}/whitelist")  # 17
    UPDATE_WHITELIST = _spec(
        "update_whitelist", "PUT", "/instance/{instance_id}/whitelist", (204, 200), returns_data=False
    )  # 18
    UPDATE_WHITELIST_ASYNC = _spec(
        "update_whitelist_async", "PUT", "/instance/{instance_id}/whitelist-async"
    )  # 19
    SHOW_INSTANCE = _spec("show_instance", "GET", "/instances/{instance_id}")  # 20 (ShowInstance)

    @property
    def aiohttp_route(self) -> str:
        """The route pattern a server (the emulator) registers for this endpoint."""
        return "/v2/{project_id}" + self.path
