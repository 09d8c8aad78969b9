"""Local ``redis-server`` processes on 127.0.0.1: for the demo, the tests and offline DAG work.

:class:`RedisServer` starts ``redis-server`` on a free loopback port in its own temporary
directory (no RDB/AOF persistence, optional password), waits until it answers ``PING`` and stops
it with ``SHUTDOWN NOSAVE`` (then SIGTERM/SIGKILL if needed). The settings go through a config file
of mode 0600, so the password is not visible in ``ps``::

    with RedisServer(password="s3cret") as server:
        server.client(db=3).set("k", "v")
        server.addrs  # "127.0.0.1:41234"

Needs the ``redis`` client package (a dependency of this distribution) and Debian's ``redis-server``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

DEFAULT_BINARY = "/usr/bin/redis-server"
INSTALL_HINT = "apt-get install redis-server"


class RedisServerMissing(RuntimeError):
    """``redis-server`` is not installed."""


def redis_server_binary() -> str:
    """Path of ``redis-server``; :class:`RedisServerMissing` (saying how to install it) if absent."""
    found = shutil.which("redis-server")
    if found:
        return found
    if os.access(DEFAULT_BINARY, os.X_OK):
        return DEFAULT_BINARY
    raise RedisServerMissing(
        f"redis-server is not installed (not on PATH, not at {DEFAULT_BINARY}); "
        f"the real-migration tests need it: {INSTALL_HINT}"
    )


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config_line(line: str) -> str:
    """One ``redis.conf`` line of ``extra_config``: a string without a line break."""
    if not isinstance(line, str) or not line.strip() or "\n" in line or "\r" in line:
        raise ValueError(f"extra_config lines are single non-empty redis.conf lines, not {line!r}")
    return line.strip()


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1 (a context manager). ``repr`` hides the password."""

    def __init__(
        self,
        *,
        password: str | None = None,
        binary: str | None = None,
        startup_timeout: float = 10.0,
        extra_config: Sequence[str] = (),
    ) -> None:
        """``extra_config``: more ``redis.conf`` lines, written after the defaults (a later line
        wins), e.g. ``["repl-timeout 30", 'rename-command SYNC ""', "cluster-enabled yes"]``."""
        self.password = password
        self.extra_config = tuple(_config_line(line) for line in extra_config)
        self.binary = binary
        self.startup_timeout = startup_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None

    def __repr__(self) -> str:
        secret = ", password=***" if self.password else ""
        return f"RedisServer({self.host}:{self.port}{secret}, running={self.running})"

    @property
    def addrs(self) -> str:
        """``127.0.0.1:PORT``, the ``addrs`` of a DCS migration endpoint."""
        return f"{self.host}:{self.port}"

    def endpoint(self) -> dict[str, str]:
        """``{"addrs": ..., "password": ...}`` for ``source_instance``/``target_instance``."""
        result = {"addrs": self.addrs}
        if self.password:
            result["password"] = self.password
        return result

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def client(self, db: int = 0, **kwargs: Any) -> redis.Redis:
        """A binary-safe synchronous client of database ``db`` (no retries: errors show at once)."""
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        return redis.Redis(
            host=self.host, port=self.port, db=db, password=self.password, protocol=2, **kwargs
        )

    def log_text(self) -> str:
        """The server's log so far."""
        if self._dir is None or not (self._dir / "redis.log").exists():
            return ""
        return (self._dir / "redis.log").read_text(errors="replace")

    def _write_config(self, directory: Path, port: int) -> Path:
        lines = [
            f"port {port}",
            f"bind {self.host}",
            'save ""',
            "appendonly no",
            f'dir "{directory}"',
            "daemonize no",
            'logfile ""',
            "databases 16",
        ]
        if self.password:
            lines.append(f'requirepass "{self.password}"')
        lines.extend(self.extra_config)
        path = directory / "redis.conf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        return path

    def start(self, attempts: int = 5) -> RedisServer:
        """Start on a free port (another one if the port was taken meanwhile); wait for ``PING``."""
        if self._proc is not None:
            raise RuntimeError("redis-server already started")
        binary = self.binary or redis_server_binary()
        last = ""
        for _ in range(attempts):
            self._dir = Path(tempfile.mkdtemp(prefix="dcs-redis-"))
            self.port = free_port()
            config = self._write_config(self._dir, self.port)
            with open(self._dir / "redis.log", "wb") as log_file:
                self._proc = subprocess.Popen(  # noqa: S603 - our own binary and config file
                    [binary, str(config)], stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
                )
            if self._wait_ready():
                return self
            last = self.log_text()
            self.stop()
            if "Address already in use" not in last:
                break
        raise RuntimeError(f"redis-server did not start:\n{last}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with self.client(socket_connect_timeout=0.5, socket_timeout=1) as client:
                    if client.ping():
                        return True
            except redis.ConnectionError:
                pass
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """``SHUTDOWN NOSAVE``, then SIGTERM/SIGKILL if it is still running; remove the directory."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                with self.client(socket_connect_timeout=1, socket_timeout=2) as client:
                    client.shutdown(nosave=True)
            except redis.RedisError:
                pass  # the server closes the connection while shutting down
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def flushall(self) -> None:
        """Empty every database and switch keyspace notifications off again."""
        with self.client() as client:
            client.flushall()
            client.config_set("notify-keyspace-events", "")

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def fill_sample_data(server: RedisServer, keys: int = 20_000, dbs: tuple[int, ...] = (0, 1)) -> int:
    """Write ``keys`` sample keys of the common types (a third with a TTL) spread over ``dbs``.

    Returns the number of keys written. Used by the demo to give the migration real data to move.
    """
    written = 0
    per_db = max(1, keys // len(dbs))
    for db in dbs:
        client = server.client(db=db)
        with client.pipeline(transaction=False) as pipe:
            for i in range(per_db):
                kind = i % 5
                key = f"demo:{db}:{kind}:{i}"
                if kind == 0:
                    pipe.set(key, f"value-{i}")
                elif kind == 1:
                    pipe.hset(key, mapping={"id": i, "name": f"user-{i}"})
                elif kind == 2:
                    pipe.rpush(key, *[f"item-{j}" for j in range(3)])
                elif kind == 3:
                    pipe.sadd(key, *[f"member-{j}" for j in range(3)])
                else:
                    pipe.zadd(key, {f"player-{j}": j for j in range(3)})
                if i % 3 == 0:
                    pipe.expire(key, 3600 + i % 600)
                if i % 1000 == 999:
                    pipe.execute()
            pipe.execute()
        client.close()
        written += per_db
    return written


def key_counts(server: RedisServer) -> dict[int, int]:
    """Keys per database, from ``INFO keyspace`` (databases with no key are left out)."""
    with server.client() as client:
        info = client.info("keyspace")
    return {
        int(str(name)[2:]): int(stats["keys"]) for name, stats in info.items() if str(name).startswith("db")
    }
