"""Data verification (``datacheck``): finds every divergence, no false one, at what speed and memory.

Issue 15's figures, on real ``redis-server`` processes started here (and stopped on exit, Ctrl-C
included):

1. **Exact findings.** A source holds a data set of every type: strings (some of 1 MB, some of
   20 KB, integers, binary), hashes, lists, sets (integer and string), sorted sets, streams with
   consumer groups and pending entries, HyperLogLogs, geo sets; every 7th key name is binary; a
   third of the keys expire in 1-24 h; 12 collection keys hold 10,000-20,000 elements. The target
   becomes a copy by ``REPLICAOF`` then ``REPLICAOF NO ONE`` (timed: the set-up time; pipelined
   ``DUMP``/``RESTORE`` of a subset is timed too, to show which is faster). Then 60 divergences
   are planted on the target, 12 of each kind (``missing_on_target``, ``extra_on_target``,
   ``type``, ``value``, ``ttl``), and 7 element changes inside big keys (``value``). Mode
   ``full`` must find exactly the planted set: same keys, same kinds, nothing else.
2. **Sampling.** Mode ``sample`` with ``N`` keys per side and seeds ``1..K`` finds a planted key
   with the chance sampling gives it (``missing``: ``N / source keys``; ``extra``:
   ``N / target keys``; the other kinds, compared from either side's sample:
   ``1 - (1 - N/S)(1 - N/T)``). The found count over all seeds is compared with the exact 99 %
   interval of that sum of Bernoulli trials. The seeds are fixed; which keys a seed picks also
   depends on each ``redis-server``'s hash-table layout, whose hash seed Redis draws at start,
   so the count (not the verdict's rule) varies between runs.
3. **Incremental sync.** Another source/target pair, the target a live replica (``REPLICAOF``,
   as DCS's online migration keeps it) made writable (``replica-read-only no``) so divergences
   can be planted on it; a writer thread streams about 2,000 writes/s to the source (new keys,
   overwrites, hash/list/sorted-set/stream updates, deletes). A planted set P1 is on the target
   before the writes start. ``full`` with ``rounds=3`` while the writes stream must find exactly P1
   (0 false positives); after the writes stop (and the replica caught up), a second set P2 is
   planted: ``full`` must find exactly P1 + P2. A smaller data set (100,000 keys; ``--quick``
   20,000) keeps this part short.
4. **Throughput** of ``full`` in source keys per second, against two baselines in the same run,
   interleaved (full, floor, naive, lean floor; 5 rounds, 2 with ``--quick``), each in a fresh
   process: the **floor** scans the source in batches of the verification's size (500) and
   pipelines ``DUMP`` of each batch on both sides with redis-py, no comparison; the **naive
   loop** is what a user would write with redis-py: for each key ``TYPE`` on both sides, the
   type's read (``GET``/``HGETALL``/``LRANGE``/``SMEMBERS``/``ZRANGE WITHSCORES``/``XRANGE``)
   on both, compare, ``PTTL`` on both (on a subset of the keys, extrapolated to keys/s; it does
   not even look for keys only the target has). Goals: at least 0.5x the floor, at least 5x the
   naive loop. The **lean floor** (``DUMP`` on both sides through the same packing and reading
   as ``datacheck.compare``, not redis-py's pipeline) is shown for reference, not judged.
5. **Peak RSS** of the process that runs ``full`` on the whole data set (1 MB keys included):
   ``VmHWM`` from ``/proc/self/status``, goal under 300 MB. The figure includes importing the
   provider (which imports Airflow: about 117 MB before any key is read); that baseline is shown.
6. **Sample time**: ``sample`` of 10,000 keys per side (the runs of part 2), goal under 2 s.

Each figure measured over rounds is shown as median (min-max); a goal is judged on the median
and is "not settled" when the range straddles it (``bench/verdicts.py``). Re-check rounds run
with ``round_interval=0`` in parts 1, 2, 4 and 6 (a wait between rounds is not work) and 2 s in
part 3.

    .venv/bin/python bench/bench_verify.py            # 1,000,000 keys (about 7.5 minutes on 2 CPUs)
    .venv/bin/python bench/bench_verify.py --quick    # 50,000 keys (about 40 s)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402
from bench.verdicts import MET, NOT_MET, Spread, describe, judge  # noqa: E402

#: Goals of issue 15.
GOAL_FLOOR_RATIO = 0.5
GOAL_NAIVE_RATIO = 5.0
GOAL_PEAK_RSS_MB = 300.0
GOAL_SAMPLE_SECONDS = 2.0
#: The writer's rate during incremental sync (writes per second).
WRITE_RATE = 2_000
#: Keys per ``SCAN`` and per pipeline of the floor: the verification's batch.
BATCH = 500
#: Kinds of divergence, in report order.
KINDS = ("missing_on_target", "extra_on_target", "type", "value", "ttl")
#: Seconds between re-check rounds in part 3.
LIVE_ROUND_INTERVAL = 2.0
REPLICATION = ["repl-diskless-sync yes", "repl-diskless-sync-delay 0", "repl-diskless-load on-empty-db"]

# ------------------------------------------------------------------------------------------------
# The data set: indexed keys written by a server-side script, plus big keys and 1 MB strings.
# ------------------------------------------------------------------------------------------------

#: Writes keys ``ARGV[1] .. ARGV[1] + ARGV[2] - 1``; ``ARGV[3]`` is a pool of random bytes that
#: values are cut from. The type follows the index (see :func:`slot_type`); every 7th name is
#: binary; every 3rd key expires in 1-24 h. Deterministic: the same index gives the same key.
GENERATE = r"""
local first, count, pool = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local plen = #pool
local function h(i, j) return (i * 2654435761 + j * 40503 + 12345) % 2147483647 end
local function bytes(i, j, n)
  local off = h(i, j) % (plen - n) + 1
  return string.sub(pool, off, off + n - 1)
