"""Helpers for tests: run the emulator as a subprocess, drive its admin API, send signed calls.

``EmulatorProcess`` starts ``python -m huaweicloud_dcs_provider.emulator --port 0`` with given or
random credentials (passed through the environment, never on the command line), waits until it
answers ``/_emulator/health`` and stops it cleanly::

    with EmulatorProcess(config=FAST_TIMINGS) as emulator:
        admin = emulator.admin()
        admin.add_fault(path=r"/stats$", status=503, count=2)
        os.environ["AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT"] = emulator.conn_uri_json()

``EmulatorAdmin`` is a small synchronous ``requests`` client of the admin API;
``EmulatorApiClient`` signs and sends DCS API calls (with :func:`signing.prepare_signed`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import requests as _requests
from requests import Response, Session

from huaweicloud_dcs_provider import calls, signing
from huaweicloud_dcs_provider.emulator.auth import connection_document
from huaweicloud_dcs_provider.endpoints import Api, Endpoint

#: Timings for fast tests (seconds).
FAST_TIMINGS: dict[str, float] = {
    "create_seconds": 0.5,
    "full_seconds": 1.5,
    "stop_seconds": 0.5,
    "fail_seconds": 0.3,
    "job_seconds": 0.3,
    "exchange_seconds": 0.3,
}


def random_credentials() -> tuple[str, str, str]:
    """``(access_key, secret_key, project_id)``, random."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    access_key = "".join(secrets.choice(alphabet) for _ in range(20))
    return access_key, secrets.token_urlsafe(30), secrets.token_hex(16)


def random_security_token() -> str:
    """A random, long security token (real ones are a few hundred characters)."""
    return secrets.token_urlsafe(96)


