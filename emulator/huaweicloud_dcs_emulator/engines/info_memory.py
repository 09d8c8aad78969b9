"""``used_memory`` of local Redis servers, for "Query a DCS instance" in real-Redis mode.

One ``INFO memory`` per address on a plain connection, no ``AUTH`` (the registry holds no
password): a server that wants one, a refused connection, anything that is not Redis or does not
answer within :data:`PROBE_TIMEOUT` gives ``None``, and the emulator answers a made-up figure.
Only loopback addresses are ever contacted (:func:`~.loopback.is_loopback_host`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterable

from huaweicloud_dcs_emulator.engines.loopback import is_loopback_host

#: The longest the emulator waits for one instance's figures (seconds, all its addresses at once).
PROBE_TIMEOUT = 0.5
_INFO_MEMORY = b"*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n"
#: The largest ``INFO memory`` answer read (a real one is about 1.5 KB).
_MAX_REPLY = 64 * 1024
_MB = 1024 * 1024


async def _used_memory_bytes(host: str, port: int) -> int | None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(_INFO_MEMORY)
        await writer.drain()
        header = await reader.readuntil(b"\r\n")
        if not header.startswith(b"$"):  # -NOAUTH Authentication required., -ERR ...
            return None
        size = int(header[1:-2])
        if not 0 <= size <= _MAX_REPLY:
            return None
        body = await reader.readexactly(size + 2)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    for line in body.split(b"\r\n"):
        if line.startswith(b"used_memory:"):
            return int(line.partition(b":")[2])
    return None


async def _probe(host: str, port: int) -> int | None:
    try:
        return await _used_memory_bytes(host, port)
    except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None


async def used_memory_mb(nodes: Iterable[tuple[str, int]], timeout: float = PROBE_TIMEOUT) -> int | None:
    """The ``used_memory`` of every address added up, in MB (rounded up), or ``None`` when one
    address is not loopback or its Redis does not tell within ``timeout``."""
    pairs = list(nodes)
    if not pairs or not all(is_loopback_host(host) for host, _port in pairs):
        return None
    try:
        sizes = await asyncio.wait_for(asyncio.gather(*(_probe(host, port) for host, port in pairs)), timeout)
    except TimeoutError:  # wait_for cancelled every probe
        return None
    known = [size for size in sizes if size is not None]
    if len(known) != len(sizes):
        return None
    return max(1, math.ceil(sum(known) / _MB))