end
for i = first, first + count - 1 do
  local key
  if i % 7 == 3 then key = '\0\255bin:' .. struct.pack('>I4', i) .. '\254\r\n' else key = 'k:' .. i end
  local slot = i % 20
  local big = (i % 1000) < 20
  if slot < 9 then
    local c = i % 3
    if i % 997 == 0 then redis.call('SET', key, bytes(i, 1, 20000))
    elseif c == 0 then redis.call('SET', key, bytes(i, 1, 1 + h(i, 2) % 64))
    elseif c == 1 then redis.call('SET', key, tostring(h(i, 3) - 1073741823))
    else redis.call('SET', key, 'value-' .. i .. '-' .. string.rep('x', h(i, 4) % 41)) end
  elseif slot < 11 then
    local n = big and 200 or 1 + h(i, 5) % 5
    local args = {}
    for f = 1, n do args[#args + 1] = 'f' .. f; args[#args + 1] = bytes(i, f, 1 + h(i, f + 100) % 20) end
    redis.call('HSET', key, unpack(args))
  elseif slot < 13 then
    local n = big and 600 or 1 + h(i, 6) % 5
    local args = {}
    for e = 1, n do args[#args + 1] = bytes(i, e, 1 + h(i, e + 200) % 16) end
    redis.call('RPUSH', key, unpack(args))
  elseif slot < 15 then
    local n = big and 300 or 1 + h(i, 7) % 6
    local args = {}
    for e = 1, n do
      if i % 2 == 1 then args[#args + 1] = tostring(h(i, e + 300) % 1000000000)
      else args[#args + 1] = bytes(i, e + 300, 8) end
    end
    redis.call('SADD', key, unpack(args))
  elseif slot < 17 then
    local n = big and 200 or 1 + h(i, 8) % 5
    local args = {}
    for e = 1, n do
      args[#args + 1] = tostring((h(i, e + 400) % 2000000) / 1000 - 1000)
      args[#args + 1] = bytes(i, e + 400, 6)
    end
    redis.call('ZADD', key, unpack(args))
  elseif slot == 17 then
    for n = 1, 1 + h(i, 9) % 3 do
      redis.call('XADD', key, '*', 'n', tostring(n), 'blob', bytes(i, n + 500, 10))
    end
    if i % 40 == 17 then
      redis.call('XGROUP', 'CREATE', key, 'readers', '0')
      redis.call('XREADGROUP', 'GROUP', 'readers', 'alice', 'COUNT', '1', 'STREAMS', key, '>')
    end
  elseif slot == 18 then
    local args = {}
    for n = 1, 5 do args[#args + 1] = 'visitor-' .. h(i, n + 600) % 1000000 end
    redis.call('PFADD', key, unpack(args))
  else
    redis.call('GEOADD', key, (h(i, 10) % 340000) / 1000 - 170, (h(i, 11) % 160000) / 1000 - 80, 'place')
  end
  if i % 3 == 0 then redis.call('PEXPIRE', key, 3600000 + h(i, 12) % 82800000) end
end
return count
"""


def key_name(index: int) -> bytes:
    """The name of indexed key ``index`` (as :data:`GENERATE` writes it)."""
    if index % 7 == 3:
        return b"\x00\xffbin:" + index.to_bytes(4, "big") + b"\xfe\r\n"
    return b"k:%d" % index


def slot_type(index: int) -> str:
    """What :data:`GENERATE` writes at ``index``: string, hash, list, set, zset, stream, hll, geo."""
    slot = index % 20
    for limit, kind in ((9, "string"), (11, "hash"), (13, "list"), (15, "set"), (17, "zset")):
        if slot < limit:
            return kind
    return {17: "stream", 18: "hll"}.get(slot, "geo")


def has_ttl(index: int) -> bool:
    """Whether indexed key ``index`` expires."""
    return index % 3 == 0


def big_key_names(blobs: int, elements: int) -> list[bytes]:
    """Names of the keys :func:`add_big_keys` writes."""
    names = [b"blob:%d" % n for n in range(blobs)]
    for kind in ("hash", "list", "set", "zset", "stream") if elements else ():
        names += [b"big:%s:0" % kind.encode(), b"big:%s:1" % kind.encode()]
    return names


def add_big_keys(client: Any, blobs: int, elements: int) -> None:
    """``blobs`` strings of 1 MB and two keys of ``elements`` elements per collection type."""
    rng = random.Random(11)
    pipe = client.pipeline(transaction=False)
    if not elements:
        return
    for n in range(blobs):
        pipe.set(b"blob:%d" % n, rng.randbytes(1 << 20))
        if n % 2:
            pipe.pexpire(b"blob:%d" % n, 7_200_000)
        pipe.execute()
    for start in range(0, elements, 1_000):
        chunk = range(start, min(elements, start + 1_000))
        pipe.hset(b"big:hash:0", mapping={b"field:%d" % i: rng.randbytes(12) for i in chunk})
        pipe.hset(b"big:hash:1", mapping={b"field:%d" % i: rng.randbytes(100) for i in chunk})
        pipe.rpush(b"big:list:0", *[rng.randbytes(16) for _ in chunk])
        pipe.rpush(b"big:list:1", *[b"item-%d" % i for i in chunk])
        pipe.sadd(b"big:set:0", *[rng.randbytes(12) for _ in chunk])
        pipe.sadd(b"big:set:1", *[rng.randrange(10**12) for _ in chunk])
        pipe.zadd(b"big:zset:0", {rng.randbytes(10): rng.uniform(-1e6, 1e6) for _ in chunk})
        pipe.zadd(b"big:zset:1", {b"member-%d" % i: i for i in chunk})
        for i in chunk:
            pipe.xadd(b"big:stream:0", {b"n": b"%d" % i, b"blob": rng.randbytes(20)})
            pipe.xadd(b"big:stream:1", {b"n": b"%d" % i})
        pipe.execute()
    pipe.pexpire(b"big:hash:1", 36_000_000)
    pipe.pexpire(b"big:zset:1", 36_000_000)
    for stream in (b"big:stream:0", b"big:stream:1"):
        pipe.xgroup_create(stream, "workers", id="0")
        pipe.xgroup_create(stream, "late", id="$")
        pipe.xreadgroup("workers", "w1", {stream: ">"}, count=500)
        pipe.xreadgroup("workers", "w2", {stream: ">"}, count=300)
    pipe.execute()


def populate(server: Any, keys: int, *, blobs: int, elements: int) -> float:
    """Fill ``server`` with ``keys`` keys in all (indexed ones plus big ones); seconds taken."""
    began = time.perf_counter()
    indexed = indexed_keys(keys, blobs, elements)
    pool = random.Random(1).randbytes(65_536)
    with server.client() as client:
        sha = client.script_load(GENERATE)
        for first in range(0, indexed, 10_000):
            client.evalsha(sha, 0, first, min(10_000, indexed - first), pool)
        add_big_keys(client, blobs, elements)
        if client.dbsize() != keys:
            raise AssertionError(f"the data set has {client.dbsize()} keys, not {keys}")
    return time.perf_counter() - began


def indexed_keys(keys: int, blobs: int, elements: int) -> int:
    """How many indexed keys a data set of ``keys`` has."""
    return keys - len(big_key_names(blobs, elements))


# ------------------------------------------------------------------------------------------------
# Copying the source to the target
# ------------------------------------------------------------------------------------------------


def wait_synced(client: Any, timeout: float = 600) -> None:
    """Until ``client``'s server is a replica whose first sync is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.info("replication")
        synced = info.get("master_link_status") == "up" and not int(info.get("master_sync_in_progress", 0))
        if synced and not int(client.info("persistence").get("loading", 0)):
            return
        time.sleep(0.02)
    raise TimeoutError("the replica did not finish its first sync")


def replicate(source: Any, target: Any, *, keep: bool) -> float:
    """``target`` ``REPLICAOF`` ``source`` until synced (then ``NO ONE`` unless ``keep``); seconds."""
    began = time.perf_counter()
    with target.client() as client:
        client.replicaof(source.host, source.port)
        wait_synced(client)
        if not keep:
            client.replicaof("NO", "ONE")
    return time.perf_counter() - began


def caught_up(source: Any, target: Any, timeout: float = 60) -> None:
    """Until the replica ``target`` has processed everything ``source`` sent."""
    deadline = time.monotonic() + timeout
    with source.client() as src, target.client() as tgt:
        while time.monotonic() < deadline:
            offset = int(src.info("replication")["master_repl_offset"])
            if int(tgt.info("replication").get("slave_repl_offset", -1)) >= offset:
                return
            time.sleep(0.05)
    raise TimeoutError("the replica did not catch up")


def dump_restore_rate(source: Any, keys: int) -> tuple[float, int]:
    """Keys per second of pipelined ``DUMP``+``PTTL`` / ``RESTORE`` of ``keys`` source keys."""
    from huaweicloud_dcs_emulator.local_redis import RedisServer

    with RedisServer() as scratch, source.client() as src, scratch.client() as dst:
        names: list[bytes] = []
        for name in src.scan_iter(count=1_000):
            names.append(name)
            if len(names) >= keys:
                break
        began = time.perf_counter()
        for start in range(0, len(names), BATCH):
            batch = names[start : start + BATCH]
            read = src.pipeline(transaction=False)
            for name in batch:
                read.dump(name)
                read.pttl(name)
            replies = read.execute()
            write = dst.pipeline(transaction=False)
            for index, name in enumerate(batch):
                payload, ttl = replies[2 * index], replies[2 * index + 1]
                write.restore(name, max(0, ttl), payload, replace=True)
            write.execute()
        seconds = time.perf_counter() - began
    return len(names) / seconds, len(names)


# ------------------------------------------------------------------------------------------------
# Planted divergences
# ------------------------------------------------------------------------------------------------

Planted = dict[tuple[int, bytes], str]


class Picker:
    """Distinct indexed keys of a wanted type (and TTL), drawn by a seeded generator."""

    def __init__(self, indexed: int, seed: int, *, low: int = 0, high: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.low, self.high = low, high if high is not None else indexed
        self.taken: set[int] = set()

    def __call__(self, kind: str, *, ttl: bool | None = None, where: Any = None) -> int:
        for _ in range(100_000):
            index = self.rng.randrange(self.low, self.high)
            if index in self.taken or slot_type(index) != kind:
                continue
            if ttl is not None and has_ttl(index) != ttl:
                continue
            if where is not None and not where(index):
                continue
            self.taken.add(index)
            return index
        raise LookupError(f"no free key of type {kind}")


def plant_divergences(client: Any, pick: Picker, blobs: int, tag: str) -> Planted:
    """12 divergences of each kind on the target, plus element changes in big keys (if ``blobs``)."""
    planted: Planted = {}

    def mark(name: bytes, kind: str) -> None:
        if (0, name) in planted:
            raise AssertionError(f"planted twice: {name!r}")
        planted[(0, name)] = kind

    # missing_on_target: deleted from the target.
    for kind in (
        "string",
        "string",
        "hash",
        "hash",
        "list",
        "list",
        "set",
        "set",
        "zset",
        "stream",
        "hll",
        "geo",
    ):
        name = key_name(pick(kind))
        client.delete(name)
        mark(name, "missing_on_target")
    # extra_on_target: keys only the target has.
    extra = [f"extra:{tag}:{n}".encode() for n in range(12)]
    client.set(extra[0], b"x")
    client.set(extra[1], b"y" * 5_000, px=3_600_000)
    client.hset(extra[2], mapping={b"a": b"1", b"b": b"2"})
    client.rpush(extra[3], b"1", b"2", b"3")
    client.sadd(extra[4], b"m1", b"m2")
    client.sadd(extra[5], 1, 2, 3)
    client.zadd(extra[6], {b"z": 1.5})
    client.xadd(extra[7], {b"f": b"v"})
    client.pfadd(extra[8], b"a", b"b")
    client.geoadd(extra[9], (10.0, 20.0, b"p"))
    client.set(extra[10], 42)
    extra[11] = b"\x00extra\xff" + tag.encode() + b"\r\n"
    client.set(extra[11], b"binary name")
    for name in extra:
        mark(name, "extra_on_target")
    # type: the same name with another type.
    changes = [
        ("string", lambda n: client.hset(n, b"f", b"v")),
        ("string", lambda n: client.rpush(n, b"x")),
        ("hash", lambda n: client.set(n, b"v")),
        ("hash", lambda n: client.sadd(n, b"m")),
        ("list", lambda n: client.set(n, b"v")),
        ("list", lambda n: client.zadd(n, {b"m": 1})),
        ("set", lambda n: client.rpush(n, b"x")),
        ("set", lambda n: client.hset(n, b"f", b"v")),
        ("zset", lambda n: client.sadd(n, b"m")),
        ("stream", lambda n: client.set(n, b"v")),
        ("hll", lambda n: client.rpush(n, b"x")),
        ("geo", lambda n: client.xadd(n, {b"f": b"v"})),
    ]
    for kind, retype in changes:
        name = key_name(pick(kind))
        client.delete(name)
        retype(name)
        mark(name, "type")
    # value: same type, same TTL, another value (same length where possible).
    values: list[tuple[str, Any, Any]] = [
        ("string", lambda i: i % 3 == 2 and i % 997 != 0, lambda n: client.setrange(n, 0, b"V")),
        ("string", lambda i: i % 3 == 1 and i % 997 != 0, lambda n: client.incrby(n, 7)),
        ("string", lambda i: i % 997 == 0, lambda n: client.setrange(n, 12_345, b"\x00changed\x00")),
        ("hash", None, lambda n: client.hset(n, b"f1", b"changed")),
        ("hash", None, lambda n: _replace_field(client, n)),
        ("list", None, lambda n: client.lset(n, 0, b"changed")),
        ("list", None, lambda n: client.rpush(n, b"one more")),
        ("set", lambda i: i % 2 == 1, lambda n: _replace_member(client, n, b"999999999999")),
        ("set", lambda i: i % 2 == 0, lambda n: _replace_member(client, n, b"another member")),
        ("zset", None, lambda n: client.zadd(n, {client.zrange(n, 0, 0)[0]: 1e9}, xx=True)),
        ("stream", lambda i: i % 40 != 17, lambda n: client.xadd(n, {b"n": b"extra entry"})),
        ("stream", lambda i: i % 40 == 17, lambda n: client.xgroup_setid(n, "readers", "$")),
    ]
    for kind, where, change in values:
        name = key_name(pick(kind, where=where))
        change(name)
        mark(name, "value")
    # ttl: the life changed, not the value.
    for _ in range(4):
        name = key_name(pick("string", ttl=True, where=lambda i: i % 997 != 0))
        client.persist(name)
        mark(name, "ttl")
    for kind in ("hash", "list", "set", "zset"):
        name = key_name(pick(kind, ttl=False))
        client.expire(name, 36_000)
        mark(name, "ttl")
    for kind in ("string", "stream", "geo", "hll"):
        name = key_name(pick(kind, ttl=True))
        client.pexpire(name, client.pttl(name) + 3_600_000)
        mark(name, "ttl")
    if blobs:
        # Big keys: one element changed deep inside (the length stays the same).
        client.setrange(b"blob:1", 700_000, b"changed")
        client.hset(b"big:hash:0", b"field:1234", b"changed")
        client.lset(b"big:list:0", -3, b"changed")
        _replace_member(client, b"big:set:0", b"a member only the target has")
        _replace_member(client, b"big:set:1", b"1000000000000000")
        member = client.zrange(b"big:zset:0", -1, -1)[0]
        client.zadd(b"big:zset:0", {member: -0.5}, xx=True)
        pending = client.xpending_range(b"big:stream:0", "workers", min="-", max="+", count=1)
        client.xack(b"big:stream:0", "workers", pending[0]["message_id"])
        for name in (b"blob:1", b"big:hash:0", b"big:list:0", b"big:set:0", b"big:set:1"):
            mark(name, "value")
        mark(b"big:zset:0", "value")
        mark(b"big:stream:0", "value")
    return planted


def _replace_field(client: Any, name: bytes) -> None:
    """A new field first, then one old field gone: same length, never empty."""
    old = client.hkeys(name)[0]
    client.hset(name, b"a new field", b"v")
    client.hdel(name, old)


def _replace_member(client: Any, name: bytes, new: bytes) -> None:
    old = client.srandmember(name)
    client.sadd(name, new)
    client.srem(name, old)


def plant_live(client: Any, pick: Picker, tag: str) -> Planted:
    """A few divergences on a writable replica (keys the writer never touches), one per kind."""
    planted: Planted = {}
    name = key_name(pick("string"))
    client.delete(name)
    planted[(0, name)] = "missing_on_target"
    name = f"extra:{tag}".encode()
    client.set(name, b"only here")
    planted[(0, name)] = "extra_on_target"
    name = key_name(pick("list"))
    client.delete(name)
    client.set(name, b"not a list")
    planted[(0, name)] = "type"
    name = key_name(pick("hash"))
    client.hset(name, b"f1", b"changed on the replica")
    planted[(0, name)] = "value"
    name = key_name(pick("zset", ttl=False))
    client.expire(name, 36_000)
    planted[(0, name)] = "ttl"
    return planted


# ------------------------------------------------------------------------------------------------
# The writer of part 3
# ------------------------------------------------------------------------------------------------


class Writer(threading.Thread):
    """About ``rate`` writes per second to the source, in pipelines of 1/100 s, on keys >= ``low``."""

    def __init__(self, server: Any, rate: int, low: int, high: int) -> None:
        super().__init__(daemon=True, name="bench-writer")
        self.server, self.rate, self.low, self.high = server, rate, low, high
        self.stop = threading.Event()
        self.writes = 0
        self.seconds = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        rng = random.Random(99)
        per_tick = max(1, self.rate // 100)
        created = 0
        try:
            with self.server.client() as client:
                began = time.monotonic()
                tick = 0
                while not self.stop.is_set():
                    pipe = client.pipeline(transaction=False)
                    for _ in range(per_tick):
                        created = self._one(pipe, rng, created)
                    pipe.execute()
                    self.writes += per_tick
                    tick += 1
                    delay = began + tick / 100 - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                self.seconds = time.monotonic() - began
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _one(self, pipe: Any, rng: random.Random, created: int) -> int:
        roll = rng.random()
        if roll < 0.35 or created < 10:
            ttl = 3_600_000 if rng.random() < 0.5 else None
            pipe.set(b"live:%d" % created, rng.randbytes(rng.randint(1, 100)), px=ttl)
            return created + 1
        if roll < 0.45:
            pipe.delete(b"live:%d" % rng.randrange(created))
            return created
        index = rng.randrange(self.low, self.high)
        kind, name = slot_type(index), key_name(index)
        if kind == "string":
            pipe.set(name, b"rewritten-%d" % rng.randrange(10**6), keepttl=True)
        elif kind == "hash":
            pipe.hset(name, b"f1", rng.randbytes(10))
        elif kind == "list":
            pipe.rpush(name, b"appended")
        elif kind in ("zset", "geo"):
            pipe.zincrby(name, 1.0, b"live-member")
        elif kind == "stream":
            pipe.xadd(name, {b"n": b"live"})
        elif kind == "set":
            pipe.sadd(name, b"live-member")
        else:
            pipe.pfadd(name, b"live-visitor-%d" % rng.randrange(10**6))
        return created


# ------------------------------------------------------------------------------------------------
# Child processes: each variant runs in a fresh interpreter and times itself
# ------------------------------------------------------------------------------------------------


def memory_status() -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` of this process, in MB."""
    figures: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(rest.split()[0]) / 1024
    return figures


def child_verify(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs of :class:`Verification` (one per seed in ``spec["seeds"]``, else one)."""
    bare = memory_status()
    from huaweicloud_dcs_provider.datacheck.sides import Endpoint, open_side
    from huaweicloud_dcs_provider.datacheck.verify import Verification, VerifySettings

    imported = memory_status()
    quiet = logging.getLogger("bench.verify.quiet")
    quiet.setLevel(logging.WARNING)
    source = Endpoint("source", (("127.0.0.1", spec["source"]),))
    target = Endpoint("target", (("127.0.0.1", spec["target"]),))
    runs = []
    for seed in spec.get("seeds") or [0]:
        settings = VerifySettings(
            mode=spec["mode"],
            sample_size=spec.get("sample_size", 10_000),
            seed=seed,
            rounds=spec.get("rounds", 3),
            round_interval=spec.get("round_interval", 0.0),
            progress_interval=1e9,
        )
        began = time.perf_counter()
        with open_side(source) as src, open_side(target) as tgt:
            report = Verification(src, tgt, settings, log=quiet).run()
        seconds = time.perf_counter() - began
        runs.append(
            {
                "seed": seed,
                "seconds": seconds,
                "keys_compared": report.keys_compared,
                "target_keys_checked": report.target_keys_checked,
                "source_keys": report.source_keys,
                "target_keys": report.target_keys,
                "rounds_run": report.rounds_run,
                "rechecked": report.rechecked,
                "overflow": report.overflow,
                "sample": report.sample,
                "findings": [[f.db, f.key.hex(), f.kind] for f in report.findings],
            }
        )
    final = memory_status()
    return {
        "runs": runs,
        "rss_bare_mb": bare["VmRSS"],
        "rss_imported_mb": imported["VmRSS"],
        "peak_rss_mb": final["VmHWM"],
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """``SCAN`` the source in batches; ``DUMP`` each batch on both sides (redis-py pipelines)."""
    import redis

    src = redis.Redis(host="127.0.0.1", port=spec["source"])
    tgt = redis.Redis(host="127.0.0.1", port=spec["target"])
    keys = 0
    began = time.perf_counter()
    cursor: Any = 0
    while True:
        cursor, batch = src.scan(cursor=cursor, count=BATCH)
        for client in (src, tgt):
            pipe = client.pipeline(transaction=False)
            for name in batch:
                pipe.dump(name)
            pipe.execute()
        keys += len(batch)
        if int(cursor) == 0:
            break
    return {"seconds": time.perf_counter() - began, "keys": keys}


def child_lean_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor through ``datacheck.compare``'s own packing and reading (reference only)."""
    import redis

    from huaweicloud_dcs_provider.datacheck.compare import _run
    from huaweicloud_dcs_provider.datacheck.pacing import Pace

    src = redis.Redis(host="127.0.0.1", port=spec["source"])
    tgt = redis.Redis(host="127.0.0.1", port=spec["target"])
    pace = Pace(None)
    keys = 0
    began = time.perf_counter()
    cursor: Any = 0
    while True:
        cursor, batch = src.scan(cursor=cursor, count=BATCH)
        for client in (src, tgt):
            _run(client, pace, [("DUMP", name) for name in batch])
        keys += len(batch)
        if int(cursor) == 0:
            break
    return {"seconds": time.perf_counter() - began, "keys": keys}


def child_naive(spec: dict[str, Any]) -> dict[str, Any]:
    """The per-key loop a user would write with redis-py, on the first ``subset`` keys of a SCAN."""
    import redis

    src = redis.Redis(host="127.0.0.1", port=spec["source"])
    tgt = redis.Redis(host="127.0.0.1", port=spec["target"])
    names: list[bytes] = []
    for name in src.scan_iter(count=1_000):
        names.append(name)
        if len(names) >= spec["subset"]:
            break
    differing = 0
    began = time.perf_counter()
    for name in names:
        kind = src.type(name)
        if tgt.type(name) != kind:
            differing += 1
            continue
        mine: Any
        theirs: Any
        if kind == b"string":
            mine, theirs = src.get(name), tgt.get(name)
        elif kind == b"hash":
            mine, theirs = src.hgetall(name), tgt.hgetall(name)
        elif kind == b"list":
            mine, theirs = src.lrange(name, 0, -1), tgt.lrange(name, 0, -1)
        elif kind == b"set":
            mine, theirs = src.smembers(name), tgt.smembers(name)
        elif kind == b"zset":
            mine, theirs = src.zrange(name, 0, -1, withscores=True), tgt.zrange(name, 0, -1, withscores=True)
        elif kind == b"stream":
            mine, theirs = src.xrange(name), tgt.xrange(name)
        else:
            mine = theirs = None
        if mine != theirs or abs(src.pttl(name) - tgt.pttl(name)) > 5_000:
            differing += 1
    return {"seconds": time.perf_counter() - began, "keys": len(names), "differing": differing}


CHILDREN = {
    "verify": child_verify,
    "floor": child_floor,
    "lean_floor": child_lean_floor,
    "naive": child_naive,
}


def in_child(variant: str, spec: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Run one variant in a fresh interpreter; its figures."""
    spec_path = workdir / f"{variant}.spec.json"
    out_path = workdir / f"{variant}.out.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    env = dict(os.environ, AIRFLOW__CORE__LOAD_EXAMPLES="False")
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        variant,
        str(spec_path),
        str(out_path),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"child {variant} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(out_path.read_text())
    return figures


# ------------------------------------------------------------------------------------------------
# Findings and statistics
# ------------------------------------------------------------------------------------------------


def found_set(run: dict[str, Any]) -> set[tuple[int, bytes, str]]:
    """``{(db, key, kind)}`` of one verification run."""
    return {(db, bytes.fromhex(key), kind) for db, key, kind in run["findings"]}


def planted_set(planted: Planted) -> set[tuple[int, bytes, str]]:
    return {(db, key, kind) for (db, key), kind in planted.items()}


def exactness(run: dict[str, Any], planted: Planted) -> tuple[int, int, int]:
    """``(true positives, false positives, missed)`` of one run."""
    found, wanted = found_set(run), planted_set(planted)
    return len(found & wanted), len(found - wanted), len(wanted - found)


def show_keys(items: set[tuple[int, bytes, str]], limit: int = 5) -> str:
    return ", ".join(f"{key!r} ({kind})" for _, key, kind in sorted(items)[:limit])


def poisson_binomial(probabilities: list[float]) -> list[float]:
    """The distribution of the number of successes of independent trials."""
    pmf = [1.0]
    for p in probabilities:
        nxt = [0.0] * (len(pmf) + 1)
        for k, mass in enumerate(pmf):
            nxt[k] += mass * (1 - p)
            nxt[k + 1] += mass * p
        pmf = nxt
    return pmf


def interval(pmf: list[float], level: float = 0.99) -> tuple[int, int]:
    """The central ``level`` interval ``[low, high]`` of a distribution on 0, 1, 2, ..."""
    tail = (1 - level) / 2
    total, low = 0.0, 0
    for k, mass in enumerate(pmf):
        total += mass
        if total > tail:
            low = k
            break
    total, high = 0.0, len(pmf) - 1
    for k in range(len(pmf) - 1, -1, -1):
        total += pmf[k]
        if total > tail:
            high = k
            break
    return low, high


def detection_chance(kind: str, sampled: tuple[int, int], keys: tuple[int, int]) -> float:
    """The chance that samples of ``sampled`` keys (source, target) among ``keys`` (source, target)
    find a planted key of ``kind``."""
    on_source = min(1.0, sampled[0] / keys[0])
    on_target = min(1.0, sampled[1] / keys[1])
    if kind == "missing_on_target":
        return on_source  # only the source's sample holds it
    if kind == "extra_on_target":
        return on_target  # only the target's sample holds it
    return 1 - (1 - on_source) * (1 - on_target)  # either side's sample compares it


# ------------------------------------------------------------------------------------------------
# Servers: stopped on exit, Ctrl-C and SIGTERM included
# ------------------------------------------------------------------------------------------------


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def servers(count: int, extra_config: list[str]) -> Iterator[list[Any]]:
    """``count`` started ``redis-server``s; all stopped on leaving, however it is left."""
    from huaweicloud_dcs_emulator.local_redis import RedisServer

    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(RedisServer(extra_config=extra_config)) for _ in range(count)]


# ------------------------------------------------------------------------------------------------
# The parts
# ------------------------------------------------------------------------------------------------


def part_exact_and_throughput(
    args: argparse.Namespace, workdir: Path, figures: dict[str, Any]
) -> dict[str, Any]:
    """Parts 1, 2, 4, 5 and 6 on the big data set."""
    keys, blobs, elements = args.keys, args.blobs, args.elements
    out: dict[str, Any] = {}
    with servers(2, REPLICATION) as (source, target):
        generated = populate(source, keys, blobs=blobs, elements=elements)
        with source.client() as client:
            memory = client.info("memory")["used_memory"] / 1e6
        print(
            f"data set: {keys:,} keys ({memory:,.0f} MB in Redis; {blobs} strings of 1 MB, "
            f"{len(big_key_names(blobs, elements)) - blobs} collections of {elements:,} elements) "
            f"written in {generated:.1f} s"
        )
        copy_seconds = replicate(source, target, keep=False)
        with target.client() as client:
            copied = client.dbsize()
        if copied != keys:
            raise AssertionError(f"the target has {copied} keys after REPLICAOF, not {keys}")
        subset = min(args.dump_restore_keys, keys)
        restore_rate, restored = dump_restore_rate(source, subset)
        print(
            f"set-up: REPLICAOF + REPLICAOF NO ONE copied {keys:,} keys in {copy_seconds:.2f} s "
            f"({keys / copy_seconds:,.0f} keys/s); pipelined DUMP/RESTORE: {restore_rate:,.0f} keys/s "
            f"(on {restored:,} keys), {keys / restore_rate:.1f} s extrapolated"
        )
        out["setup"] = {
            "generate_seconds": generated,
            "redis_used_memory_mb": memory,
            "replicaof_seconds": copy_seconds,
            "dump_restore_keys_per_second": restore_rate,
            "dump_restore_keys_timed": restored,
            "dump_restore_seconds_extrapolated": keys / restore_rate,
        }
        with target.client() as client:
            planted = plant_divergences(
                client, Picker(indexed_keys(keys, blobs, elements), seed=15), blobs, "t"
            )
        by_kind = Counter(planted.values())
        print(
            f"planted on the target: {len(planted)} ({', '.join(f'{k} {by_kind[k]}' for k in KINDS)}; "
            f"{7 if blobs else 0} of the value ones inside big keys)"
        )
        ports = {"source": source.port, "target": target.port}

        # Part 4 (and 1, 5): interleaved rounds, each variant in a fresh process.
        rounds: dict[str, list[dict[str, Any]]] = {"full": [], "floor": [], "naive": [], "lean_floor": []}
        for number in range(1, args.rounds + 1):
            full = in_child("verify", {**ports, "mode": "full", "rounds": 3}, workdir)
            rounds["full"].append(full)
            floor = in_child("floor", ports, workdir)
            rounds["floor"].append(floor)
            naive = in_child("naive", {**ports, "subset": args.naive_keys}, workdir)
            rounds["naive"].append(naive)
            lean = in_child("lean_floor", ports, workdir)
            rounds["lean_floor"].append(lean)
            run = full["runs"][0]
            hits, false, _ = exactness(run, planted)
            print(
                f"round {number}: full {run['seconds']:.1f} s ({keys / run['seconds']:,.0f} keys/s, "
                f"found {hits}/{len(planted)}, {false} false, peak RSS {full['peak_rss_mb']:.0f} MB); "
                f"floor {floor['seconds']:.1f} s; naive {naive['keys'] / naive['seconds']:,.0f} keys/s; "
                f"lean floor {lean['seconds']:.1f} s"
            )
        out["rounds"] = rounds

        # Parts 2 and 6: sample runs, one seed after another, in one fresh process.
        seeds = list(range(1, args.seeds + 1))
        sample = in_child(
            "verify",
            {**ports, "mode": "sample", "sample_size": args.sample, "rounds": 3, "seeds": seeds},
            workdir,
        )
        out["sample"] = sample
        out["planted"] = planted
        out["keys"] = keys
    figures["setup"] = out["setup"]
    return out


def part_live(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Part 3: verification while the target replicates a source taking writes."""
    keys = args.live_keys
    with servers(2, REPLICATION) as (source, target):
        populate(source, keys, blobs=0, elements=0)
        sync_seconds = replicate(source, target, keep=True)
        with target.client() as client:
            client.config_set("replica-read-only", "no")
        caught_up(source, target)
        reserved = keys // 20  # the planted keys come from here; the writer never touches them
        pick = Picker(keys, seed=3, low=0, high=reserved)
        with target.client() as client:
            before = plant_live(client, pick, "p1")
        writer = Writer(source, WRITE_RATE, low=reserved, high=keys)
        ports = {"source": source.port, "target": target.port}
        spec = {**ports, "mode": "full", "rounds": 3, "round_interval": LIVE_ROUND_INTERVAL}
        writer.start()
        try:
            time.sleep(1.0)  # writes are streaming before the check starts
            during = in_child("verify", spec, workdir)
        finally:
            writer.stop.set()
            writer.join(30)
        if writer.error is not None:
            raise RuntimeError(f"the writer failed: {writer.error!r}")
        caught_up(source, target)
        with target.client() as client:
            after = plant_live(client, pick, "p2")
        settled = in_child("verify", spec, workdir)
    return {
        "keys": keys,
        "sync_seconds": sync_seconds,
        "writes": writer.writes,
        "write_seconds": writer.seconds,
        "planted_before": before,
        "planted_after": after,
        "during": during["runs"][0],
        "after": settled["runs"][0],
    }


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def print_report(
    args: argparse.Namespace, big: dict[str, Any], live: dict[str, Any], figures: dict[str, Any]
) -> None:
    planted: Planted = big["planted"]
    keys = big["keys"]
    rounds = big["rounds"]
    rows: list[tuple[str, str, str, str]] = []

    # 1. Exact findings, every round of full.
    exact = [exactness(full["runs"][0], planted) for full in rounds["full"]]
    ok = all(hits == len(planted) and false == 0 and missed == 0 for hits, false, missed in exact)
    first = rounds["full"][0]["runs"][0]
    found = found_set(first)
    wanted = planted_set(planted)
    found_kinds = Counter(kind for _, _, kind in found)
    print("\n== 1. full finds exactly the planted divergences")
    print(f"planted {len(planted)}: " + ", ".join(f"{k} {Counter(planted.values())[k]}" for k in KINDS))
    print(f"found   {len(found)}: " + ", ".join(f"{k} {found_kinds[k]}" for k in KINDS))
    if found - wanted:
        print(f"  false positives: {show_keys(found - wanted)}")
    if wanted - found:
        print(f"  missed: {show_keys(wanted - found)}")
    verdict1 = MET if ok else NOT_MET
    print(
        f"verdict: found set == planted set in {sum(1 for e in exact if e == (len(planted), 0, 0))}"
        f"/{len(exact)} rounds (true {exact[0][0]}, false {exact[0][1]}, missed {exact[0][2]}) -> {verdict1}"
    )
    rows.append(
        (
            "1. full: found == planted, 0 false",
            f"{len(planted)} planted",
            f"{exact[0][0]} found, {exact[0][1]} false, {exact[0][2]} missed",
            verdict1,
        )
    )
    figures["exact"] = {"planted": len(planted), "rounds": [list(e) for e in exact], "met": ok}

    # 2. Sampling finds at the predicted rate.
    runs = big["sample"]["runs"]
    size = args.sample
    probabilities: list[float] = []
    observed = 0
    false_total = 0
    expected_by_kind: Counter[str] = Counter()
    found_by_kind: Counter[str] = Counter()
    for run in runs:
        counts = (sum(run["source_keys"].values()), sum(run["target_keys"].values()))
        sampled = (run["sample"]["source_sampled"], run["sample"]["target_sampled"])
        hits = found_set(run)
        for (db, key), kind in planted.items():
            chance = detection_chance(kind, sampled, counts)
            probabilities.append(chance)
            expected_by_kind[kind] += chance
            if (db, key, kind) in hits:
                observed += 1
                found_by_kind[kind] += 1
        false_total += len(hits - wanted)
    pmf = poisson_binomial(probabilities)
    expected = sum(probabilities)
    low, high = interval(pmf)
    within = low <= observed <= high and false_total == 0
    print(
        f"\n== 2. sample: {size:,} keys per side, seeds 1..{len(runs)}, on {keys:,} keys with "
        f"{len(planted)} planted"
    )
    print("kind                 expected  found")
    for kind in KINDS:
        print(f"{kind:20} {expected_by_kind[kind]:8.2f} {found_by_kind[kind]:6d}")
    print(
        f"all                  {expected:8.2f} {observed:6d}   99% interval [{low}, {high}]; "
        f"false positives {false_total}"
    )
    verdict2 = MET if within else NOT_MET
    print(
        f"verdict: found {observed} within the 99% interval [{low}, {high}] of the expected {expected:.1f}"
        f" and 0 false -> {verdict2}"
        if within
        else f"verdict: found {observed}, 99% interval [{low}, {high}], {false_total} false -> {verdict2}"
    )
    rows.append(
        (
            f"2. sample {size:,}/side x {len(runs)} seeds: rate",
            f"in 99% [{low}, {high}]",
            f"{observed} found (expected {expected:.1f}), {false_total} false",
            verdict2,
        )
    )
    figures["sample_rate"] = {
        "size_per_side": size,
        "seeds": len(runs),
        "expected": expected,
        "observed": observed,
        "interval_99": [low, high],
        "false_positives": false_total,
        "met": within,
        "expected_by_kind": dict(expected_by_kind),
        "found_by_kind": dict(found_by_kind),
    }

    # 3. Incremental sync.
    during, after = live["during"], live["after"]
    p1, p2 = live["planted_before"], live["planted_after"]
    hits1, false1, missed1 = exactness(during, p1)
    hits2, false2, missed2 = exactness(after, {**p1, **p2})
    rate = live["writes"] / live["write_seconds"] if live["write_seconds"] else 0.0
    print(
        f"\n== 3. incremental sync: {live['keys']:,} keys, the target a live replica "
        f"(first sync {live['sync_seconds']:.2f} s), {rate:,.0f} writes/s to the source during the check"
    )
    print(
        f"while writing: rounds=3, every {LIVE_ROUND_INTERVAL:g} s; "
        f"{during['rechecked']} suspects re-checked, "
        f"{during['rounds_run']} rounds, {during['seconds']:.1f} s; found {hits1}/{len(p1)} planted, "
        f"{false1} false, {missed1} missed"
    )
    print(
        f"writes stopped, {len(p2)} more planted: found {hits2}/{len(p1) + len(p2)}, {false2} false, "
        f"{missed2} missed ({after['seconds']:.1f} s)"
    )
    ok3 = false1 == 0 and missed1 == 0 and false2 == 0 and missed2 == 0
    verdict3 = MET if ok3 else NOT_MET
    print(f"verdict: 0 false positives while writing and every planted divergence found -> {verdict3}")
    rows.append(
        (
            f"3. live replica, ~{WRITE_RATE:,} writes/s, rounds=3",
            "0 false, planted found",
            f"{false1} false while writing; {hits2}/{len(p1) + len(p2)} found after",
            verdict3,
        )
    )
    figures["live"] = {
        "keys": live["keys"],
        "writes_per_second": rate,
        "sync_seconds": live["sync_seconds"],
        "during": {
            "found": hits1,
            "false": false1,
            "missed": missed1,
            "rechecked": during["rechecked"],
            "seconds": during["seconds"],
        },
        "after": {"found": hits2, "false": false2, "missed": missed2, "seconds": after["seconds"]},
        "met": ok3,
    }

    # 4. Throughput.
    full_rate = Spread.of(keys / f["runs"][0]["seconds"] for f in rounds["full"])
    floor_rate = Spread.of(f["keys"] / f["seconds"] for f in rounds["floor"])
    lean_rate = Spread.of(f["keys"] / f["seconds"] for f in rounds["lean_floor"])
    naive_rate = Spread.of(f["keys"] / f["seconds"] for f in rounds["naive"])
    vs_floor = Spread.of(
        (keys / f["runs"][0]["seconds"]) / (b["keys"] / b["seconds"])
        for f, b in zip(rounds["full"], rounds["floor"], strict=True)
    )
    vs_naive = Spread.of(
        (keys / f["runs"][0]["seconds"]) / (n["keys"] / n["seconds"])
        for f, n in zip(rounds["full"], rounds["naive"], strict=True)
    )
    vs_lean = Spread.of(
        (keys / f["runs"][0]["seconds"]) / (b["keys"] / b["seconds"])
        for f, b in zip(rounds["full"], rounds["lean_floor"], strict=True)
    )
    verdict4a = judge(vs_floor, GOAL_FLOOR_RATIO, at_least=True)
    verdict4b = judge(vs_naive, GOAL_NAIVE_RATIO, at_least=True)
    naive_keys = rounds["naive"][0]["keys"]
    print(
        f"\n== 4. throughput on {keys:,} keys, source keys/s, "
        f"median (min-max) of {len(rounds['full'])} rounds"
    )
    print(f"{'variant':44} {'keys/s':>32}")
    print(f"{'full (ours, both directions)':44} {describe(full_rate, digits=0):>32}")
    print(f"{'floor: redis-py pipelined DUMP, both sides':44} {describe(floor_rate, digits=0):>32}")
    naive_label = f"naive per-key loop (on {naive_keys:,} keys)"
    print(f"{naive_label:44} {describe(naive_rate, digits=0):>32}")
    print(f"{'lean floor: DUMP via compare._run (info)':44} {describe(lean_rate, digits=0):>32}")
    print(f"ours / floor: {describe(vs_floor, unit='x')} -> goal >= {GOAL_FLOOR_RATIO}x: {verdict4a}")
    print(f"ours / naive: {describe(vs_naive, unit='x')} -> goal >= {GOAL_NAIVE_RATIO:g}x: {verdict4b}")
    print(f"ours / lean floor: {describe(vs_lean, unit='x')} (no goal)")
    rows.append(
        ("4a. full / floor (keys/s)", f">= {GOAL_FLOOR_RATIO}x", describe(vs_floor, unit="x"), verdict4a)
    )
    rows.append(
        (
            "4b. full / naive loop (keys/s)",
            f">= {GOAL_NAIVE_RATIO:g}x",
            describe(vs_naive, unit="x"),
            verdict4b,
        )
    )
    figures["throughput"] = {
        "full_keys_per_second": full_rate.as_dict(),
        "floor_keys_per_second": floor_rate.as_dict(),
        "naive_keys_per_second": naive_rate.as_dict(),
        "naive_keys_timed": naive_keys,
        "lean_floor_keys_per_second": lean_rate.as_dict(),
        "full_over_floor": vs_floor.as_dict(),
        "full_over_naive": vs_naive.as_dict(),
        "full_over_lean_floor": vs_lean.as_dict(),
        "verdict_floor": verdict4a,
        "verdict_naive": verdict4b,
    }

    # 5. Peak RSS.
    peak = Spread.of(f["peak_rss_mb"] for f in rounds["full"])
    imported = Spread.of(f["rss_imported_mb"] for f in rounds["full"])
    bare = rounds["full"][0]["rss_bare_mb"]
    verdict5 = judge(peak, GOAL_PEAK_RSS_MB, at_least=False)
    print(f"\n== 5. peak RSS of the process running full on {keys:,} keys ({args.blobs} of 1 MB)")
    print(
        f"VmHWM {describe(peak, unit=' MB', digits=0)}; after importing the provider "
        f"{imported.median:.0f} MB (bare interpreter {bare:.0f} MB): the verification itself adds "
        f"{peak.median - imported.median:.0f} MB"
    )
    print(f"verdict: under {GOAL_PEAK_RSS_MB:g} MB -> {verdict5}")
    rows.append(
        (
            "5. peak RSS of full (VmHWM)",
            f"< {GOAL_PEAK_RSS_MB:g} MB",
            describe(peak, unit=" MB", digits=0),
            verdict5,
        )
    )
    figures["memory"] = {
        "peak_rss_mb": peak.as_dict(),
        "rss_after_imports_mb": imported.as_dict(),
        "rss_bare_mb": bare,
        "verdict": verdict5,
    }

    # 6. Sample time.
    times = Spread.of(run["seconds"] for run in runs)
    verdict6 = judge(times, GOAL_SAMPLE_SECONDS, at_least=False)
    print(
        f"\n== 6. sample of {size:,} keys per side on {keys:,} keys: "
        f"{describe(times, unit=' s', runs='seeds')} -> under {GOAL_SAMPLE_SECONDS:g} s: {verdict6}"
    )
    rows.append(
        (
            f"6. sample {size:,}/side, time",
            f"< {GOAL_SAMPLE_SECONDS:g} s",
            describe(times, unit=" s", runs="seeds"),
            verdict6,
        )
    )
    figures["sample_time"] = {"seconds": times.as_dict(), "verdict": verdict6}

    print("\n== summary")
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("figure", "goal", "measured", "verdict")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    figures["summary"] = [dict(zip(header, row, strict=True)) for row in rows]


def client_stack() -> str:
    """redis-py's version and reply parser (hiredis, when installed, parses in C)."""
    import redis
    from redis.utils import HIREDIS_AVAILABLE

    parser = "hiredis" if HIREDIS_AVAILABLE else "pure-Python parser (no hiredis)"
    return f"redis-py {redis.__version__}, {parser}"


def server_version() -> str:
    from huaweicloud_dcs_emulator.local_redis import redis_server_binary

    out = subprocess.run([redis_server_binary(), "--version"], capture_output=True, text=True, check=False)  # noqa: S603
    return out.stdout.split()[2].removeprefix("v=") if out.stdout.count(" ") >= 2 else out.stdout.strip()


def summary_report(figures: dict[str, Any]) -> results.Report:
    """The distributions and verdicts of the run, for ``bench/summary.py``."""

    def spread(figure: dict[str, Any]) -> Spread:
        return Spread(figure["min"], figure["median"], figure["max"], figure["rounds"])

    report = results.Report("Data verification")
    throughput = figures["throughput"]
    for key, label in (
        ("full_keys_per_second", "full (both directions, re-check rounds): source keys/s"),
        ("floor_keys_per_second", "floor: SCAN + pipelined DUMP on both sides: keys/s"),
        ("naive_keys_per_second", f"per-key loop ({throughput['naive_keys_timed']:,} keys): keys/s"),
        ("lean_floor_keys_per_second", "(reference) DUMP through the verify's reply reader: keys/s"),
    ):
        report.figure(label, spread(throughput[key]), digits=0)
    report.figure("full: peak RSS (VmHWM)", spread(figures["memory"]["peak_rss_mb"]), unit=" MB", digits=0)
    report.figure(
        "sample of 10,000 keys per side: time", spread(figures["sample_time"]["seconds"]), unit=" s"
    )
    report.verdicts.extend(dict(row) for row in figures["summary"])
    return report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="50,000 keys, 2 rounds: a smoke run of the harness"
    )
    parser.add_argument("--keys", type=int, help="keys of the main data set (1,000,000; --quick 50,000)")
    parser.add_argument("--rounds", type=int, help="interleaved throughput rounds (5; --quick 2)")
    parser.add_argument("--seeds", type=int, help="sample seeds (20; --quick 3)")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, spec_path, out_path = args.child
        outcome = CHILDREN[variant](json.loads(Path(spec_path).read_text()))
        Path(out_path).write_text(json.dumps(outcome))
        return 0
    args.keys = args.keys or (50_000 if args.quick else 1_000_000)
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.seeds = args.seeds or (3 if args.quick else 20)
    args.blobs = max(4, args.keys // 50_000)
    args.elements = 10_000 if args.quick else 20_000
    args.sample = 10_000
    args.naive_keys = min(args.keys, 10_000)
    args.dump_restore_keys = 10_000 if args.quick else 50_000
    args.live_keys = 20_000 if args.quick else 100_000
    if args.sample * 2 >= args.keys:
        parser.error("--keys must be more than twice the sample size (10,000)")

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    began = time.monotonic()
    load_start = os.getloadavg()
    loads = results.Loads()
    print(
        f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} "
        f"({os.cpu_count()} CPUs)"
    )
    client = client_stack()
    print(f"client: {client}; redis-server {server_version()}")
    figures: dict[str, Any] = {
        "quick": args.quick,
        "keys": args.keys,
        "rounds": args.rounds,
        "client": client,
        "redis_server": server_version(),
    }
    with tempfile.TemporaryDirectory(prefix="dcs-bench-verify-") as tmp:
        workdir = Path(tmp)
        big = part_exact_and_throughput(args, workdir, figures)
        live = part_live(args, workdir)
    print_report(args, big, live, figures)
    load_end = os.getloadavg()
    took = time.monotonic() - began
    print(
        f"\nload average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; "
        f"the run took {took / 60:.1f} min"
    )
    figures.update({"load_average_start": load_start, "load_average_end": load_end, "seconds": took})
    loads.sample()
    path = results.save("verify", figures, report=summary_report(figures), loads=loads)
    print(f"saved {results.shown(path)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted (the redis-server processes were stopped)", file=sys.stderr)
        sys.exit(130)