class EmulatorAdmin:
    """Synchronous client of the admin API (``/_emulator/...``, unsigned)."""

    def __init__(self, base_url: str, *, session: Session | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or Session()
        self.timeout = timeout

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


class EmulatorApiClient:
    """Signs and sends DCS API calls to an emulator (or anything speaking the API)."""

    def __init__(
        self,
        base_url: str,
        credentials: signing.Credentials,
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
        api: Endpoint,
        *,
        path_params: Mapping[str, str] | None = None,
        query: signing.QueryParams | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        sdk_date: str | None = None,
        credentials: signing.Credentials | None = None,
        project_id: str | None = None,
    ) -> signing.PreparedAsyncRequest:
        """Build and sign a request (JSON ``body`` or exact ``raw_body`` bytes)."""
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {
            "Content-Type": "application/json;charset=utf-8" if data else "application/json",
            "User-Agent": "dcs-emulator-testing/1.0",
            "X-Project-Id": project_id or self.project_id,
        }
        all_headers.update(headers or {})
        return signing.prepare_signed(
            method=api.method,
            base_url=self.base_url,
            path=api.render(project_id or self.project_id, **dict(path_params or {})),
            query=query,
            headers=all_headers,
            body=data,
            credentials=credentials or self.credentials,
            sdk_date=sdk_date or signing.now_sdk_date(),
        )

    def send(self, prepared: signing.PreparedAsyncRequest, *, timeout: float | None = None) -> Response:
        """Send a prepared request exactly as prepared."""
        return self.session.request(
            prepared.method,
            prepared.url,
            headers=prepared.headers,
            data=prepared.body,
            timeout=timeout or self.timeout,
        )

    def call(self, api: Endpoint, *, timeout: float | None = None, **kwargs: Any) -> Response:
        """``prepare`` + ``send``."""
        return self.send(self.prepare(api, **kwargs), timeout=timeout)

    def detail(self, task_id: str) -> dict[str, Any]:
        """GET detail; raises ``AssertionError`` unless HTTP 200."""
        response = self.call(Api.SHOW_TASK, path_params={"task_id": task_id})
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
        call = calls.create_online_task(
            name=name, vpc_id=vpc_id, subnet_id=subnet_id, security_group_id=security_group_id
        )
        response = self.call(call.api, body=call.body)
        task_id = str(call.parse(response.json())["task_id"]) if response.status_code == 200 else ""
        if not task_id:
            raise AssertionError(f"create {name}: HTTP {response.status_code} {response.text}")
        self.wait_for_status(task_id, "RUNNING", timeout=timeout)
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


class TlsFiles(NamedTuple):
    """PEM files for an HTTPS emulator: its certificate chain and key, and the CA clients trust."""

    cert: Path
    key: Path
    ca: Path


class EmulatorProcess:
    """The emulator in a subprocess on a free port (a context manager).

    Credentials are random unless given. ``config`` sets the startup timings (``FAST_TIMINGS``
    for tests); ``reset`` through the admin API restores them. ``repr`` hides the secret key.

    Every migration is simulated (``--simulate-only``) unless ``real_migration=True``: tests and
    demos use placeholder addresses such as ``127.0.0.1:6379`` that nothing listens on. With
    ``real_migration=True``, tasks between two loopback Redis ``addrs`` copy keys for real.

    With ``tls=TlsFiles(cert, key, ca)`` the emulator serves HTTPS (``base_url`` is ``https://``);
    the admin and API clients trust ``ca`` and so does :meth:`conn_dict` (extra ``ca_bundle``).
    """

    def __init__(
        self,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        project_id: str | None = None,
        security_token: str | None = None,
        config: Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        startup_timeout: float = 30.0,
        python: str | None = None,
        extra_args: Sequence[str] = (),
        real_migration: bool = False,
        tls: TlsFiles | None = None,
    ) -> None:
        ak, sk, project = random_credentials()
        self.access_key = access_key or ak
        self.secret_key = secret_key or sk
        self.project_id = project_id or project
        self.security_token = security_token
        self.config = dict(config or {})
        self.host = host
        self.startup_timeout = startup_timeout
        self.python = python or sys.executable
        self.extra_args = tuple(extra_args)
        self.real_migration = real_migration
        self.tls = tls
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    def __repr__(self) -> str:
        token = ", security_token=***" if self.security_token else ""
        return (
            f"EmulatorProcess(base_url={self.base_url if self.port else None!r}, "
            f"access_key={self.access_key!r}, secret_key=***{token}, project_id={self.project_id!r})"
        )

    # ---------------------------------------------------------------- lifecycle

    def _command(self, ready_file: Path) -> list[str]:
        cmd = [
            self.python,
            "-m",
            "huaweicloud_dcs_provider.emulator",
            "--host",
            self.host,
            "--port",
            "0",
            "--ready-file",
            str(ready_file),
        ]
        for key, value in self.config.items():
            cmd += [f"--{key.replace('_', '-')}", str(value)]
        if not self.real_migration:
            cmd.append("--simulate-only")
        if self.tls is not None:
            cmd += ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)]
        return cmd + list(self.extra_args)

    def start(self) -> EmulatorProcess:
        """Start the subprocess and wait until it is healthy."""
        if self._proc is not None:
            raise RuntimeError("emulator already started")
        self._dir = Path(tempfile.mkdtemp(prefix="dcs-emulator-"))
        ready_file = self._dir / "ready"
        env = dict(os.environ)
        env["DCS_EMULATOR_ACCESS_KEY"] = self.access_key
        env["DCS_EMULATOR_SECRET_KEY"] = self.secret_key
        env["DCS_EMULATOR_PROJECT_ID"] = self.project_id
        env.pop("DCS_EMULATOR_SECURITY_TOKEN", None)
        if self.security_token:
            env["DCS_EMULATOR_SECURITY_TOKEN"] = self.security_token
        with open(self._dir / "emulator.log", "wb") as log_file:
            self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                self._command(ready_file),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + self.startup_timeout
        try:
            while True:
                if self._proc.poll() is not None:
                    raise RuntimeError(f"emulator exited with {self._proc.returncode}:\n{self.log_text()}")
                if ready_file.exists():
                    text = ready_file.read_text().strip()
                    if text:
                        self.port = int(text)
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"emulator not ready after {self.startup_timeout} s:\n{self.log_text()}"
                    )
                time.sleep(0.02)
            self._wait_healthy(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, deadline: float) -> None:
        while True:
            try:
                url = f"{self.base_url}/_emulator/health"
                if _requests.get(url, timeout=2, verify=self.verify).status_code == 200:
                    return
            except _requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"emulator not healthy:\n{self.log_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the subprocess (SIGTERM, then SIGKILL after 5 s) and remove its temp files."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while the subprocess is alive."""
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        """The subprocess's output so far (never contains the secret key or token)."""
        if self._dir is None:
            return ""
        path = self._dir / "emulator.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ---------------------------------------------------------------- access

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with ``tls``)."""
        if self.port is None:
            raise RuntimeError("emulator not started")
        return f"{'https' if self.tls is not None else 'http'}://{self.host}:{self.port}"

    @property
    def verify(self) -> bool | str:
        """``requests``' ``verify`` for this emulator: the CA of ``tls``, else ``True``."""
        return str(self.tls.ca) if self.tls is not None else True

    def _session(self) -> Session:
        session = Session()
        if self.tls is not None:
            session.verify = self.verify
            session.trust_env = False  # else $REQUESTS_CA_BUNDLE would win over session.verify
        return session

    def credentials(self) -> signing.Credentials:
        """The credentials the emulator accepts."""
        return signing.Credentials(self.access_key, self.secret_key, self.security_token)

    def conn_dict(self) -> dict[str, object]:
        """The Airflow connection as a dict (with ``tls``: extra ``ca_bundle`` trusts its CA)."""
        document = connection_document(
            base_url=self.base_url,
            access_key=self.access_key,
            secret_key=self.secret_key,
            project_id=self.project_id,
            security_token=self.security_token,
        )
        if self.tls is not None:
            document["extra"] = {**dict(document["extra"]), "ca_bundle": str(self.tls.ca)}  # type: ignore[call-overload]
        return document

    def conn_uri_json(self) -> str:
        """The value for ``AIRFLOW_CONN_<CONN_ID>`` (Airflow's JSON connection format)."""
        return json.dumps(self.conn_dict())

    def admin(self, *, timeout: float = 10.0) -> EmulatorAdmin:
        """An admin API client."""
        return EmulatorAdmin(self.base_url, session=self._session(), timeout=timeout)

    def api(self, *, timeout: float = 10.0) -> EmulatorApiClient:
        """A signed DCS API client with this emulator's credentials."""
        return EmulatorApiClient(
            self.base_url, self.credentials(), self.project_id, session=self._session(), timeout=timeout
        )
