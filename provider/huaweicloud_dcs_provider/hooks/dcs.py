"""Hooks for the Huawei Cloud DCS v2 data-migration API.

:class:`DcsHook` (sync, built on the HTTP provider's ``HttpHook``) wraps every endpoint;
:class:`DcsAsyncHook` (built on ``HttpAsyncHook``) has the reads a trigger needs and is used as an
async context manager so that one trigger run holds one HTTP session.

Both sign every request (SDK-HMAC-SHA256, :mod:`huaweicloud_dcs_provider.signing`), retry transient
failures with the one policy of :mod:`huaweicloud_dcs_provider.retry`, validate input before sending
(:mod:`huaweicloud_dcs_provider.calls`) and raise
:class:`~huaweicloud_dcs_provider.exceptions.DcsApiError` naming the HTTP status and DCS error code.
No secret reaches a log line, an exception or a returned value: Redis passwords in responses are
redacted and every secret sent is registered with Airflow's secrets masker.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import requests
from airflow.providers.http.hooks.http import HttpAsyncHook, HttpHook

from huaweicloud_dcs_provider import CONN_TYPE, DEFAULT_CONN_ID, calls
from huaweicloud_dcs_provider import validation as v
from huaweicloud_dcs_provider.connection import (
    DcsConnectionSettings,
    tls_failure_detail,
    tls_failure_message,
)
from huaweicloud_dcs_provider.exceptions import (
    DcsApiError,
    DcsAuthError,
    DcsClockSkewError,
    DcsConnectionError,
    DcsError,
    DcsMigrationFailedError,
    DcsTlsError,
)
from huaweicloud_dcs_provider.models import (
    BatchResult,
    Job,
    MigrationLog,
    MigrationStats,
    MigrationTask,
    Whitelist,
)
from huaweicloud_dcs_provider.provider_info import HOOK_NAME, UI_FIELD_BEHAVIOUR
from huaweicloud_dcs_provider.redaction import secrets_in
from huaweicloud_dcs_provider.retry import DEFAULT_RETRY_POLICY, QUICK_RETRY_POLICY, RetryPolicy, is_ambiguous
from huaweicloud_dcs_provider.signing import RequestsSigner, now_sdk_date, prepare_signed
from huaweicloud_dcs_provider.statuses import (
    FAILURE_STATUSES,
    NOT_FOUND,
    configure_took_effect,
    normalize_targets,
)
from huaweicloud_dcs_provider.transport import Call, read_response
from huaweicloud_dcs_provider.waiting import to_seconds

T = TypeVar("T")

JOB_SUCCESS = "SUCCESS"
JOB_FAILED = "FAIL"
DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_READY_TIMEOUT = 1800.0


def _mask(*values: str | None) -> None:
    """Register secrets with Airflow's masker so no log line can show them."""
    from airflow.providers.common.compat.sdk import mask_secret

    for value in values:
        if value:
            mask_secret(value)


def _settings_from(conn_id: str, conn: Any, extra: Mapping[str, Any]) -> DcsConnectionSettings:
    settings = DcsConnectionSettings.from_connection(
        conn_id=conn_id,
        host=conn.host,
        port=conn.port,
        schema=conn.schema,
        login=conn.login,
        password=conn.password,
        extra=extra,
    )
    _mask(settings.credentials.secret_key, settings.credentials.security_token)
    return settings


