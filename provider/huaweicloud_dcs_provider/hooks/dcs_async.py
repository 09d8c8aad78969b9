"""The async hook of the DCS v2 data-migration API: the reads (and the stop) a trigger needs.

:class:`DcsAsyncHook` is built on the HTTP provider's ``HttpAsyncHook`` and used as an async
context manager, so that one trigger run holds one HTTP session (the loop's shared pool:
:mod:`~huaweicloud_dcs_provider.hooks.aiohttp_transport`). It builds and reads every call with the
same :mod:`~huaweicloud_dcs_provider.api.calls` as the sync hook, signs the same way, and retries
with the same policy.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, TypeVar

from airflow.providers.http.hooks.http import HttpAsyncHook

from huaweicloud_dcs_provider import DEFAULT_CONN_ID
from huaweicloud_dcs_provider.api import calls, waits
from huaweicloud_dcs_provider.api.models import Job, MigrationLog, MigrationStats, MigrationTask
from huaweicloud_dcs_provider.api.plan import Plan, drive_async
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.api.statuses import NOT_FOUND
from huaweicloud_dcs_provider.api.transport import Call, read_response
from huaweicloud_dcs_provider.api.waits import task_or_none
from huaweicloud_dcs_provider.compat import quiet_secret_channel
from huaweicloud_dcs_provider.connection import DcsConnectionSettings
from huaweicloud_dcs_provider.hooks import aiohttp_transport
from huaweicloud_dcs_provider.hooks.base import DcsHookBase, settings_from

T = TypeVar("T")


class DcsAsyncHook(DcsHookBase, HttpAsyncHook):
    """Async hook with the reads a trigger needs; use it as ``async with DcsAsyncHook(...) as hook``.

    Inside ``async with`` every call uses the ``aiohttp`` session that all the hooks of the event
    loop share (one keep-alive connection pool, closed when the last hook leaves ``async with``):
    a thousand triggers in a triggerer hold a handful of connections, not a thousand. Outside,
    each call opens and closes its own session. The connection is fetched once, asynchronously
    (never the sync lookup).

    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs``.
    :param retry_policy: the same retry policy as the sync hook.
    """

    def __init__(
        self, dcs_conn_id: str = DEFAULT_CONN_ID, *, retry_policy: RetryPolicy | None = None
    ) -> None:
        super().__init__(method="GET", http_conn_id=dcs_conn_id)
        self._init_dcs(dcs_conn_id, retry_policy)
        self._client: Any = None
        self._ssl: Any = None

    async def __aenter__(self) -> DcsAsyncHook:
        if self._client is None:
            self._client = aiohttp_transport.acquire_session()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await aiohttp_transport.release_session(client)

    async def asettings(self) -> DcsConnectionSettings:
        """The connection's settings, fetched once with Airflow's async connection helpers."""
        if self._settings is None:
            from airflow.providers.common.compat.connection import (
                get_async_connection,
                get_async_extra_dejson,
            )

            quiet_secret_channel()  # before Airflow registers the connection's secrets
            conn = await get_async_connection(self.dcs_conn_id, hook=self)
            extra = await get_async_extra_dejson(conn)
            settings = settings_from(self.dcs_conn_id, conn, extra)
            # Reads a CA bundle once per process (not per hook), off the event loop.
            self._ssl = await asyncio.to_thread(aiohttp_transport.shared_ssl_context, settings)
            self._settings = settings
        return self._settings

    async def _asend(self, call: Call[T]) -> T:
        """One signed attempt of a call (no retry)."""
        settings = await self.asettings()
        self._learn_secrets(call)
        # Built (or found) in asettings, off the loop; one per CA bundle for the whole process.
        ssl: Any = self._ssl if self._ssl is not None else settings.ssl_context
        status, headers, body = await aiohttp_transport.send(self._client, settings, ssl, call)
        return read_response(
            call, status, headers, body, secrets=self._scrub_list(settings, status, body, headers)
        )

    async def execute_call(self, call: Call[T]) -> T:
        """Run a call under the retry policy: what
        :func:`~huaweicloud_dcs_provider.api.plan.drive_async` sends a plan's calls to.

        The first attempt is sent without tenacity: a tenacity controller leaves a few dozen objects
        in reference cycles per call (a lock, a condition, a future...), which only the garbage
        collector frees; a triggerer polling with a thousand triggers then runs full collections
        that stall its event loop. Only after a failure does tenacity take over, replaying that
        failure as its first attempt, so the policy applies unchanged.
        """
        try:
            return await self._asend(call)
        except Exception as exc:
            first_failure: Exception | None = exc
        # No call of this hook can check an ambiguous failure: one that must not be repeated
        # blindly is then raised instead of retried.
        retrying = self.retry_policy.async_retrying(retry_ambiguous=not call.api.look_before_retry)
        async for attempt in retrying:
            with attempt:
                if first_failure is not None:
                    failure, first_failure = first_failure, None
                    raise failure
                return await self._asend(call)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def run_plan(self, plan: Plan[T]) -> T:
        """Run a plan (:mod:`~huaweicloud_dcs_provider.api.plan`) with this hook, in the event loop."""
        return await drive_async(plan, self.execute_call)

    async def get_migration_task(self, migration_task_id: str) -> MigrationTask:
        """Task detail (passwords redacted)."""
        return await self.execute_call(calls.show_task(migration_task_id))

    async def get_task_status(self, migration_task_id: str) -> str:
        """The task's status, or ``NOT_FOUND`` if the API says the task does not exist."""
        task = await self.run_plan(task_or_none(migration_task_id))
        return NOT_FOUND if task is None else task.status

    async def get_migration_task_stats(self, migration_task_id: str) -> MigrationStats:
        """Progress figures of a task."""
        return await self.execute_call(calls.show_task_stats(migration_task_id))

    async def list_migration_task_logs(
        self, migration_task_id: str, *, log_level: str | None = None, limit: int = calls.DEFAULT_PAGE_SIZE
    ) -> list[MigrationLog]:
        """The first ``limit`` log entries of a task (e.g. the errors, for a failure message)."""
        _, logs = await self.execute_call(
            calls.list_logs_page(migration_task_id, offset=0, limit=limit, log_level=log_level)
        )
        return logs

    async def stop_migration_task(self, migration_task_id: str) -> MigrationTask:
        """Ask a task to stop (it goes ``TERMINATING``, then ``TERMINATED``)."""
        return await self.execute_call(calls.stop_task(migration_task_id))

    async def get_job(self, job_id: str) -> Job:
        """An asynchronous DCS job."""
        return await self.execute_call(calls.show_job(job_id))

    async def list_migration_tasks(self, name: str | None = None) -> list[MigrationTask]:
        """All migration tasks (every page), optionally filtered by name."""
        return await self.run_plan(waits.tasks_named(name))
