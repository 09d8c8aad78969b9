"""The DCS instances the emulator knows (its instance registry), and their IP whitelists.

The real service answers for the instances of the account only; the emulator knows the instances
it was started with (``--instance``, kept across a reset) and those added through the admin API
(``POST /_emulator/instances``, forgotten by a reset). An instance id that is not registered fails
like an instance that does not exist: HTTP 404 ``DCS.3022``.

Each instance records what "Query a DCS instance" (``GET /instances/{instance_id}``) shows: its
address (one ``HOST:PORT``, or several comma-separated for a Redis Cluster: ``ip`` is then the
comma-joined hosts and ``port`` the first port), ``engine_version``, ``cache_mode``,
``max_memory_mb``, ``status`` and ``no_password_access``. The command line spells the extras
after semicolons: ``ID[=ADDRS][;KEY=VALUE]...``, e.g.
``dcs-1=10.0.0.1:6379,10.0.0.2:6379;engine_version=5.0;cache_mode=cluster``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from huaweicloud_dcs_emulator.store.errors import instance_not_found
from huaweicloud_dcs_emulator.store.records import Whitelist, seed

#: What an instance id may look like (the real ones are UUIDs; tests use shorter names).
_INSTANCE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
DEFAULT_REDIS_PORT = 6379
DEFAULT_ENGINE_VERSION = "6.0"
DEFAULT_CACHE_MODE = "ha"
DEFAULT_MAX_MEMORY_MB = 1024
DEFAULT_STATUS = "RUNNING"
#: The instance types of the reference (``cache_mode``): single node, master/standby, Redis
#: Cluster, Proxy Cluster, read/write splitting.
CACHE_MODES = ("single", "ha", "cluster", "proxy", "ha_rw_split")
#: The only ``cache_mode`` whose ``ip`` lists several addresses.
CLUSTER = "cluster"
#: Instance statuses the reference documents (any other upper-case name is accepted too, so a
#: test can show a client a status it does not know).
DOCUMENTED_STATUSES = (
    "CREATING",
    "CREATEFAILED",
    "RUNNING",
    "ERROR",
    "RESTARTING",
    "FROZEN",
    "EXTENDING",
    "RESTORING",
    "FLUSHING",
    "MIGRATING",
    "UPGRADING",
)
_ENGINE_VERSION_RE = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}$")
_STATUS_RE = re.compile(r"^[A-Z][A-Z_]{0,31}$")
#: The most addresses of one instance (a large Redis Cluster has some 128 shards).
MAX_NODES = 128
MAX_MEMORY_LIMIT_MB = 1024 * 1024
#: The fields after ``ID[=ADDRS]`` (the ``--instance`` flag's ``;KEY=VALUE``, the admin API's JSON).
EXTRA_FIELDS = ("engine_version", "cache_mode", "max_memory_mb", "status", "no_password_access")
#: Every field of an instance's JSON form (the admin API).
JSON_FIELDS = ("id", "addrs", *EXTRA_FIELDS)


def made_up_host(instance_id: str) -> str:
    """The stable private IP the emulator gives an instance registered without an address."""
    number = seed(instance_id)
    return f"192.168.{number % 250}.{(number >> 8) % 250 + 2}"


def _host_port(part: str, addrs: str) -> tuple[str, int]:
    host, sep, port = part.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        shown = f"{part!r} in {addrs!r}" if part != addrs else repr(addrs)
        raise ValueError(f"addrs {shown} is not HOST:PORT (a cluster: HOST:PORT,HOST:PORT,...)")
    return host, int(port)


def _nodes(addrs: Any) -> list[tuple[str, int]]:
    if not isinstance(addrs, str):
        raise ValueError("addrs must be a string HOST:PORT (a cluster: HOST:PORT,HOST:PORT,...)")
    nodes = [_host_port(part, addrs) for part in addrs.split(",")]
    if len(nodes) > MAX_NODES:
        raise ValueError(f"addrs has {len(nodes)} addresses; an instance has at most {MAX_NODES}")
    if len(set(nodes)) != len(nodes):
        raise ValueError(f"addrs {addrs!r} names an address twice")
    return nodes


def _check_extras(
    engine_version: Any, cache_mode: Any, max_memory_mb: Any, status: Any, no_password_access: Any
) -> None:
    if not isinstance(engine_version, str) or not _ENGINE_VERSION_RE.match(engine_version):
        raise ValueError(
            f"engine_version must be a string MAJOR.MINOR such as '5.0' or '6.0', not {engine_version!r}"
        )
    if cache_mode not in CACHE_MODES:
        raise ValueError(f"cache_mode {cache_mode!r} is not one of {', '.join(CACHE_MODES)}")
    if (
        isinstance(max_memory_mb, bool)
        or not isinstance(max_memory_mb, int)
        or not 1 <= max_memory_mb <= MAX_MEMORY_LIMIT_MB
    ):
        raise ValueError(
            f"max_memory_mb must be an integer number of MB from 1 to {MAX_MEMORY_LIMIT_MB}, "
            f"not {max_memory_mb!r}"
        )
    if not isinstance(status, str) or not _STATUS_RE.match(status):
        raise ValueError(
            f"status {status!r} is not an instance status: upper case letters and '_' "
            f"(documented: {', '.join(DOCUMENTED_STATUSES)})"
        )
    if not isinstance(no_password_access, bool):
        raise ValueError(f"no_password_access must be true or false, not {no_password_access!r}")


def _cli_value(key: str, text: str) -> Any:
    """A ``KEY=VALUE`` of the command line, typed like its JSON form."""
    if key == "max_memory_mb":
        if not text.isdigit():
            raise ValueError(f"max_memory_mb must be an integer number of MB, not {text!r}")
        return int(text)
    if key == "no_password_access":
        if text.lower() not in ("true", "false"):
            raise ValueError(f"no_password_access must be true or false, not {text!r}")
        return text.lower() == "true"
    return text


@dataclass(frozen=True)
class Instance:
    """A DCS instance: its id, the address the emulator shows for it, and what ShowInstance shows.

    ``host``/``port`` are its (first) address; ``more_nodes`` the other addresses of a Redis
    Cluster. ``registered_at`` (not compared) is its ``created_at``.
    """

    instance_id: str
    host: str
    port: int = DEFAULT_REDIS_PORT
    more_nodes: tuple[tuple[str, int], ...] = ()
    engine_version: str = DEFAULT_ENGINE_VERSION
    cache_mode: str = DEFAULT_CACHE_MODE
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB
    status: str = DEFAULT_STATUS
    no_password_access: bool = False
    registered_at: float = field(default_factory=time.time, compare=False)

    @classmethod
    def of(
        cls,
        instance_id: str,
        addrs: str | None = None,
        *,
        engine_version: str | None = None,
        cache_mode: str | None = None,
        max_memory_mb: int | None = None,
        status: str | None = None,
        no_password_access: bool | None = None,
    ) -> Instance:
        """An instance from its id, an optional ``HOST:PORT`` (or ``HOST:PORT,HOST:PORT,...`` for
        a Redis Cluster) and optional extras (``None``: the default); :class:`ValueError` (saying
        what is wrong) if anything is malformed."""
        if not isinstance(instance_id, str) or not _INSTANCE_ID_RE.match(instance_id):
            raise ValueError(
                f"instance id {instance_id!r} is malformed (1-128 letters, digits, '-', '_', '.', ':')"
            )
        nodes = [(made_up_host(instance_id), DEFAULT_REDIS_PORT)] if addrs in (None, "") else _nodes(addrs)
        version = DEFAULT_ENGINE_VERSION if engine_version is None else engine_version
        mode = cache_mode if cache_mode is not None else CLUSTER if len(nodes) > 1 else DEFAULT_CACHE_MODE
        memory = DEFAULT_MAX_MEMORY_MB if max_memory_mb is None else max_memory_mb
        state = DEFAULT_STATUS if status is None else status
        free = False if no_password_access is None else no_password_access
        _check_extras(version, mode, memory, state, free)
        if len(nodes) > 1 and mode != CLUSTER:
            raise ValueError(
                f"addrs {addrs!r} lists {len(nodes)} addresses, which only a cache_mode "
                f"{CLUSTER!r} instance has (not {mode!r}); leave cache_mode out or give one address"
            )
        (host, port), *more = nodes
        return cls(instance_id, host, port, tuple(more), version, mode, memory, state, free)

    @classmethod
    def parse(cls, spec: str) -> Instance:
        """``ID[=ADDRS][;KEY=VALUE]...`` (the ``--instance`` flag), KEY one of :data:`EXTRA_FIELDS`:
        ``dcs-1``, ``dcs-1=10.0.0.1:6380``,
        ``dcs-2=10.0.0.1:6379,10.0.0.2:6379;engine_version=5.0;cache_mode=cluster``."""
        head, *options = spec.split(";")
        instance_id, _, addrs = head.partition("=")
        extras: dict[str, Any] = {}
        for option in options:
            if not option.strip():
                continue
            key, sep, value = (piece.strip() for piece in option.partition("="))
            if not sep or not key:
                raise ValueError(f"{option!r} in {spec!r} is not KEY=VALUE")
            if key not in EXTRA_FIELDS:
                known = ", ".join(EXTRA_FIELDS)
                raise ValueError(f"unknown instance field {key!r} in {spec!r}; known: {known}")
            if key in extras:
                raise ValueError(f"{key} is given twice in {spec!r}")
            extras[key] = _cli_value(key, value)
        return cls.of(instance_id.strip(), addrs.strip() or None, **extras)

    @classmethod
    def from_json(cls, data: Any) -> Instance:
        """``{"id": ..., "addrs": "HOST:PORT" | null, ...}`` (the admin API; :data:`JSON_FIELDS`)."""
        if not isinstance(data, dict):
            raise ValueError(
                'an instance is a JSON object {"id": ..., "addrs": "HOST:PORT" | null, '
                '"engine_version", "cache_mode", "max_memory_mb", "status", "no_password_access"}'
            )
        unknown = sorted(set(data) - set(JSON_FIELDS))
        if unknown:
            raise ValueError(f"unknown instance field(s) {unknown}; known: {', '.join(sorted(JSON_FIELDS))}")
        extras = {key: data.get(key) for key in EXTRA_FIELDS}
        return cls.of(data.get("id"), data.get("addrs"), **extras)  # type: ignore[arg-type]  # checked by of()

    @property
    def nodes(self) -> tuple[tuple[str, int], ...]:
        """``(host, port)`` of every address (one, or a cluster's several)."""
        return ((self.host, self.port), *self.more_nodes)

    @property
    def addrs(self) -> str:
        """``HOST:PORT`` (a cluster: ``HOST:PORT,HOST:PORT,...``)."""
        return ",".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in self.nodes)

    @property
    def ip(self) -> str:
        """What ShowInstance answers as ``ip``: the host, or a cluster's hosts joined by commas."""
        return ",".join(host for host, _port in self.nodes)

    def to_json(self) -> dict[str, Any]:
        """JSON form (admin API); :meth:`from_json` reads it back."""
        return {
            "id": self.instance_id,
            "addrs": self.addrs,
            "engine_version": self.engine_version,
            "cache_mode": self.cache_mode,
            "max_memory_mb": self.max_memory_mb,
            "status": self.status,
            "no_password_access": self.no_password_access,
        }


