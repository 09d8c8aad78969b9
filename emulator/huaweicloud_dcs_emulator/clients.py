"""Clients of a running emulator: its admin API (admin token) and its DCS API (signed).

``EmulatorAdmin`` is a small synchronous ``requests`` client of ``/_emulator/...`` (it sends the
admin token in ``X-Emulator-Token``);
``EmulatorApiClient`` signs DCS API calls with :mod:`.signer` and sends them exactly as signed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

from requests import Response, Session

from huaweicloud_dcs_emulator import routes
from huaweicloud_dcs_emulator.routes import ADMIN_TOKEN_ENV, ADMIN_TOKEN_HEADER, RouteLike, render
from huaweicloud_dcs_emulator.signature import QueryParams, now_sdk_date
from huaweicloud_dcs_emulator.signer import Keys, PreparedRequest, prepare_signed
from huaweicloud_dcs_emulator.statuses import RUNNING


class PreparedLike(Protocol):
    """A request ready to send as it is (a :class:`~.signer.PreparedRequest`, or a tampered copy)."""

    @property
    def method(self) -> str:
        """HTTP method."""

    @property
    def url(self) -> str:
        """The encoded URL."""

    @property
    def headers(self) -> Mapping[str, str]:
        """Every header, ``Authorization`` included."""

    @property
    def body(self) -> bytes | None:
        """The exact body bytes."""


def created_task_id(answer: Any) -> str:
    """The task id in the answer of #2 (``instance_id``, or ``id``); empty when there is none."""
    if not isinstance(answer, dict):
        return ""
    task_id = answer.get("instance_id") or answer.get("id")
    return str(task_id) if isinstance(task_id, str | int) and not isinstance(task_id, bool) else ""


