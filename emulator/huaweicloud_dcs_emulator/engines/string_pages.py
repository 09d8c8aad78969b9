"""Full-sync pages of a database where no key has a TTL, read with native ``SCAN`` and ``MGET``.

In such a database (``INFO keyspace`` ``expires`` 0 when the sync started) a string needs no
``PTTL``, and the engine reads a page without a script: ``SCAN cursor COUNT n``, then ``MGET`` of
its keys in chunks (a chunk holds about as many keys as the byte budget left allows, judged from
the values read so far), and writes every string to the target in one ``MSET`` (which, like
``SET``, drops any TTL the target's key had). ``MGET`` answers nil for a key that holds another
type or is gone: those keys are the page's leftover, copied with ``DUMP``/``RESTORE`` like the
keys a page leaves over after :data:`~.redis_engine.BATCH_BYTES` (a key gone is skipped there).
A native ``MGET`` costs the source about a third of what the same read costs through Lua (no
conversion of every key and value into Lua strings), and the page's ``MSET`` is packed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from redis.asyncio import Redis

from huaweicloud_dcs_emulator.engines.redis_side import RedisSide

#: Keys of the first ``MGET`` of a sync; later chunks follow the mean value size (at most
#: :data:`MAX_CHUNK`).
FIRST_CHUNK = 64
MAX_CHUNK = 4096
#: ``$<length>\\r\\n`` of the shorter values, made once.
_VALUE_HEADS = tuple(b"$%d\r\n" % size for size in range(1024))


@dataclass
class Page:
    """One full-sync page read from the source, ready to be written to the target.

    A string page keeps its keys (encoded) and values as read; :meth:`encode` packs its ``MSET``
    when the page is written (while the source already reads the next page).
    """

    cursor: int  # the next ``SCAN`` cursor (0: the database is done)
    commands: bytes = b""  # the target's commands, in RESP (each answers ``+OK``)
    count: int = 0  # keys the commands write
    replies: int = 0  # commands in ``commands``
    size: int = 0  # value bytes
    done: int = 0  # keys of the page it covers (``count`` plus keys gone since the scan)
    leftover: list[bytes] = field(default_factory=list)  # keys still to copy with DUMP/RESTORE
    chunk: int = FIRST_CHUNK  # keys of the next page's first ``MGET``
    strings: list[tuple[list[bytes], list[bytes | None]]] = field(default_factory=list)

    def encode(self) -> bytes:
        """``commands``, and the ``MSET`` of the strings read (``MGET`` chunks: keys, values)."""
        parts: list[bytes] = []
        add, heads, limit = parts.extend, _VALUE_HEADS, len(_VALUE_HEADS)
        for keys, values in self.strings:
            for head, value in zip(keys, values, strict=True):
                if value is not None:
                    size = len(value)
                    add((head, heads[size] if size < limit else b"$%d\r\n" % size, value, b"\r\n"))
        if not parts:
            return self.commands
        return b"*%d\r\n$4\r\nMSET\r\n%b%b" % (1 + len(parts) // 2, b"".join(parts), self.commands)


async def _mget(client: Redis, encoded: list[bytes]) -> list[bytes | None]:
    """``MGET`` of keys already encoded in RESP (``$<length>\\r\\n<name>\\r\\n`` each): the
    same encoding goes into the page's ``MSET``, so no key is encoded twice."""
    pool = client.connection_pool
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        command = b"*%d\r\n$4\r\nMGET\r\n%b" % (len(encoded) + 1, b"".join(encoded))
        await connection.send_packed_command(command, check_health=False)
        return cast(list[bytes | None], await connection.read_response())
    except BaseException:
        await connection.disconnect()
        raise
    finally:
        await pool.release(connection)


async def scan_keys(side: RedisSide, db: int, cursor: int, count: int) -> tuple[int, list[bytes]]:
    """``SCAN cursor COUNT count`` of database ``db``: the next cursor and the keys."""
    next_cursor, keys = await side.call(side.client(db).scan(cursor, count=count), "reading keys")
    return int(next_cursor), cast(list[bytes], keys)


async def read_string_page(
    side: RedisSide, db: int, cursor: int, keys: list[bytes], *, budget: int, chunk: int = FIRST_CHUNK
) -> Page:
    """The page of ``keys`` (one ``SCAN`` page of database ``db``, no TTL in it; ``cursor``: the
    next one), its strings read with ``MGET``."""
    client = side.client(db)
    page = Page(cursor=cursor, chunk=chunk)
    others: list[bytes] = []
    start = 0
    while start < len(keys) and page.size < budget:
        names = keys[start : start + page.chunk]
        encoded = [b"$%d\r\n%b\r\n" % (len(name), name) for name in names]
        values = await side.call(_mget(client, encoded), "reading keys")
        start += len(names)
        page.strings.append((encoded, values))
        if None in values:  # another type, or gone since the scan
            others.extend(name for name, value in zip(names, values, strict=True) if value is None)
            page.size += sum(len(value) for value in values if value is not None)
        else:
            page.size += sum(map(len, values))  # type: ignore[arg-type]
        mean = page.size / max(1, start - len(others))
        page.chunk = max(1, min(MAX_CHUNK, int((budget - page.size) / max(mean, 1.0))))
    page.count = start - len(others)
    page.replies = 1 if page.count else 0
    page.leftover = others + keys[start:]
    page.done = len(keys) - len(page.leftover)
    return page
