"""The JSON documents the API answers, built from the emulator's records.

Pure functions: they read a task, a job or a whitelist and never change it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from huaweicloud_dcs_emulator import statuses
from huaweicloud_dcs_emulator.engines.protocol import Phase, RedisEndpoint, Snapshot
from huaweicloud_dcs_emulator.store.instances import DEFAULT_REDIS_PORT, Instance, made_up_host
from huaweicloud_dcs_emulator.store.records import ACTIVE, IMPORT, Job, LogEntry, Task, Whitelist, seed
from huaweicloud_dcs_emulator.store.times import iso_time, ms_time, slash_time

#: Where a DCS instance is: ``(ip, port)`` of an instance id.
AddressOf = Callable[[str], tuple[str, int]]


def _made_up_address(instance_id: str) -> tuple[str, int]:
    return made_up_host(instance_id), DEFAULT_REDIS_PORT


def instance_view(task: Task, side: RedisEndpoint | None, address: AddressOf | None = None) -> dict[str, Any]:
    """``source_instance``/``target_instance`` of the detail (``address``: of a DCS instance)."""
    view: dict[str, Any] = {
        "id": None,
        "addrs": None,
        "password": None,
        "name": None,
        "ip": None,
        "port": None,
        "task_status": task.task_status,
        "proxy_multi_db": False,
        "db": "0",
    }
    if side is None:
        return view
    view.update(id=side.instance_id, addrs=side.addrs, password=side.password)
    pairs = side.host_ports()
    if pairs:
        view.update(ip=pairs[0][0], port=str(pairs[0][1]), name="")
    else:
        ip, port = (address or _made_up_address)(side.instance_id or "")
        view.update(ip=ip, port=str(port), name=f"dcs-{(side.instance_id or '')[:8]}")
    return view


def detail(task: Task, status: str | None = None, address: AddressOf | None = None) -> dict[str, Any]:
    """#4: the full task object (passwords included, as the real API does); ``status`` overrides.

    Exactly the fields of the official SDK's ``ShowMigrationTaskResponse``: no ``error`` text. A
    failed task's reason is in its ERROR log entries (#7) and the list's ``error_message`` (#6).
    """
    return {
        "task_id": task.task_id,
        "task_name": task.task_name,
        "description": task.description,
        "status": status or task.status,
        "migration_type": task.migration_type,
        "migration_method": task.migration_method,
        "ecs_tenant_private_ip": task.ecs_ip,
        "backup_files": task.backup_files,
        "network_type": "vpc",
        "source_instance": instance_view(task, task.source, address),
        "target_instance": instance_view(task, task.target, address),
        "created_at": iso_time(task.created_at),
        "updated_at": iso_time(task.updated_at),
        "released_at": iso_time(task.released_at) if task.released_at else "",
        "version": "6.0.21",
        "resume_mode": task.resume_mode,
        "supported_features": [],
        "tenant_vpc_id": task.vpc_id,
        "tenant_subnet_id": task.subnet_id,
        "tenant_security_group_id": task.security_group_id,
        "bandwidth_limit_mb": str(task.bandwidth_limit_mb) if task.bandwidth_limit_mb else None,
        "task_status": task.task_status,
    }


def list_item(task: Task) -> dict[str, Any]:
    """One ``migration_tasks[]`` item of the list (#6)."""
    source = task.source
    target = task.target
    bucket = (task.backup_files or {}).get("bucket_name") or ""
    return {
        "task_id": task.task_id,
        "task_name": task.task_name,
        "status": task.status,
        "migration_type": task.migration_type,
        "migration_method": task.migration_method,
        "ecs_tenant_private_ip": task.ecs_ip,
        "data_source": (source.addrs or source.instance_id or "") if source else bucket,
        "source_instance_name": f"dcs-{source.instance_id[:8]}" if source and source.instance_id else "",
        "source_instance_id": source.instance_id or "" if source else "",
        "source_instance_status": "RUNNING" if source and source.instance_id else "",
        "source_instance_subnet_id": task.subnet_id if source and source.instance_id else "",
        "source_instance_spec_code": "redis.ha.xu1.large.r2.2" if source and source.instance_id else "",
        "target_instance_addrs": target.addrs or "" if target else "",
        "target_instance_name": f"dcs-{target.instance_id[:8]}" if target and target.instance_id else "",
        "target_instance_id": target.instance_id or "" if target else "",
        "target_instance_status": "RUNNING" if target and target.instance_id else "",
        "target_instance_subnet_id": task.subnet_id if target and target.instance_id else "",
        "target_instance_spec_code": "redis.ha.xu1.large.r2.2" if target and target.instance_id else "",
        "created_at": slash_time(task.created_at),
        "description": task.description,
        "error_message": task.error,
        "released_at": slash_time(task.released_at) if task.released_at else "",
        "version": "6.0.21",
        "resume_mode": task.resume_mode,
        "supported_features": [],
    }


def stats(task: Task, now: float, full_seconds: float) -> dict[str, Any]:
    """#5: progress and statistics, as a mix of JSON numbers and numeric strings.

    A backup import's figures follow the clock over ``full_seconds``; an online task's are the
    engine's last snapshot.
    """
    migrating = task.status in ACTIVE
    snap: Snapshot | None = task.last
    if task.migration_type == IMPORT and task.import_started is not None:
        full = max(full_seconds, 0.001)
        end = task.until if task.until is not None else task.updated_at
        fraction = min(1.0, max(0.0, (min(now, end) - task.import_started) / full))
        if task.status == statuses.SUCCESS:
            fraction = 1.0
        keys = 10_000 + seed(task.task_id) % 90_000
        snap = Snapshot(
            phase=Phase.FULL if migrating else Phase.STOPPED,
            phase_since=task.import_started,
            progress=int(100 * fraction),
            source_dbsize=keys,
            target_dbsize=int(keys * fraction),
            input_kbps=8_192.0 if migrating else 0.0,
            ops=2_500 if migrating else 0,
        )
    if snap is None:
        snap = Snapshot(phase=Phase.STOPPED, phase_since=task.created_at)
    return {
        "full_migration_progress": snap.progress,
        "offset": str(snap.offset),
        "source_dbsize": snap.source_dbsize,
        "target_dbsize": str(snap.target_dbsize),
        "target_input_kbps": f"{snap.input_kbps:.2f}",
        "target_ops": snap.ops,
        "is_migrating": migrating and (snap.is_migrating or task.migration_type == IMPORT),
    }


def logs(entries: list[LogEntry], total: int) -> dict[str, Any]:
    """#7: one page of log lines (``total``: how many match the filter)."""
    return {"log_num": total, "migration_logs": [entry.to_json() for entry in entries]}


def job(job: Job, now: float) -> dict[str, Any]:
    """#16: job status with ms-epoch string times."""
    status = job.status(now)
    end = ""
    if status == statuses.JOB_SUCCESS:
        end = ms_time(job.end)
    elif status == statuses.JOB_FAIL and job.failed_at is not None:
        end = ms_time(job.failed_at)
    return {
        "job_id": job.job_id,
        "job_type": job.job_type,
        "status": status,
        "begin_time": ms_time(job.begin),
        "end_time": end,
        "fail_reason": job.fail_reason or "",
    }


def whitelist(instance_id: str, current: Whitelist) -> dict[str, Any]:
    """#17: an instance's whitelist."""
    return {
        "instance_id": instance_id,
        "enable_whitelist": current.enable_whitelist,
        "whitelist": [dict(group, ip_list=list(group["ip_list"])) for group in current.groups],
    }


#: ``used_memory`` of an instance whose Redis the emulator does not read (MB; an empty Redis
#: uses one or two).
MADE_UP_USED_MEMORY_MB = 2
_SPEC_SUFFIX = {"ha": ".r2", "cluster": ".shard", "ha_rw_split": ".p2"}


def _made_up_uuid(kind: str, instance_id: str) -> str:
    return str(uuid.UUID(int=seed(f"{kind}:{instance_id}")))


def _domain_name(instance_id: str) -> str:
    """A name that never resolves (``.invalid``): a client must connect to ``ip``/``port``."""
    label = re.sub(r"[^a-z0-9-]+", "-", instance_id.lower()).strip("-")[:50] or "instance"
    return f"redis-{label}.dcs.emulator.invalid"


def dcs_instance(instance: Instance, used_memory_mb: int | None = None) -> dict[str, Any]:
    """ "Query a DCS instance" (``GET /instances/{instance_id}``): a subset of the reference's fields.

    ``ip`` is the host, or a cluster's hosts joined by commas, ``port`` the (first) port;
    ``used_memory_mb``: what the instance's Redis reports (else :data:`MADE_UP_USED_MEMORY_MB`).
    The ids of its VPC, subnet and security group, its domain name and spec code are made up
    (stable per id). There is no password in it.
    """
    memory = instance.max_memory_mb
    capacity = memory // 1024
    minor = f"{memory / 1024:g}" if memory < 1024 else ""
    used = min(MADE_UP_USED_MEMORY_MB, memory) if used_memory_mb is None else used_memory_mb
    mode = instance.cache_mode
    return {
        "instance_id": instance.instance_id,
        "name": f"dcs-{instance.instance_id[:8]}",
        "description": "",
        "engine": "Redis",
        "engine_version": instance.engine_version,
        "status": instance.status,
        "ip": instance.ip,
        "port": instance.port,
        "domain_name": _domain_name(instance.instance_id),
        "cache_mode": mode,
        "max_memory": memory,
        "used_memory": used,
        "capacity": capacity,
        "capacity_minor": minor,
        "spec_code": f"redis.{mode}.xu1.large{_SPEC_SUFFIX.get(mode, '')}.{capacity or minor}",
        "no_password_access": "true" if instance.no_password_access else "false",
        "access_user": "",
        "product_type": "generic",
        "charging_mode": 0,
        "vpc_id": _made_up_uuid("vpc", instance.instance_id),
        "subnet_id": _made_up_uuid("subnet", instance.instance_id),
        "security_group_id": _made_up_uuid("security-group", instance.instance_id),
        "enterprise_project_id": "0",
        "enable_ssl": False,
        "enable_publicip": False,
        "created_at": iso_time(instance.registered_at),
    }
