"""Sensors that wait for a DCS migration task: to reach a status, or to catch up (small, stable lag).

Importing this module (at every parse of a DAG file using it) loads no HTTP client, hook or
trigger: they are imported when the sensor runs (``tests/test_import_cost.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID, assets, waiting
from huaweicloud_dcs_provider.api import statuses, validation
from huaweicloud_dcs_provider.compat import BaseSensorOperator, Context
from huaweicloud_dcs_provider.exceptions import DcsValidationError
from huaweicloud_dcs_provider.waiting import stop_quietly

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook
    from huaweicloud_dcs_provider.triggers.migration import DcsMigrationTaskTrigger
    from huaweicloud_dcs_provider.waiting.tracker import WaitTracker


class DcsMigrationTaskSensor(BaseSensorOperator):
    """Wait until a DCS migration task reaches one of ``success_statuses``.

    Migrations last hours, so the sensor is deferrable by default: it checks the task once (an
    already finished task never defers), then hands the waiting to
    :class:`~huaweicloud_dcs_provider.triggers.migration.DcsMigrationTaskTrigger` in the
    triggerer. With ``deferrable=False`` it works in ``poke`` and ``reschedule`` modes.

    The task fails when the migration fails (the message names the status and the API's error
    text, or the task's ERROR log lines), and when it ends in a status that was not awaited (e.g.
    ``TERMINATED`` while waiting for ``SUCCESS``). A status this provider does not know is
    treated as "still in progress" with a warning, never as success. Transient API errors are
    ridden out; the sensor never stops the migration it watches, unless ``stop_on_kill=True``
    and a user kills it.

    :param migration_task_id: ID of the migration task to watch. Templated.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    :param success_statuses: statuses that mean "done". ``("SUCCESS",)`` (default) waits for a
        full migration to finish; ``("INCRMIGEATING",)`` waits until incremental sync runs (e.g.
        to start a cutover); ``("TERMINATED",)`` waits for a stop. ``INCRMIGRATING`` is accepted
        as a spelling of ``INCRMIGEATING``.
    :param deferrable: wait in the triggerer (default) instead of occupying a worker slot.
    :param poke_interval: seconds between two status checks (in every mode).
    :type timeout: float | timedelta
    :param timeout: seconds (or ``timedelta``) to wait per try; in deferrable mode the deadline
        is fixed (as an absolute time) when the try starts, so triggerer restarts do not extend it;
        an Airflow retry of the sensor starts a new deadline. On timeout
        the sensor fails with ``AirflowSensorTimeout`` (or is skipped with ``soft_fail``).
    :param stop_on_kill: when a user kills this task (mark failed / success, clear), stop the
        migration too: from the worker (:meth:`on_kill`) while it pokes, from the triggerer (the
        trigger's ``on_kill``) while it is deferred. Best effort, never raises. Off by default; a
        triggerer restart never stops the migration.
    :param stop_on_deadline: when ``timeout`` passes, stop the migration (best effort), then fail
        (``AirflowSensorTimeout``, so ``soft_fail`` still applies) saying so. Off by default: the
        migration is left running. In deferrable mode checked in ``execute_complete`` (worker).
    """

    template_fields: Sequence[str] = ("migration_task_id",)
    ui_color = "#fde2e2"
    ui_fgcolor = "#000000"

    def __init__(
        self,
        *,
        migration_task_id: str,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        success_statuses: Iterable[str] = (statuses.TaskStatus.SUCCESS.value,),
        deferrable: bool = True,
        poke_interval: float | timedelta = waiting.DEFAULT_POLL_INTERVAL,
        stop_on_kill: bool = False,
        stop_on_deadline: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        if validation.is_literal(migration_task_id):
            validation.safe_id("migration_task_id", migration_task_id)
        self.migration_task_id = migration_task_id
        self.dcs_conn_id = dcs_conn_id
        self.success_statuses = tuple(
            sorted(validation.statuses_to_wait_for("success_statuses", success_statuses))
        )
        self.deferrable = deferrable
        if deferrable and self.poke_interval <= 0:
            raise DcsValidationError(
                "poke_interval", f"{self.poke_interval!r} must be > 0 for a deferrable sensor", "seconds > 0"
            )
        self.stop_on_kill = stop_on_kill
        self.stop_on_deadline = stop_on_deadline
        self._poke_tracker: WaitTracker | None = None
        assets.check_outlets(self.outlets, waits=True, task_id=self.task_id)

    @cached_property
    def hook(self) -> DcsHook:
        """The sync hook (imported lazily: parsing a DAG does not load the HTTP stack)."""
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        return DcsHook(self.dcs_conn_id)

    def _wait_kwargs(self) -> dict[str, Any]:
        """Extra settings shared by the tracker and the trigger (none for a status wait)."""
        return {}

    def _tracker(self, deadline: float | None = None) -> WaitTracker:
        from huaweicloud_dcs_provider.waiting.tracker import WaitTracker

        return WaitTracker(
            migration_task_id=self.migration_task_id,
            success_statuses=frozenset(self.success_statuses),
            deadline=deadline,
            logger=self.log,
            **self._wait_kwargs(),
        )

    def _trigger(self, deadline: float | None) -> DcsMigrationTaskTrigger:
        # Imported when deferring: parsing a DAG does not load the trigger machinery.
        from huaweicloud_dcs_provider.triggers.migration import DcsMigrationTaskTrigger

        return DcsMigrationTaskTrigger(
            migration_task_id=self.migration_task_id,
            dcs_conn_id=self.dcs_conn_id,
            success_statuses=self.success_statuses,
            poll_interval=float(self.poke_interval),
            deadline=deadline,
            stop_on_kill=self.stop_on_kill,
            **self._wait_kwargs(),
        )

    def on_kill(self) -> None:
        """The task was killed while poking in a worker: stop the migration if ``stop_on_kill``."""
        if self.stop_on_kill:
            stop_quietly(self.hook, self.migration_task_id, self.log, reason="the sensor was killed")

    def _finish(self, event: Any, context: Context) -> dict[str, Any]:
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout

        if self.stop_on_deadline:
            waiting.stop_on_timeout(event, self.hook, self.log, timeout_error=AirflowSensorTimeout)
        done = waiting.handle_event(
            event, timeout_error=AirflowSensorTimeout, expected_task_id=self.migration_task_id
        )
        result = waiting.result_of(done)
        assets.attach_event_extra(context, self.outlets, assets.event_extra(result))
        return result

    def poke(self, context: Context) -> Any:
        """Check once; ``True`` (with the result as XCom) when done, raise when it failed."""
        from airflow.providers.common.compat.sdk import PokeReturnValue

        validation.safe_id("migration_task_id", self.migration_task_id)
        # One tracker for all pokes of this run, so that lag samples add up in ``poke`` mode.
        if self._poke_tracker is None:
            self._poke_tracker = self._tracker()
        event = self.hook.run_plan(_check(self._poke_tracker))
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._finish(event, context))

    def execute(self, context: Context) -> Any:
        """Deferrable: check once, then defer unless the task has already finished."""
        validation.safe_id("migration_task_id", self.migration_task_id)
        if not self.deferrable:
            from airflow.providers.common.compat.sdk import AirflowSensorTimeout, AirflowSkipException

            try:
                return super().execute(context)
            except (AirflowSensorTimeout, AirflowSkipException) as exc:
                # Airflow's own poke loop timed out (a skip with ``soft_fail``).
                if not self.stop_on_deadline or "timed out" not in str(exc):
                    raise
                stopped = stop_quietly(
                    self.hook,
                    self.migration_task_id,
                    self.log,
                    reason="the wait deadline passed (stop_on_deadline)",
                )
                outcome = "was stopped" if stopped else "could not be stopped: see the log"
                raise type(exc)(f"{exc} The migration {outcome} (stop_on_deadline).") from exc
        deadline = waiting.deadline_after(float(self.timeout))
        event = self.hook.run_plan(_check(self._tracker(deadline)))
        if event is not None:
            return self._finish(event, context)
        self.defer(
            trigger=self._trigger(deadline),
            method_name="execute_complete",
            timeout=waiting.framework_timeout(deadline, float(self.poke_interval)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: map its event (the one mapping, in ``waiting``)."""
        return self._finish(event, context)


#: Longest pause (seconds) between the reads a lag sensor takes within one poke in reschedule mode.
RESCHEDULE_SAMPLE_SPACING = 10.0


class DcsMigrationLagSensor(DcsMigrationTaskSensor):
    """Wait until an incremental migration has caught up: ``INCRMIGEATING`` with a small, stable lag.

    The gate before a cut-over: the task must be in incremental sync (``INCRMIGEATING``), its
    incremental ``offset`` must stay ``<= max_offset`` for ``consecutive_samples`` reads in a row
    (``poke_interval`` apart), and on the last read the key counts of source and target must differ
    by at most ``key_count_tolerance``. Every read logs the lag trend, e.g.
    ``offset 1200 -> 340 -> 0 (1/3 samples ok), keys 50000/49990 (source/target)``.

    It fails on a failure status (with the API's error text or ERROR log lines), and when the task
    ends elsewhere (``TERMINATED``, ``SUCCESS`` of a full-only migration, deleted). Same modes as
    :class:`DcsMigrationTaskSensor`: deferrable by default (it checks once before deferring), or
    ``poke`` or ``reschedule``. The samples are counted in memory, so after a triggerer restart the
    count starts again. In ``reschedule`` mode nothing survives between two pokes, so each poke
    takes its ``consecutive_samples`` reads itself, ``min(poke_interval, 10 s)`` apart (it stops
    early at the first read that is not good enough).

    The sensor never freezes writes: an offset of 0 only says the target has caught up *now*.

    :param migration_task_id: ID of the migration task to watch. Templated.
    :param max_offset: largest incremental offset accepted (0: fully caught up).
    :param consecutive_samples: reads in a row with ``offset <= max_offset``.
    :param key_count_tolerance: largest ``|source_dbsize - target_dbsize|`` accepted on the last read
        (keys with a TTL may differ a little).
    :param max_key_drift: largest change of the source's key count over those reads; ``None``
        (default) does not check it. ``offset`` is a snapshot: a migration that keeps up with a
        steady stream of writes shows an offset of 0 at most reads, so ``max_offset=0`` alone does
        not prove the writes stopped. ``max_key_drift=0`` also asks for a quiet source (no key
        created or deleted over the samples), the check to use after freezing writes. Writes that
        only update existing keys do not move the key count.
    :param kwargs: everything :class:`DcsMigrationTaskSensor` takes (``dcs_conn_id``,
        ``deferrable``, ``poke_interval``, ``timeout``, ``stop_on_kill``...), except
        ``success_statuses``, which is always ``INCRMIGEATING``.
    """

    def __init__(
        self,
        *,
        migration_task_id: str,
        max_offset: int = 0,
        consecutive_samples: int = waiting.DEFAULT_CONSECUTIVE_SAMPLES,
        key_count_tolerance: int = 0,
        max_key_drift: int | None = None,
        **kwargs: Any,
    ) -> None:
        if "success_statuses" in kwargs:
            raise TypeError("DcsMigrationLagSensor always waits for INCRMIGEATING: drop success_statuses")
        super().__init__(
            migration_task_id=migration_task_id,
            success_statuses=(statuses.TaskStatus.INCRMIGEATING.value,),
            **kwargs,
        )
        validation.non_negative_int("max_offset", max_offset)  # a lag wait needs one
        validation.lag_settings(
            max_offset=max_offset,
            consecutive_samples=consecutive_samples,
            key_count_tolerance=key_count_tolerance,
            max_key_drift=max_key_drift,
        )
        self.max_offset = max_offset
        self.consecutive_samples = consecutive_samples
        self.key_count_tolerance = key_count_tolerance
        self.max_key_drift = max_key_drift

    def poke(self, context: Context) -> Any:
        """One check; in ``reschedule`` mode, ``consecutive_samples`` reads in one poke."""
        if not self.reschedule:
            return super().poke(context)
        from airflow.providers.common.compat.sdk import PokeReturnValue

        tracker = self._tracker()
        for sample in range(self.consecutive_samples):
            if sample:
                time.sleep(min(float(self.poke_interval), RESCHEDULE_SAMPLE_SPACING))
            event = self.hook.run_plan(_check(tracker))
            if event is not None:
                return PokeReturnValue(is_done=True, xcom_value=self._finish(event, context))
            if tracker.lag_samples_ok == 0:
                return False  # not caught up on this read: try again at the next reschedule
        return False

    def _wait_kwargs(self) -> dict[str, Any]:
        return {
            "max_offset": self.max_offset,
            "consecutive_samples": self.consecutive_samples,
            "key_count_tolerance": self.key_count_tolerance,
            "max_key_drift": self.max_key_drift,
        }


def _check(tracker: WaitTracker) -> Any:
    """One read of the wait (:func:`huaweicloud_dcs_provider.waiting.engine.check`), imported when run."""
    from huaweicloud_dcs_provider.waiting.engine import check

    return check(tracker)
