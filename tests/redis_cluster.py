"""A real local Redis Cluster of three primaries (``redis-server --cluster-enabled yes``).

:class:`LocalCluster` starts three password-protected servers, splits the 16,384 slots between
them (``CLUSTER ADDSLOTSRANGE``), joins them (``CLUSTER MEET``) and waits for
``cluster_state:ok``. ``client()`` gives redis-py's cluster client. A pytest plugin:
``pytest_plugins = ["redis_cluster"]`` gives the session fixture ``redis_cluster`` (emptied
before each test that takes ``redis_cluster_empty``).
"""

from __future__ import annotations

import random
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from huaweicloud_dcs_emulator.local_redis import RedisServer, RedisServerMissing

SLOTS = 16384


def cluster_port() -> int:
    """A free port P <= 55535 whose bus port P + 10000 is free too (Redis Cluster needs both)."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20_000, 55_000)
        try:
            with socket.socket() as first, socket.socket() as bus:
                first.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10_000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class ClusterNodeServer(RedisServer):
    """A :class:`RedisServer` on a port a cluster node can use."""

    def _write_config(self, directory: Path, port: int) -> Path:
        self.port = cluster_port()
        return super()._write_config(directory, self.port)


class LocalCluster:
    """Three primaries on 127.0.0.1, no replicas (a context manager)."""

    def __init__(self, *, password: str | None = None, size: int = 3) -> None:
        self.password = password
        self.size = size
        self.servers: list[RedisServer] = []

    def __repr__(self) -> str:
        return f"LocalCluster({self.addrs})"

    @property
    def addrs(self) -> str:
        """``127.0.0.1:P1,127.0.0.1:P2,...``: the ``addrs`` of a migration endpoint."""
        return ",".join(server.addrs for server in self.servers)

    def start(self) -> LocalCluster:
        config = ["cluster-enabled yes", "cluster-node-timeout 5000", "cluster-config-file nodes.conf"]
        if self.password:
            config.append(f'masterauth "{self.password}"')
        try:
            for _ in range(self.size):
                self.servers.append(ClusterNodeServer(password=self.password, extra_config=config).start())
            per = SLOTS // self.size
            for index, server in enumerate(self.servers):
                last = SLOTS - 1 if index == self.size - 1 else (index + 1) * per - 1
                with server.client() as client:
                    client.execute_command("CLUSTER", "ADDSLOTSRANGE", index * per, last)
            with self.servers[0].client() as first:
                for server in self.servers[1:]:
                    first.execute_command("CLUSTER", "MEET", server.host, server.port)
            self._wait_ok()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ok(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = []
            for server in self.servers:
                with server.client() as client:
                    info = client.execute_command("CLUSTER", "INFO")
                    text = info.decode() if isinstance(info, bytes) else str(info)
                    states.append("cluster_state:ok" in text and f"cluster_known_nodes:{self.size}" in text)
            if all(states):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the local cluster {self.addrs} did not reach cluster_state:ok")

    def client(self, **kwargs: Any) -> RedisCluster:
        """redis-py's cluster client."""
        return RedisCluster(
            startup_nodes=[ClusterNode(s.host, s.port) for s in self.servers],  # type: ignore[no-untyped-call]
            password=self.password,
            **kwargs,
        )

    def flushall(self) -> None:
        """Empty every primary."""
        for server in self.servers:
            with server.client() as client:
                client.flushall()

    def stop(self) -> None:
        """Stop every server."""
        for server in self.servers:
            server.stop()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """A three-primary cluster for the session (random password)."""
    try:
        cluster = LocalCluster(password=f"cl-{secrets.token_urlsafe(12)}").start()
    except RedisServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    except redis.RedisError as exc:
        pytest.fail(f"the local cluster did not start: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_cluster_empty(redis_cluster: LocalCluster) -> LocalCluster:
    """The session's cluster, emptied."""
    redis_cluster.flushall()
    return redis_cluster
