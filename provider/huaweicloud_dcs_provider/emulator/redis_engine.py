"""Real data movement between two local Redis servers.

:class:`RedisMigrationEngine` implements the :class:`~.engine.MigrationEngine` protocol by really
copying keys, with ``redis.asyncio`` inside the emulator's event loop (it never blocks the loop):

* **full sync**: ``INFO keyspace`` lists the source databases; each one is walked with ``SCAN``,
  and every key is copied into the same database index of the target, in batches of about
  :data:`SCAN_COUNT` keys (one ``SCAN`` page): a string (HyperLogLogs are strings) with ``GET`` +
  ``PTTL`` on the source and ``SET name value [PX ttl]`` on the target, any other type with
  ``DUMP`` + ``PTTL`` and ``RESTORE name ttl payload REPLACE``. No ``PTTL`` in a database whose
  ``expires`` count was 0 when the sync started. ``DUMP``/``RESTORE`` carry every type (lists,
  hashes, sets, sorted sets, streams with their consumer groups) and binary values unchanged.
  Progress is keys copied / ``DBSIZE`` of the source when the sync started. On the source a batch
  is one Lua script (:data:`SCAN_DUMP_SCRIPT`) that scans a page, reads its keys and answers the
  target's commands already encoded in RESP; those bytes go to the target as they are on a plain
  connection (:class:`_RawConnection`) whose replies are checked in one go. The pure-Python client
  never parses or encodes a key of the full sync, and while the target writes a batch the source
  already reads the next one (one batch in flight). 1,000,000 small keys: about 3x the time of
  ``redis-cli --pipe`` loading them (``bench/bench_emulator_datapath.py``).
* **incremental sync** (``incremental_migration``): before the full scan starts, the engine turns
  on keyspace notifications on the source (``CONFIG SET notify-keyspace-events`` with ``KEA``
  added to what is set) and subscribes to ``__keyspace@*__:*``, so writes made during the full
  sync are not lost. Every notified key is queued; once the full sync is done the queue is
  drained: each queued key is read again from the source (``DUMP`` + ``PTTL``) and restored on
  the target, or deleted on the target if it no longer exists (``del``, ``expired``, ``evicted``,
  ``rename_from``...). ``offset`` is the number of queued, not yet applied keys: 0 means caught up.
  The real DCS service replicates with ``PSYNC`` instead; notifications keep the emulator simple.
  They carry no per-key event for ``FLUSHDB``/``FLUSHALL``/``SWAPDB``, so those are not copied.
* ``bandwidth_limit_mb`` caps the payload bytes written to the target per second (roughly).
* any ``RedisError`` (refused connection, wrong password, ``DB index is out of range``, ...) ends
  the run: the task becomes ``MIGRATION_FAILED`` with an error naming the side, the address and
  the cause, e.g. ``Failed to connect to source redis 127.0.0.1:6399: Connection refused``. The
  password never appears in an error.

The engine connects only to loopback addresses (:func:`~.engine.require_loopback`).
:class:`AutoEngine` picks an engine per task: this one when both sides are a single loopback
``addrs``, the :class:`~.engine.SimulatedEngine` otherwise (cloud instance ids, remote hosts,
cluster address lists).

Before a stats answer, the emulator awaits :meth:`RedisMigrationEngine.refresh`: it publishes a
marker on the source and waits until the notification reader has received it, so every write the
source acknowledged before the stats request is counted in ``offset``; it also re-reads the key
counts of both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections import deque
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import AuthenticationError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from huaweicloud_dcs_provider.emulator.engine import (
    EngineError,
    Method,
    MigrationEngine,
    MigrationSpec,
    Phase,
    RedisEndpoint,
    SimulatedEngine,
    Snapshot,
    is_loopback_host,
    require_loopback,
)

log = logging.getLogger("huaweicloud_dcs_provider.emulator")

T = TypeVar("T")

#: Keys per copy batch of the incremental sync (and of the keys a full-sync page left over).
BATCH = 1000
#: ``SCAN ... COUNT`` of a full-sync page (one page is one copy batch).
SCAN_COUNT = 3000
#: A copy batch stops adding keys once it holds this many payload bytes (big values).
BATCH_BYTES = 8 * 1024 * 1024
#: Keyspace-notification classes the incremental sync needs (added to what the source has).
NOTIFY_FLAGS = "KEA"
#: Pattern of the keyspace notifications of every database.
KEYSPACE_PATTERN = b"__keyspace@*__:*"
_KEYSPACE_PREFIX = b"__keyspace@"
#: Channel prefix of the engine's own sync markers (see :meth:`_Notifications.barrier`).
MARKER_PREFIX = "__dcs_emulator_sync__:"
#: Seconds to wait for a TCP connection to a Redis server.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for any one reply (a whole copy batch included).
SOCKET_TIMEOUT = 60.0
#: Seconds :meth:`RedisMigrationEngine.refresh` waits for its marker.
BARRIER_TIMEOUT = 1.0
#: Window (seconds) of the ``target_input_kbps`` / ``target_ops`` rates.
RATE_WINDOW = 1.0


#: Source side of a batch: ``DUMP`` + ``PTTL`` of each key (atomically), packed into one reply
#: ``{keys handled, entries}``; an entry is ``"<key index> <restore ttl> <length>\\n<payload>"``.
#: Missing keys have no entry. Stops early after ``ARGV[1]`` payload bytes.
DUMP_SCRIPT = """
local budget = tonumber(ARGV[1])
local parts, size, done = {}, 0, 0
for i, key in ipairs(KEYS) do
  local payload = redis.call('DUMP', key)
  if payload then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = 0 elseif ttl == 0 then ttl = 1 end
    parts[#parts + 1] = string.format('%d %d %d\\n', i, ttl, #payload)
    parts[#parts + 1] = payload
    size = size + #payload
  end
  done = i
  if size >= budget then break end
end
return {done, table.concat(parts)}
"""

#: Source side of a full-sync batch: one ``SCAN ARGV[1] COUNT ARGV[2]`` page, then each key is
#: read with ``GET`` (a string: the cheap path) or, for any other type, ``DUMP``; and ``PTTL``
#: unless ``ARGV[4]`` is ``"0"`` (the database has no key with a TTL). Answers ``{next cursor, keys
#: scanned, commands, commands count, value bytes, leftover}``: ``commands`` holds one command per
#: key, already encoded in RESP: ``SET name value [PX ttl]`` for a string (a HyperLogLog is a
#: string too), ``RESTORE name ttl payload REPLACE`` otherwise; the engine sends them to the target
#: as they are (no key is parsed or encoded in Python). Keys gone since the scan have no command.
#: After ``ARGV[3]`` value bytes it stops: the keys not read yet are the leftover (copied with
#: :data:`DUMP_SCRIPT`).
SCAN_DUMP_SCRIPT = """
local page = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])
local keys, budget, with_ttl = page[2], tonumber(ARGV[3]), ARGV[4] ~= '0'
local call, pcall_ = redis.call, redis.pcall
local parts, n, size, done, count = {}, 0, 0, 0, 0
for i, key in ipairs(keys) do
  local value = pcall_('GET', key)
  local restore = type(value) == 'table'
  if restore then value = call('DUMP', key) end
  if value then
    local ttl = nil
    if with_ttl then
      local t = call('PTTL', key)
      if t > 0 then ttl = string.format('%d', t) elseif t == 0 then ttl = '1' end
    end
    if restore then
      ttl = ttl or '0'
      parts[n + 1] = '*5\\r\\n$7\\r\\nRESTORE\\r\\n$' .. #key .. '\\r\\n'
      parts[n + 3] = '\\r\\n$' .. #ttl .. '\\r\\n' .. ttl .. '\\r\\n$' .. #value .. '\\r\\n'
      parts[n + 5] = '\\r\\n$7\\r\\nREPLACE\\r\\n'
    elseif ttl then
      parts[n + 1] = '*5\\r\\n$3\\r\\nSET\\r\\n$' .. #key .. '\\r\\n'
      parts[n + 3] = '\\r\\n$' .. #value .. '\\r\\n'
      parts[n + 5] = '\\r\\n$2\\r\\nPX\\r\\n$' .. #ttl .. '\\r\\n' .. ttl .. '\\r\\n'
    else
      parts[n + 1] = '*3\\r\\n$3\\r\\nSET\\r\\n$' .. #key .. '\\r\\n'
      parts[n + 3] = '\\r\\n$' .. #value .. '\\r\\n'
      parts[n + 5] = '\\r\\n'
    end
    parts[n + 2] = key
    parts[n + 4] = value
    n = n + 5
    count = count + 1
    size = size + #value
  end
  done = i
  if size >= budget then break end