class EmulatorAdmin:
    """Synchronous client of the admin API (``/_emulator/...``).

    ``token`` is the emulator's admin token (default: ``$DCS_EMULATOR_ADMIN_TOKEN``); it goes in
    the ``X-Emulator-Token`` header of every call (of :attr:`session` too, for raw calls).
    ``repr`` hides it.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        session: Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or Session()
        self.timeout = timeout
        token = token if token is not None else os.environ.get(ADMIN_TOKEN_ENV)
        if token:
            self.session.headers[ADMIN_TOKEN_HEADER] = token

    def __repr__(self) -> str:
        return f"EmulatorAdmin({self.base_url!r})"

    def _call(
        self, method: str, path: str, payload: Any = None, params: Mapping[str, str] | None = None
    ) -> Any:
        response = self.session.request(
            method,
            f"{self.base_url}/_emulator/{path}",
            json=payload,
            params=params,
            timeout=self.timeout,
        )
        if response.status_code >= 400:
            raise RuntimeError(f"emulator admin {method} {path}: HTTP {response.status_code} {response.text}")
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        """``GET /_emulator/health``."""
        result: dict[str, Any] = self._call("GET", "health")
        return result

    def add_fault(
        self,
        *,
        action: str = "status",
        method: str | None = None,
        path: str | None = None,
        status: int = 503,
        error_code: str | None = None,
        error_msg: str | None = None,
        retry_after: float | str | None = None,
        delay: float | None = None,
        count: int | None = 1,
        when: str = "before",
        body: str | None = None,
        probability: float = 1.0,
        seed: int | None = None,
        content_type: str | None = None,
        keep_bytes: int | None = None,
    ) -> dict[str, Any]:
        """Add a fault rule; returns it with its ``id`` (see :mod:`.faults` for the semantics)."""
        rule = {
            "action": action,
            "method": method,
            "path": path,
            "status": status,
            "error_code": error_code,
            "error_msg": error_msg,
            "retry_after": retry_after,
            "delay": delay,
            "count": count,
            "when": when,
            "body": body,
            "probability": probability,
            "seed": seed,
        }
        if content_type is not None:
            rule["content_type"] = content_type
        if keep_bytes is not None:
            rule["keep_bytes"] = keep_bytes
        result: dict[str, Any] = self._call("POST", "faults", rule)
        return result

    def faults(self) -> list[dict[str, Any]]:
        """Active fault rules (with ``hits`` and ``remaining``)."""
        result: list[dict[str, Any]] = self._call("GET", "faults")["faults"]
        return result

    def remove_fault(self, fault_id: int) -> None:
        """Delete one rule."""
        self._call("DELETE", f"faults/{fault_id}")

    def clear_faults(self) -> None:
        """Delete every rule."""
        self._call("DELETE", "faults")

    def requests(self, *, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Logged API requests (``path``: regex searched in the URL path)."""
        params = {k: v for k, v in (("method", method), ("path", path)) if v}
        result: list[dict[str, Any]] = self._call("GET", "requests", params=params)["requests"]
        return result

    def count_requests(self, *, method: str | None = None, path: str | None = None) -> int:
        """How many logged requests match."""
        return len(self.requests(method=method, path=path))

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "requests")

    def reset(self) -> None:
        """Clear tasks, faults, the request log; restore startup timings."""
        self._call("POST", "reset")

    def config(self) -> dict[str, Any]:
        """Current timings and switches."""
        result: dict[str, Any] = self._call("GET", "config")
        return result

    def set_config(self, **changes: Any) -> dict[str, Any]:
        """Change timings (``create_seconds=0.2``...) or ``deleted_detail``; returns the new config."""
        result: dict[str, Any] = self._call("POST", "config", changes)
        return result

    def fail_task(self, task_id: str, error: str = "Injected failure") -> dict[str, Any]:
        """Make a task fail now with ``error``; returns its detail."""
        result: dict[str, Any] = self._call("POST", f"tasks/{task_id}/fail", {"error": error})
        return result

    def force_status(
        self,
        task_id: str,
        status: str,
        *,
        seconds: float | None = None,
        reads: int | None = None,
        skip_reads: int = 0,
    ) -> dict[str, Any]:
        """Make a task report ``status`` for ``seconds`` and/or ``reads`` detail reads (after
        ``skip_reads`` normal ones); its real lifecycle goes on underneath."""
        payload: dict[str, Any] = {"status": status, "skip_reads": skip_reads}
        if seconds is not None:
            payload["seconds"] = seconds
        if reads is not None:
            payload["reads"] = reads
        result: dict[str, Any] = self._call("POST", f"tasks/{task_id}/status", payload)
        return result

    def set_clock_skew(self, seconds: float) -> dict[str, Any]:
        """Shift the gateway's clock by ``seconds`` (positive: ahead of this machine)."""
        return self.set_config(clock_skew_seconds=seconds)

    def add_instance(
        self,
        *instance_ids: str,
        addrs: str | None = None,
        engine_version: str | None = None,
        cache_mode: str | None = None,
        max_memory_mb: int | None = None,
        status: str | None = None,
        no_password_access: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Register DCS instances (until the next reset); returns them as the emulator records them.

        ``addrs``: their ``HOST:PORT`` (a Redis Cluster: ``HOST:PORT,HOST:PORT,...``); the others
        are what "Query a DCS instance" shows (``None``: the emulator's default: ``6.0``, ``ha``
        or ``cluster``, 1024 MB, ``RUNNING``, ``False``).
        """
        extras = {
            "addrs": addrs,
            "engine_version": engine_version,
            "cache_mode": cache_mode,
            "max_memory_mb": max_memory_mb,
            "status": status,
            "no_password_access": no_password_access,
        }
        given = {key: value for key, value in extras.items() if value is not None}
        items = [{"id": instance_id, **given} for instance_id in instance_ids]
        result: list[dict[str, Any]] = self._call("POST", "instances", {"instances": items})["instances"]
        return result

    def instances(self) -> list[dict[str, Any]]:
        """The known DCS instances (``id``, ``addrs``, ``engine_version``, ``cache_mode``,
        ``max_memory_mb``, ``status``, ``no_password_access``)."""
        result: list[dict[str, Any]] = self._call("GET", "instances")["instances"]
        return result

    def remove_instance(self, instance_id: str) -> None:
        """Forget a DCS instance, as if it were deleted in the cloud."""
        self._call("DELETE", f"instances/{quote(instance_id, safe='')}")


class EmulatorApiClient:
    """Signs and sends DCS API calls to an emulator (or anything speaking the API).

    ``api`` is any endpoint with a ``method`` and a ``path`` after ``/v2/{project_id}``: one of
    :mod:`.routes`, or a client's own endpoint table. ``credentials`` is anything with
    ``access_key``, ``secret_key`` and ``security_token`` (a :class:`~.signer.Credentials`).
    """

    def __init__(
        self,
        base_url: str,
        credentials: Keys,
        project_id: str,
        *,
        session: Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.project_id = project_id
        self.session = session or Session()
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"EmulatorApiClient({self.base_url!r}, {self.credentials!r}, project_id={self.project_id!r})"

    def prepare(
        self,
        api: RouteLike,
        *,
        path_params: Mapping[str, str] | None = None,
        query: QueryParams | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        sdk_date: str | None = None,
        credentials: Keys | None = None,
        project_id: str | None = None,
    ) -> PreparedRequest:
        """Build and sign a request (JSON ``body`` or exact ``raw_body`` bytes)."""
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {
            "Content-Type": "application/json;charset=utf-8" if data else "application/json",
            "User-Agent": "dcs-emulator-testing/1.0",
            "X-Project-Id": project_id or self.project_id,
        }
        all_headers.update(headers or {})
        return prepare_signed(
            method=api.method,
            base_url=self.base_url,
            path=render(api, project_id or self.project_id, path_params),
            query=query,
            headers=all_headers,
            body=data,
            credentials=credentials or self.credentials,
            sdk_date=sdk_date or now_sdk_date(),
        )

    def send(self, prepared: PreparedLike, *, timeout: float | None = None) -> Response:
        """Send a prepared request exactly as prepared."""
        return self.session.request(
            prepared.method,
            prepared.url,
            headers=prepared.headers,
            data=prepared.body,
            timeout=timeout or self.timeout,
        )

    def call(self, api: RouteLike, *, timeout: float | None = None, **kwargs: Any) -> Response:
        """``prepare`` + ``send``."""
        return self.send(self.prepare(api, **kwargs), timeout=timeout)

    def detail(self, task_id: str) -> dict[str, Any]:
        """GET detail; raises ``AssertionError`` unless HTTP 200."""
        response = self.call(routes.SHOW_TASK, path_params={"task_id": task_id})
        if response.status_code != 200:
            raise AssertionError(f"detail of {task_id}: HTTP {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result

    def create_ready_task(
        self,
        name: str = "migration",
        *,
        vpc_id: str = "vpc-test",
        subnet_id: str = "subnet-test",
        security_group_id: str = "sg-test",
        timeout: float = 20.0,
    ) -> str:
        """Create an online migration task and wait until it is ready to configure; its id."""
        body = {
            "name": name,
            "vpc_id": vpc_id,
            "subnet_id": subnet_id,
            "security_group_id": security_group_id,
        }
        response = self.call(routes.CREATE_ONLINE_TASK, body=body)
        task_id = created_task_id(response.json()) if response.status_code == 200 else ""
        if not task_id:
            raise AssertionError(f"create {name}: HTTP {response.status_code} {response.text}")
        self.wait_for_status(task_id, RUNNING, timeout=timeout)
        return task_id

    def wait_for_status(self, task_id: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll the detail until its status is one of ``statuses``; returns the detail."""
        deadline = time.monotonic() + timeout
        while True:
            detail = self.detail(task_id)
            if detail["status"] in statuses:
                return detail
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"task {task_id} still {detail['status']} after {timeout} s (wanted {statuses})"
                )
            time.sleep(0.05)
