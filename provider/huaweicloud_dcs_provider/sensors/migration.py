"""Sensor that waits for a DCS migration task to reach a status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID, statuses, waiting
from huaweicloud_dcs_provider._compat import BaseSensorOperator, Context
from huaweicloud_dcs_provider.triggers.migration import DcsMigrationTaskTrigger

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook


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
    ridden out; the sensor never stops the migration it watches.

    :param migration_task_id: ID of the migration task to watch. Templated.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    :param success_statuses: statuses that mean "done". ``("SUCCESS",)`` (default) waits for a
        full migration to finish; ``("INCRMIGEATING",)`` waits until incremental sync runs (e.g.
        to start a cutover); ``("TERMINATED",)`` waits for a stop. ``INCRMIGRATING`` is accepted
        as a spelling of ``INCRMIGEATING``.
    :param deferrable: wait in the triggerer (default) instead of occupying a worker slot.
    :param poke_interval: seconds between two status checks (in every mode).
    :param timeout: seconds (or ``timedelta``) to wait per try; in deferrable mode the deadline
        is fixed (as an absolute time) when the try starts, so triggerer restarts do not extend it;
        an Airflow retry of the sensor starts a new deadline. On timeout
        the sensor fails with ``AirflowSensorTimeout`` (or is skipped with ``soft_fail``).
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
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.migration_task_id = migration_task_id
        self.dcs_conn_id = dcs_conn_id
        if isinstance(success_statuses, str):
            success_statuses = (success_statuses,)
        self.success_statuses = tuple(sorted(statuses.normalize_targets(success_statuses)))
        self.deferrable = deferrable
        if deferrable and self.poke_interval <= 0:
            raise ValueError("poke_interval must be > 0 for a deferrable sensor")

    @cached_property
    def hook(self) -> DcsHook:
        """The sync hook (imported lazily: parsing a DAG does not load the HTTP stack)."""
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        return DcsHook(self.dcs_conn_id)

    def _tracker(self, deadline: float | None = None) -> waiting.WaitTracker:
        return waiting.WaitTracker(
            migration_task_id=self.migration_task_id,
            success_statuses=frozenset(self.success_statuses),
            deadline=deadline,
            logger=self.log,
        )

    def _finish(self, event: Any) -> dict[str, Any]:
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout

        done = waiting.handle_event(
            event, timeout_error=AirflowSensorTimeout, expected_task_id=self.migration_task_id
        )
        return waiting.result_of(done)

    def poke(self, context: Context) -> Any:
        """Check once; ``True`` (with the result as XCom) when done, raise when it failed."""
        from airflow.providers.common.compat.sdk import PokeReturnValue

        event = waiting.check_sync(self.hook, self._tracker())
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._finish(event))

    def execute(self, context: Context) -> Any:
        """Deferrable: check once, then defer unless the task has already finished."""
        if not self.deferrable:
            return super().execute(context)
        deadline = waiting.deadline_after(float(self.timeout))
        event = waiting.check_sync(self.hook, self._tracker(deadline))
        if event is not None:
            return self._finish(event)
        self.defer(
            trigger=DcsMigrationTaskTrigger(
                migration_task_id=self.migration_task_id,
                dcs_conn_id=self.dcs_conn_id,
                success_statuses=self.success_statuses,
                poll_interval=float(self.poke_interval),
                deadline=deadline,
            ),
            method_name="execute_complete",
            timeout=waiting.framework_timeout(deadline, float(self.poke_interval)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: map its event (the one mapping, in ``waiting``)."""
        return self._finish(event)