end
local leftover = {}
for i = done + 1, #keys do leftover[#leftover + 1] = keys[i] end
return {page[1], #keys, table.concat(parts), count, size, leftover}
"""

#: Target side of a batch: ``RESTORE key ttl payload REPLACE`` for each entry of ``ARGV[1]``;
#: with ``ARGV[2] == "1"``, ``DEL`` the keys that have no entry. Answers ``{restored, deleted}``.
RESTORE_SCRIPT = """
local blob = ARGV[1]
local restored, count, pos = {}, 0, 1
while pos <= #blob do
  local nl = string.find(blob, '\\n', pos, true)
  local i, ttl, len = string.match(string.sub(blob, pos, nl - 1), '^(%d+) (%d+) (%d+)$')
  i, len = tonumber(i), tonumber(len)
  redis.call('RESTORE', KEYS[i], ttl, string.sub(blob, nl + 1, nl + len), 'REPLACE')
  restored[i] = true
  count = count + 1
  pos = nl + len + 1
end
local deleted = 0
if ARGV[2] == '1' then
  for i, key in ipairs(KEYS) do
    if not restored[i] then deleted = deleted + redis.call('DEL', key) end
  end
end
return {count, deleted}
"""


class MigrationFailure(Exception):
    """Ends a run in ``MIGRATION_FAILED``; the message is the task's ``error`` (no password in it)."""


def runs_on_local_redis(spec: MigrationSpec) -> bool:
    """True when both sides are exactly one loopback ``host:port`` (no instance id).

    Those tasks are really migrated; everything else (cloud instance ids, remote or mixed
    addresses, comma-separated cluster address lists) is simulated.
    """
    for endpoint in (spec.source, spec.target):
        if endpoint.instance_id or not endpoint.addrs:
            return False
        pairs = endpoint.host_ports()
        if len(pairs) != 1 or not is_loopback_host(pairs[0][0]):
            return False
    return True


def parse_keyspace_channel(channel: bytes) -> tuple[int, bytes] | None:
    """``b"__keyspace@3__:key"`` -> ``(3, b"key")``; ``None`` for anything else."""
    if not channel.startswith(_KEYSPACE_PREFIX):
        return None
    db, sep, key = channel[len(_KEYSPACE_PREFIX) :].partition(b"__:")
    if not sep or not db.isdigit():
        return None
    return int(db), key


def restore_ttl(pttl: int) -> int:
    """The ``RESTORE`` ttl argument for a source ``PTTL`` (-1 = no expiry -> 0; never 0 for a TTL)."""
    return 0 if pttl < 0 else max(1, pttl)


_AUTH_CODES = (
    ("invalid username-password pair", "WRONGPASS"),
    ("authentication required", "NOAUTH"),
)


def _auth_text(exc: RedisError) -> str:
    text = str(exc).strip().rstrip(".")
    lowered = text.lower()
    for marker, code in _AUTH_CODES:
        if marker in lowered and not text.startswith(code):
            return f"{code} {text}"
    return text


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling (a few levels)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


_ERRNO_TEXT = re.compile(r"Error (\d+) connecting to ")


def _cause(exc: BaseException) -> str:
    """A short cause: ``Connection refused``, ``Connection timed out``, or the error's message."""
    chain = _chain(exc)
    for inner in chain:
        if isinstance(inner, OSError) and inner.errno:
            return os.strerror(inner.errno)
    for inner in chain:
        match = _ERRNO_TEXT.match(str(inner))
        if match:
            return os.strerror(int(match.group(1)))
    if any(isinstance(inner, RedisTimeoutError | TimeoutError) for inner in chain):
        return "Connection timed out"
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__


class _Side:
    """One side of a migration: its address, its clients (one per database) and error wording."""

    def __init__(self, endpoint: RedisEndpoint) -> None:
        require_loopback(endpoint)
        pairs = endpoint.host_ports()
        if len(pairs) != 1:
            raise EngineError(f"{endpoint.role} {endpoint.label}: exactly one address is supported")
        self.role = endpoint.role
        self.host, self.port = pairs[0]
        self.addr = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        self._password = endpoint.password
        self._clients: dict[int, aioredis.Redis] = {}
        self._scripts: dict[str, AsyncScript] = {}
        self._raw: dict[int, _RawConnection] = {}
        self.connected = False

    def __repr__(self) -> str:
        return f"_Side({self.role} {self.addr})"

    def client(self, db: int) -> aioredis.Redis:
        """The client of database ``db`` (created on first use; binary-safe, no retries)."""
        client = self._clients.get(db)
        if client is None:
            client = aioredis.Redis(
                host=self.host,
                port=self.port,
                db=db,
                password=self._password,
                protocol=2,
                decode_responses=False,
                socket_connect_timeout=CONNECT_TIMEOUT,
                socket_timeout=SOCKET_TIMEOUT,
                retry=Retry(NoBackoff(), 0),
                client_name="dcs-emulator-migration",
            )
            self._clients[db] = client
        return client

    def script(self, source: str) -> AsyncScript:
        """A Lua script bound to this side (``EVALSHA``, loaded on first use)."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client(0).register_script(source)
        return script

    def describe(self, exc: RedisError, action: str) -> str:
        """The task's error text for ``exc`` (side, address, cause; never the password)."""
        if isinstance(exc, AuthenticationError):
            text = f"Failed to authenticate to {self.role} redis {self.addr}: {_auth_text(exc)}"
        elif isinstance(exc, RedisConnectionError | RedisTimeoutError):
            if self.connected:
                # The first failure, not a failed reconnection attempt made while handling it.
                lost = RedisConnectionError | RedisTimeoutError
                first = [e for e in _chain(exc) if isinstance(e, lost)][-1]
                text = f"Lost connection to {self.role} redis {self.addr} while {action}: {_cause(first)}"
            else:
                text = f"Failed to connect to {self.role} redis {self.addr}: {_cause(exc)}"
        else:
            detail = str(exc).strip().rstrip(".") or type(exc).__name__
            text = f"Error from {self.role} redis {self.addr} while {action}: {detail}"
        if self._password:
            text = text.replace(self._password, "***")
        return text

    async def call(self, awaitable: Awaitable[T], action: str) -> T:
        """Await a Redis call; a ``RedisError`` becomes a :class:`MigrationFailure`."""
        try:
            result = await awaitable
        except RedisError as exc:
            raise MigrationFailure(self.describe(exc, action)) from exc
        self.connected = True
        return result

    async def pipeline(self, db: int, commands: bytes, count: int) -> None:
        """Send ``count`` commands already encoded in RESP, each answering ``+OK``, to database ``db``
        on a plain connection of this side's own (see :class:`_RawConnection`); raises the first
        error reply as a ``ResponseError``, a broken connection as a ``ConnectionError``."""
        connection = self._raw.get(db)
        if connection is None:
            connection = self._raw[db] = _RawConnection(self.host, self.port, db, self._password)
        try:
            await connection.pipeline(commands, count)
        except BaseException:
            self._raw.pop(db, None)
            connection.close()
            raise

    async def dbsize(self) -> int:
        """Keys in all databases (``INFO keyspace``)."""
        info = await self.call(self.client(0).info("keyspace"), "reading the keyspace")
        return sum(int(v.get("keys", 0)) for k, v in info.items() if str(k).startswith("db"))

    async def aclose(self) -> None:
        """Close every client (errors ignored)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()
        raw, self._raw = list(self._raw.values()), {}
        for connection in raw:
            connection.close()


def _resp(*args: bytes) -> bytes:
    """One command in RESP."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in args)


_OK = b"+OK\r\n"


class _RawConnection:
    """A plain TCP connection for the full sync's pipelined ``RESTORE`` commands.

    The pure-Python ``redis`` client parses replies one by one (some microseconds each): here a
    batch of ``RESTORE`` commands (encoded by :data:`SCAN_DUMP_SCRIPT`) is written as it is and its
    replies are read in one go; only when they are not all ``+OK`` are they looked at line by line.
    Opened on first use with ``AUTH`` (if a password is set), ``SELECT`` and ``CLIENT SETNAME``.
    """

    def __init__(self, host: str, port: int, db: int, password: str | None) -> None:
        self.host, self.port, self.db, self._password = host, port, db, password
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            errno = getattr(exc, "errno", None)
            raise RedisConnectionError(f"Error {errno} connecting to {self.host}:{self.port}.") from exc
        prelude = []
        if self._password:
            prelude.append(_resp(b"AUTH", self._password.encode()))
        prelude.append(_resp(b"SELECT", str(self.db).encode()))
        prelude.append(_resp(b"CLIENT", b"SETNAME", b"dcs-emulator-migration"))
        await self._exchange(b"".join(prelude), len(prelude))

    async def pipeline(self, commands: bytes, count: int) -> None:
        """Send ``count`` commands (RESP) and wait for their ``count`` replies."""
        if self._writer is None:
            await self._open()
        await self._exchange(commands, count)

    async def _exchange(self, commands: bytes, count: int) -> None:
        reader, writer = self._reader, self._writer
        assert reader is not None
        assert writer is not None
        try:
            writer.write(commands)
            replies = await asyncio.wait_for(self._replies(reader, writer, count), SOCKET_TIMEOUT)
        except asyncio.IncompleteReadError as exc:
            raise RedisConnectionError("Connection closed by server.") from exc
        except OSError as exc:
            raise RedisConnectionError(f"Error {exc.errno} while writing to socket. {exc}.") from exc
        except TimeoutError as exc:
            raise RedisTimeoutError("Timeout reading from socket") from exc
        if replies == _OK * count:
            return
        for line in replies.split(b"\r\n"):
            if line.startswith(b"-"):
                code, _, message = line[1:].decode(errors="replace").partition(" ")
                if code in ("WRONGPASS", "NOAUTH"):
                    raise AuthenticationError(message)
                raise ResponseError(message if code == "ERR" else f"{code} {message}")
        raise ResponseError(f"unexpected replies: {replies[:100]!r}")

    @staticmethod
    async def _replies(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: int) -> bytes:
        """``count`` one-line replies (every reply is at least as long as ``+OK\\r\\n``)."""
        await writer.drain()
        data = await reader.readexactly(len(_OK) * count)
        while data.count(b"\r\n") < count or not data.endswith(b"\r\n"):
            data += await reader.readuntil(b"\r\n")
        return data

    def close(self) -> None:
        """Close the socket (errors ignored)."""
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()


class _Throttle:
    """Caps bytes per second (``bandwidth_limit_mb``; ``None`` = unlimited)."""

    def __init__(self, limit_mb: int | None) -> None:
        self.set_limit(limit_mb)

    def set_limit(self, limit_mb: int | None) -> None:
        """Change the cap; the accounting starts again."""
        self.limit_mb = limit_mb
        self._start = time.monotonic()
        self._sent = 0

    async def pace(self, nbytes: int) -> None:
        """Account ``nbytes`` written; sleep as long as the cap requires."""
        if not self.limit_mb:
            return
        now = time.monotonic()
        if now - (self._start + self._sent / (self.limit_mb * 1024 * 1024)) > 1.0:
            # Idle for a while: do not let unused allowance pile up into an unlimited burst.
            self._start, self._sent = now, 0
        self._sent += nbytes
        delay = self._start + self._sent / (self.limit_mb * 1024 * 1024) - now
        if delay > 0:
            await asyncio.sleep(delay)


class _Meter:
    """Bytes and commands written to the target over the last :data:`RATE_WINDOW` seconds."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int, int]] = deque()

    def add(self, nbytes: int, ops: int) -> None:
        """Record one batch written to the target."""
        self._samples.append((time.monotonic(), nbytes, ops))

    def rates(self) -> tuple[float, int]:
        """``(KB/s, ops/s)`` over the window."""
        horizon = time.monotonic() - RATE_WINDOW
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        nbytes = sum(s[1] for s in self._samples)
        ops = sum(s[2] for s in self._samples)
        return nbytes / 1024.0 / RATE_WINDOW, int(ops / RATE_WINDOW)


class _Notifications:
    """Keyspace notifications of the source, turned into a queue of keys to copy again."""

    def __init__(self, side: _Side, task_id: str) -> None:
        self.side = side
        self.marker = f"{MARKER_PREFIX}{task_id}".encode()
        self.pending: dict[tuple[int, bytes], None] = {}
        self.changed = asyncio.Event()
        self._ready = asyncio.Event()
        self._confirmations = 0
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._failure: MigrationFailure | None = None
        self._sent = 0
        self._seen = 0
        self._waiters: dict[int, asyncio.Future[None]] = {}

    async def start(self) -> None:
        """Enable notifications, subscribe, and wait until the subscription is confirmed."""
        client = self.side.client(0)
        current = await self.side.call(
            client.config_get("notify-keyspace-events"), "reading notify-keyspace-events"
        )
        value = next(iter(current.values()), "") if current else ""
        flags = value.decode() if isinstance(value, bytes) else str(value)
        wanted = "".join(sorted(set(flags) | set(NOTIFY_FLAGS)))
        if set(wanted) != set(flags):
            await self.side.call(
                client.config_set("notify-keyspace-events", wanted), "enabling keyspace notifications"
            )
        self._pubsub = client.pubsub()
        await self.side.call(self._pubsub.psubscribe(KEYSPACE_PATTERN), "subscribing to notifications")
        await self.side.call(self._pubsub.subscribe(self.marker), "subscribing to notifications")
        self._reader = asyncio.get_running_loop().create_task(self._read_loop())
        try:
            await asyncio.wait_for(self._ready.wait(), CONNECT_TIMEOUT)
        except TimeoutError:
            raise MigrationFailure(
                f"Error from source redis {self.side.addr} while subscribing to keyspace "
                "notifications: no confirmation"
            ) from None
        self.check()

    async def _read_loop(self) -> None:
        assert self._pubsub is not None
        try:
            async for message in self._pubsub.listen():
                self._handle(message)
        except RedisError as exc:
            self._fail(MigrationFailure(self.side.describe(exc, "receiving keyspace notifications")))
        else:
            self._fail(MigrationFailure(f"Lost the keyspace notifications of source redis {self.side.addr}"))

    def _fail(self, failure: MigrationFailure) -> None:
        self._failure = failure
        self._ready.set()
        self.changed.set()
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_result(None)

    def _handle(self, message: Mapping[str, Any]) -> None:
        kind = message.get("type")
        if kind == "pmessage":
            channel = message.get("channel")
            parsed = parse_keyspace_channel(channel) if isinstance(channel, bytes) else None
            if parsed is not None:
                self.pending[parsed] = None
                self.changed.set()
        elif kind == "message" and message.get("channel") == self.marker:
            with contextlib.suppress(TypeError, ValueError):
                self._seen = max(self._seen, int(message["data"]))
            for seq, waiter in self._waiters.items():
                if seq <= self._seen and not waiter.done():
                    waiter.set_result(None)
        elif kind in ("psubscribe", "subscribe"):
            self._confirmations += 1
            if self._confirmations >= 2:
                self._ready.set()

    def check(self) -> None:
        """Raise the reader's failure, if it failed."""
        if self._failure is not None:
            raise self._failure

    def take_all(self) -> list[tuple[int, bytes]]:
        """Every queued key, oldest first; the queue starts empty again."""
        taken, self.pending = self.pending, {}
        self.changed.clear()
        return list(taken)

    async def wait(self, timeout: float) -> None:
        """Until a key is queued (or the reader failed), at most ``timeout`` seconds."""
        if self.pending or self._failure is not None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout)

    async def barrier(self, timeout: float) -> None:
        """Publish a marker and wait until it comes back: earlier writes are then all queued."""
        if self._failure is not None or self._reader is None or self._reader.done():
            return
        self._sent += 1
        seq = self._sent
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[seq] = waiter
        try:
            await self.side.client(0).publish(self.marker, str(seq))
            await asyncio.wait_for(waiter, timeout)
        except (RedisError, TimeoutError):
            pass
        finally:
            self._waiters.pop(seq, None)

    async def close(self) -> None:
        """Stop reading and unsubscribe (errors ignored)."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]


@dataclass
class _Run:
    """One migration run and its live figures."""

    spec: MigrationSpec
    started: float
    throttle: _Throttle
    phase: Phase = Phase.FULL
    phase_since: float = 0.0
    error: str | None = None
    total: int = 0  # source keys when the full sync started
    copied: int = 0  # keys handled by the full sync so far
    in_flight: int = 0  # notified keys taken from the queue, not yet applied
    source_dbsize: int = 0
    target_dbsize: int = 0
    meter: _Meter = field(default_factory=_Meter)
    source: _Side | None = None
    target: _Side | None = None
    notifications: _Notifications | None = None
    task: asyncio.Task[None] | None = None
    stop_requested: bool = False
    ended_at: float | None = None

    def enter(self, phase: Phase, error: str | None = None) -> None:
        """Move to ``phase`` now."""
        self.phase = phase
        self.phase_since = time.time()
        if error is not None:
            self.error = error

    @property
    def pending(self) -> int:
        """Notified keys not yet applied to the target."""
        queued = len(self.notifications.pending) if self.notifications is not None else 0
        return queued + self.in_flight

    @property
    def active(self) -> bool:
        """True while the run's task is working (not stopped, not finished)."""
        return self.task is not None and not self.task.done() and not self.stop_requested


