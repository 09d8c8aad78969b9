"""One side of a real migration: its Redis clients, a raw pipelining connection, and error wording.

Every ``RedisError`` of a side becomes a :class:`MigrationFailure` whose message names the side,
the address and the cause (``Failed to connect to source redis 127.0.0.1:6399: Connection
refused``), never the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Awaitable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import AuthenticationError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from huaweicloud_dcs_emulator.engines.loopback import require_loopback
from huaweicloud_dcs_emulator.engines.protocol import EngineError, RedisEndpoint

T = TypeVar("T")

#: Seconds to wait for a TCP connection to a Redis server.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for any one reply (a whole copy batch included).
SOCKET_TIMEOUT = 60.0


class MigrationFailure(Exception):
    """Ends a run in ``MIGRATION_FAILED``; the message is the task's ``error`` (no password in it)."""


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


class RedisSide:
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
        self._raw: dict[int, RawConnection] = {}
        self.connected = False

    def __repr__(self) -> str:
        return f"RedisSide({self.role} {self.addr})"

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
        on a plain connection of this side's own (see :class:`RawConnection`); raises the first
        error reply as a ``ResponseError``, a broken connection as a ``ConnectionError``."""
        connection = self._raw.get(db)
        if connection is None:
            connection = self._raw[db] = RawConnection(self.host, self.port, db, self._password)
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


class RawConnection:
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
