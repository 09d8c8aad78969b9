"""The emulator's task store: every migration task, its logs, jobs and whitelists, and the API operations.

Nothing here knows about HTTP. Durations come from :class:`~.config.EmulatorConfig` (changeable at
run time through the admin API, scaled by its ``time_scale``); data movement from an engine
(:class:`huaweicloud_dcs_emulator.engines.protocol.MigrationEngine`); the known DCS instances and
their whitelists from :class:`~.instances.InstanceRegistry`; the IP switch from :mod:`.ip_switch`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from huaweicloud_dcs_emulator import statuses
from huaweicloud_dcs_emulator.engines.protocol import Method, MigrationEngine, RedisEndpoint
from huaweicloud_dcs_emulator.engines.simulated import WRONG_PASSWORD, SimulatedEngine
from huaweicloud_dcs_emulator.store import ip_switch, views
from huaweicloud_dcs_emulator.store.config import EmulatorConfig
from huaweicloud_dcs_emulator.store.errors import (
    INVALID_SECURITY_GROUP,
    INVALID_SUBNET,
    INVALID_VPC,
    JOB_NOT_FOUND,
    EmulatorError,
    invalid,
    task_not_found,
    wrong_state,
)
from huaweicloud_dcs_emulator.store.instances import Instance, InstanceRegistry
from huaweicloud_dcs_emulator.store.lifecycle import advance, advance_jobs, begin_stop, start_engine
from huaweicloud_dcs_emulator.store.overrides import force_status, forced_status
from huaweicloud_dcs_emulator.store.records import (
    IMPORT,
    ONLINE,
    RESTARTABLE,
    UNDELETABLE,
    Job,
    Task,
    seed,
)
from huaweicloud_dcs_emulator.store.validation import (
    check_task_id,
    optional_str,
    parse_backup_files,
    parse_bandwidth,
    parse_endpoint,
    parse_int_param,
    require_choice,
    require_object,
    require_str,
    validate_whitelist,
)


class TaskStore:
    """All emulator state. Not thread-safe: used from the server's event loop only.

    Each public method is one API operation: it takes the decoded JSON body (or query values) and
    returns the JSON document to answer, or raises :class:`~.errors.EmulatorError` with the HTTP
    status and ``DCS.xxxx`` code the real service would use. Every call first brings the tasks it
    touches up to ``now`` (:mod:`.lifecycle`).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        engine: MigrationEngine | None = None,
        clock: Callable[[], float] = time.time,
        instances: Iterable[Instance] = (),
    ) -> None:
        self.startup_config = config or EmulatorConfig()
        #: The known DCS instances (the startup ones survive a reset) and their whitelists.
        self.instances = InstanceRegistry(instances)
        self.config = self.startup_config
        self.engine: MigrationEngine = engine or SimulatedEngine()
        self._clock = clock
        self._tasks: dict[str, Task] = {}
        self._deleted: dict[str, Task] = {}
        self._jobs: dict[str, Job] = {}

    # ---------------------------------------------------------------- admin

    def reset(self) -> None:
        """Forget every task, job, whitelist and added instance; restore the startup configuration."""
        for task_id in list(self._tasks) + list(self._deleted):
            self.engine.forget(task_id)
        self._tasks.clear()
        self._deleted.clear()
        self._jobs.clear()
        self.instances.reset()
        self.config = self.startup_config

    def set_config(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """Apply configuration changes (affect what starts afterwards)."""
        self.config = self.config.updated(changes)
        return self.config

    def fail_task(self, task_id: str, error: str) -> dict[str, Any]:
        """Make a task fail now with ``error`` (CREATING/RUNNING -> FAILED, else MIGRATION_FAILED)."""
        now = self._clock()
        task = self._get(task_id, now)
        if task.status in (statuses.CREATING, statuses.RUNNING):
            status = statuses.FAILED
            job = self._jobs.get(task.job_id or "")
            if job is not None and job.status(now) != statuses.JOB_SUCCESS:
                job.fail_reason = error
                job.failed_at = now
        else:
            status = statuses.MIGRATION_FAILED
        if task.engine_running:
            task.last = self.engine.stop(task.task_id, now)
            task.engine_running = False
        task.until = None
        task.error = error
        task.set_status(status, now)
        task.log(now, "ERROR", "migration.failed", error, ("failed",))
        return self._detail_view(task)

    def force_status(
        self,
        task_id: str,
        status: str,
        *,
        seconds: float | None = None,
        reads: int | None = None,
        skip_reads: int = 0,
    ) -> dict[str, Any]:
        """Report ``status`` instead of the real one for a while (see :func:`.overrides.force_status`)."""
        now = self._clock()
        task = self._get(task_id, now)
        return force_status(task, now, status, seconds=seconds, reads=reads, skip_reads=skip_reads)

    # ---------------------------------------------------------------- internals

    def _detail_view(self, task: Task, status: str | None = None) -> dict[str, Any]:
        return views.detail(task, status=status, address=self.instances.address)

    def _new_id(self) -> str:
        return str(uuid.uuid4())

    def _advance_jobs(self, now: float) -> None:
        advance_jobs(self._jobs.values(), now)

    def _advance_all(self, now: float) -> None:
        self._advance_jobs(now)
        for task in self._tasks.values():
            advance(task, now, self.engine)

    def _get(self, task_id: str, now: float) -> Task:
        check_task_id(task_id)
        task = self._tasks.get(task_id.lower())
        if task is None:
            raise task_not_found(task_id)
        self._advance_jobs(now)
        advance(task, now, self.engine)
        return task

    # ---------------------------------------------------------------- API: create

    def create_online_task(self, body: Any) -> dict[str, Any]:
        """#2: create the task (CREATING) and its job; answer ``instance_id`` (= task id) and ``job_id``."""
        data = require_object(body)
        name = require_str(data, "name", max_len=64)
        description = optional_str(data, "description") or ""
        vpc_id = require_str(data, "vpc_id", code=INVALID_VPC)
        subnet_id = require_str(data, "subnet_id", code=INVALID_SUBNET)
        sg_id = require_str(data, "security_group_id", code=INVALID_SECURITY_GROUP)
        now = self._clock()
        task_id = self._new_id()
        ip_seed = seed(task_id)
        job = Job(
            job_id=self._new_id(),
            job_type="createMigrationTaskJob",
            begin=now,
            end=now + self.config.seconds("create_seconds"),
        )
        self._jobs[job.job_id] = job
        task = Task(
            task_id=task_id,
            task_name=name,
            description=description,
            migration_type=ONLINE,
            status=statuses.CREATING,
            created_at=now,
            updated_at=now,
            vpc_id=vpc_id,
            subnet_id=subnet_id,
            security_group_id=sg_id,
            ecs_ip=f"192.168.{ip_seed % 250}.{(ip_seed >> 8) % 250 + 2}",
            until=now + self.config.seconds("create_seconds"),
            job_id=job.job_id,
        )
        self._tasks[task_id] = task
        task.log(
            now,
            "INFO",
            "migration.created",
            f"Migration task {name} created; creating the migration ECS",
        )
        advance(task, now, self.engine)
        return {"instance_id": task_id, "job_id": job.job_id}

    def create_import_task(self, body: Any) -> dict[str, Any]:
        """#1: backup-file import task: MIGRATING for ``full_seconds``, then SUCCESS."""
        data = require_object(body)
        name = require_str(data, "task_name", max_len=64)
        description = optional_str(data, "description") or ""
        migration_type = data.get("migration_type")
        if migration_type == ONLINE:
            raise invalid(
                "migration_type online_migration is not supported by this API any more: "
                "create the task with POST /migration/instance and configure it."
            )
        if migration_type != IMPORT:
            raise invalid(f"Invalid migration_type in the request: {migration_type!r} (allowed: {IMPORT}).")
        method = require_choice(data, "migration_method", tuple(m.value for m in Method))
        backup_view = parse_backup_files(data)
        target = data.get("target_instance")
        if not isinstance(target, dict):
            raise invalid("Invalid target_instance in the request: an object with id is required.")
        target_id = require_str(target, "id", where="target_instance.")
        self.instances.require(target_id, "target_instance.id")
        password = optional_str(target, "password", where="target_instance.")
        endpoint = RedisEndpoint(role="target", instance_id=target_id, password=password)
        now = self._clock()
        task_id = self._new_id()
        failure = None
        duration = self.config.seconds("full_seconds")
        if password == WRONG_PASSWORD:
            failure = (
                f"Failed to authenticate to target redis instance {target_id}: "
                "WRONGPASS invalid username-password pair or user is disabled"
            )
            duration = self.config.seconds("fail_seconds")
        task = Task(
            task_id=task_id,
            task_name=name,
            description=description,
            migration_type=IMPORT,
            migration_method=method,
            status=statuses.MIGRATING,
            created_at=now,
            updated_at=now,
            target=endpoint,
            backup_files=backup_view,
            until=now + duration,
            import_started=now,
            import_failure=failure,
        )
        self._tasks[task_id] = task
        task.log(
            now,
            "INFO",
            "migration.import",
            f"Backup import task {name} created; importing",
            ("import",),
        )
        return {"id": task_id, "name": name, "status": task.status, "error": ""}

    # ---------------------------------------------------------------- API: configure

    def configure(self, task_id: str, body: Any) -> dict[str, Any]:
        """#3: start the migration of a RUNNING task (HTTP 400 DCS.4957 in any other status).

        A task is configured once: the call moves it out of RUNNING at once, so of two configure
        calls that arrive together exactly one takes effect and the other is refused. Instances
        given by ``id`` must be known DCS instances (HTTP 404 DCS.3022).
        """
        now = self._clock()
        task = self._get(task_id, now)
        data = require_object(body)
        method = require_choice(data, "migration_method", tuple(m.value for m in Method))
        resume_mode = require_choice(data, "resume_mode", ("auto", "manual"))
        bandwidth = parse_bandwidth(data.get("bandwidth_limit_mb"))
        source = parse_endpoint(data, "source_instance")
        target = parse_endpoint(data, "target_instance")
        if source.instance_id == target.instance_id and source.addrs == target.addrs:
            raise invalid("The source and target of a migration must be different Redis instances.")
        if task.migration_type != ONLINE:
            raise wrong_state(task, "configure", "online migration tasks in RUNNING")
        if task.status != statuses.RUNNING:
            raise wrong_state(task, "configure", f"{statuses.RUNNING}: a task is configured once")
        for side in (source, target):
            if side.instance_id is not None:
                self.instances.require(side.instance_id, f"{side.role}_instance.id")
        task.error = ""
        task.migration_method = method
        task.resume_mode = resume_mode
        task.bandwidth_limit_mb = bandwidth
        task.source = source
        task.target = target
        limit = f"{bandwidth} MB/s" if bandwidth else "unlimited"
        task.log(
            now,
            "INFO",
            "migration.configured",
            f"Migration configured: {method} from {source.label} to {target.label}, bandwidth {limit}, "
            f"resume mode {resume_mode}",
            ("config",),
        )
        start_engine(task, now, self.engine, self.config, "Full migration started")
        advance(task, now, self.engine)
        # ``error`` is in the reference's answer (OTC), empty on success; a failure comes later.
        return {"id": task.task_id, "name": task.task_name, "status": task.status, "error": ""}

    # ---------------------------------------------------------------- API: read

    def detail(self, task_id: str) -> dict[str, Any]:
        """#4: the full task object (passwords included, as the real API does; no ``error``)."""
        return self.detail_with_override(task_id)[0]

    def detail_with_override(self, task_id: str) -> tuple[dict[str, Any], bool]:
        """:meth:`detail`, and whether it reported a forced status (see :meth:`force_status`)."""
        now = self._clock()
        check_task_id(task_id)
        tomb = self._deleted.get(task_id.lower())
        if tomb is not None and task_id.lower() not in self._tasks:
            mode = self.config.deleted_detail
            if mode == "not_found":
                raise task_not_found(task_id)
            return self._detail_view(tomb, status=mode), False
        task = self._get(task_id, now)
        forced = forced_status(task, now, consume=True)
        return self._detail_view(task, status=forced), forced is not None

    def stats(self, task_id: str) -> dict[str, Any]:
        """#5: progress and statistics, as a mix of JSON numbers and numeric strings.

        A deleted task's stats are HTTP 400 DCS.4133; a RELEASED task's are its final figures, or
        DCS.4133 with ``released_stats: gone``.
        """
        now = self._clock()
        task = self._get(task_id, now)
        if task.status == statuses.RELEASED and self.config.released_stats == "gone":
            raise task_not_found(task_id)
        return views.stats(task, now, self.config.seconds("full_seconds"))

    def list_tasks(self, offset: str | None, limit: str | None, name: str | None) -> dict[str, Any]:
        """#6: newest first; ``name`` is a substring filter; ``count`` is the filtered total."""
        start = parse_int_param(offset, "offset", 0, 0, None)
        size = parse_int_param(limit, "limit", 10, 1, 1000)
        now = self._clock()
        self._advance_all(now)
        tasks = [t for t in reversed(self._tasks.values()) if not name or name in t.task_name]
        items = []
        for task in tasks[start : start + size]:
            item = views.list_item(task)
            item["status"] = forced_status(task, now, consume=False) or item["status"]
            items.append(item)
        return {"count": len(tasks), "migration_tasks": items}

    def logs(self, task_id: str, offset: str | None, limit: str | None, level: str | None) -> dict[str, Any]:
        """#7: chronological log entries, filtered by ``log_level``."""
        start = parse_int_param(offset, "offset", 0, 0, None)
        size = parse_int_param(limit, "limit", 10, 1, 1000)
        wanted = (level or "").strip().upper() or None
        if wanted not in (None, "INFO", "ERROR"):
            raise invalid(f"Invalid log_level: {level!r} (allowed: INFO, ERROR).")
        task = self._get(task_id, self._clock())
        entries = [e for e in task.logs if wanted is None or e.level == wanted]
        return views.logs(entries[start : start + size], len(entries))

    def job(self, job_id: str) -> dict[str, Any]:
        """#16: job status with ms-epoch string times."""
        now = self._clock()
        self._advance_all(now)
        job = self._jobs.get(job_id)
        if job is None:
            raise EmulatorError(404, JOB_NOT_FOUND, f"The job does not exist: {job_id}")
        return views.job(job, now)

    # ---------------------------------------------------------------- API: stop / restart / delete

    def stop(self, task_id: str) -> dict[str, Any]:
        """#8: start stopping; answers the task detail (TERMINATING)."""
        now = self._clock()
        task = self._get(task_id, now)
        begin_stop(task, now, self.engine, self.config)
        advance(task, now, self.engine)
        return self._detail_view(task)

    def batch_stop(self, body: Any) -> dict[str, Any]:
        """#10: per-task result/error_code/error_msg."""

        def stop(task: Task, now: float) -> None:
            begin_stop(task, now, self.engine, self.config)

        return self._batch(self._id_list(body, "migration_tasks"), stop)

    def batch_restart(self, body: Any) -> dict[str, Any]:
        """#11: TERMINATED/FAILED/MIGRATION_FAILED online tasks start again with their configuration."""

        def restart(task: Task, now: float) -> None:
            if task.status not in RESTARTABLE:
                raise wrong_state(task, "restart", "TERMINATED, FAILED, MIGRATION_FAILED")
            if task.migration_type != ONLINE or task.source is None:
                raise wrong_state(task, "restart", "configured online migration tasks")
            start_engine(task, now, self.engine, self.config, "Migration restarted; full migration started")

        return self._batch(self._id_list(body, "migration_tasks"), restart)

    def _batch(self, ids: list[str], action: Callable[[Task, float], None]) -> dict[str, Any]:
        """Apply ``action`` to each task; a result per task (``failed`` with the error's code)."""
        now = self._clock()
        results: list[dict[str, Any]] = []
        for task_id in ids:
            try:
                task = self._get(task_id, now)
                action(task, now)
                advance(task, now, self.engine)
            except EmulatorError as err:
                results.append(
                    {
                        "task_id": task_id,
                        "result": "failed",
                        "error_code": err.error_code,
                        "error_msg": err.error_msg,
                    }
                )
            else:
                results.append(
                    {"task_id": task_id, "result": "success", "error_code": None, "error_msg": None}
                )
        return {"migration_tasks": results}

    def delete(self, body: Any) -> dict[str, Any]:
        """#12: all-or-nothing; refused while a task is migrating or stopping."""
        ids = self._id_list(body, "task_id_list")
        now = self._clock()
        tasks = [self._get(task_id, now) for task_id in ids]
        for task in tasks:
            if task.status in UNDELETABLE:
                raise wrong_state(
                    task, "delete", "any status except FULLMIGRATING, INCRMIGEATING, MIGRATING, TERMINATING"
                )
        for task in tasks:
            task.deleted_at = now
            task.log(now, "INFO", "migration.deleted", "Migration task deleted", ("delete",))
            self.engine.forget(task.task_id)
            self._deleted[task.task_id] = self._tasks.pop(task.task_id)
        return {"task_id_list": ids}

    def _id_list(self, body: Any, key: str) -> list[str]:
        data = require_object(body)
        ids = data.get(key)
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise invalid(f"Invalid {key} in the request: a non-empty list of task IDs is required.")
        for task_id in ids:
            check_task_id(task_id)
        return ids

    # ---------------------------------------------------------------- API: update / IP switch

    def set_resume_mode(self, task_id: str, body: Any) -> dict[str, Any]:
        """#13: change ``resume_mode``; answers an empty object."""
        now = self._clock()
        task = self._get(task_id, now)
        data = require_object(body)
        mode = require_choice(data, "resume_mode", ("auto", "manual"))
        if task.migration_type != ONLINE:
            raise wrong_state(task, "change the resume mode of", "online migration tasks")
        if mode != task.resume_mode:
            task.resume_mode = mode
            task.updated_at = now
            task.log(now, "INFO", "migration.updated", f"Resume mode set to {mode}")
        return {}

    def exchange_ip(self, task_id: str, body: Any) -> None:
        """#14: INCRMIGEATING between two known DCS instances; ``task_status`` -> EXCHANGE_SUCCESS."""
        now = self._clock()
        task = self._get(task_id, now)
        ip_switch.exchange(task, now, body, self.config, self.instances)
        advance(task, now, self.engine)

    def rollback_ip(self, task_id: str) -> None:
        """#15: after a successful exchange; ``task_status`` EXCHANGING -> ROLLBACK_SUCCESS."""
        now = self._clock()
        task = self._get(task_id, now)
        ip_switch.rollback(task, now, self.config, self.instances)
        advance(task, now, self.engine)

    # ---------------------------------------------------------------- API: instances, whitelists

    def show_instance(self, instance_id: str, used_memory_mb: int | None = None) -> dict[str, Any]:
        """ShowInstance: a known instance's details (``used_memory_mb``: its Redis's figure, if
        read); else HTTP 404 DCS.3022."""
        return views.dcs_instance(self.instances.require(instance_id, "instance_id"), used_memory_mb)

    def show_whitelist(self, instance_id: str) -> dict[str, Any]:
        """#17: a known instance's whitelist (default: disabled, empty); else HTTP 404 DCS.3022."""
        self._advance_jobs(self._clock())
        return views.whitelist(instance_id, self.instances.whitelist(instance_id))

    def update_whitelist(self, instance_id: str, body: Any) -> None:
        """#18: replace all groups now."""
        self.instances.require(instance_id, "instance_id")
        self.instances.set_whitelist(instance_id, validate_whitelist(body))

    def update_whitelist_async(self, instance_id: str, body: Any) -> dict[str, Any]:
        """#19: replace all groups when the returned job succeeds (after ``job_seconds``)."""
        self.instances.require(instance_id, "instance_id")
        new = validate_whitelist(body)
        now = self._clock()

        def apply() -> None:
            if self.instances.known(instance_id):  # not removed meanwhile
                self.instances.set_whitelist(instance_id, new)

        job = Job(
            job_id=self._new_id(),
            job_type="modifyClientIpTransJob",
            begin=now,
            end=now + self.config.seconds("job_seconds"),
            effect=apply,
        )
        self._jobs[job.job_id] = job
        self._advance_jobs(now)
        return {"job_id": job.job_id}
