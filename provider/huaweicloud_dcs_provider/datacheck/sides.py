"""One side of a migration as this worker reaches it, and a connection to it.

An :class:`Endpoint` says where a side answers (``host:port`` pairs), with its password kept out
of ``repr``. :func:`open_side` connects and finds out what it is: a single Redis (any database)
or a Redis Cluster (database 0 only; commands are routed by slot through redis-py's
``RedisCluster``, and key enumeration visits every primary). Both are used the same way through
:class:`Side`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.exceptions import DcsError

#: Seconds for each connection attempt and command, unless the operator says otherwise.
DEFAULT_SOCKET_TIMEOUT = 10.0
#: Retries of a command that lost its connection or timed out (after the first contact, which is
#: never retried: a wrong address or password fails at once).
DEFAULT_RETRIES = 2


class SideError(DcsError):
    """A side could not be used. ``kind``: ``unreachable``, ``refused`` (the password) or ``error``."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def split_addrs(parameter: str, addrs: str) -> tuple[tuple[str, int], ...]:
    """``host:port[,host:port...]`` as ``((host, port), ...)`` (IPv6 hosts without brackets)."""
    checked = v.addrs(parameter, addrs)
    pairs = []
    for part in (p.strip() for p in checked.split(",") if p.strip()):
        host, _, port = part.rpartition(":")
        pairs.append((host.strip("[]"), int(port)))
    return tuple(pairs)


@dataclass(frozen=True)
class Endpoint:
    """Where one side answers: ``label`` ("source"/"target"), its nodes, its password.

    :param label: how messages name this side.
    :param nodes: ``(host, port)`` of each node given (one is enough for a cluster).
    :param password: the Redis password, or ``None`` (never shown by ``repr``).
    :param instance_id: the DCS instance id, when the side is a DCS instance.
    :param cache_mode: the DCS instance's ``cache_mode`` (``cluster``, ``proxy``, ...), if known.
    :param engine_version: the DCS instance's engine version, if known.
    """

    label: str
    nodes: tuple[tuple[str, int], ...]
    password: str | None = field(default=None, repr=False)
    instance_id: str | None = None
    cache_mode: str | None = None
    engine_version: str | None = None

    @property
    def addrs(self) -> str:
        """``host:port[,...]`` (no password)."""
        return ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.nodes)

    def describe(self) -> str:
        """``the source (DCS instance X, 10.0.0.1:6379)``: never the password."""
        where = (
            f"DCS instance {self.instance_id}, {self.addrs}" if self.instance_id else f"Redis {self.addrs}"
        )
        return f"the {self.label} ({where})"


def endpoint_from_instance(label: str, instance: Mapping[str, Any], *, resolve_id: Any = None) -> Endpoint:
    """An :class:`Endpoint` from a resolved instance mapping (``addrs`` or ``id``, ``password``).

    :param resolve_id: ``resolve_id(instance_id)`` gives the DCS instance record
        (:class:`~huaweicloud_dcs_provider.api.models.DcsInstance`); needed for ``id``.
    """
    password = instance.get("password") or None
    if instance.get("addrs"):
        return Endpoint(label, split_addrs(f"{label}_instance.addrs", str(instance["addrs"])), password)
    instance_id = instance.get("id")
    if not instance_id:
        raise DcsError(f"the {label} has neither 'addrs' nor 'id'")
    if resolve_id is None:
        raise DcsError(f"the {label} is DCS instance {instance_id}: its address cannot be looked up here")
    record = resolve_id(str(instance_id))
    if not record.addrs:
        raise DcsError(
            f"DCS instance {instance_id} (the {label}) shows no address (ip/port): give 'addrs' instead"
        )
    return Endpoint(
        label,
        split_addrs(f"{label}_instance", record.addrs),
        password,
        instance_id=str(instance_id),
        cache_mode=record.cache_mode,
        engine_version=record.engine_version,
    )


