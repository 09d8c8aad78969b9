"""The sync hook of the Huawei Cloud DCS v2 data-migration API: one short method per endpoint.

:class:`DcsHook` (built on the HTTP provider's ``HttpHook``) wraps every endpoint; the async twin a
trigger uses is :class:`~huaweicloud_dcs_provider.hooks.dcs_async.DcsAsyncHook` (also importable
from here).

Both sign every request (SDK-HMAC-SHA256, :mod:`huaweicloud_dcs_provider.api.signing`), retry
transient failures with the one policy of :mod:`huaweicloud_dcs_provider.api.retry`, validate input
before sending (:mod:`huaweicloud_dcs_provider.api.calls`) and raise
:class:`~huaweicloud_dcs_provider.exceptions.DcsApiError` naming the HTTP status and DCS error code.
No secret reaches a log line, an exception or a returned value: Redis passwords in responses are
redacted and every secret sent is registered with Airflow's secrets masker.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID
from huaweicloud_dcs_provider.api import calls, waits
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.api.models import (
    BatchResult,
    DcsInstance,
    Job,
    MigrationLog,
    MigrationStats,
    MigrationTask,
    Whitelist,
)
from huaweicloud_dcs_provider.api.plan import all_pages
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.api.statuses import (
    FAILURE_STATUSES,
    NOT_FOUND,
    TaskStatus,
    configure_took_effect,
)
from huaweicloud_dcs_provider.api.transport import Call
from huaweicloud_dcs_provider.exceptions import DcsApiError
from huaweicloud_dcs_provider.hooks.dcs_async import DcsAsyncHook
from huaweicloud_dcs_provider.hooks.sync_base import DcsSyncHookBase
from huaweicloud_dcs_provider.provider_info import UI_FIELD_BEHAVIOUR

__all__ = ["DcsAsyncHook", "DcsHook"]

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_READY_TIMEOUT = 1800.0


class DcsHook(DcsSyncHookBase):
    """Sync hook over the whole DCS v2 data-migration API.

    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs`` (AK/SK, endpoint, project).
    :param retry_policy: how transient failures (429, 5xx, busy codes, network) are retried;
        defaults to :data:`~huaweicloud_dcs_provider.api.retry.DEFAULT_RETRY_POLICY`.
    """

    def __init__(
        self, dcs_conn_id: str = DEFAULT_CONN_ID, *, retry_policy: RetryPolicy | None = None
    ) -> None:
        super().__init__(dcs_conn_id, retry_policy=retry_policy)

    # ---------------------------------------------------------------- connection form
    # For Airflow < 3.2 (newer versions read ``conn-fields``/``ui-field-behaviour`` from the
    # provider info). Defined here, on the hook the provider info names: Airflow 2 looks for them
    # in the class's own ``__dict__`` only, so inherited ones would be ignored.

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form layout for Airflow < 3.2 (newer versions read provider info)."""
        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form for Airflow < 3.2."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import PasswordField, StringField

        return {
            "project_id": StringField(lazy_gettext("Project ID"), widget=BS3TextFieldWidget()),
            "region": StringField(lazy_gettext("Region"), widget=BS3TextFieldWidget()),
            "security_token": PasswordField(lazy_gettext("Security token"), widget=BS3PasswordFieldWidget()),
            "ca_bundle": StringField(lazy_gettext("CA bundle"), widget=BS3TextFieldWidget()),
        }

    # ---------------------------------------------------------------- tasks

    def create_online_migration_task(
        self,
        *,
        name: str,
        vpc_id: str,
        subnet_id: str,
        security_group_id: str,
        description: str | None = None,
        wait_until_ready: bool = True,
        timeout: float = DEFAULT_READY_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> dict[str, Any]:
        """Create an online migration task (the service provisions a migration VM for it).

        :param name: task name (also how a retried create recognises a task it already made).
        :param vpc_id: VPC of the migration VM; it must reach both source and target Redis.
        :param subnet_id: subnet (network ID) of the migration VM.
        :param security_group_id: security group of the migration VM (egress to the Redis ports).
        :param description: free text shown in the console.
        :param wait_until_ready: wait until the task can be configured (its job succeeded and the
            task is ``RUNNING``).
        :param timeout: seconds to wait for readiness.
        :param poll_interval: seconds between readiness checks.
        :return: ``{"task_id", "job_id", "status"}``.
        """
        # Checked before the task is created: a bad wait setting must not leave a task behind.
        v.seconds("timeout", timeout)
        v.seconds("poll_interval", poll_interval)
        call = calls.create_online_task(
            name=name,
            vpc_id=vpc_id,
            subnet_id=subnet_id,
            security_group_id=security_group_id,
            description=description,
        )
        created = self._create_named(call, name, lambda task: {"task_id": task.task_id, "job_id": None})
        if not created.get("task_id"):
            raise DcsApiError("DCS create_online_task returned no task id", operation=call.operation)
        result = {"task_id": created["task_id"], "job_id": created.get("job_id"), "status": None}
        if wait_until_ready:
            if created.get("job_id"):
                self.wait_for_job(str(created["job_id"]), timeout=timeout, poll_interval=poll_interval)
            task = self.wait_for_task_status(
                result["task_id"], (TaskStatus.RUNNING.value,), timeout=timeout, poll_interval=poll_interval
            )
            result["status"] = task.status
        return result

    def create_backup_import_task(
        self,
        *,
        task_name: str,
        target_instance: Mapping[str, Any],
        backup_files: Mapping[str, Any],
        migration_method: str = "full_amount_migration",
        description: str | None = None,
    ) -> MigrationTask:
        """Import a backup (OBS files or a DCS backup record) into a DCS instance.

        :param task_name: name of the import task.
        :param target_instance: ``{"id": <DCS instance id>, "password": ...}``.
        :param backup_files: ``{"file_source": "self_build_obs", "bucket_name": ..., "files": [...]}`` or
            ``{"file_source": "backup_record", "backup_id": ...}``.
        """
        call = calls.create_backup_import_task(
            task_name=task_name,
            target_instance=target_instance,
            backup_files=backup_files,
            migration_method=migration_method,
            description=description,
        )
        return self._create_named(call, task_name, lambda task: task)

    def configure_online_migration(
        self,
        migration_task_id: str,
        *,
        migration_method: str,
        resume_mode: str,
        source_instance: Mapping[str, Any],
        target_instance: Mapping[str, Any],
        bandwidth_limit_mb: int | str | None = None,
        status_before: str | None = None,
    ) -> MigrationTask:
        """Configure an online migration task and start it (the core call).

        :param migration_task_id: the task to configure (from ``create_online_migration_task``).
        :param migration_method: ``full_amount_migration`` (one copy) or ``incremental_migration``
            (a full copy, then continuous sync until the task is stopped).
        :param resume_mode: ``auto`` (reconnect by itself after network errors; may fall back to a
            new full sync) or ``manual``.
        :param source_instance: ``{"id": <DCS instance id>}`` or ``{"addrs": "host:port[,...]"}``,
            plus ``"password"`` when the Redis has one.
        :param target_instance: same shape as ``source_instance``.
        :param bandwidth_limit_mb: optional cap in MB/s, 1..10240.
        :param status_before: the task's status, when the caller has just read it (the task is
            then not read again before the call).
        :return: the task (``id``, ``name``, ``status``), without passwords.

        Never starts a second migration: the task's status is read first, and after an ambiguous
        failure (5xx, dropped, broken or unreadable answer, read timeout) it is read again; if the
        configure took effect (:func:`~huaweicloud_dcs_provider.api.statuses.configure_took_effect`),
        that task is returned instead of sending the call again.
        """
        return self.send_configure(
            calls.configure_online_task(
                migration_task_id,
                migration_method=migration_method,
                resume_mode=resume_mode,
                source_instance=source_instance,
                target_instance=target_instance,
                bandwidth_limit_mb=bandwidth_limit_mb,
            ),
            status_before=status_before,
        )

    def send_configure(self, call: Call[MigrationTask], *, status_before: str | None = None) -> MigrationTask:
        """Send a configure call already built (and so checked) with
        :func:`~huaweicloud_dcs_provider.api.calls.configure_online_task`; see
        :meth:`configure_online_migration`.

        :param status_before: the task's status just read by the caller (else it is read here).
        """
        self._learn_secrets(call)
        task_id = call.path_params["task_id"]
        before = self.get_migration_task(task_id).status if status_before is None else status_before

        def find_configured() -> MigrationTask | None:
            task = self.get_migration_task(task_id)
            return task if configure_took_effect(before, task.status) else None

        configured = self._execute(call, find_effect=find_configured)
        body = call.body if isinstance(call.body, dict) else {}
        from huaweicloud_dcs_provider.lineage import report_hook_lineage

        report_hook_lineage(self, body.get("source_instance") or {}, body.get("target_instance") or {})
        return configured

    def get_migration_task(self, migration_task_id: str) -> MigrationTask:
        """Task detail (passwords redacted). Unknown task: :class:`DcsApiError` with ``is_not_found``."""
        return self._execute(calls.show_task(migration_task_id))

    def get_task_status(self, migration_task_id: str) -> str:
        """The task's status, or ``NOT_FOUND`` if it does not exist."""
        task = self.run_plan(waits.task_or_none(migration_task_id))
        return NOT_FOUND if task is None else task.status

    def get_migration_task_stats(self, migration_task_id: str) -> MigrationStats:
        """Progress: full-sync percent, key counts, incremental offset (0 = caught up)."""
        return self._execute(calls.show_task_stats(migration_task_id))

    def list_migration_tasks(
        self, name: str | None = None, *, page_size: int = calls.DEFAULT_PAGE_SIZE
    ) -> list[MigrationTask]:
        """All migration tasks (every page), optionally filtered by task name."""
        v.non_negative_int("page_size", page_size, minimum=1, maximum=v.LIST_LIMIT_MAX)
        return self._tasks_named(name, page_size)

    def list_migration_task_logs(
        self,
        migration_task_id: str,
        *,
        log_level: str | None = None,
        page_size: int = calls.DEFAULT_PAGE_SIZE,
    ) -> list[MigrationLog]:
        """All log entries of a task (every page), optionally only ``INFO`` or ``ERROR``."""
        v.non_negative_int("page_size", page_size, minimum=1, maximum=v.LIST_LIMIT_MAX)
        return self.run_plan(
            all_pages(
                lambda offset: calls.list_logs_page(
                    migration_task_id, offset=offset, limit=page_size, log_level=log_level
                )
            )
        )

    def stop_migration_task(self, migration_task_id: str) -> MigrationTask:
        """Ask a task to stop; it goes ``TERMINATING`` then ``TERMINATED`` (poll to know when)."""
        return self._execute(calls.stop_task(migration_task_id))

    def stop_migration_task_sync(self, migration_task_id: str) -> None:
        """ "Stop synchronization" of a task (HTTP 204); poll the task to see it stopped."""
        self._execute(calls.stop_task_sync(migration_task_id))

    def batch_stop_migration_tasks(self, migration_task_ids: Iterable[str]) -> list[BatchResult]:
        """Stop up to 50 tasks; each result says whether the request was accepted."""
        return self._execute(calls.batch_stop_tasks(migration_task_ids))

    def batch_restart_migration_tasks(self, migration_task_ids: Iterable[str]) -> list[BatchResult]:
        """Restart up to 50 online tasks; each result says whether the request was accepted."""
        return self._execute(calls.batch_restart_tasks(migration_task_ids))

    def delete_migration_tasks(self, migration_task_ids: Iterable[str]) -> list[str]:
        """Delete tasks (their migration VMs are released); returns the IDs the API accepted."""
        return self._execute(calls.delete_tasks(migration_task_ids))

    def set_resume_mode(self, migration_task_id: str, resume_mode: str) -> None:
        """Turn auto-reconnect on (``auto``) or off (``manual``) for a task."""
        self._execute(calls.update_resume_mode(migration_task_id, resume_mode))

    def exchange_instance_ip(
        self, migration_task_id: str, *, exchanged_ip: Iterable[str], is_exchange_domain: bool
    ) -> None:
        """Switch source and target IPs (incremental tasks only); watch ``task_status``."""
        self._execute(
            calls.exchange_ip(
                migration_task_id, exchanged_ip=exchanged_ip, is_exchange_domain=is_exchange_domain
            )
        )

    def rollback_instance_ip(self, migration_task_id: str) -> None:
        """Roll back an IP switch; watch ``task_status`` for ``ROLLBACK_SUCCESS``."""
        self._execute(calls.rollback_ip(migration_task_id))

    def get_job(self, job_id: str) -> Job:
        """An asynchronous DCS job (status ``INIT``, ``RUNNING``, ``SUCCESS`` or ``FAIL``)."""
        return self._execute(calls.show_job(job_id))

    def get_instance(self, instance_id: str) -> DcsInstance:
        """A DCS instance: its address (``.addrs``), engine version, ``cache_mode`` and memory."""
        return self._execute(calls.show_instance(instance_id))

    def get_whitelist(self, instance_id: str) -> Whitelist:
        """The IP whitelist of a DCS instance."""
        return self._execute(calls.show_whitelist(instance_id))

    def replace_whitelist(
        self,
        instance_id: str,
        *,
        enable_whitelist: bool,
        whitelist: list[dict[str, Any]],
        asynchronous: bool = False,
    ) -> str | None:
        """Replace ALL whitelist groups of an instance (read, modify, then write the whole list).

        :return: the job id with ``asynchronous=True``, else ``None``.
        """
        return self._execute(
            calls.update_whitelist(
                instance_id, enable_whitelist=enable_whitelist, whitelist=whitelist, asynchronous=asynchronous
            )
        )

    # ---------------------------------------------------------------- waiting

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float = DEFAULT_READY_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> Job:
        """Poll a job until ``SUCCESS``; raise on ``FAIL`` or after ``timeout`` seconds."""
        return self.run_plan(waits.job_done(job_id, poll_interval=poll_interval, timeout=timeout))

    def wait_for_task_status(
        self,
        migration_task_id: str,
        target_statuses: Collection[str],
        *,
        timeout: float = DEFAULT_READY_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        failure_statuses: Collection[str] = FAILURE_STATUSES,
    ) -> MigrationTask:
        """Poll a task until its status is one of ``target_statuses``.

        Raises :class:`DcsMigrationFailedError` on a failure status (with the task's error text) and
        :class:`DcsError` after ``timeout`` seconds. ``NOT_FOUND`` may be a target (after a delete).
        """
        return self.run_plan(
            waits.task_reaches(
                migration_task_id,
                target_statuses,
                poll_interval=poll_interval,
                timeout=timeout,
                failure_statuses=failure_statuses,
                logger=self.log,
            )
        )
