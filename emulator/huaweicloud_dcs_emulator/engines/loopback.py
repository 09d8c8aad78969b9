"""The emulator never talks to remote hosts: the loopback check of every engine that connects."""

from __future__ import annotations

import ipaddress

from huaweicloud_dcs_emulator.engines.protocol import EngineError, RedisEndpoint


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IPv4/IPv6 literals."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_loopback(endpoint: RedisEndpoint) -> None:
    """Raise :class:`EngineError` unless every address of ``endpoint`` is a loopback address.

    Engines that open connections call this first: the emulator never talks to remote hosts.
    """
    pairs = endpoint.host_ports()
    if not pairs:
        raise EngineError(f"{endpoint.role} {endpoint.label}: no address to connect to")
    for host, _port in pairs:
        if not is_loopback_host(host):
            raise EngineError(f"{endpoint.role} redis {host}: only loopback addresses are allowed")
