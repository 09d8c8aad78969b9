"""What every DCS operator shares: the connection, the hook, the XCom pushes, parse-time checks.

:class:`DcsBaseOperator` gives each operator its ``dcs_conn_id``, a lazily made sync hook (parsing
a DAG loads no HTTP client), the push of the migration task id and console URL (the "DCS Migration
Task" extra link) before anything waits, and the read of a task that must exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.compat import BaseOperator, Context, conf
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsError
from huaweicloud_dcs_provider.links import TASK_ID_XCOM_KEY, DcsMigrationTaskLink, console_url

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.api.models import MigrationTask
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook
    from huaweicloud_dcs_provider.waiting.tracker import WaitTracker

UI_COLOR = "#fde2e2"


def default_deferrable() -> bool:
    """The ``[operators] default_deferrable`` setting."""
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


def wait_engine() -> Any:
    """The wait engine, imported when a task runs (parsing a DAG does not load it)."""
    from huaweicloud_dcs_provider.waiting import engine

    return engine


def check_literal(parameter: str, value: Any, check: Callable[[str, Any], Any]) -> None:
    """Run ``check(parameter, value)`` now when rendering cannot change ``value`` (else at run time)."""
    if v.is_literal(value):
        check(parameter, value)


def describe_instance(instance: Any) -> str:
    """``DCS instance <id>`` or ``Redis <host:port>``: never a password."""
    if isinstance(instance, Mapping):
        instance_id, addrs = instance.get("id"), instance.get("addrs")
    else:
        instance_id, addrs = getattr(instance, "id", None), getattr(instance, "addrs", None)
    if instance_id:
        return f"DCS instance {instance_id}"
    if addrs:
        return f"Redis {addrs}"
    return "(unknown)"


class OpenLineageMethods:
    """The three methods the OpenLineage listener calls (the ``openlineage`` extra), all answered
    by the operator's ``_lineage()``: what it knows when asked, set again after a deferral."""

    def _lineage(self) -> Any:
        raise NotImplementedError

    def get_openlineage_facets_on_start(self) -> Any:
        """OpenLineage: the source as input, the target as output, the ``dcsMigration`` facet."""
        return self._lineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage, once done: the facet also holds the final status and the key counts."""
        return self._lineage()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """OpenLineage, on failure: the datasets and what is known of the task."""
        return self._lineage()


class DcsBaseOperator(BaseOperator):
    """Base of every DCS operator: the connection, the hook and the XCom pushes.

    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    """

    ui_color = UI_COLOR
    operator_extra_links = (DcsMigrationTaskLink(),)

    def __init__(self, *, dcs_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dcs_conn_id = dcs_conn_id

    @cached_property
    def hook(self) -> DcsHook:
        """The sync hook (imported lazily: parsing a DAG does not load the HTTP stack)."""
        from huaweicloud_dcs_provider.hooks.dcs import DcsHook

        return DcsHook(self.dcs_conn_id)

    def _push_task(self, context: Context, migration_task_id: str) -> None:
        """Push the task id and the console URL (the extra link) before anything waits."""
        context["ti"].xcom_push(key=TASK_ID_XCOM_KEY, value=migration_task_id)
        settings = self.hook.settings
        url = console_url(settings.region, migration_task_id, settings.endpoint)
        DcsMigrationTaskLink.persist(context, url)
        if url:
            self.log.info("DCS migration task %s in the console: %s", migration_task_id, url)

    def _read_task(self, migration_task_id: str) -> MigrationTask:
        """The task's detail; a task that does not exist is an error saying so."""
        try:
            return self.hook.get_migration_task(migration_task_id)
        except DcsApiError as exc:
            if exc.is_not_found:
                raise DcsError(
                    f"DCS migration task {migration_task_id} does not exist (DCS.4133): check the id "
                    "and the connection's project"
                ) from None
            raise

    def _tracker(
        self, migration_task_id: str, success_statuses: Iterable[str], deadline: float | None
    ) -> WaitTracker:
        from huaweicloud_dcs_provider.waiting.tracker import WaitTracker

        return WaitTracker(
            migration_task_id=migration_task_id,
            success_statuses=frozenset(success_statuses),
            deadline=deadline,
            logger=self.log,
        )
