"""A throw-away PostgreSQL cluster for the distributed e2e deployment: Debian's ``postgresql``.

:class:`PostgresServer` runs ``initdb`` into a new temporary directory, starts ``postgres`` on a
free loopback port (TCP only, no Unix socket), password authentication (SCRAM) for one
superuser, and creates one database; on exit it stops the server (``pg_ctl stop -m fast``, then
SIGKILL) and removes the directory::

    with PostgresServer() as pg:
        pg.sqlalchemy_url  # postgresql+psycopg2://airflow:<password>@127.0.0.1:<port>/airflow

PostgreSQL refuses to run as root: when the tests run as root the cluster belongs to the
``postgres`` system user (created by the Debian package) and its directory lives outside the
tests' private temporary folders, which that user cannot enter.

The cluster trades durability for speed (``fsync``, ``synchronous_commit`` and
``full_page_writes`` off): it lives for one test module and is never reused.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

INSTALL_HINT = "apt-get install postgresql (scripts/ensure_postgres.sh)"
SERVICE_USER = "postgres"
#: Enough for the api-server, scheduler, dag-processor, two triggerers, two Celery workers with
#: their task processes and the Celery result backend, each with its own connection pool.
MAX_CONNECTIONS = 400


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries are not installed."""


def postgres_bindir() -> Path:
    """Where ``initdb``, ``pg_ctl`` and ``postgres`` are (the newest Debian version, else PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for candidate in reversed(candidates):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise PostgresMissing(f"PostgreSQL's initdb is not installed: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1 (a context manager). ``repr`` hides the password.

    :param database: the database created for the caller.
    :param user: its owner, a superuser with a random password.
    """

    def __init__(
        self, *, database: str = "airflow", user: str = "airflow", startup_timeout: float = 60.0
    ) -> None:
        self.database = database
        self.user = user
        self.password = secrets.token_urlsafe(18)
        self.startup_timeout = startup_timeout
        self.bindir = postgres_bindir()
        self.port = 0
        self.root: Path | None = None
        self._run_as: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"PostgresServer(port={self.port}, database={self.database!r}, root={str(self.root)!r})"

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (``PGDATA``)."""
        assert self.root is not None, "not started"
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        assert self.root is not None, "not started"
        return self.root / "postgres.log"

    @property
    def sqlalchemy_url(self) -> str:
        """``postgresql+psycopg2://...`` of the database, for ``[database] sql_alchemy_conn``."""
        return f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def celery_result_backend(self) -> str:
        """The same database as a Celery result backend (``db+postgresql://...``)."""
        return f"db+postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def connect(self, **kwargs: Any) -> Any:
        """A new psycopg2 connection to the database (the caller closes it)."""
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=kwargs.pop("dbname", self.database),
            connect_timeout=10,
            **kwargs,
        )

    def _pg(self, tool: str, *args: str, timeout: float = 120.0) -> str:
        result = subprocess.run(
            [str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd="/",
            **self._run_as,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def start(self) -> PostgresServer:
        """``initdb``, start the server, create the database; waits until it accepts connections."""
        self.root = Path(tempfile.mkdtemp(prefix="dcs-e2e-pg-"))
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SERVICE_USER)
            except KeyError as exc:
                raise PostgresMissing(
                    f"no {SERVICE_USER!r} user to run PostgreSQL as root: {INSTALL_HINT}"
                ) from exc
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self._run_as:
            os.chown(pwfile, self._run_as["user"], self._run_as["group"])
        try:
            self._pg(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            )
            pwfile.unlink()
            last_error = ""
            for _ in range(5):  # the port may be taken between choosing it and binding it
                self.port = _free_port()
                options = (
                    f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
                    f"-c max_connections={MAX_CONNECTIONS} -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off -c shared_buffers=128MB"
                )
                try:
                    self._pg(
                        "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options,
                        "-w", "-t", str(int(self.startup_timeout)), "start",
                    )  # fmt: skip
                    break
                except RuntimeError as exc:
                    last_error = f"{exc}\n{self.log_tail()}"
            else:
                raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")
            self._create_database()
        except BaseException:
            self.stop()
            raise
        return self

    def _create_database(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                connection = self.connect(dbname="postgres")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{self.database}" OWNER "{self.user}"')
        finally:
            connection.close()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AssertionError):
            return ""

    def stop(self) -> None:
        """Stop the server and remove its directory (idempotent)."""
        if self.root is None:
            return
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            try:
                self._pg(
                    "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "20", "stop", timeout=30
                )
            except (RuntimeError, subprocess.TimeoutExpired):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    os.kill(int(pid_file.read_text().splitlines()[0]), 9)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
