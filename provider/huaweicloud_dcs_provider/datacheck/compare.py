"""A batch of keys compared on both sides: existence, type, TTL, length, value.

Each step is one pipeline per side for the whole batch:

1. ``TYPE`` and ``PTTL`` of every key on the source;
2. on the target ``PTTL`` and the command the source's type calls for (``TYPE`` in mode ``keys``,
   which stops here): the element count (``STRLEN``, ``LLEN``, ``HLEN``, ``SCARD``, ``ZCARD``,
   ``XLEN``; mode ``length`` stops after comparing them) or, for a string in mode ``full``, its
   value up to :data:`SMALL_STRING` bytes (``GETRANGE``); the same on the source. A target key of
   another type answers ``WRONGTYPE``: its ``TYPE`` is read then, for the keys concerned only;
3. ``DUMP`` of the small keys other than strings: equal serialisations (the version footer aside)
   are equal values; small sets and hashes serialised differently are read whole (one more
   pipeline per side); a difference, and every big key, goes to :func:`~.values.same_value`,
   chunk by chunk.

:func:`compare_keys` looks from the source (keys that are gone from the source since they were
listed are skipped); :func:`check_extra` looks from the target (keys the source does not have).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from huaweicloud_dcs_provider.datacheck.pacing import Pace
from huaweicloud_dcs_provider.datacheck.report import EXTRA_ON_TARGET, MISSING_ON_TARGET, TTL, TYPE, VALUE
from huaweicloud_dcs_provider.datacheck.values import same_value

KEYS, LENGTH, FULL = "keys", "length", "full"
#: The element-count command of each type.
LENGTH_COMMANDS = {
    "string": "STRLEN",
    "list": "LLEN",
    "hash": "HLEN",
    "set": "SCARD",
    "zset": "ZCARD",
    "stream": "XLEN",
}
#: Up to these lengths a key is compared through ``DUMP`` (bytes for a string, else elements).
SMALL_STRING = 64 * 1024
SMALL_COLLECTION = 128
#: Small keys whose serialisation depends on their hash table's order: read whole to compare.
WHOLE_READS = {"set": "SMEMBERS", "hash": "HGETALL"}
#: ``DUMP`` ends with a 2-byte RDB version and an 8-byte CRC64: not part of the value.
DUMP_FOOTER = 10

#: A suspect: ``(key, kind, why)``.
Suspect = tuple[bytes, str, str]


def _run(client: Any, pace: Pace, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    """One pipeline; replies in order, errors as exception objects (not raised).

    On a single Redis the commands are packed here and written at once, and the replies are read
    straight off the connection (raw: bytes, integers, ``None``), with the client's retry policy:
    redis-py's pipeline costs several times more per command, and a batch is hundreds of them.
    A cluster client goes through its own pipeline (it routes each command by slot).
    """
    if not commands:
        return []
    pace.take(len(commands))
    if not _single(client):
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(pipe.execute(raise_on_error=False))
    packed = _pack(commands)
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        replies: list[Any] = connection.retry.call_with_retry(
            lambda: _exchange(connection, packed, len(commands)), lambda _: connection.disconnect()
        )
    finally:
        pool.release(connection)
    return replies


def _single(client: Any) -> bool:
    """True for a single Redis's client (``redis.Redis``), false for a cluster's."""
    import redis

    return isinstance(client, redis.Redis)


def _pack(commands: Sequence[tuple[Any, ...]]) -> bytes:
    """The commands in the RESP protocol (arguments: bytes, text as UTF-8, numbers as text)."""
    parts: list[bytes] = []
    for command in commands:
        parts.append(b"*%d\r\n" % len(command))
        for arg in command:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _exchange(connection: Any, packed: bytes, count: int) -> list[Any]:
    """Write ``packed`` and read ``count`` replies (a server error in its place, not raised)."""
    import redis

    connection.send_packed_command([packed], check_health=False)
    replies: list[Any] = []
    read = connection.read_response
    for _ in range(count):
        try:
            replies.append(read(disable_decoding=True))
        except redis.ResponseError as exc:
            replies.append(exc)
    return replies


def _text(reply: Any) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def _ttl_differs(mine: int, theirs: int, tolerance_ms: float) -> str | None:
    """Why the remaining lives differ, or ``None`` (``-1`` = no expiry, ``-2`` = gone)."""
    if -2 in (mine, theirs):
        return "it expired while it was read"
    if (mine == -1) != (theirs == -1):
        return "it expires on one side only"
    if mine >= 0 and theirs >= 0 and abs(mine - theirs) > tolerance_ms:
        return f"remaining lives differ by {abs(mine - theirs) / 1000:.1f} s"
    return None


def _probe(key: bytes, kind: str, mode: str) -> tuple[Any, ...]:
    """What is read of ``key`` (of the source's type ``kind``) on both sides after ``TYPE``.

    The value of a string, up to one byte more than :data:`SMALL_STRING` (mode ``full``); else the
    element count; ``TYPE`` where there is no count (mode ``keys``, types of modules). On the
    target, a string or count command answers ``WRONGTYPE`` when the key's type differs there.
    """
    if mode == KEYS or kind not in LENGTH_COMMANDS:
        return ("TYPE", key)
    if mode == FULL and kind == "string":
        return ("GETRANGE", key, 0, SMALL_STRING)
    return (LENGTH_COMMANDS[kind], key)


def _type_suspect(key: bytes, kind: str, their_type: str) -> Suspect | None:
    """The suspect when the target has no such key or one of another type than ``kind``."""
    if their_type == "none":
        return (key, MISSING_ON_TARGET, "")
    if their_type != kind:
        return (key, TYPE, f"{kind} on the source, {their_type} on the target")
    return None


def _wrong_type(reply: Any) -> bool:
    return isinstance(reply, Exception) and str(reply).startswith("WRONGTYPE")


def compare_keys(
    src: Any,
    tgt: Any,
    keys: Sequence[bytes],
    *,
    mode: str,
    ttl_tolerance_ms: float,
    src_pace: Pace,
    tgt_pace: Pace,
) -> tuple[list[Suspect], int]:
    """Compare ``keys`` (listed on the source); ``(suspects, keys compared)``."""
    began = time.monotonic()
    mine = _run(src, src_pace, [c for k in keys for c in (("TYPE", k), ("PTTL", k))])
    listed: list[tuple[bytes, str, Any]] = []  # (key, type, PTTL) of the keys still on the source
    for index, key in enumerate(keys):
        if isinstance(mine[2 * index], Exception) or _text(mine[2 * index]) == "none":
            continue  # gone from the source since it was listed (expired or deleted)
        listed.append((key, _text(mine[2 * index]), mine[2 * index + 1]))
    probes = [_probe(key, kind, mode) for key, kind, _ in listed]
    theirs = _run(
        tgt, tgt_pace, [c for (k, _, _), p in zip(listed, probes, strict=True) for c in (("PTTL", k), p)]
    )
    # Lives count down between the two reads: allow for the time the reads took.
    tolerance = ttl_tolerance_ms + (time.monotonic() - began) * 1000
    read = [i for i, probe in enumerate(probes) if probe[0] != "TYPE"]
    my_probes: list[Any] = [None] * len(listed)
    for i, reply in zip(read, _run(src, src_pace, [probes[i] for i in read]), strict=True):
        my_probes[i] = reply
    suspects: list[Suspect] = []
    alike: list[tuple[bytes, str, Any, Any]] = []
    retyped: list[tuple[bytes, str]] = []
    for i, (key, kind, my_ttl) in enumerate(listed):
        their_ttl, their_probe = theirs[2 * i], theirs[2 * i + 1]
        their_type = _text(their_probe) if probes[i][0] == "TYPE" else kind
        if isinstance(their_ttl, int) and their_ttl == -2:
            their_type = "none"
        differs = _type_suspect(key, kind, their_type)
        if differs:
            suspects.append(differs)
        elif _wrong_type(their_probe):
            retyped.append((key, kind))  # another type on the target: which one, below
        else:
            why = _ttl_differs(int(my_ttl), int(their_ttl), tolerance)
            if why:
                suspects.append((key, TTL, why))
            else:
                alike.append((key, kind, my_probes[i], their_probe))
    if retyped:
        for (key, kind), reply in zip(
            retyped, _run(tgt, tgt_pace, [("TYPE", k) for k, _ in retyped]), strict=True
        ):
            # Its type changed back meanwhile: a suspect all the same (re-checked next round).
            suspects.append(
                _type_suspect(key, kind, _text(reply)) or (key, VALUE, "its length could not be read")
            )
    if mode == KEYS or not alike:
        return suspects, len(listed)
    small: list[tuple[bytes, str]] = []
    big: list[tuple[bytes, str]] = []
    long_strings: list[bytes] = []
    for key, kind, my_probe, their_probe in alike:
        if kind not in LENGTH_COMMANDS:
            small.append((key, kind))
        elif isinstance(my_probe, Exception) or isinstance(their_probe, Exception):
            suspects.append((key, VALUE, "its length could not be read"))
        elif mode == FULL and kind == "string":  # the value itself, or its first bytes
            if max(len(my_probe), len(their_probe)) > SMALL_STRING:
                long_strings.append(key)
            elif len(my_probe) != len(their_probe):
                suspects.append((key, VALUE, f"{len(my_probe)} vs {len(their_probe)} elements"))
            elif my_probe != their_probe:
                big.append((key, kind))  # same length: where they differ, below
        elif int(my_probe) != int(their_probe):
            suspects.append((key, VALUE, f"{int(my_probe)} vs {int(their_probe)} elements"))
        elif int(my_probe) <= (SMALL_STRING if kind == "string" else SMALL_COLLECTION):
            small.append((key, kind))
        else:
            big.append((key, kind))
    if mode == LENGTH:
        return suspects, len(listed)
    if long_strings:
        commands = [("STRLEN", k) for k in long_strings]
        mine_long, theirs_long = _run(src, src_pace, commands), _run(tgt, tgt_pace, commands)
        for key, my_length, their_length in zip(long_strings, mine_long, theirs_long, strict=True):
            if isinstance(my_length, Exception) or isinstance(their_length, Exception):
                suspects.append((key, VALUE, "its length could not be read"))
            elif int(my_length) != int(their_length):
                suspects.append((key, VALUE, f"{int(my_length)} vs {int(their_length)} elements"))
            else:
                big.append((key, "string"))
    my_dumps = _run(src, src_pace, [("DUMP", k) for k, _ in small])
    their_dumps = _run(tgt, tgt_pace, [("DUMP", k) for k, _ in small])
    unordered: list[tuple[bytes, str]] = []
    for (key, kind), my_dump, their_dump in zip(small, my_dumps, their_dumps, strict=True):
        if (
            isinstance(my_dump, bytes)
            and isinstance(their_dump, bytes)
            and my_dump[:-DUMP_FOOTER] == their_dump[:-DUMP_FOOTER]
        ):
            continue
        if kind in WHOLE_READS:
            unordered.append((key, kind))
        else:
            big.append((key, kind))  # serialised differently: compare element by element
    big.extend(_differ_unordered(src, tgt, unordered, src_pace, tgt_pace))
    for key, kind in big:
        why = same_value(src, tgt, key, kind, src_pace, tgt_pace)
        if why:
            suspects.append((key, VALUE, why))
    return suspects, len(listed)


def _as_dict(reply: Any) -> Any:
    """An ``HGETALL`` reply as a dict (RESP3 sends a map, RESP2 a flat list)."""
    if isinstance(reply, list):
        return dict(zip(reply[::2], reply[1::2], strict=True))
    return reply


def _differ_unordered(
    src: Any, tgt: Any, keys: Sequence[tuple[bytes, str]], src_pace: Pace, tgt_pace: Pace
) -> list[tuple[bytes, str]]:
    """Of small sets and hashes serialised differently, the ones whose contents differ too.

    A set or hash kept as a hash table serialises in its table's order, which differs between
    two servers holding the same value (every set of strings before Redis 7.2, hashes with long
    fields): one pipelined whole read per side (the key is small) tells equal ones apart. The rest
    go on to :func:`~.values.same_value`, which says where they differ.
    """
    if not keys:
        return []
    commands = [(WHOLE_READS[kind], key) for key, kind in keys]
    mine, theirs = _run(src, src_pace, commands), _run(tgt, tgt_pace, commands)
    differ: list[tuple[bytes, str]] = []
    for (key, kind), my_value, their_value in zip(keys, mine, theirs, strict=True):
        if isinstance(my_value, Exception) or isinstance(their_value, Exception):
            differ.append((key, kind))
        elif (kind == "set" and set(my_value) == set(their_value)) or (
            kind == "hash" and _as_dict(my_value) == _as_dict(their_value)
        ):
            continue
        else:
            differ.append((key, kind))
    return differ


def check_extra(
    src: Any, tgt: Any, keys: Sequence[bytes], *, src_pace: Pace, tgt_pace: Pace
) -> tuple[list[Suspect], int]:
    """Keys listed on the target that the source does not have; ``(suspects, keys checked)``."""
    if not keys:
        return [], 0
    if _single(src):  # one multi-key EXISTS (a cluster refuses keys of several slots)
        src_pace.take(len(keys) - 1)  # it looks up every key: paced as one command per key
        (count,) = _run(src, src_pace, [("EXISTS", *keys)])
        if not isinstance(count, Exception) and int(count) == len(keys):
            return [], len(keys)  # every one is there (a key listed twice counts twice)
    on_source = _run(src, src_pace, [("EXISTS", k) for k in keys])
    missing = [
        k for k, there in zip(keys, on_source, strict=True) if not isinstance(there, Exception) and not there
    ]
    if not missing:
        return [], len(keys)
    # Still on the target? (It may have expired or been deleted since it was listed.)
    still = _run(tgt, tgt_pace, [("EXISTS", k) for k in missing])
    return [
        (k, EXTRA_ON_TARGET, "")
        for k, there in zip(missing, still, strict=True)
        if not isinstance(there, Exception) and there
    ], len(keys)