class Side:
    """A connected side: a single Redis or a Redis Cluster, used the same way.

    ``client(db)`` runs key commands (pipelines included); ``primaries()`` gives one client per
    primary node, for ``SCAN``, ``INFO`` and ``CONFIG``.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        import redis
        from redis.backoff import ExponentialBackoff, NoBackoff
        from redis.exceptions import RedisClusterException
        from redis.retry import Retry

        self.endpoint = endpoint
        self.label = endpoint.label
        self._timeout = socket_timeout
        self._retry = Retry(ExponentialBackoff(cap=2.0, base=0.2), retries)
        self._clients: dict[int, Any] = {}
        host, port = endpoint.nodes[0]
        with redis.Redis(
            host=host,
            port=port,
            password=endpoint.password,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        ) as first:
            try:
                enabled = int(first.info("cluster").get("cluster_enabled", 0))
            except redis.RedisError as exc:
                raise SideError(
                    f"{endpoint.describe()} is not reachable: {describe_error(exc)}", error_kind(exc)
                ) from None
        self.cluster = bool(enabled)
        self._cluster_client: Any = None
        if self.cluster:
            from redis.cluster import ClusterNode, RedisCluster

            try:
                self._cluster_client = RedisCluster(
                    startup_nodes=[ClusterNode(h, p) for h, p in endpoint.nodes],  # type: ignore[no-untyped-call]
                    password=endpoint.password,
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=socket_timeout,
                    retry=self._retry,
                )
            except (redis.RedisError, RedisClusterException) as exc:
                raise SideError(
                    f"{endpoint.describe()} is a Redis Cluster that cannot be reached: {describe_error(exc)}",
                    error_kind(exc),
                ) from None

    def __repr__(self) -> str:
        kind = "cluster" if self.cluster else "single"
        return f"Side({self.endpoint.describe()}, {kind})"

    def describe(self) -> str:
        """How messages name this side (never its password)."""
        return self.endpoint.describe()

    def client(self, db: int = 0) -> Any:
        """A client for key commands in ``db`` (a cluster has database 0 only)."""
        if self.cluster:
            if db != 0:
                raise DcsError(f"{self.describe()} is a Redis Cluster: it has database 0 only, not {db}")
            return self._cluster_client
        if db not in self._clients:
            import redis

            host, port = self.endpoint.nodes[0]
            self._clients[db] = redis.Redis(
                host=host,
                port=port,
                db=db,
                password=self.endpoint.password,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                retry=self._retry,
            )
        return self._clients[db]

    def primaries(self, db: int = 0) -> list[Any]:
        """One plain client per primary node (just the one for a single Redis)."""
        if not self.cluster:
            return [self.client(db)]
        self.client(db)  # refuses db != 0
        return [node.redis_connection for node in self._cluster_client.get_primaries()]

    def keyspace(self) -> dict[int, tuple[int, int]]:
        """``{db: (keys, expires)}`` from ``INFO keyspace``, summed over the primaries."""
        totals: dict[int, tuple[int, int]] = {}
        for node in self.primaries():
            for name, figures in node.info("keyspace").items():
                if not str(name).startswith("db") or not isinstance(figures, dict):
                    continue
                db = int(str(name)[2:])
                keys, expires = totals.get(db, (0, 0))
                totals[db] = (keys + int(figures.get("keys", 0)), expires + int(figures.get("expires", 0)))
        return totals

    def close(self) -> None:
        """Close every connection."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self._cluster_client is not None:
            self._cluster_client.close()
            self._cluster_client = None


@contextmanager
def open_side(
    endpoint: Endpoint, *, socket_timeout: float = DEFAULT_SOCKET_TIMEOUT, retries: int = DEFAULT_RETRIES
) -> Iterator[Side]:
    """Connect to ``endpoint``; closed on leaving the block."""
    side = Side(endpoint, socket_timeout=socket_timeout, retries=retries)
    try:
        yield side
    finally:
        side.close()


def error_kind(exc: BaseException) -> str:
    """``refused`` (password), ``unreachable`` (network, timeout) or ``error`` (anything else)."""
    import redis

    if isinstance(exc, redis.AuthenticationError) or (
        isinstance(exc, redis.ResponseError) and str(exc).split(" ", 1)[0] in ("NOAUTH", "WRONGPASS")
    ):
        return "refused"
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return "unreachable"
    return "error"


def describe_error(exc: BaseException) -> str:
    """A Redis error in words, without anything a server might echo (arguments, values)."""
    import redis

    if error_kind(exc) == "refused":
        return "the password was refused (check password_conn_id)"
    if isinstance(exc, redis.TimeoutError):
        return "timed out"
    if isinstance(exc, redis.ConnectionError):
        return f"connection failed: {str(exc)[:200]}"
    if isinstance(exc, redis.ResponseError):
        # A server may echo a command's arguments after ", with args": cut there.
        text = str(exc).split(", with args", 1)[0]
        return f"the server answered: {text[:120]}"
    return type(exc).__name__
