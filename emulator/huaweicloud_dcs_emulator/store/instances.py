"""The DCS instances the emulator knows (its instance registry), and their IP whitelists.

The real service answers for the instances of the account only; the emulator knows the instances
it was started with (``--instance ID[=HOST:PORT]``, kept across a reset) and those added through
the admin API (``POST /_emulator/instances``, forgotten by a reset). An instance id that is not
registered fails like an instance that does not exist: HTTP 404 ``DCS.3022``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from huaweicloud_dcs_emulator.store.errors import instance_not_found
from huaweicloud_dcs_emulator.store.records import Whitelist, seed

#: What an instance id may look like (the real ones are UUIDs; tests use shorter names).
_INSTANCE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
DEFAULT_REDIS_PORT = 6379


def made_up_host(instance_id: str) -> str:
    """The stable private IP the emulator gives an instance registered without an address."""
    number = seed(instance_id)
    return f"192.168.{number % 250}.{(number >> 8) % 250 + 2}"


@dataclass(frozen=True)
class Instance:
    """A DCS instance: its id and the address the emulator shows for it (ip, port)."""

    instance_id: str
    host: str
    port: int = DEFAULT_REDIS_PORT

    @classmethod
    def of(cls, instance_id: str, addrs: str | None = None) -> Instance:
        """An instance from its id and an optional ``HOST:PORT``; :class:`ValueError` if malformed."""
        if not isinstance(instance_id, str) or not _INSTANCE_ID_RE.match(instance_id):
            raise ValueError(
                f"instance id {instance_id!r} is malformed (1-128 letters, digits, '-', '_', '.', ':')"
            )
        if addrs is None or addrs == "":
            return cls(instance_id, made_up_host(instance_id))
        if not isinstance(addrs, str):
            raise ValueError("addrs must be a string HOST:PORT")
        host, sep, port = addrs.strip().rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"addrs {addrs!r} is not HOST:PORT")
        return cls(instance_id, host, int(port))

    @classmethod
    def parse(cls, spec: str) -> Instance:
        """``ID`` or ``ID=HOST:PORT`` (the ``--instance`` flag)."""
        instance_id, _, addrs = spec.partition("=")
        return cls.of(instance_id.strip(), addrs.strip() or None)

    @classmethod
    def from_json(cls, data: Any) -> Instance:
        """``{"id": ..., "addrs": "HOST:PORT" | null}`` (the admin API)."""
        if not isinstance(data, dict):
            raise ValueError('an instance is a JSON object {"id": ..., "addrs": "HOST:PORT" | null}')
        unknown = sorted(set(data) - {"id", "addrs"})
        if unknown:
            raise ValueError(f"unknown instance field(s) {unknown}; known: addrs, id")
        return cls.of(data.get("id"), data.get("addrs"))  # type: ignore[arg-type]  # checked by of()

    @property
    def addrs(self) -> str:
        """``HOST:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        """JSON form (admin API)."""
        return {"id": self.instance_id, "addrs": self.addrs}


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
