"""Test data for real Redis migrations: fill a server with every common type, compare two servers.

Shared by ``tests/test_real_migration.py`` and the end-to-end tests.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from huaweicloud_dcs_emulator.local_redis import RedisServer


def key_name(db: int, index: int) -> bytes:
    """Mostly readable names; every 7th is binary (NUL, 0xFF and friends)."""
    if index % 7 == 3:
        return b"\x00\xffbin:" + bytes([db]) + index.to_bytes(4, "big") + b"\xfe\r\n"
    return b"k:%d:%d" % (db, index)


def write_value(pipe: Any, rng: random.Random, key: bytes, index: int) -> str:
    """Queue the commands creating ``key`` with a value of a type chosen by ``index``; returns the type."""
    slot = index % 20
    big = index % 1000 < 20  # about 1 key in 50 of each collection type is big (non-compact encoding)
    if slot < 9:
        choice = index % 3
        if index % 997 == 0:
            pipe.set(key, rng.randbytes(20_000))
        elif choice == 0:
            pipe.set(key, rng.randbytes(rng.randint(1, 64)))
        elif choice == 1:
            pipe.set(key, str(rng.randint(-(10**12), 10**12)))
        else:
            pipe.set(key, f"value-{index}-" + "x" * rng.randint(0, 40))
        return "string"
    if slot < 11:
        size = 200 if big else rng.randint(1, 5)
        pipe.hset(key, mapping={b"f%d" % n: rng.randbytes(rng.randint(1, 20)) for n in range(size)})
        return "hash"
    if slot < 13:
        size = 600 if big else rng.randint(1, 5)
        pipe.rpush(key, *[rng.randbytes(rng.randint(1, 16)) for _ in range(size)])
        return "list"
    if slot < 15:
        size = 300 if big else rng.randint(1, 6)
        if index % 2:
            pipe.sadd(key, *[rng.randint(0, 10**9) for _ in range(size)])  # intset
        else:
            pipe.sadd(key, *[rng.randbytes(8) for _ in range(size)])
        return "set"
    if slot < 17:
        size = 200 if big else rng.randint(1, 5)
        pipe.zadd(key, {rng.randbytes(6): rng.uniform(-1000, 1000) for _ in range(size)})
        return "zset"
    if slot == 17:
        for n in range(rng.randint(1, 3)):
            pipe.xadd(key, {b"n": str(n), b"blob": rng.randbytes(10)})
        if index % 40 == 17:
            pipe.xgroup_create(key, "readers", id="0")
            pipe.xreadgroup("readers", "alice", {key: ">"}, count=1)
        return "stream"
    if slot == 18:
        pipe.pfadd(key, *[f"visitor-{rng.randint(0, 10**6)}" for _ in range(5)])
        return "string (HyperLogLog)"
    pipe.geoadd(key, (rng.uniform(-170, 170), rng.uniform(-80, 80), b"place"))
    return "zset (geo)"


def populate(server: RedisServer, layout: Mapping[int, int], *, seed: int) -> Counter[str]:
    """Fill ``{db: key count}``; one key in three gets a TTL of 1 minute to 1 hour."""
    rng = random.Random(seed)
    kinds: Counter[str] = Counter()
    for db, count in layout.items():
        with server.client(db) as client:
            pipe = client.pipeline(transaction=False)
            for index in range(count):
                key = key_name(db, index)
                kinds[write_value(pipe, rng, key, index)] += 1
                if index % 3 == 0:
                    pipe.pexpire(key, rng.randint(60_000, 3_600_000))
                if len(pipe) >= 5_000:
                    pipe.execute()
            pipe.execute()
    return kinds


def databases(server: RedisServer) -> set[int]:
    """Indexes of the databases holding keys."""
    with server.client() as client:
        return {int(name[2:]) for name in client.info("keyspace")}


def value_of(client: redis.Redis, key: bytes) -> tuple[Any, ...]:
    """The logical value of ``key`` (type-specific reads), for when DUMP payloads differ."""
    kind = client.type(key)
    if kind == b"string":
        return (kind, client.get(key))
    if kind == b"list":
        return (kind, client.lrange(key, 0, -1))
    if kind == b"hash":
        return (kind, client.hgetall(key))
    if kind == b"set":
        return (kind, set(client.smembers(key)))
    if kind == b"zset":
        return (kind, client.zrange(key, 0, -1, withscores=True))
    if kind == b"stream":
        groups = [
            (g["name"], g["consumers"], g["pending"], g["last-delivered-id"])
            for g in client.xinfo_groups(key)
        ]
        return (kind, client.xrange(key), groups)
    return (kind,)


def chunks(items: list[bytes], size: int) -> Iterable[list[bytes]]:
    """``items`` in slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


