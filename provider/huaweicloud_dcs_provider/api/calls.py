"""Builders for every API call: input validation, request body and response parsing.

Each function validates its arguments (raising
:class:`~huaweicloud_dcs_provider.exceptions.DcsValidationError` before anything is sent) and
returns a :class:`~huaweicloud_dcs_provider.api.transport.Call`. The sync and the async hook execute the
same builders, so both validate and parse identically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.api.endpoints import Api
from huaweicloud_dcs_provider.api.models import (
    BatchResult,
    DcsInstance,
    Job,
    MigrationLog,
    MigrationStats,
    MigrationTask,
    Whitelist,
    to_int,
)
from huaweicloud_dcs_provider.api.transport import Call
from huaweicloud_dcs_provider.exceptions import DcsValidationError

DEFAULT_PAGE_SIZE = 100

#: An entry of a list page (a task, a log line).
E = TypeVar("E")


def _obj(data: Any) -> dict[str, Any]:
    """The response as a JSON object; ``{}`` for anything else (a list, a string, ``null``)."""
    return data if isinstance(data, dict) else {}


def _total(value: Any, *, offset: int, limit: int, received: int) -> int:
    """The total a list page announces, kept consistent with what the page holds.

    A page that is not full (or longer than asked for: the limit was ignored) is the last one,
    whatever the announced total says; so is a page whose total is unreadable. A paging loop over
    these pages ends even when the answer lies about its total.
    """
    total = to_int(value)
    if received != limit or total is None or total < 0:
        return offset + received
    return total


def _page_query(offset: int, limit: int) -> list[tuple[str, str]]:
    """The ``offset``/``limit`` query of a list page (checked: ``limit`` within the API's maximum)."""
    return [
        ("offset", str(v.non_negative_int("offset", offset))),
        ("limit", str(v.non_negative_int("limit", limit, minimum=1, maximum=v.LIST_LIMIT_MAX))),
    ]


def _page(
    data: Any, items_key: str, total_key: str, read: Callable[[Any], E], *, offset: int, limit: int
) -> tuple[int, list[E]]:
    """A list page: ``(total, entries)``, the objects under ``items_key`` read with ``read``
    (anything else skipped), the total under ``total_key`` kept consistent by :func:`_total`."""
    data = _obj(data)
    items = data.get(items_key)
    entries = [read(item) for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    return _total(data.get(total_key), offset=offset, limit=limit, received=len(entries)), entries


def _task_params(task_id: str) -> dict[str, str]:
    return {"task_id": v.safe_id("migration_task_id", task_id)}


def create_online_task(
    *, name: str, vpc_id: str, subnet_id: str, security_group_id: str, description: str | None = None
) -> Call[dict[str, Any]]:
    """#2: create an online migration task (returns ``instance_id`` = task id and ``job_id``)."""
    body: dict[str, Any] = {
        "name": v.text("name", name, max_length=64),
        "vpc_id": v.safe_id("vpc_id", vpc_id),
        "subnet_id": v.safe_id("subnet_id", subnet_id),
        "security_group_id": v.safe_id("security_group_id", security_group_id),
    }
    if description is not None:
        body["description"] = v.text("description", description, max_length=1024, required=False)

    def parse(data: Any) -> dict[str, Any]:
        data = _obj(data)
        task_id = data.get("instance_id") or data.get("id")
        job_id = data.get("job_id")
        return {
            "task_id": str(task_id)
            if isinstance(task_id, str | int) and not isinstance(task_id, bool)
            else "",
            "job_id": str(job_id) if isinstance(job_id, str | int) and not isinstance(job_id, bool) else None,
        }

    return Call(Api.CREATE_ONLINE_TASK, body=body, parse=parse)


def create_backup_import_task(
    *,
    task_name: str,
    target_instance: Mapping[str, Any],
    backup_files: Mapping[str, Any],
    migration_method: str = v.MigrationMethod.FULL.value,
    description: str | None = None,
) -> Call[MigrationTask]:
    """#1: import a backup file (OBS bucket or DCS backup record) into a DCS instance."""
    target = v.instance("target_instance", target_instance)
    if "id" not in target:
        raise DcsValidationError("target_instance", "a backup import needs the target DCS instance 'id'")
    if not isinstance(backup_files, Mapping):
        raise DcsValidationError(
            "backup_files",
            f"must be a mapping, got {type(backup_files).__name__}",
            "{'file_source': 'self_build_obs' | 'backup_record', ...}",
        )
    if backup_files.get("file_source") not in ("self_build_obs", "backup_record"):
        raise DcsValidationError(
            "backup_files.file_source",
            f"{v.shown(backup_files.get('file_source'))} is not a valid value",
            "'self_build_obs', 'backup_record'",
        )
    body: dict[str, Any] = {
        "task_name": v.text("task_name", task_name, max_length=64),
        "migration_type": "backupfile_import",
        "migration_method": v.enum_value("migration_method", migration_method, v.MigrationMethod),
        "backup_files": dict(backup_files),
        "target_instance": target,
    }
    if description is not None:
        body["description"] = v.text("description", description, max_length=1024, required=False)
    return Call(
        Api.CREATE_BACKUP_IMPORT_TASK, body=body, parse=lambda data: MigrationTask.from_api(_obj(data))
    )


def configure_online_task(
    task_id: str,
    *,
    migration_method: str,
    resume_mode: str,
    source_instance: Mapping[str, Any],
    target_instance: Mapping[str, Any],
    bandwidth_limit_mb: int | str | None = None,
) -> Call[MigrationTask]:
    """#3: configure the task and start the migration."""
    params = _task_params(task_id)
    body: dict[str, Any] = {
        "migration_method": v.enum_value("migration_method", migration_method, v.MigrationMethod),
        "resume_mode": v.enum_value("resume_mode", resume_mode, v.ResumeMode),
        "source_instance": v.instance("source_instance", source_instance),
        "target_instance": v.instance("target_instance", target_instance),
    }
    bandwidth = v.bandwidth(bandwidth_limit_mb)
    if bandwidth is not None:
        body["bandwidth_limit_mb"] = bandwidth
    return Call(
        Api.CONFIGURE_ONLINE_TASK,
        params,
        body=body,
        parse=lambda data: MigrationTask.from_api(_obj(data), task_id=task_id),
    )


def show_task(task_id: str) -> Call[MigrationTask]:
    """#4: task detail."""
    return Call(
        Api.SHOW_TASK, _task_params(task_id), parse=lambda d: MigrationTask.from_api(_obj(d), task_id=task_id)
    )


def show_task_stats(task_id: str) -> Call[MigrationStats]:
    """#5: migration progress."""
    return Call(Api.SHOW_TASK_STATS, _task_params(task_id), parse=lambda d: MigrationStats.from_api(_obj(d)))


def list_tasks_page(
    *, offset: int, limit: int, name: str | None = None
) -> Call[tuple[int, list[MigrationTask]]]:
    """#6: one page of the task list: ``(count, tasks)``."""
    query = _page_query(offset, limit)
    if name is not None:
        query.append(("name", str(v.text("name", name, max_length=64))))

    def parse(data: Any) -> tuple[int, list[MigrationTask]]:
        return _page(data, "migration_tasks", "count", MigrationTask.from_api, offset=offset, limit=limit)

    return Call(Api.LIST_TASKS, query=query, parse=parse)


def list_logs_page(
    task_id: str, *, offset: int, limit: int, log_level: str | None = None
) -> Call[tuple[int, list[MigrationLog]]]:
    """#7: one page of a task's logs: ``(log_num, entries)``."""
    query = _page_query(offset, limit)
    if log_level is not None:
        query.append(("log_level", v.enum_value("log_level", log_level, v.LogLevel)))

    def parse(data: Any) -> tuple[int, list[MigrationLog]]:
        return _page(data, "migration_logs", "log_num", MigrationLog.from_api, offset=offset, limit=limit)

    return Call(Api.LIST_TASK_LOGS, _task_params(task_id), query=query, parse=parse)


def stop_task(task_id: str) -> Call[MigrationTask]:
    """#8: ask a task to stop (it goes TERMINATING, then TERMINATED)."""
    return Call(
        Api.STOP_TASK, _task_params(task_id), parse=lambda d: MigrationTask.from_api(_obj(d), task_id=task_id)
    )


def stop_task_sync(task_id: str) -> Call[None]:
    """#9: "stop synchronization" (204, no body)."""
    return Call(Api.STOP_TASK_SYNC, _task_params(task_id), parse=lambda _: None)


def _batch(api: Api, task_ids: Iterable[str]) -> Call[list[BatchResult]]:
    ids = v.id_list("migration_task_ids", task_ids)

    def parse(data: Any) -> list[BatchResult]:
        items = _obj(data).get("migration_tasks")
        return (
            [BatchResult.from_api(i) for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        )

    return Call(api, body={"migration_tasks": ids}, parse=parse)


def batch_stop_tasks(task_ids: Iterable[str]) -> Call[list[BatchResult]]:
    """#10: stop several tasks (acceptance only)."""
    return _batch(Api.BATCH_STOP_TASKS, task_ids)


def batch_restart_tasks(task_ids: Iterable[str]) -> Call[list[BatchResult]]:
    """#11: restart several online tasks (acceptance only)."""
    return _batch(Api.BATCH_RESTART_TASKS, task_ids)


def delete_tasks(task_ids: Iterable[str]) -> Call[list[str]]:
    """#12: delete tasks (``DELETE`` with a JSON body)."""
    ids = v.id_list("migration_task_ids", task_ids)
    return Call(
        Api.DELETE_TASKS,
        body={"task_id_list": ids},
        parse=lambda data: _deleted_ids(data, ids),
    )


def _deleted_ids(data: Any, sent: list[str]) -> list[str]:
    """The IDs the API says it deleted (what was sent when it does not say)."""
    listed = _obj(data).get("task_id_list")
    if not isinstance(listed, list) or not listed:
        return sent
    return [str(i) for i in listed if isinstance(i, str | int) and not isinstance(i, bool)]


def update_resume_mode(task_id: str, resume_mode: str) -> Call[None]:
    """#13: switch auto-reconnect on or off."""
    body = {"resume_mode": v.enum_value("resume_mode", resume_mode, v.ResumeMode)}
    return Call(Api.UPDATE_RESUME_MODE, _task_params(task_id), body=body, parse=lambda _: None)


def exchange_ip(task_id: str, *, exchanged_ip: Iterable[str], is_exchange_domain: bool) -> Call[None]:
    """#14: switch the IPs (and optionally domain names) of source and target."""
    body = {
        "exchanged_ip": v.ip_list("exchanged_ip", exchanged_ip, allow_networks=False),
        "is_exchange_domain": v.boolean("is_exchange_domain", is_exchange_domain),
    }
    return Call(Api.EXCHANGE_IP, _task_params(task_id), body=body, parse=lambda _: None)


def rollback_ip(task_id: str) -> Call[None]:
    """#15: roll back an IP switch."""
    return Call(Api.ROLLBACK_IP, _task_params(task_id), parse=lambda _: None)


def show_job(job_id: str) -> Call[Job]:
    """#16: an asynchronous job."""
    params = {"job_id": v.safe_id("job_id", job_id)}
    return Call(Api.SHOW_JOB, params, parse=lambda data: Job.from_api(_obj(data), job_id=job_id))


def show_whitelist(instance_id: str) -> Call[Whitelist]:
    """#17: an instance's IP whitelist."""
    params = {"instance_id": v.safe_id("instance_id", instance_id)}
    return Call(
        Api.SHOW_WHITELIST, params, parse=lambda d: Whitelist.from_api(_obj(d), instance_id=instance_id)
    )


def show_instance(instance_id: str) -> Call[DcsInstance]:
    """#20: a DCS instance (its address, engine version, mode and memory)."""
    params = {"instance_id": v.safe_id("instance_id", instance_id)}
    return Call(
        Api.SHOW_INSTANCE, params, parse=lambda d: DcsInstance.from_api(_obj(d), instance_id=instance_id)
    )


def update_whitelist(
    instance_id: str, *, enable_whitelist: bool, whitelist: Any, asynchronous: bool = False
) -> Call[str | None]:
    """#18/#19: replace all whitelist groups (the async variant returns a job id)."""
    params = {"instance_id": v.safe_id("instance_id", instance_id)}
    body = {
        "enable_whitelist": v.boolean("enable_whitelist", enable_whitelist),
        "whitelist": v.whitelist_groups(whitelist),
    }
    api = Api.UPDATE_WHITELIST_ASYNC if asynchronous else Api.UPDATE_WHITELIST
    return Call(api, params, body=body, parse=lambda data: _str_or_none(_obj(data).get("job_id")))


def _str_or_none(value: Any) -> str | None:
    return (
        str(value) if isinstance(value, str | int) and not isinstance(value, bool) and value != "" else None
    )
