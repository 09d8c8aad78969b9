"""Real ``redis-server`` processes for tests (a pytest plugin: ``pytest_plugins = ["redis_servers"]``).

:class:`RedisServer` starts ``redis-server`` on a free loopback port in its own temporary
directory (no RDB/AOF persistence, optional password), waits until it answers ``PING`` and stops
it with ``SHUTDOWN NOSAVE`` (then SIGTERM/SIGKILL if needed). The settings go through a config file
of mode 0600, so the password is not visible in ``ps``::

    with RedisServer(password="s3cret") as server:
        server.client(db=3).set("k", "v")
        server.addrs  # "127.0.0.1:41234"

Fixtures:

* ``redis_pair``: a :class:`RedisPair` (``.source``, ``.target``), each with its own random
  password; started once per session, both emptied (``FLUSHALL``) before each test.
* ``redis_server_factory``: ``factory(password=None, extra_config=())`` starts extra servers
  (``extra_config``: more ``redis.conf`` lines), stopped after the test.
* ``unused_port``: a loopback port nothing listens on (for "connection refused").
* ``figures``: :func:`record_figure`.

If ``redis-server`` is not installed the fixtures **fail** (they do not skip): CI installs it
(``apt-get install redis-server``).

:func:`record_figure` collects lines (timings, key counts) that are printed in the terminal
summary, under "real Redis migration figures".
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from huaweicloud_dcs_emulator.local_redis import (
    INSTALL_HINT,
    RedisServer,
    RedisServerMissing,
    free_port,
    redis_server_binary,
)

__all__ = [
    "INSTALL_HINT",
    "RedisServer",
    "RedisServerMissing",
    "free_port",
    "record_figure",
    "redis_server_binary",
]

_FIGURES: list[str] = []


def record_figure(line: str) -> None:
    """Remember ``line`` for the terminal summary (and print it, for ``-s``)."""
    _FIGURES.append(line)
    print(line)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the recorded figures after the test run."""
    if _FIGURES:
        terminalreporter.section("real Redis migration figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@dataclass(frozen=True)
class RedisPair:
    """A migration source and target, both password-protected."""

    source: RedisServer
    target: RedisServer

    def flushall(self) -> None:
        """Empty both."""
        self.source.flushall()
        self.target.flushall()


def _start_or_fail(password: str | None, extra_config: Sequence[str] = ()) -> RedisServer:
    try:
        return RedisServer(password=password, extra_config=extra_config).start()
    except RedisServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def redis_session_pair() -> Iterator[RedisPair]:
    """Source and target servers for the whole session (random passwords)."""
    source = _start_or_fail(f"src-{secrets.token_urlsafe(12)}")
    try:
        target = _start_or_fail(f"dst-{secrets.token_urlsafe(12)}")
    except BaseException:
        source.stop()
        raise
    try:
        yield RedisPair(source=source, target=target)
    finally:
        source.stop()
        target.stop()


@pytest.fixture
def redis_pair(redis_session_pair: RedisPair) -> RedisPair:
    """The session's source and target, both emptied before the test."""
    redis_session_pair.flushall()
    return redis_session_pair


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[..., RedisServer]]:
    """``factory(password=None, extra_config=())`` starts an extra server (``extra_config``: more
    ``redis.conf`` lines, e.g. ``['rename-command SYNC ""']``); all are stopped after the test."""
    started: list[RedisServer] = []

    def factory(password: str | None = None, extra_config: Sequence[str] = ()) -> RedisServer:
        server = _start_or_fail(password, extra_config)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port nothing listens on (a moment ago)."""
    return free_port()


@pytest.fixture
def figures() -> Callable[[str], None]:
    """:func:`record_figure`: lines for the "real Redis migration figures" summary."""
    return record_figure