#: ``DUMP`` and ``PTTL`` of every key in one reply: ``"<length> <pttl>\\n<payload or empty>"`` each
#: (length -1 for a missing key). One reply per chunk keeps the check of 100,000 keys fast.
READ_SCRIPT = """
local parts = {}
for i, key in ipairs(KEYS) do
  local payload = redis.call('DUMP', key)
  local ttl = redis.call('PTTL', key)
  if payload then
    parts[#parts + 1] = string.format('%d %d\\n', #payload, ttl)
    parts[#parts + 1] = payload
  else
    parts[#parts + 1] = string.format('-1 %d\\n', ttl)
  end
end
return table.concat(parts)
"""


def dump_and_pttl(client: redis.Redis, keys: list[bytes]) -> list[tuple[bytes | None, int]]:
    """``(DUMP, PTTL)`` of each key, read by :data:`READ_SCRIPT`."""
    blob = client.eval(READ_SCRIPT, len(keys), *keys)
    result: list[tuple[bytes | None, int]] = []
    pos = 0
    for _ in keys:
        newline = blob.index(b"\n", pos)
        length, ttl = (int(field) for field in blob[pos:newline].split())
        pos = newline + 1
        if length < 0:
            result.append((None, ttl))
        else:
            result.append((blob[pos : pos + length], ttl))
            pos += length
    assert pos == len(blob)
    return result


def assert_same_data(source: RedisServer, target: RedisServer) -> int:
    """The target holds exactly the source's keys, values (DUMP or type-specific) and TTLs (+-1 s).

    Returns how many keys were compared.
    """
    compared = 0
    for db in sorted(databases(source) | databases(target)):
        with source.client(db) as src, target.client(db) as dst:
            source_keys = set(src.scan_iter(count=5_000))
            target_keys = set(dst.scan_iter(count=5_000))
            missing, extra = source_keys - target_keys, target_keys - source_keys
            assert not missing, (
                f"db{db}: {len(missing)} keys missing on the target, e.g. {sorted(missing)[:3]}"
            )
            assert not extra, f"db{db}: {len(extra)} unexpected keys on the target, e.g. {sorted(extra)[:3]}"
            for chunk in chunks(sorted(source_keys), 5_000):
                pairs = zip(dump_and_pttl(src, chunk), dump_and_pttl(dst, chunk), strict=True)
                for key, ((s_dump, s_ttl), (t_dump, t_ttl)) in zip(chunk, pairs, strict=True):
                    if s_dump != t_dump:  # same value, other encoding order (big hashes, sets)
                        assert value_of(src, key) == value_of(dst, key), f"db{db} {key!r}: values differ"
                    if s_ttl < 0 or t_ttl < 0:
                        assert s_ttl == t_ttl, f"db{db} {key!r}: TTL {s_ttl} ms on source, {t_ttl} on target"
                    else:
                        assert abs(s_ttl - t_ttl) <= 1_000, f"db{db} {key!r}: TTL {s_ttl} vs {t_ttl} ms"
            compared += len(source_keys)
    return compared
