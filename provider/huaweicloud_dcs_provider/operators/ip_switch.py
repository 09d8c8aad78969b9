"""The DCS IP switch of a cutover and its escape hatch: exchange the instances' IPs, roll it back.

Both operators check their preconditions (and explain them) before any API call, and wait for the
switch's ``task_status`` with the one poll loop
(:func:`~huaweicloud_dcs_provider.api.plan.poll_until`).
See ``docs/cutover-runbook.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID, waiting
from huaweicloud_dcs_provider.api import statuses
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.api.plan import Deadline, Plan, poll_until
from huaweicloud_dcs_provider.api.statuses import IpSwitchStatus, ip_switch_failed
from huaweicloud_dcs_provider.api.validation import MigrationMethod, safe_id
from huaweicloud_dcs_provider.compat import Context
from huaweicloud_dcs_provider.exceptions import DcsError
from huaweicloud_dcs_provider.operators.base import DcsBaseOperator, check_literal

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.api.models import MigrationInstance, MigrationTask

TaskStatus = statuses.TaskStatus

DEFAULT_SWITCH_TIMEOUT = 600.0


def _side(instance: MigrationInstance | None) -> str:
    if instance is None:
        return "(missing)"
    if instance.id:
        return f"DCS instance {instance.id}"
    return f"self-hosted Redis {instance.addrs or instance.ip or '(unknown address)'}"


# ------------------------------------------------------------------------------------------------

# IP switch
# ------------------------------------------------------------------------------------------------


class _DcsIpSwitchOperator(DcsBaseOperator):
    """Shared by the exchange and the rollback: preconditions, the call, the wait."""

    template_fields: Sequence[str] = ("migration_task_id",)
    #: The ``task_status`` that means done.
    done_status: str = ""
    #: What the operator does, for messages ("switch the IPs of").
    action: str = ""

    def __init__(
        self,
        *,
        migration_task_id: str,
        wait_for_completion: bool = True,
        poll_interval: float | timedelta = 5.0,
        timeout: float | timedelta = DEFAULT_SWITCH_TIMEOUT,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        check_literal("migration_task_id", migration_task_id, v.safe_id)
        self.migration_task_id = migration_task_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = v.seconds("poll_interval", poll_interval)
        self.timeout = v.seconds("timeout", timeout)

    def check_rendered(self) -> None:
        """Checks of the rendered fields, before any request (subclasses add theirs)."""

    def common_problems(self, task: MigrationTask) -> list[str]:
        """Why the task cannot have its IPs switched or rolled back (empty: it can)."""
        problems: list[str] = []
        if task.migration_method and task.migration_method != MigrationMethod.INCREMENTAL.value:
            problems.append(
                f"it is a {task.migration_method} task; only incremental_migration (full + incremental) "
                "tasks can switch IPs"
            )
        if task.status != TaskStatus.INCRMIGEATING.value:
            problems.append(
                f"its status is {task.status or '(none)'}, not INCRMIGEATING (incremental sync running)"
            )
        for name, side in (("source", task.source_instance), ("target", task.target_instance)):
            if side is None or not side.id:
                problems.append(
                    f"its {name} is {_side(side)}; the IP switch works only between two DCS instances "
                    "(switch the clients yourself for self-hosted Redis)"
                )
        return problems

    def problems(self, task: MigrationTask) -> list[str]:
        """Preconditions of this action (subclasses add theirs)."""
        return self.common_problems(task)

    def call(self, task: MigrationTask) -> None:
        """The API call (subclasses)."""
        raise NotImplementedError

    def _refuse(self, task: MigrationTask, problems: list[str]) -> DcsError:
        return DcsError(
            f"Cannot {self.action} DCS migration task {task.task_id}: {'; '.join(problems)}. "
            "Nothing was changed."
        )

    def execute(self, context: Context) -> dict[str, Any]:
        """Check the preconditions, call the API unless already done, wait for ``done_status``."""
        task_id = safe_id("migration_task_id", self.migration_task_id)
        self.check_rendered()
        self._push_task(context, task_id)
        task = self._read_task(task_id)
        if task.task_status == IpSwitchStatus.EXCHANGING:
            # A switch or a rollback is running (the API does not say which): let it finish first.
            task = self._wait(task_id, settle=True)
        result = {"id": task_id, "status": task.status, "task_status": task.task_status}
        if task.task_status == self.done_status:
            self.log.info("DCS migration task %s: task_status is already %s", task_id, self.done_status)
            return result
        problems = self.problems(task)
        if problems:
            raise self._refuse(task, problems)
        self.call(task)
        self.log.info("Asked DCS to %s migration task %s", self.action, task_id)
        if not self.wait_for_completion:
            return result
        final = self._wait(task_id)
        result.update(status=final.status, task_status=final.task_status)
        return result

    def _wait(self, task_id: str, *, settle: bool = False) -> MigrationTask:
        """Poll until ``task_status`` is ``done_status`` (with ``settle``: anything but EXCHANGING)."""
        return self.hook.run_plan(self._until_switched(task_id, settle=settle))

    def _until_switched(self, task_id: str, *, settle: bool) -> Plan[MigrationTask]:
        from huaweicloud_dcs_provider.api import waits

        seen: list[str] = []

        def read(final: bool) -> Plan[MigrationTask | None]:
            task = yield from waits.task_or_none(task_id)
            if task is None:
                raise DcsError(f"DCS migration task {task_id} does not exist (DCS.4133): it was deleted")
            current = task.task_status or "(none)"
            if not seen or seen[-1] != current:
                seen.append(current)
            if settle and task.task_status != IpSwitchStatus.EXCHANGING:
                return task
            if task.task_status == self.done_status:
                self.log.info("DCS migration task %s: task_status %s", task_id, task.task_status)
                return task
            if ip_switch_failed(task.task_status) or task.status in statuses.FAILURE_STATUSES:
                raise DcsError(
                    f"DCS migration task {task_id} did not {self.action}: task_status {current}, status "
                    f"{task.status}{f' ({task.error})' if task.error else ''}. Check the migration logs "
                    "and the instances in the console"
                )
            if final:
                raise DcsError(
                    f"DCS migration task {task_id}: no {self.done_status} "
                    f"{waiting.human_duration(self.timeout)} after asking to {self.action} it; "
                    f"task_status seen: {' -> '.join(seen)}, status now {task.status}"
                )
            self.log.info(
                "DCS migration task %s: task_status %s; waiting for %s", task_id, current, self.done_status
            )
            return None

        return poll_until(read, poll_interval=self.poll_interval, deadline=Deadline.after(self.timeout))


def _exchanged_ips(parameter: str, value: Any) -> list[str]:
    """``exchanged_ip`` as a list (a comma-separated string is split); empty means "the task's"."""
    if value is None or (isinstance(value, str | list | tuple) and not value):
        return []
    if isinstance(value, str):
        value = [ip.strip() for ip in value.split(",") if ip.strip()]
    return v.ip_list(parameter, value, allow_networks=False)


class DcsExchangeInstanceIpOperator(_DcsIpSwitchOperator):
    """Switch the IP addresses of the source and target DCS instances of a migration (the DCS cutover).

    After the switch, clients that use the source's address reach the target, so no connection
    string changes. Both instances are read-only for about a minute and clients are disconnected
    briefly. Checked before any API call, with a message naming what is wrong:

    * the task is an ``incremental_migration`` task whose status is ``INCRMIGEATING``;
    * both sides are DCS instances (``id``), not self-hosted Redis (``addrs``).

    The service also requires Redis 4.0 or later, the same port and password on both instances and
    no public access; it refuses the call otherwise (the API error is raised as is).

    A task whose ``task_status`` is already ``EXCHANGE_SUCCESS`` counts as switched. While it is
    ``EXCHANGING`` (a switch or a rollback running, e.g. on a retry) the operator first waits for
    that to finish, then decides. Returns ``id``, ``status`` and ``task_status``.

    :param migration_task_id: ID of the migration task. Templated.
    :param exchanged_ip: IP addresses to switch. Default: the IPs of the source and target
        instances from the task detail. Templated.
    :param is_exchange_domain: also switch the instances' domain names.
    :type wait_for_completion: bool
    :param wait_for_completion: wait for ``task_status`` ``EXCHANGE_SUCCESS`` (default).
    :type poll_interval: float | timedelta
    :param poll_interval: seconds between two reads of the task.
    :type timeout: float | timedelta
    :param timeout: seconds (or ``timedelta``) to wait for ``EXCHANGE_SUCCESS``.
    :type dcs_conn_id: str
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    template_fields: Sequence[str] = ("migration_task_id", "exchanged_ip")
    done_status = IpSwitchStatus.EXCHANGE_SUCCESS
    action = "switch the IPs of"

    def __init__(
        self,
        *,
        migration_task_id: str,
        exchanged_ip: Sequence[str] | None = None,
        is_exchange_domain: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(migration_task_id=migration_task_id, **kwargs)
        v.boolean("is_exchange_domain", is_exchange_domain)
        check_literal("exchanged_ip", exchanged_ip, _exchanged_ips)
        self.exchanged_ip = exchanged_ip
        self.is_exchange_domain = is_exchange_domain

    def check_rendered(self) -> None:
        """The rendered ``exchanged_ip`` (when given) are IP addresses."""
        _exchanged_ips("exchanged_ip", self.exchanged_ip)

    def _ips(self, task: MigrationTask) -> list[str]:
        if self.exchanged_ip:
            return _exchanged_ips("exchanged_ip", self.exchanged_ip)
        sides = (task.source_instance, task.target_instance)
        return [side.ip for side in sides if side is not None and side.ip]

    def problems(self, task: MigrationTask) -> list[str]:
        """Common preconditions, plus: there are IPs to switch."""
        problems = self.common_problems(task)
        if not problems and not self._ips(task):
            problems.append("the task detail names no instance IP; pass exchanged_ip")
        return problems

    def call(self, task: MigrationTask) -> None:
        """``POST /migration-task/{id}/exchange-ip``."""
        self.hook.exchange_instance_ip(
            task.task_id, exchanged_ip=self._ips(task), is_exchange_domain=self.is_exchange_domain
        )


class DcsRollbackInstanceIpOperator(_DcsIpSwitchOperator):
    """Roll back an IP switch (the escape hatch after :class:`DcsExchangeInstanceIpOperator`).

    Checked before any API call: the task is an ``incremental_migration`` task in
    ``INCRMIGEATING`` between two DCS instances, and its ``task_status`` is ``EXCHANGE_SUCCESS``
    (there is a switch to roll back). A task already ``ROLLBACK_SUCCESS`` counts as rolled back.
    While it is ``EXCHANGING`` (e.g. the switch whose answer was lost is still running), the
    operator waits for that to finish first, then rolls back.
    Returns ``id``, ``status`` and ``task_status``.

    :param migration_task_id: ID of the migration task. Templated.
    :param wait_for_completion: wait for ``task_status`` ``ROLLBACK_SUCCESS`` (default).
    :param poll_interval: seconds between two reads of the task.
    :param timeout: seconds (or ``timedelta``) to wait for ``ROLLBACK_SUCCESS``.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    done_status = IpSwitchStatus.ROLLBACK_SUCCESS
    action = "roll back the IP switch of"

    def problems(self, task: MigrationTask) -> list[str]:
        """Common preconditions, plus: the IPs are switched."""
        problems = self.common_problems(task)
        if task.task_status != IpSwitchStatus.EXCHANGE_SUCCESS:
            problems.append(
                f"its task_status is {task.task_status or '(none)'}, not EXCHANGE_SUCCESS: "
                "there is no IP switch to roll back"
            )
        return problems

    def call(self, task: MigrationTask) -> None:
        """``POST /migration-task/{id}/rollback-ip``."""
        self.hook.rollback_instance_ip(task.task_id)


# ------------------------------------------------------------------------------------------------