def _requests_error(exc: requests.RequestException, operation: str, endpoint: str) -> DcsConnectionError:
    """A transport failure of ``requests`` as a :class:`DcsConnectionError` (was it sent?)."""
    if isinstance(exc, requests.ConnectTimeout):
        return DcsConnectionError(
            f"DCS {operation}: connect to {endpoint} timed out", request_sent=False, operation=operation
        )
    if isinstance(exc, requests.Timeout):
        return DcsConnectionError(
            f"DCS {operation}: no answer from {endpoint} in time (read timeout)",
            request_sent=True,
            operation=operation,
        )
    text = repr(exc)
    if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in text:
        return DcsTlsError(
            tls_failure_message(operation, endpoint, tls_failure_detail(text)),
            request_sent=False,
            operation=operation,
        )
    never_sent = (
        any(marker in text for marker in ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError"))
        or "Connection refused" in text
    )
    reason = "connection refused or host unknown" if never_sent else "connection lost before the answer"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        reason = "connection broken in the middle of the answer (the request may have been processed)"
    return DcsConnectionError(
        f"DCS {operation}: {reason} ({endpoint})", request_sent=not never_sent, operation=operation
    )


def _known_secrets(settings: DcsConnectionSettings, sent: set[str]) -> list[str]:
    """Secrets an answer might echo: the secret key, the token, every password this hook sent."""
    known = [settings.credentials.secret_key, settings.credentials.security_token, *sorted(sent)]
    return [secret for secret in known if secret]


def _learn_secrets(call: Call[Any], sent: set[str]) -> None:
    """Remember (and mask) the passwords a call carries, before anything about it is sent or read.

    A hook scrubs every later answer and error with them: a read answer or an error text that
    echoes a password sent earlier (or about to be sent) never shows it.
    """
    found = secrets_in(call.body)
    _mask(*found)
    sent.update(found)


def _may_echo(secrets: Iterable[str], body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether an answer can hold one of ``secrets`` (else scrubbing it changes nothing).

    Without a backslash, every string of a JSON document is a verbatim (UTF-8) slice of the body:
    a secret absent from the bytes is absent from the parsed document, keys included.
    """
    if not secrets:
        return False
    if b"\\" in body:
        return True
    return any(secret.encode("utf-8") in body for secret in secrets) or any(
        secret in value for value in headers.values() for secret in secrets
    )


#: SSL contexts of the async hook, one per CA bundle (path and version) for the whole process.
_SSL_CONTEXTS: dict[tuple[str, int, int], Any] = {}
_SSL_CONTEXTS_LOCK = threading.Lock()


def _shared_ssl_context(settings: DcsConnectionSettings) -> Any:
    """What ``aiohttp`` takes as ``ssl=``, shared by every async hook trusting the same CA bundle.

    A context that loaded a CA bundle holds the parsed certificates (a few hundred KB with a
    full bundle): a triggerer running a thousand triggers must not hold a thousand of them. The
    key has the file's modification time and size, so a replaced bundle is read again. Blocking
    (reads the bundle): call it off the event loop.
    """
    verify = settings.verify
    if isinstance(verify, bool):
        return verify  # aiohttp's own shared default context, or no verification
    try:
        info = os.stat(verify)
    except OSError:
        return settings.ssl_context  # fails with the usual error
    key = (verify, info.st_mtime_ns, info.st_size)
    with _SSL_CONTEXTS_LOCK:
        context = _SSL_CONTEXTS.get(key)
        if context is None:
            if len(_SSL_CONTEXTS) >= 64:  # bundles rotated many times: forget the old ones
                _SSL_CONTEXTS.clear()
            context = _SSL_CONTEXTS[key] = settings.ssl_context
    return context


class _SharedSession:
    """The ``aiohttp`` session every :class:`DcsAsyncHook` of one event loop uses inside ``async with``."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.users = 0


#: One shared session (one connection pool) per event loop: the triggerer runs all its triggers
#: in one loop, and a session (a connection, with TLS a 256 KB buffer) per trigger costs a
#: thousand triggers hundreds of MB and a thousand idle connections to the API gateway.
_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedSession] = weakref.WeakKeyDictionary()


def _acquire_session() -> Any:
    """The loop's shared session (made on first use); pair with :func:`_release_session`.

    Safe to share: every request carries its own signature, timeout and TLS settings; the pool
    keys connections by host, port, TLS context and proxy; and cookies are not kept, so nothing
    one connection (or credential) receives is sent on behalf of another.
    """
    import aiohttp

    loop = asyncio.get_running_loop()
    shared = _SESSIONS.get(loop)
    if shared is None or shared.session.closed:
        shared = _SESSIONS[loop] = _SharedSession(
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),  # as many connections as calls at once
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        )
    shared.users += 1
    return shared.session


