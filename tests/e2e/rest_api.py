"""The REST API of the e2e deployment, driven as a user drives it (a SimpleAuthManager token).

:class:`RestApiMixin` is the API half of :class:`e2e.airflow_stack.AirflowStack`: it needs the
stack's ``base_url``, session and password, and its ``_check_alive``, ``diagnostics`` and
``explain`` for waits and error messages.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

import requests

#: Health-endpoint keys of the components that report a heartbeat.
_HEALTH_KEYS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
_FINAL_RUN_STATES = frozenset({"success", "failed"})
USERNAME = "admin"


class AirflowStackError(AssertionError):
    """Something in the deployment went wrong; the message carries the components' log tails."""


class RestApiMixin:
    """REST API calls and waits on runs, task instances and DAGs."""

    _session: requests.Session
    _password: str
    _token: str | None

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def _check_alive(self) -> None:
        raise NotImplementedError

    def diagnostics(self, lines: int = 40) -> str:
        raise NotImplementedError

    def explain(self, dag_id: str, run_id: str, lines: int = 40) -> str:
        raise NotImplementedError

    def health(self) -> dict[str, Any]:
        """``GET /api/v2/monitor/health`` (no authentication needed)."""
        response = self._session.get(f"{self.base_url}/api/v2/monitor/health", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        """Wait until the metadata DB and every heartbeat-reporting component are healthy."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            self._check_alive()
            try:
                last = self.health()
                if all((last.get(key) or {}).get("status") == "healthy" for key in _HEALTH_KEYS):
                    return dict(last)
            except requests.RequestException as exc:
                last = exc
            if time.monotonic() > deadline:
                raise AirflowStackError(f"not healthy after {timeout:g} s: {last!r}{self.diagnostics()}")
            time.sleep(0.5)

    def token(self, *, refresh: bool = False) -> str:
        """A SimpleAuthManager access token (``POST /auth/token``), cached."""
        if self._token is None or refresh:
            response = self._session.post(
                f"{self.base_url}/auth/token",
                json={"username": USERNAME, "password": self._password},
                timeout=30,
            )
            if response.status_code not in (200, 201):
                raise AirflowStackError(
                    f"POST /auth/token: HTTP {response.status_code} {response.text[:500]}{self.diagnostics()}"
                )
            self._token = str(response.json()["access_token"])
        return self._token

    def api(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        expected: Iterable[int] = (200, 201),
    ) -> Any:
        """Call the REST API (``path`` like ``/api/v2/dags``) with a bearer token; the JSON answer.

        Raises :class:`AirflowStackError` for any status not in ``expected``.
        """
        url = f"{self.base_url}{path}"
        response = None
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self.token(refresh=attempt > 0)}"}
            response = self._session.request(
                method, url, json=json, params=params, headers=headers, timeout=30
            )
            if response.status_code != 401:
                break
        assert response is not None
        if response.status_code not in set(expected):
            raise AirflowStackError(
                f"{method} {path}: HTTP {response.status_code} {response.text[:2000]}{self.diagnostics()}"
            )
        return response.json() if response.content else None

    def wait_dag(self, dag_id: str, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id``; fails early on an import error."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            found = self.api("GET", f"/api/v2/dags/{dag_id}", expected=(200, 404))
            if found and found.get("dag_id") == dag_id:
                return dict(found)
            errors = self.api("GET", "/api/v2/importErrors").get("import_errors", [])
            if errors:
                details = "\n\n".join(f"{err.get('filename')}:\n{err.get('stack_trace')}" for err in errors)
                raise AirflowStackError(f"DAG import errors while waiting for {dag_id}:\n{details}")
            if time.monotonic() > deadline:
                raise AirflowStackError(f"DAG {dag_id} not parsed after {timeout:g} s{self.diagnostics()}")
            time.sleep(1.0)

    def unpause(self, dag_id: str) -> None:
        """``PATCH /api/v2/dags/{dag_id}`` with ``is_paused: false`` (new DAGs start paused)."""
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger_dag(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        note: str | None = None,
    ) -> str:
        """Wait for the DAG, unpause it and trigger a manual run; returns the run id."""
        self.wait_dag(dag_id)
        self.unpause(dag_id)
        run_id = run_id or f"e2e__{secrets.token_hex(6)}"
        body: dict[str, Any] = {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf or {})}
        if note is not None:
            body["note"] = note
        created = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)
        return str(created["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The run as the API shows it."""
        result: dict[str, Any] = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        return result

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 180.0) -> str:
        """Wait until the run is ``success`` or ``failed``; returns that state."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            state = str(self.dag_run(dag_id, run_id).get("state"))
            if state in _FINAL_RUN_STATES:
                return state
            if time.monotonic() > deadline:
                raise AirflowStackError(
                    f"run {dag_id}/{run_id} still {state} after {timeout:g} s{self.explain(dag_id, run_id)}"
                )
            time.sleep(1.0)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances as the API shows them."""
        result = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return list(result["task_instances"])

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """One task instance as the API shows it."""
        result: dict[str, Any] = self.api(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        )
        return result

    def wait_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: Iterable[str], *, timeout: float = 120.0
    ) -> dict[str, Any]:
        """Wait until a task instance is in one of ``states``; returns it."""
        wanted = set(states)
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            ti = self.task_instance(dag_id, run_id, task_id)
            if ti.get("state") in wanted:
                return ti
            if time.monotonic() > deadline:
                raise AirflowStackError(
                    f"{task_id} still {ti.get('state')} after {timeout:g} s (wanted {sorted(wanted)})"
                    f"{self.explain(dag_id, run_id)}"
                )
            time.sleep(0.3)

    def xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", *, map_index: int = -1
    ) -> Any:
        """An XCom value through the API (deserialized); ``map_index`` for a mapped task instance."""
        entry = self.api(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            params={"deserialize": "true", "map_index": map_index},
        )
        return entry.get("value")
