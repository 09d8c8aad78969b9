"""The sync hook's machinery: settings, the kept ``requests`` session, the retry loop, plans.

:class:`DcsSyncHookBase` is what :class:`~huaweicloud_dcs_provider.hooks.dcs.DcsHook` stands on, so
that the hook itself holds one short method per endpoint:

* :attr:`~DcsSyncHookBase.settings`: the Airflow connection, read once per hook;
* one ``requests`` session per hook, signing every request (:meth:`~DcsSyncHookBase.session`);
* :meth:`~DcsSyncHookBase._execute`: one call under the retry policy; a call that must not be sent
  twice (it creates or configures) is resent after an ambiguous failure only once a look showed the
  first attempt did not take effect;
* :meth:`~DcsSyncHookBase.run_plan`: a plan (:mod:`~huaweicloud_dcs_provider.api.plan`: the waits,
  every list's pages) run with this hook.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from airflow.providers.http.hooks.http import HttpHook

from huaweicloud_dcs_provider.api import calls, waits
from huaweicloud_dcs_provider.api.models import MigrationTask
from huaweicloud_dcs_provider.api.plan import Plan, drive_sync
from huaweicloud_dcs_provider.api.retry import QUICK_RETRY_POLICY, RetryPolicy, is_ambiguous
from huaweicloud_dcs_provider.api.signing import RequestsSigner
from huaweicloud_dcs_provider.api.transport import Call, read_response
from huaweicloud_dcs_provider.compat import quiet_secret_channel
from huaweicloud_dcs_provider.connection import DcsConnectionSettings
from huaweicloud_dcs_provider.exceptions import DcsError
from huaweicloud_dcs_provider.hooks import requests_transport
from huaweicloud_dcs_provider.hooks.base import DcsHookBase, describe_failure, settings_from

T = TypeVar("T")


class DcsSyncHookBase(DcsHookBase, HttpHook):
    """Settings, session, send and retry of the sync DCS hook (endpoints: ``DcsHook``)."""

    def __init__(self, dcs_conn_id: str, *, retry_policy: RetryPolicy | None = None) -> None:
        super().__init__(method="GET", http_conn_id=dcs_conn_id)
        self._init_dcs(dcs_conn_id, retry_policy)
        self._session: requests.Session | None = None
        self._send_options: dict[str, Any] = {}

    @property
    def settings(self) -> DcsConnectionSettings:
        """The connection's settings, read once per hook (credentials registered with the masker)."""
        if self._settings is None:
            quiet_secret_channel()  # before Airflow registers the connection's secrets
            conn = self.get_connection(self.dcs_conn_id)
            self._settings = settings_from(self.dcs_conn_id, conn, conn.extra_dejson)
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
        if isinstance(settings.verify, str):
            settings.ssl_context  # noqa: B018 - loads the CA bundle once: a bad one fails now, named
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
        self._learn_secrets(call)
        status, headers, body = requests_transport.send(self.session(), self._send_options, settings, call)
        self.log.debug("DCS %s %s -> HTTP %s", call.api.method, call.operation, status)
        return read_response(
            call, status, headers, body, secrets=self._scrub_list(settings, status, body, headers)
        )

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
        retry_ambiguous = not careful or find_effect is not None
        started = time.monotonic()
        # The first attempt is made before the retry controller exists (most calls need no other,
        # and making the controller costs about as much as signing the request); a failure of it
        # is handed to the controller, which judges it as if it had made the attempt itself (same
        # attempt count, same total time bound, same waits and log lines).
        failure: Exception | None = None
        try:
            return self._send(call)
        except Exception as exc:
            failure = exc
            ambiguous = careful and is_ambiguous(exc)
        retrying = (policy or self.retry_policy).retrying(retry_ambiguous=retry_ambiguous, started=started)
        for attempt in retrying:
            with attempt:
                if failure is not None:
                    first, failure = failure, None
                    raise first
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

    def execute_call(self, call: Call[T]) -> T:
        """Run a call under the retry policy: what
        :func:`~huaweicloud_dcs_provider.api.plan.drive_sync` sends a plan's calls to."""
        return self._execute(call)

    def run_plan(self, plan: Plan[T]) -> T:
        """Run a plan (:mod:`~huaweicloud_dcs_provider.api.plan`) with this hook: calls, sleeps."""
        return drive_sync(plan, self.execute_call, sleep=time.sleep)

    def _tasks_named(self, name: str | None, page_size: int = calls.DEFAULT_PAGE_SIZE) -> list[MigrationTask]:
        """Every task (all pages), those called ``name`` only when it is given."""
        return self.run_plan(waits.tasks_named(name, page_size))

    def _create_named(self, call: Call[T], name: str, created: Callable[[MigrationTask], T]) -> T:
        """Run a call creating a task called ``name``; never create it twice.

        The tasks of that name are listed first; after an ambiguous failure, a single new task of that
        name is the one the first attempt created, and ``created`` turns it into the call's result.
        """
        before = {t.task_id for t in self._tasks_named(name)}

        def find_created() -> T | None:
            new = [t for t in self._tasks_named(name) if t.task_id not in before and t.name == name]
            return created(new[0]) if len(new) == 1 else None

        return self._execute(call, find_effect=find_created)

    def test_connection(self) -> tuple[bool, str]:
        """One cheap signed read (list one task); says in words what went wrong."""
        endpoint: str | None = None
        try:
            endpoint = self.settings.endpoint
            _, _tasks = self._execute(calls.list_tasks_page(offset=0, limit=1), QUICK_RETRY_POLICY)
        except Exception as exc:
            return False, describe_failure(exc, endpoint)
        return True, f"Connected to {endpoint} (project {self.settings.project_id}); credentials accepted."
