"""Keyspace notifications of a migration's source, turned into a queue of keys to copy again.

The incremental sync turns them on (``CONFIG SET notify-keyspace-events`` with ``KEA`` added to
what is set), subscribes to ``__keyspace@*__:*`` and queues every notified key; a marker
published on the engine's own channel tells when every earlier write has been queued.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from huaweicloud_dcs_emulator.engines.redis_side import CONNECT_TIMEOUT, MigrationFailure, RedisSide

#: Keyspace-notification classes the incremental sync needs (added to what the source has).
NOTIFY_FLAGS = "KEA"
#: Pattern of the keyspace notifications of every database.
KEYSPACE_PATTERN = b"__keyspace@*__:*"
_KEYSPACE_PREFIX = b"__keyspace@"
#: Channel prefix of the engine's own sync markers (see :meth:`KeyspaceNotifications.barrier`).
MARKER_PREFIX = "__dcs_emulator_sync__:"


def parse_keyspace_channel(channel: bytes) -> tuple[int, bytes] | None:
    """``b"__keyspace@3__:key"`` -> ``(3, b"key")``; ``None`` for anything else."""
    if not channel.startswith(_KEYSPACE_PREFIX):
        return None
    db, sep, key = channel[len(_KEYSPACE_PREFIX) :].partition(b"__:")
    if not sep or not db.isdigit():
        return None
    return int(db), key


class KeyspaceNotifications:
    """Keyspace notifications of the source, turned into a queue of keys to copy again."""

    def __init__(self, side: RedisSide, task_id: str) -> None:
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