@dataclass
class _Page:
    """One full-sync page dumped by :data:`SCAN_DUMP_SCRIPT`, ready to be restored."""

    db: int
    commands: bytes  # ``RESTORE name ttl payload REPLACE`` of each key, in RESP
    count: int  # commands in ``commands``
    size: int  # payload bytes
    scanned: int  # keys of the page it covers (``count`` plus keys gone since the scan)


class RedisMigrationEngine:
    """Copies keys between two loopback Redis servers (see the module docstring).

    Must be used from a running asyncio event loop: :meth:`start` schedules the run as a task.
    """

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}

    # ---------------------------------------------------------------- protocol

    def start(self, spec: MigrationSpec, now: float) -> None:
        """Begin copying (a previous run of the same task is cancelled first)."""
        require_loopback(spec.source)
        require_loopback(spec.target)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise EngineError("the real migration engine needs a running asyncio event loop") from None
        self.forget(spec.task_id)
        run = _Run(spec=spec, started=now, phase_since=now, throttle=_Throttle(spec.bandwidth_limit_mb))
        run.task = loop.create_task(self._main(run), name=f"dcs-migration-{spec.task_id}")
        run.task.add_done_callback(lambda _task: self._ended(run))
        self._runs[spec.task_id] = run
        log.info(
            "task %s: real %s from %s to %s",
            spec.task_id,
            spec.method.value,
            spec.source.label,
            spec.target.label,
        )

    def _run(self, task_id: str) -> _Run:
        try:
            return self._runs[task_id]
        except KeyError:
            raise EngineError(f"no migration started for task {task_id}") from None

    def poll(self, task_id: str, now: float) -> Snapshot:
        """Live figures of the run."""
        run = self._run(task_id)
        if run.stop_requested:
            phase = Phase.STOPPED if run.ended_at is not None else Phase.STOPPING
            since = run.ended_at if run.ended_at is not None else now
            return self._snapshot(run, phase, since)
        return self._snapshot(run, run.phase, run.phase_since)

    def _snapshot(self, run: _Run, phase: Phase, since: float) -> Snapshot:
        moving = phase in (Phase.FULL, Phase.INCREMENTAL)
        kbps, ops = run.meter.rates() if moving else (0.0, 0)
        if run.phase is Phase.FULL and run.error is None:
            progress = min(99, int(100 * run.copied / run.total)) if run.total else 0
            offset = max(0, run.total - run.copied) + run.pending
        else:
            progress = 100 if run.phase in (Phase.INCREMENTAL, Phase.DONE) else self._progress(run)
            offset = run.pending if run.phase is Phase.INCREMENTAL else 0
        return Snapshot(
            phase=phase,
            phase_since=since,
            progress=progress,
            offset=offset,
            source_dbsize=run.source_dbsize,
            target_dbsize=run.target_dbsize,
            input_kbps=kbps,
            ops=ops,
            error=run.error if phase is Phase.FAILED else None,
        )

    @staticmethod
    def _progress(run: _Run) -> int:
        return min(100, int(100 * run.copied / run.total)) if run.total else 0

    def update_limits(self, task_id: str, bandwidth_limit_mb: int | None) -> None:
        """Change the bandwidth cap of the running copy."""
        self._run(task_id).throttle.set_limit(bandwidth_limit_mb)

    def stop(self, task_id: str, now: float) -> Snapshot:
        """Cancel the run; :meth:`poll` answers ``STOPPING`` until its loop has ended."""
        run = self._run(task_id)
        if run.phase is Phase.FAILED:
            return self.poll(task_id, now)
        run.stop_requested = True
        if run.task is not None and not run.task.done():
            run.task.cancel()
        return self.poll(task_id, now)

    def forget(self, task_id: str) -> None:
        """Cancel and drop a run; unknown ids are ignored."""
        run = self._runs.pop(task_id, None)
        if run is not None and run.task is not None and not run.task.done():
            run.stop_requested = True
            run.task.cancel()

    # ---------------------------------------------------------------- live hooks

    async def refresh(self, task_id: str) -> None:
        """Bring ``offset`` and the key counts up to date (called before a stats answer)."""
        run = self._runs.get(task_id)
        if run is None or not run.active:
            return
        try:
            if run.notifications is not None and run.phase is Phase.INCREMENTAL:
                await run.notifications.barrier(BARRIER_TIMEOUT)
            await self._count_keys(run)
        except MigrationFailure:
            pass  # the run itself notices and reports failures

    async def aclose(self) -> None:
        """Cancel every run and wait for them (emulator shutdown)."""
        tasks = [run.task for run in self._runs.values() if run.task is not None and not run.task.done()]
        for task_id in list(self._runs):
            self.forget(task_id)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ---------------------------------------------------------------- the run

    def _ended(self, run: _Run) -> None:
        run.ended_at = time.time()
        task = run.task
        if task is not None and not task.cancelled() and task.exception() is not None:
            log.error("task %s: migration loop crashed", run.spec.task_id, exc_info=task.exception())

    async def _count_keys(self, run: _Run) -> None:
        if run.source is not None:
            run.source_dbsize = await run.source.dbsize()
        if run.target is not None:
            run.target_dbsize = await run.target.dbsize()

    async def _main(self, run: _Run) -> None:
        task_id = run.spec.task_id
        try:
            run.source = _Side(run.spec.source)
            run.target = _Side(run.spec.target)
            await run.source.call(run.source.client(0).ping(), "connecting")
            await run.target.call(run.target.client(0).ping(), "connecting")
            if run.spec.method is Method.INCREMENTAL:
                run.notifications = _Notifications(run.source, task_id)
                await run.notifications.start()
            began = time.monotonic()
            await self._full_sync(run)
            await self._count_keys(run)
            log.info(
                "task %s: full sync copied %d keys in %.2f s", task_id, run.copied, time.monotonic() - began
            )
            if run.spec.method is Method.FULL:
                run.enter(Phase.DONE)
                return
            run.enter(Phase.INCREMENTAL)
            await self._incremental(run)
        except MigrationFailure as exc:
            log.warning("task %s: migration failed: %s", task_id, exc)
            run.enter(Phase.FAILED, str(exc))
        except EngineError as exc:
            run.enter(Phase.FAILED, str(exc))
        except asyncio.CancelledError:
            log.info("task %s: migration stopped", task_id)
            raise
        except Exception as exc:
            log.exception("task %s: migration engine error", task_id)
            run.enter(Phase.FAILED, f"Migration engine error: {type(exc).__name__}")
        finally:
            if run.notifications is not None:
                await run.notifications.close()
            for side in (run.source, run.target):
                if side is not None:
                    await side.aclose()

    async def _full_sync(self, run: _Run) -> None:
        source, target = run.source, run.target
        assert source is not None
        assert target is not None
        info = await source.call(source.client(0).info("keyspace"), "reading the keyspace")
        databases = sorted(int(str(name)[2:]) for name in info if str(name).startswith("db"))
        run.total = sum(int(info[f"db{db}"].get("keys", 0)) for db in databases)
        run.source_dbsize = run.total
        run.target_dbsize = await target.dbsize()
        for db in databases:
            # No PTTL per key in a database that has no key with a TTL (INFO keyspace "expires").
            with_ttl = int(info[f"db{db}"].get("expires", 1)) > 0
            await self._sync_database(run, db, with_ttl)

    async def _sync_database(self, run: _Run, db: int, with_ttl: bool) -> None:
        """Copy every key of database ``db``: one :data:`SCAN_DUMP_SCRIPT` page after another, its
        ``RESTORE`` commands sent to the target while the source dumps the next page."""
        source = run.source
        assert source is not None
        writing: asyncio.Task[None] | None = None
        cursor: bytes = b"0"
        try:
            while True:
                if run.notifications is not None:
                    run.notifications.check()
                reply = await source.call(
                    source.script(SCAN_DUMP_SCRIPT)(
                        keys=[],
                        args=[cursor, SCAN_COUNT, BATCH_BYTES, int(with_ttl)],
                        client=source.client(db),
                    ),
                    "reading keys",
                )
                cursor, scanned, commands, count, size, leftover = reply
                done = int(scanned) - len(leftover)
                if writing is not None:  # one batch in flight: the previous one is written first
                    await writing
                    writing = None
                if count:
                    page = _Page(db, commands, int(count), int(size), done)
                    writing = asyncio.ensure_future(self._write_page(run, page))
                else:
                    run.copied += done
                if leftover:  # big values: the page was cut at BATCH_BYTES
                    await self._copy(run, db, cast(list[bytes], list(leftover)), delete_missing=False)
                    run.copied += len(leftover)
                if int(cursor) == 0:
                    break
            if writing is not None:
                await writing
                writing = None
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(BaseException):
                    await writing

    async def _write_page(self, run: _Run, page: _Page) -> None:
        """Send one page's ``RESTORE`` commands to the target (pipelined, as they are)."""
        target = run.target
        assert target is not None
        await target.call(target.pipeline(page.db, page.commands, page.count), "writing keys")
        run.copied += page.scanned
        run.meter.add(page.size, page.count)
        await run.throttle.pace(page.size)

    async def _incremental(self, run: _Run) -> None:
        notifications = run.notifications
        assert notifications is not None
        while True:
            notifications.check()
            queued = notifications.take_all()
            if not queued:
                await notifications.wait(0.5)
                continue
            run.in_flight = len(queued)
            by_db: dict[int, list[bytes]] = {}
            for db, key in queued:
                by_db.setdefault(db, []).append(key)
            for db, keys in by_db.items():
                for start in range(0, len(keys), BATCH):
                    chunk = keys[start : start + BATCH]
                    await self._copy(run, db, chunk, delete_missing=True)
                    run.in_flight -= len(chunk)
            run.in_flight = 0

    async def _copy(self, run: _Run, db: int, keys: list[bytes], *, delete_missing: bool) -> None:
        """Copy ``keys`` of database ``db`` (``DUMP``/``PTTL`` -> ``RESTORE ... REPLACE``, or ``DEL``).

        A batch costs one round trip per side: :data:`DUMP_SCRIPT` dumps the keys on the source
        into one reply, :data:`RESTORE_SCRIPT` restores them on the target.
        """
        source, target = run.source, run.target
        assert source is not None
        assert target is not None
        while keys:
            done, blob = await source.call(
                source.script(DUMP_SCRIPT)(keys=keys, args=[BATCH_BYTES], client=source.client(db)),
                "reading keys",
            )
            chunk, keys = keys[: int(done)], keys[int(done) :]
            if not blob and not delete_missing:
                continue
            restored, deleted = await target.call(
                target.script(RESTORE_SCRIPT)(
                    keys=chunk, args=[blob, int(delete_missing)], client=target.client(db)
                ),
                "writing keys",
            )
            run.meter.add(len(blob), int(restored) + int(deleted))
            await run.throttle.pace(len(blob))


