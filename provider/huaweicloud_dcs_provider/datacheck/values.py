"""One key's value on both sides, compared element by element, in chunks.

Used for big keys (never loaded whole: ``HSCAN``/``SSCAN``/``ZSCAN`` on the source and a lookup
of that chunk on the target, ``LRANGE``/``XRANGE``/``GETRANGE`` of the same range on both) and for
small keys whose serialised form differs (another Redis version or encoding may serialise an
equal value differently). The lengths were compared before: equal lengths plus every source
element found equal on the target means equal values. :func:`same_value` returns ``None`` when
the values are equal, else a few words on where they differ (never a value).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from huaweicloud_dcs_provider.datacheck.pacing import Pace

#: Elements read per command.
CHUNK = 500
#: Bytes of a string read per command.
STRING_CHUNK = 512 * 1024

Compare = Callable[[Any, Any, bytes, Pace, Pace], "str | None"]


def _string(src: Any, tgt: Any, key: bytes, sp: Pace, tp: Pace) -> str | None:
    sp.take(1)
    length = int(src.strlen(key))
    start = 0
    while start < length:
        end = start + STRING_CHUNK - 1
        sp.take(1)
        tp.take(1)
        if src.getrange(key, start, end) != tgt.getrange(key, start, end):
            return f"bytes {start}-{min(end, length - 1)} differ"
        start = end + 1
    return None


def _list(src: Any, tgt: Any, key: bytes, sp: Pace, tp: Pace) -> str | None:
    sp.take(1)
    length = int(src.llen(key))
    for start in range(0, length, CHUNK):
        sp.take(1)
        tp.take(1)
        if src.lrange(key, start, start + CHUNK - 1) != tgt.lrange(key, start, start + CHUNK - 1):
            return f"elements {start}-{min(start + CHUNK, length) - 1} differ"
    return None


def _hash(src: Any, tgt: Any, key: bytes, sp: Pace, tp: Pace) -> str | None:
    cursor: Any = 0
    while True:
        sp.take(1)
        cursor, chunk = src.hscan(key, cursor=cursor, count=CHUNK)
        if chunk:
            fields = list(chunk)
            tp.take(1)
            theirs = tgt.hmget(key, fields)
            for field, value in zip(fields, theirs, strict=True):
                if value is None:
                    return "a field is missing on the target"
                if value != chunk[field]:
                    return "a field's value differs"
        if int(cursor) == 0:
            return None


def _unknown_command(exc: Exception) -> bool:
    """True for the error of a server that lacks a command (``SMISMEMBER``, ``ZMSCORE``: 6.2+)."""
    return "unknown command" in str(exc).lower()


def _lookup(tgt: Any, key: bytes, members: list[Any], tp: Pace, many: str, one: str) -> list[Any]:
    """One answer per member from the target: one ``many`` command (``SMISMEMBER``, ``ZMSCORE``:
    Redis 6.2+), else, on an older server, one ``one`` command (``SISMEMBER``, ``ZSCORE``) each."""
    import redis

    try:
        tp.take(1)
        return list(tgt.execute_command(many, key, *members))
    except redis.ResponseError as exc:
        if not _unknown_command(exc):
            raise
    tp.take(len(members))
    pipe = tgt.pipeline(transaction=False)
    for member in members:
        pipe.execute_command(one, key, member)
    return list(pipe.execute())


def _set(src: Any, tgt: Any, key: bytes, sp: Pace, tp: Pace) -> str | None:
    cursor: Any = 0
    while True:
        sp.take(1)
        cursor, members = src.sscan(key, cursor=cursor, count=CHUNK)
        if members and not all(_lookup(tgt, key, list(members), tp, "SMISMEMBER", "SISMEMBER")):
            return "a member is missing on the target"
        if int(cursor) == 0:
            return None


def _zset(src: Any, tgt: Any, key: bytes, sp: Pace, tp: Pace) -> str | None:
    cursor: Any = 0
    while True:
        sp.take(1)
        cursor, pairs = src.zscan(key, cursor=cursor, count=CHUNK)
        if pairs:
            scores = _lookup(tgt, key, [member for member, _ in pairs], tp, "ZMSCORE", "ZSCORE")
            for (_, score), theirs in zip(pairs, scores, strict=True):
                if theirs is None:
                    return "a member is missing on the target"
                if not math.isclose(float(score), float(theirs), rel_tol=1e-15, abs_tol=0.0) and not (
                    math.isnan(float(score)) and math.isnan(float(theirs))
                ):
                    return "a member's score differs"
        if int(cursor) == 0:
            return None


def _next_id(entry_id: bytes) -> bytes:
    """The stream id just after ``entry_id`` (``ms-seq`` -> ``ms-(seq+1)``)."""
    ms, _, seq = entry_id.decode().partition("-")
    return f"{ms}-{int(seq or 0) + 1}".encode()


def _stream(src: Any, tgt: Any, key: bytes, sp: Pace, tp: Pace) -> str | None:
    start: bytes = b"-"
    while True:
        sp.take(1)
        tp.take(1)
        mine = src.xrange(key, min=start, max="+", count=CHUNK)
        theirs = tgt.xrange(key, min=start, max="+", count=CHUNK)
        if mine != theirs:
            return "stream entries differ"
        if len(mine) < CHUNK:
            break
        start = _next_id(mine[-1][0])
    sp.take(1)
    tp.take(1)
    if _groups(src, key) != _groups(tgt, key):
        return "consumer groups differ (names, last delivered id or pending count)"
    return None


def _groups(client: Any, key: bytes) -> list[tuple[Any, Any, Any]]:
    groups = client.xinfo_groups(key)
    return sorted((g.get("name"), g.get("last-delivered-id"), g.get("pending")) for g in groups)


#: The chunked comparison of each type.
COMPARES: dict[str, Compare] = {
    "string": _string,
    "list": _list,
    "hash": _hash,
    "set": _set,
    "zset": _zset,
    "stream": _stream,
}


def same_value(src: Any, tgt: Any, key: bytes, kind: str, sp: Pace, tp: Pace) -> str | None:
    """``None`` when ``key`` (of type ``kind``, same length on both sides) is equal on both."""
    compare = COMPARES.get(kind)
    if compare is None:
        return f"type {kind!r} cannot be compared element by element"
    return compare(src, tgt, key, sp, tp)