async def _release_session(session: Any) -> None:
    """One user less; the last one closes the session (and its connections)."""
    shared = _SESSIONS.get(asyncio.get_running_loop())
    if shared is None or shared.session is not session:
        return  # already replaced after being closed elsewhere
    shared.users -= 1
    if shared.users <= 0:
        del _SESSIONS[asyncio.get_running_loop()]
        await session.close()


def _describe_failure(exc: BaseException, settings_endpoint: str | None) -> str:
    """Words for ``test_connection``: what is wrong and what to check."""
    if isinstance(exc, DcsClockSkewError):
        return f"Authentication failed because of this machine's clock ({exc})"
    if isinstance(exc, DcsAuthError):
        if exc.status_code == 403:
            return f"Access denied ({exc}). The credentials are valid but lack DCS migration permissions."
        hint = "the Access Key ID or Secret Access Key is wrong, the security token has expired, "
        hint += "or this machine's clock is more than 15 minutes off"
        if exc.error_code and exc.error_code.startswith("DCS.100"):
            hint = "the project_id does not belong to these credentials (check the connection's project_id)"
        return f"Authentication failed ({exc}): {hint}."
    if isinstance(exc, DcsConnectionError):
        return f"Cannot reach the DCS endpoint {settings_endpoint}: {exc}. Check the host and the network."
    if isinstance(exc, DcsApiError):
        if exc.status_code == 404:
            return f"Endpoint answered 404 ({exc}): check the host URL and the project_id."
        return f"DCS API error: {exc}"
    return f"{type(exc).__name__}: {exc}"


class _DcsHookMixin:
    """Class attributes shared by both hooks."""

    conn_name_attr = "dcs_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME


class DcsHook(_DcsHookMixin, HttpHook):
    """Sync hook over the whole DCS v2 data-migration API.

    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs`` (AK/SK, endpoint, project).
    :param retry_policy: how transient failures (429, 5xx, busy codes, network) are retried;
        defaults to :data:`~huaweicloud_dcs_provider.retry.DEFAULT_RETRY_POLICY`.
    """

    def __init__(
        self, dcs_conn_id: str = DEFAULT_CONN_ID, *, retry_policy: RetryPolicy | None = None
    ) -> None:
        super().__init__(method="GET", http_conn_id=dcs_conn_id)
        self.dcs_conn_id = dcs_conn_id
        self.retry_policy = retry_policy or DEFAULT_RETRY_POLICY
        self._settings: DcsConnectionSettings | None = None
        self._sent_secrets: set[str] = set()
        self._session: requests.Session | None = None
        self._send_options: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"DcsHook(dcs_conn_id={self.dcs_conn_id!r})"

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

    # ---------------------------------------------------------------- transport

    @property
    def settings(self) -> DcsConnectionSettings:
        """The connection's settings, read once per hook (credentials registered with the masker)."""
        if self._settings is None:
            conn = self.get_connection(self.dcs_conn_id)
            self._settings = _settings_from(self.dcs_conn_id, conn, conn.extra_dejson)
            if self._settings.ignored_extras:
                self.log.warning(
                    "Connection %s: ignoring unknown extra field(s) %s",
                    self.dcs_conn_id,
                    ", ".join(self._settings.ignored_extras),
                )
        return self._settings

    def get_conn(
        self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
    ) -> requests.Session:
        """A signing ``requests`` session (connection extras are never turned into headers)."""
        settings = self.settings
        self.base_url = settings.endpoint
        self._base_url_initialized = True
        session = requests.Session()
        session.auth = RequestsSigner(settings.credentials)
        session.verify = settings.verify
        if settings.proxy:
            session.proxies = {"http": settings.proxy, "https": settings.proxy}
        self._configure_session_from_mount_adapters(session)
        if headers:
            session.headers.update(headers)
        return session

    def session(self) -> requests.Session:
        """The hook's session, made on first use and kept: every call reuses its pooled connections.

        (A new session per call would open a new TCP/TLS connection per call.)
        """
        if self._session is None:
            session = self.get_conn()
            # What ``requests`` would merge in from the environment (proxy variables, CA bundle)
            # before every send; the same for every call (one endpoint), so worked out once.
            self._send_options = dict(
                session.merge_environment_settings(
                    self.settings.endpoint, session.proxies, session.stream, session.verify, session.cert
                )
            )
            self._session = session
        return self._session

    def close(self) -> None:
        """Close the kept session and its connections (a later call opens a new one)."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def _send(self, call: Call[T]) -> T:
        """One signed attempt of a call (no retry)."""
        settings = self.settings
        _learn_secrets(call, self._sent_secrets)
        session = self.session()
        # Prepared and sent without the session's cookie jar, hooks and redirect handling (the API
        # uses none of them; redirects are never followed): the same request (the session's
        # headers, then the call's; the session's signer, adapters, proxies and TLS settings) at a
        # lower cost per call.
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=call.api.method,
            url=settings.endpoint + call.path(settings.project_id),
            headers={**session.headers, **call.headers(settings.project_id)},
            data=call.body_bytes(),
            params=call.query or None,
            auth=session.auth,
        )
        try:
            response = session.get_adapter(prepared.url or "").send(
                prepared,
                timeout=(settings.connect_timeout, settings.read_timeout),
                **self._send_options,
            )
            body = response.content  # read here: a reply broken off midway is a connection error
        except requests.RequestException as exc:
            raise _requests_error(exc, call.operation, settings.endpoint) from None
        status = response.status_code
        self.log.debug("DCS %s %s -> HTTP %s", call.api.method, call.operation, status)
        known = _known_secrets(settings, self._sent_secrets)
        if 200 <= status < 300 and not _may_echo(known, body, response.headers):
            known = []  # nothing to scrub: skip the deep copy of every answer
        return read_response(call, status, response.headers, body, secrets=known)

    def _execute(
        self,
        call: Call[T],
        policy: RetryPolicy | None = None,
        *,
        find_effect: Callable[[], T | None] | None = None,
    ) -> T:
        """Run a call under the retry policy.

        A call that must not be repeated blindly (:attr:`Endpoint.look_before_retry`) is sent again
        after an ambiguous failure only once ``find_effect`` said the earlier attempt did not take
        effect (it returns the call's result when it did); without ``find_effect`` it is not
        retried after an ambiguous failure at all.
        """
        careful = call.api.look_before_retry
        retrying = (policy or self.retry_policy).retrying(
            retry_ambiguous=not careful or find_effect is not None
        )
        ambiguous = False
        for attempt in retrying:
            with attempt:
                if ambiguous and find_effect is not None:
                    found = find_effect()
                    if found is not None:
                        self.log.warning(
                            "DCS %s: the earlier attempt took effect; not sending it again", call.operation
                        )
                        return found
                try:
                    return self._send(call)
                except DcsError as exc:
                    ambiguous = ambiguous or (careful and is_ambiguous(exc))
                    raise
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _execute_create(self, call: Call[T], find_created: Callable[[], T | None]) -> T:
        """Run a call that creates something: after an ambiguous failure, look before resending."""
        return self._execute(call, find_effect=find_created)

    def _create_named(self, call: Call[T], name: str, created: Callable[[MigrationTask], T]) -> T:
        """Run a call creating a task called ``name``; never create it twice.

        The tasks of that name are listed first; after an ambiguous failure, a single new task of that
        name is the one the first attempt created, and ``created`` turns it into the call's result.
        """
        before = {t.task_id for t in self.list_migration_tasks(name=name)}

        def find_created() -> T | None:
            new = [
                t for t in self.list_migration_tasks(name=name) if t.task_id not in before and t.name == name
            ]
            return created(new[0]) if len(new) == 1 else None

        return self._execute_create(call, find_created)

    def test_connection(self) -> tuple[bool, str]:
        """One cheap signed read (list one task); says in words what went wrong."""
        endpoint: str | None = None
        try:
            endpoint = self.settings.endpoint
            _, _tasks = self._execute(calls.list_tasks_page(offset=0, limit=1), QUICK_RETRY_POLICY)
        except Exception as exc:
            return False, _describe_failure(exc, endpoint)
        return True, f"Connected to {endpoint} (project {self.settings.project_id}); credentials accepted."

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
        to_seconds("timeout", timeout)
        to_seconds("poll_interval", poll_interval)
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
                result["task_id"], ("RUNNING",), timeout=timeout, poll_interval=poll_interval
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
        :return: the task (``id``, ``name``, ``status``), without passwords.

        Never starts a second migration: the task's status is read first, and after an ambiguous
        failure (5xx, dropped, broken or unreadable answer, read timeout) it is read again; if the
        configure took effect (:func:`~huaweicloud_dcs_provider.statuses.configure_took_effect`),
        that task is returned instead of sending the call again.
        """
        call = calls.configure_online_task(
            migration_task_id,
            migration_method=migration_method,
            resume_mode=resume_mode,
            source_instance=source_instance,
            target_instance=target_instance,
            bandwidth_limit_mb=bandwidth_limit_mb,
        )
        _learn_secrets(call, self._sent_secrets)
        before = self.get_migration_task(migration_task_id).status

        def find_configured() -> MigrationTask | None:
            task = self.get_migration_task(migration_task_id)
            return task if configure_took_effect(before, task.status) else None

        return self._execute(call, find_effect=find_configured)

    def get_migration_task(self, migration_task_id: str) -> MigrationTask:
        """Task detail (passwords redacted). Unknown task: :class:`DcsApiError` with ``is_not_found``."""
        return self._execute(calls.show_task(migration_task_id))

    def get_task_status(self, migration_task_id: str) -> str:
        """The task's status, or :data:`~huaweicloud_dcs_provider.statuses.NOT_FOUND` if it does not exist."""
        try:
            return self.get_migration_task(migration_task_id).status
        except DcsApiError as exc:
            if exc.is_not_found:
                return NOT_FOUND
            raise

    def get_migration_task_stats(self, migration_task_id: str) -> MigrationStats:
        """Progress: full-sync percent, key counts, incremental offset (0 = caught up)."""
        return self._execute(calls.show_task_stats(migration_task_id))

    def list_migration_tasks(
        self, name: str | None = None, *, page_size: int = calls.DEFAULT_PAGE_SIZE
    ) -> list[MigrationTask]:
        """All migration tasks (every page), optionally filtered by task name."""
        v.non_negative_int("page_size", page_size, minimum=1, maximum=v.LIST_LIMIT_MAX)
        tasks: list[MigrationTask] = []
        offset = 0
        while True:
            count, page = self._execute(calls.list_tasks_page(offset=offset, limit=page_size, name=name))
            if tasks and page == tasks[-len(page) :]:  # the same page again: the offset is ignored
                return tasks
            tasks.extend(page)
            offset += len(page)
            if not page or offset >= count:
                return tasks

    def list_migration_task_logs(
        self,
        migration_task_id: str,
        *,
        log_level: str | None = None,
        page_size: int = calls.DEFAULT_PAGE_SIZE,
    ) -> list[MigrationLog]:
        """All log entries of a task (every page), optionally only ``INFO`` or ``ERROR``."""
        v.non_negative_int("page_size", page_size, minimum=1, maximum=v.LIST_LIMIT_MAX)
        logs: list[MigrationLog] = []
        offset = 0
        while True:
            count, page = self._execute(
                calls.list_logs_page(migration_task_id, offset=offset, limit=page_size, log_level=log_level)
            )
            if logs and page == logs[-len(page) :]:  # the same page again: the offset is ignored
                return logs
            logs.extend(page)
            offset += len(page)
            if not page or offset >= count:
                return logs

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
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if job.status == JOB_SUCCESS:
                return job
            if job.status == JOB_FAILED:
                raise DcsError(f"DCS job {job_id} failed: {job.fail_reason or 'no reason given'}")
            if time.monotonic() >= deadline:
                raise DcsError(f"DCS job {job_id} still {job.status} after {timeout:.0f} s")
            time.sleep(poll_interval)

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
        targets = normalize_targets(target_statuses)
        deadline = time.monotonic() + timeout
        while True:
            try:
                task = self.get_migration_task(migration_task_id)
            except DcsApiError as exc:
                if exc.is_not_found and NOT_FOUND in targets:
                    return MigrationTask.from_api({"status": NOT_FOUND}, task_id=migration_task_id)
                raise
            if task.status in targets:
                return task
            if task.status in failure_statuses:
                raise DcsMigrationFailedError(
                    f"DCS migration task {migration_task_id} is {task.status}: "
                    f"{task.error or 'no error text'}",
                    task_id=migration_task_id,
                    status=task.status,
                    error_text=task.error,
                )
            if time.monotonic() >= deadline:
                raise DcsError(
                    f"DCS migration task {migration_task_id} is still {task.status} after {timeout:.0f} s "
                    f"(waiting for {', '.join(sorted(targets))})"
                )
            self.log.info(
                "DCS migration task %s is %s; waiting for %s", migration_task_id, task.status, sorted(targets)
            )
            time.sleep(poll_interval)


class DcsAsyncHook(_DcsHookMixin, HttpAsyncHook):
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
        self.dcs_conn_id = dcs_conn_id
        self.retry_policy = retry_policy or DEFAULT_RETRY_POLICY
        self._settings: DcsConnectionSettings | None = None
        self._sent_secrets: set[str] = set()
        self._client: Any = None
        self._ssl: Any = None

    def __repr__(self) -> str:
        return f"DcsAsyncHook(dcs_conn_id={self.dcs_conn_id!r})"

    async def __aenter__(self) -> DcsAsyncHook:
        if self._client is None:
            self._client = _acquire_session()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await _release_session(client)

    async def asettings(self) -> DcsConnectionSettings:
        """The connection's settings, fetched once with Airflow's async connection helpers."""
        if self._settings is None:
            from airflow.providers.common.compat.connection import (
                get_async_connection,
                get_async_extra_dejson,
            )

            conn = await get_async_connection(self.dcs_conn_id, hook=self)
            extra = await get_async_extra_dejson(conn)
            settings = _settings_from(self.dcs_conn_id, conn, extra)
            # Reads a CA bundle once per process (not per hook), off the event loop.
            self._ssl = await asyncio.to_thread(_shared_ssl_context, settings)
            self._settings = settings
        return self._settings

    async def _asend(self, call: Call[T]) -> T:
        import aiohttp
        import yarl

        settings = await self.asettings()
        _learn_secrets(call, self._sent_secrets)
        prepared = prepare_signed(
            method=call.api.method,
            base_url=settings.endpoint,
            path=call.path(settings.project_id),
            query=call.query,
            headers=call.headers(settings.project_id),
            body=call.body_bytes(),
            credentials=settings.credentials,
            sdk_date=now_sdk_date(),
        )
        owned = self._client is None
        client = aiohttp.ClientSession() if owned else self._client
        timeout = aiohttp.ClientTimeout(
            sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
        )
        # Built (or found) in asettings, off the loop; one per CA bundle for the whole process.
        ssl: Any = self._ssl if self._ssl is not None else settings.ssl_context
        try:
            async with client.request(
                prepared.method,
                yarl.URL(prepared.url, encoded=True),
                data=prepared.body,
                headers=prepared.headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=settings.proxy,
                ssl=ssl,
            ) as response:
                body = await response.read()
                status, headers = response.status, dict(response.headers)
        except aiohttp.ClientConnectorCertificateError as exc:
            raise DcsTlsError(
                tls_failure_message(call.operation, settings.endpoint, tls_failure_detail(str(exc))),
                request_sent=False,
                operation=call.operation,
            ) from None
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise DcsConnectionError(
                f"DCS {call.operation}: cannot connect to {settings.endpoint} ({type(exc).__name__})",
                request_sent=False,
                operation=call.operation,
            ) from None
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
            raise DcsConnectionError(
                f"DCS {call.operation}: connection to {settings.endpoint} broken in the middle of the "
                f"answer ({type(exc).__name__}; the request may have been processed)",
                request_sent=True,
                operation=call.operation,
            ) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DcsConnectionError(
                f"DCS {call.operation}: connection to {settings.endpoint} lost or timed out "
                f"({type(exc).__name__})",
                request_sent=True,
                operation=call.operation,
            ) from None
        finally:
            if owned:
                await client.close()
        known = _known_secrets(settings, self._sent_secrets)
        if 200 <= status < 300 and not _may_echo(known, body, headers):
            known = []  # nothing to scrub: skip the deep copy of every answer (each poll's cost)
        return read_response(call, status, headers, body, secrets=known)

    async def _aexecute(self, call: Call[T]) -> T:
        # The first attempt is sent without tenacity: a tenacity controller leaves a few dozen
        # objects in reference cycles per call (a lock, a condition, a future...), which only the
        # garbage collector frees; a triggerer polling with a thousand triggers then runs full
        # collections that stall its event loop. Only after a failure does tenacity take over,
        # replaying that failure as its first attempt, so the policy applies unchanged.
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

    async def get_migration_task(self, migration_task_id: str) -> MigrationTask:
        """Task detail (passwords redacted)."""
        return await self._aexecute(calls.show_task(migration_task_id))

    async def get_task_status(self, migration_task_id: str) -> str:
        """The task's status, or ``NOT_FOUND`` if the API says the task does not exist."""
        try:
            return (await self.get_migration_task(migration_task_id)).status
        except DcsApiError as exc:
            if exc.is_not_found:
                return NOT_FOUND
            raise

    async def get_migration_task_stats(self, migration_task_id: str) -> MigrationStats:
        """Progress figures of a task."""
        return await self._aexecute(calls.show_task_stats(migration_task_id))

    async def list_migration_task_logs(
        self, migration_task_id: str, *, log_level: str | None = None, limit: int = calls.DEFAULT_PAGE_SIZE
    ) -> list[MigrationLog]:
        """The first ``limit`` log entries of a task (e.g. the errors, for a failure message)."""
        _, logs = await self._aexecute(
            calls.list_logs_page(migration_task_id, offset=0, limit=limit, log_level=log_level)
        )
        return logs

    async def stop_migration_task(self, migration_task_id: str) -> MigrationTask:
        """Ask a task to stop (it goes ``TERMINATING``, then ``TERMINATED``)."""
        return await self._aexecute(calls.stop_task(migration_task_id))

    async def get_job(self, job_id: str) -> Job:
        """An asynchronous DCS job."""
        return await self._aexecute(calls.show_job(job_id))

    async def list_migration_tasks(self, name: str | None = None) -> list[MigrationTask]:
        """All migration tasks (every page), optionally filtered by name."""
        tasks: list[MigrationTask] = []
        offset = 0
        while True:
            count, page = await self._aexecute(
                calls.list_tasks_page(offset=offset, limit=calls.DEFAULT_PAGE_SIZE, name=name)
            )
            if tasks and page == tasks[-len(page) :]:  # the same page again: the offset is ignored
                return tasks
            tasks.extend(page)
            offset += len(page)
            if not page or offset >= count:
                return tasks