class AutoEngine:
    """Chooses per task: :class:`RedisMigrationEngine` for two local Redis servers, else simulation.

    The choice (see :func:`runs_on_local_redis`) is made at every start, so a restart of the same
    task uses the same engine.
    """

    def __init__(
        self, real: RedisMigrationEngine | None = None, simulated: SimulatedEngine | None = None
    ) -> None:
        self.real = real or RedisMigrationEngine()
        self.simulated = simulated or SimulatedEngine()
        self._owners: dict[str, MigrationEngine] = {}

    def engine_for(self, task_id: str) -> MigrationEngine:
        """The engine running ``task_id`` (:class:`EngineError` if none)."""
        try:
            return self._owners[task_id]
        except KeyError:
            raise EngineError(f"no migration started for task {task_id}") from None

    def start(self, spec: MigrationSpec, now: float) -> None:
        """Start on the engine the task's endpoints call for."""
        engine: MigrationEngine = self.real if runs_on_local_redis(spec) else self.simulated
        previous = self._owners.get(spec.task_id)
        if previous is not None and previous is not engine:
            previous.forget(spec.task_id)
        self._owners[spec.task_id] = engine
        engine.start(spec, now)

    def poll(self, task_id: str, now: float) -> Snapshot:
        """Delegate."""
        return self.engine_for(task_id).poll(task_id, now)

    def update_limits(self, task_id: str, bandwidth_limit_mb: int | None) -> None:
        """Delegate."""
        self.engine_for(task_id).update_limits(task_id, bandwidth_limit_mb)

    def stop(self, task_id: str, now: float) -> Snapshot:
        """Delegate."""
        return self.engine_for(task_id).stop(task_id, now)

    def forget(self, task_id: str) -> None:
        """Delegate; unknown ids are ignored."""
        engine = self._owners.pop(task_id, None)
        if engine is not None:
            engine.forget(task_id)

    async def refresh(self, task_id: str) -> None:
        """Refresh the figures of a really migrating task (no-op for simulated ones)."""
        if self._owners.get(task_id) is self.real:
            await self.real.refresh(task_id)

    async def aclose(self) -> None:
        """Stop every real run."""
        await self.real.aclose()
