"""The time-driven part of a task's life: the transitions that happen by themselves.

A finished full migration is released later (SUCCESS -> RELEASED, ``released_at`` set), as the
real service releases the migration ECS.

Evaluated lazily: every API call first "advances" the tasks it touches to ``now``, and each
transition is dated when it was due (a task whose ``CREATING`` phase ended at ``t`` becomes
``RUNNING`` with a log entry dated ``t``, even if nobody asked at ``t``). Data movement
(progress, statistics, failures of the Redis side) comes from the engine.
"""

from __future__ import annotations

from collections.abc import Iterable

from huaweicloud_dcs_emulator import statuses
from huaweicloud_dcs_emulator.engines.protocol import (
    EngineError,
    Method,
    MigrationEngine,
    MigrationSpec,
    Phase,
)
from huaweicloud_dcs_emulator.store.config import EmulatorConfig
from huaweicloud_dcs_emulator.store.errors import wrong_state
from huaweicloud_dcs_emulator.store.records import ACTIVE, ONLINE, Job, Task


def advance_jobs(jobs: Iterable[Job], now: float) -> None:
    """Apply the effect of every job that has succeeded by ``now`` (once, in end order)."""
    for job in sorted(jobs, key=lambda j: j.end):
        if not job.applied and job.fail_reason is None and now >= job.end:
            job.applied = True
            if job.effect is not None:
                job.effect()


def advance(task: Task, now: float, engine: MigrationEngine) -> None:
    """Apply every transition due by ``now``, each dated when it was due."""
    for _ in range(16):
        if not _step(task, now, engine):
            break
    if task.task_status_until is not None and now >= task.task_status_until:
        task.task_status = task.task_status_final
        task.log(
            task.task_status_until,
            "INFO",
            "migration.ip_switch",
            f"IP switch finished: {task.task_status}",
            ("ip",),
        )
        task.task_status_until = None
        task.updated_at = max(task.updated_at, now)


def _step(task: Task, now: float, engine: MigrationEngine) -> bool:
    """Apply the next due transition; False when the task is up to date."""
    status = task.status
    until = task.until
    if status == statuses.CREATING and until is not None and now >= until:
        task.until = None
        task.set_status(statuses.RUNNING, until)
        task.log(
            until,
            "INFO",
            "migration.ecs_ready",
            f"Migration ECS created (private IP {task.ecs_ip}); waiting for the task to be configured",
            ("ecs",),
        )
        return True
    if status == statuses.TERMINATING and until is not None and now >= until:
        stopped_at = _engine_stopped_at(task, now, engine)
        if stopped_at is None:
            return False  # the engine's copy loop is still winding down
        at = max(until, stopped_at)
        task.until = None
        task.set_status(statuses.TERMINATED, at)
        task.log(at, "INFO", "migration.stopped", "Migration task stopped", ("stop",))
        return True
    if status == statuses.MIGRATING and until is not None and now >= until:
        task.until = None
        if task.import_failure:
            task.error = task.import_failure
            task.set_status(statuses.MIGRATION_FAILED, until)
            task.log(until, "ERROR", "migration.failed", task.import_failure, ("failed",))
        else:
            task.set_status(statuses.SUCCESS, until)
            task.log(until, "INFO", "migration.success", "Backup files imported", ("import",))
        return True
    if status == statuses.SUCCESS and task.release_at is not None and now >= task.release_at:
        at = task.release_at
        task.release_at = None
        task.released_at = at
        task.set_status(statuses.RELEASED, at)
        task.log(at, "INFO", "migration.released", "Migration ECS released", ("release",))
        return True
    if task.engine_running and status in (statuses.FULLMIGRATING, statuses.INCRMIGEATING):
        snap = engine.poll(task.task_id, now)
        task.last = snap
        if snap.phase is Phase.INCREMENTAL and status == statuses.FULLMIGRATING:
            task.set_status(statuses.INCRMIGEATING, snap.phase_since)
            task.log(
                snap.phase_since,
                "INFO",
                "migration.incremental",
                "Full migration finished; incremental migration started",
                ("incremental",),
            )
            return True
        if snap.phase is Phase.DONE:
            task.engine_running = False
            task.set_status(statuses.SUCCESS, snap.phase_since)
            if task.release_delay is not None:
                task.release_at = snap.phase_since + task.release_delay
            task.log(
                snap.phase_since,
                "INFO",
                "migration.success",
                f"Full migration finished: {snap.target_dbsize} keys migrated",
                ("full",),
            )
            return True
        if snap.phase is Phase.FAILED:
            task.engine_running = False
            task.error = snap.error or "Migration failed"
            task.set_status(statuses.MIGRATION_FAILED, snap.phase_since)
            task.log(snap.phase_since, "ERROR", "migration.failed", task.error, ("failed",))
            return True
    return False


def _engine_stopped_at(task: Task, now: float, engine: MigrationEngine) -> float | None:
    """When the engine stopped moving data for a stopping task; ``None`` while it still is."""
    if task.migration_type != ONLINE or task.source is None:
        return 0.0
    try:
        snap = engine.poll(task.task_id, now)
    except EngineError:
        return 0.0
    if snap.phase is Phase.STOPPING:
        return None
    if snap.phase is Phase.STOPPED:
        task.last = snap
    return snap.phase_since


def migration_spec(task: Task, config: EmulatorConfig) -> MigrationSpec:
    """What the engine is told to migrate for a configured online task."""
    assert task.source is not None
    assert task.target is not None
    assert task.migration_method is not None
    return MigrationSpec(
        task_id=task.task_id,
        method=Method(task.migration_method),
        source=task.source,
        target=task.target,
        bandwidth_limit_mb=task.bandwidth_limit_mb,
        full_seconds_hint=config.seconds("full_seconds"),
        failure_delay_hint=config.seconds("fail_seconds"),
    )


def start_engine(
    task: Task, now: float, engine: MigrationEngine, config: EmulatorConfig, reason: str
) -> None:
    """Start (or start again) the data movement: the task enters FULLMIGRATING."""
    task.error = ""
    task.task_status = None
    task.task_status_until = None
    task.until = None
    task.release_at = None
    task.release_delay = (
        config.seconds("release_after_seconds") if task.migration_method == Method.FULL.value else None
    )
    engine.start(migration_spec(task, config), now)
    task.engine_running = True
    task.last = None
    task.set_status(statuses.FULLMIGRATING, now)
    task.log(now, "INFO", "migration.full", reason, ("full",))


def begin_stop(task: Task, now: float, engine: MigrationEngine, config: EmulatorConfig) -> None:
    """Stop moving data: TERMINATING now, TERMINATED after ``stop_seconds`` (HTTP 400 unless active)."""
    if task.status not in ACTIVE:
        raise wrong_state(task, "stop", "FULLMIGRATING, INCRMIGEATING, MIGRATING")
    if task.engine_running:
        task.last = engine.stop(task.task_id, now)
        task.engine_running = False
    task.until = now + config.seconds("stop_seconds")
    task.set_status(statuses.TERMINATING, now)
    task.log(now, "INFO", "migration.stopping", "Stop requested; stopping the migration", ("stop",))