class InstanceRegistry:
    """The known DCS instances and their whitelists (every whitelist starts disabled and empty)."""

    def __init__(self, startup: Iterable[Instance] = ()) -> None:
        self._startup = {instance.instance_id: instance for instance in startup}
        self._instances = dict(self._startup)
        self._whitelists: dict[str, Whitelist] = {}

    def reset(self) -> None:
        """Back to the startup instances, with empty whitelists."""
        self._instances = dict(self._startup)
        self._whitelists.clear()

    def add(self, instance: Instance) -> Instance:
        """Register (or re-register with another address) an instance."""
        self._instances[instance.instance_id] = instance
        return instance

    def remove(self, instance_id: str) -> bool:
        """Forget an instance (as if it were deleted in the cloud); False if unknown."""
        self._whitelists.pop(instance_id, None)
        return self._instances.pop(instance_id, None) is not None

    def all(self) -> list[Instance]:
        """The registered instances, in registration order."""
        return list(self._instances.values())

    def known(self, instance_id: str) -> bool:
        """True when ``instance_id`` is registered."""
        return instance_id in self._instances

    def require(self, instance_id: str, where: str = "") -> Instance:
        """The instance, or HTTP 404 DCS.3022."""
        instance = self._instances.get(instance_id)
        if instance is None:
            raise instance_not_found(instance_id, where)
        return instance

    def address(self, instance_id: str) -> tuple[str, int]:
        """The ``(ip, port)`` shown for an instance (made up if it is not registered)."""
        instance = self._instances.get(instance_id)
        if instance is None:
            return made_up_host(instance_id), DEFAULT_REDIS_PORT
        return instance.host, instance.port

    def whitelist(self, instance_id: str) -> Whitelist:
        """The whitelist of a registered instance (HTTP 404 DCS.3022 otherwise)."""
        self.require(instance_id, "instance_id")
        return self._whitelists.get(instance_id, Whitelist())

    def set_whitelist(self, instance_id: str, whitelist: Whitelist) -> None:
        """Replace the whitelist of a registered instance (HTTP 404 DCS.3022 otherwise)."""
        self.require(instance_id, "instance_id")
        self._whitelists[instance_id] = whitelist
