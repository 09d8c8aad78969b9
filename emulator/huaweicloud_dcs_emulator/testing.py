"""Helpers for tests: run the emulator as a subprocess, drive its admin API, send signed calls.

``EmulatorProcess`` starts ``python -m huaweicloud_dcs_emulator --port 0`` with given or
random credentials and admin token (passed through the environment, never on the command line),
waits until it answers ``/_emulator/health`` and stops it cleanly; its admin client sends the
admin token by itself::

    with EmulatorProcess(config=FAST_TIMINGS) as emulator:
        admin = emulator.admin()
        admin.add_fault(path=r"/stats$", status=503, count=2)
        os.environ["AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT"] = emulator.conn_uri_json()

``EmulatorAdmin`` (a client of the admin API) and ``EmulatorApiClient`` (signed DCS API calls)
live in :mod:`.clients`; :meth:`EmulatorProcess.admin` and :meth:`EmulatorProcess.api` make them.
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
from requests import Session

from huaweicloud_dcs_emulator.clients import EmulatorAdmin, EmulatorApiClient
from huaweicloud_dcs_emulator.connection import connection_document
from huaweicloud_dcs_emulator.routes import ADMIN_TOKEN_ENV, ADMIN_TOKEN_HEADER
from huaweicloud_dcs_emulator.signer import Credentials

__all__ = [
    "FAST_TIMINGS",
    "EmulatorAdmin",
    "EmulatorApiClient",
    "EmulatorProcess",
    "TlsFiles",
    "random_admin_token",
    "random_credentials",
    "random_security_token",
]

#: Timings for fast tests (seconds).
FAST_TIMINGS: dict[str, float] = {
    "create_seconds": 0.5,
    "full_seconds": 1.5,
    "stop_seconds": 0.5,
    "fail_seconds": 0.3,
    "job_seconds": 0.3,
    "exchange_seconds": 0.3,
    "release_after_seconds": 2.0,
}


def random_admin_token() -> str:
    """A random admin token."""
    return secrets.token_urlsafe(32)


def random_credentials() -> tuple[str, str, str]:
    """``(access_key, secret_key, project_id)``, random."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    access_key = "".join(secrets.choice(alphabet) for _ in range(20))
    return access_key, secrets.token_urlsafe(30), secrets.token_hex(16)


def random_security_token() -> str:
    """A random, long security token (real ones are a few hundred characters)."""
    return secrets.token_urlsafe(96)


class TlsFiles(NamedTuple):
    """PEM files for an HTTPS emulator: its certificate chain and key, and the CA clients trust."""

    cert: Path
    key: Path
    ca: Path


class EmulatorProcess:
    """The emulator in a subprocess on a free port (a context manager).

    Credentials and the admin token are random unless given. ``config`` sets the startup
    configuration (``FAST_TIMINGS`` for tests; any config key, e.g. ``time_scale``);
    ``instances`` the DCS instances it knows from the start (``--instance`` specs: ids,
    ``ID=HOST:PORT``, ``ID=HOST:PORT,HOST:PORT;cache_mode=cluster;engine_version=5.0``...);
    ``reset`` through the admin API restores both. ``repr`` hides the secret key and the admin token.

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
        instances: Sequence[str] = (),
        admin_token: str | None = None,
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
        self.instances = tuple(instances)
        self.admin_token = admin_token or random_admin_token()
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
            "huaweicloud_dcs_emulator",
            "--host",
            self.host,
            "--port",
            "0",
            "--ready-file",
            str(ready_file),
        ]
        for key, value in self.config.items():
            cmd += [f"--{key.replace('_', '-')}", str(value)]
        for instance in self.instances:
            cmd += ["--instance", instance]
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
        env[ADMIN_TOKEN_ENV] = self.admin_token
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
                        self.port = int(json.loads(text)["port"])
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
                headers = {ADMIN_TOKEN_HEADER: self.admin_token}
                if _requests.get(url, headers=headers, timeout=2, verify=self.verify).status_code == 200:
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

    def credentials(self) -> Credentials:
        """The credentials the emulator accepts."""
        return Credentials(self.access_key, self.secret_key, self.security_token)

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
        """An admin API client (it sends the admin token)."""
        return EmulatorAdmin(self.base_url, token=self.admin_token, session=self._session(), timeout=timeout)

    def api(self, *, timeout: float = 10.0) -> EmulatorApiClient:
        """A signed DCS API client with this emulator's credentials."""
        return EmulatorApiClient(
            self.base_url, self.credentials(), self.project_id, session=self._session(), timeout=timeout
        )
