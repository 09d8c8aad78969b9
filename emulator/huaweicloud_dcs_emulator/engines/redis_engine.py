"""Real data movement between two local Redis servers.

:class:`RedisMigrationEngine` implements the :class:`~.protocol.MigrationEngine` protocol by really
copying keys, with ``redis.asyncio`` inside the emulator's event loop (it never blocks the loop):

* **full sync**: ``INFO keyspace`` lists the source databases; each one is walked with ``SCAN``,
  and every key is copied into the same database index of the target, in batches of about
  :data:`SCAN_COUNT` keys (one ``SCAN`` page): a string (HyperLogLogs are strings) with its value
  and, where it has one, its TTL (``SET name value PX ttl``), any other type with ``DUMP`` +
  ``PTTL`` and ``RESTORE name ttl payload REPLACE``. ``DUMP``/``RESTORE`` carry every type (lists,
  hashes, sets, sorted sets, streams with their consumer groups) and binary values unchanged.
  Progress is keys copied / ``DBSIZE`` of the source when the sync started. The target's commands
  go as they are, already encoded in RESP, on a plain connection
  (:class:`~.redis_side.RawConnection`) whose replies are checked in one go, and while the target
  writes a page the source already reads the next one (one page in flight). The strings without a
  TTL of a page go in one ``MSET`` (which, like ``SET``, clears a TTL the target's key had). A page
  is read one of two ways:

  - in a database whose ``expires`` count was 0 when the sync started (no key has a TTL), with
    native ``SCAN`` and ``MGET`` (:mod:`~.string_pages`; the next ``SCAN`` is sent ahead), other
    types through :data:`~.redis_scripts.DUMP_SCRIPT`, when redis-py parses replies with hiredis
    (its pure-Python parser would cost more per value than the script);
  - otherwise with one Lua script per page (:data:`~.redis_scripts.SCAN_DUMP_SCRIPT`), which reads
    every key with its TTL atomically and answers the target's commands already encoded.

  1,000,000 small keys: about 2x the time of ``redis-cli --pipe`` loading them
  (``bench/bench_emulator_datapath.py``).
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

The engine connects only to loopback addresses (:func:`~.loopback.require_loopback`).
:class:`~.auto.AutoEngine` picks an engine per task: this one when both sides are a single
loopback ``addrs``, the :class:`~.simulated.SimulatedEngine` otherwise (cloud instance ids,
remote hosts, cluster address lists).

Before a stats answer, the emulator awaits :meth:`RedisMigrationEngine.refresh`: it publishes a
marker on the source and waits until the notification reader has received it, so every write the
source acknowledged before the stats request is counted in ``offset``; it also re-reads the key
counts of both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import cast

from redis.utils import HIREDIS_AVAILABLE

from huaweicloud_dcs_emulator.engines.keyspace_events import KeyspaceNotifications
from huaweicloud_dcs_emulator.engines.loopback import require_loopback
from huaweicloud_dcs_emulator.engines.pacing import Meter, Throttle
from huaweicloud_dcs_emulator.engines.protocol import EngineError, Method, MigrationSpec, Phase, Snapshot
from huaweicloud_dcs_emulator.engines.redis_scripts import DUMP_SCRIPT, RESTORE_SCRIPT, SCAN_DUMP_SCRIPT
from huaweicloud_dcs_emulator.engines.redis_side import MigrationFailure, RedisSide
from huaweicloud_dcs_emulator.engines.string_pages import FIRST_CHUNK, Page, read_string_page, scan_keys

log = logging.getLogger("huaweicloud_dcs_emulator")

#: Keys per copy batch of the incremental sync (and of the keys a full-sync page left over).
BATCH = 1000
#: ``SCAN ... COUNT`` of a full-sync page (one page is one copy batch).
SCAN_COUNT = 3000
#: A copy batch stops adding keys once it holds this many payload bytes (big values).
BATCH_BYTES = 8 * 1024 * 1024
#: Seconds :meth:`RedisMigrationEngine.refresh` waits for its marker.
BARRIER_TIMEOUT = 1.0


@dataclass
class _Run:
    """One migration run and its live figures."""

    spec: MigrationSpec
    started: float
    throttle: Throttle
    phase: Phase = Phase.FULL
    phase_since: float = 0.0
    error: str | None = None
    total: int = 0  # source keys when the full sync started
    copied: int = 0  # keys handled by the full sync so far
    in_flight: int = 0  # notified keys taken from the queue, not yet applied
    source_dbsize: int = 0
    target_dbsize: int = 0
    meter: Meter = field(default_factory=Meter)
    source: RedisSide | None = None
    target: RedisSide | None = None
    notifications: KeyspaceNotifications | None = None
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
        run = _Run(spec=spec, started=now, phase_since=now, throttle=Throttle(spec.bandwidth_limit_mb))
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
            run.source = RedisSide(run.spec.source)
            run.target = RedisSide(run.spec.target)
            await run.source.call(run.source.client(0).ping(), "connecting")
            await run.target.call(run.target.client(0).ping(), "connecting")
            if run.spec.method is Method.INCREMENTAL:
                run.notifications = KeyspaceNotifications(run.source, task_id)
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
        """Copy every key of database ``db``, one page after another, each page's commands sent
        to the target while the source reads the next page (one page in flight). Without TTLs the
        next page's ``SCAN`` is sent as soon as the cursor is known (on a second connection), so
        the source works on it while this page's keys are packed for ``MGET``."""
        source = run.source
        assert source is not None
        writing: asyncio.Task[None] | None = None
        scanning: asyncio.Future[tuple[int, list[bytes]]] | None = None
        cursor, chunk = 0, FIRST_CHUNK
        try:
            while True:
                if run.notifications is not None:
                    run.notifications.check()
                if with_ttl or not HIREDIS_AVAILABLE:
                    page = await self._read_page(source, db, cursor, with_ttl)
                else:
                    if scanning is None:
                        scanning = asyncio.ensure_future(scan_keys(source, db, cursor, SCAN_COUNT))
                    cursor, keys = await scanning
                    scanning = None
                    if cursor:
                        scanning = asyncio.ensure_future(scan_keys(source, db, cursor, SCAN_COUNT))
                    page = await read_string_page(source, db, cursor, keys, budget=BATCH_BYTES, chunk=chunk)
                cursor, chunk = page.cursor, page.chunk
                if writing is not None:  # one page in flight: the previous one is written first
                    await writing
                    writing = None
                if page.count:
                    writing = asyncio.ensure_future(self._write_page(run, db, page))
                else:
                    run.copied += page.done
                if page.leftover:  # other types (string pages), or big values past BATCH_BYTES
                    await self._copy(run, db, page.leftover, delete_missing=False)
                    run.copied += len(page.leftover)
                if cursor == 0:
                    break
            if writing is not None:
                await writing
                writing = None
        finally:
            for task in (writing, scanning):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task

    @staticmethod
    async def _read_page(source: RedisSide, db: int, cursor: int, with_ttl: bool) -> Page:
        """One page read by :data:`SCAN_DUMP_SCRIPT` (a database with TTLs: read atomically)."""
        reply = await source.call(
            source.script(SCAN_DUMP_SCRIPT)(
                keys=[], args=[cursor, SCAN_COUNT, BATCH_BYTES, int(with_ttl)], client=source.client(db)
            ),
            "reading keys",
        )
        next_cursor, scanned, commands, count, size, leftover, replies = reply
        keys = cast(list[bytes], list(leftover))
        return Page(
            cursor=int(next_cursor),
            commands=commands,
            count=int(count),
            replies=int(replies),
            size=int(size),
            done=int(scanned) - len(keys),
            leftover=keys,
        )

    async def _write_page(self, run: _Run, db: int, page: Page) -> None:
        """Send one page's commands to the target (pipelined, as they are)."""
        target = run.target
        assert target is not None
        await target.call(target.pipeline(db, page.encode(), page.replies), "writing keys")
        run.copied += page.done
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
