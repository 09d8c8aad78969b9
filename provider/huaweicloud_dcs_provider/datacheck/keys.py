"""Which keys a check looks at: every key (``SCAN`` on each primary) or a seeded sample.

Keys are ``bytes`` throughout (a Redis key may be any binary string); :func:`shown_key` is the
only way one reaches a log or a report.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

from huaweicloud_dcs_provider.datacheck.pacing import Pace
from huaweicloud_dcs_provider.datacheck.sides import Side

#: Keys asked for per ``SCAN`` call.
SCAN_COUNT = 1000
#: Most ``SCAN`` calls of a sample sent in one pipeline.
MAX_WAVE = 100
#: Longest key shown in full; longer ones are cut (with their length).
SHOWN_KEY_CHARS = 120


def shown_key(key: bytes) -> str:
    """A key as text safe for a log: printable UTF-8 as is, anything else escaped, long ones cut."""
    try:
        text = key.decode("utf-8")
        printable = text.isprintable()
    except UnicodeDecodeError:
        printable = False
    if not printable:
        text = repr(key)  # b'\x00...': escapes, never raw control bytes
    if len(text) > SHOWN_KEY_CHARS:
        text = f"{text[:SHOWN_KEY_CHARS]}... ({len(key)} bytes)"
    return text


def scan_keys(side: Side, db: int, pace: Pace, *, count: int = SCAN_COUNT) -> Iterator[list[bytes]]:
    """Every key of ``db`` on ``side``, in batches (one ``SCAN`` call each, on every primary).

    ``SCAN`` guarantees that a key present for the whole scan is returned at least once; a key
    may come twice (the caller de-duplicates when it matters).
    """
    for node in side.primaries(db):
        cursor: Any = 0
        while True:
            pace.take(1)
            cursor, batch = node.scan(cursor=cursor, count=count)
            if batch:
                yield list(batch)
            if int(cursor) == 0:
                break


def sample_keys(side: Side, db: int, size: int, seed: int, pace: Pace, *, total: int) -> list[bytes]:
    """About ``size`` distinct keys of ``db``, picked by ``seed``.

    The sample is a set of runs of the keyspace's hash table: ``SCAN`` from cursors drawn from a
    seeded generator, a few keys each. Keys sit in the table by their hash, so each key has about
    the same chance to be picked; the same seed on an unchanged data set picks the same keys.
    ``total`` is the number of keys in ``db`` (from ``INFO keyspace``): a sample that would cover
    most of it reads every key instead.
    """
    if size <= 0 or total <= 0:
        return []
    if size * 2 >= total:
        return [key for batch in scan_keys(side, db, pace) for key in batch][:size]
    rng = random.Random(seed)
    nodes = side.primaries(db)
    picked: dict[bytes, None] = {}
    per_call = 10
    attempts = 0
    max_attempts = 4 * math.ceil(size / per_call) + 100
    bits = max(1, math.ceil(math.log2(max(2, total))) + 2)
    # The calls go out in pipelines (a wave of about as many as the keys still wanted need),
    # drawn and read in the same order as one by one: the same seed picks the same keys.
    most = max(1, min(MAX_WAVE, int(pace.qps // 40))) if pace.qps else MAX_WAVE
    while len(picked) < size and attempts < max_attempts:
        wave = min(most, max_attempts - attempts, math.ceil((size - len(picked)) / per_call))
        draws = [(rng.randrange(len(nodes)), rng.getrandbits(bits)) for _ in range(wave)]
        pace.take(wave)
        for batch in _scan_all(nodes, draws, per_call):
            attempts += 1
            for key in batch:
                if len(picked) >= size:
                    break
                picked.setdefault(key, None)
            if len(picked) >= size:
                break
    return list(picked)


def _scan_all(nodes: list[Any], draws: list[tuple[int, int]], count: int) -> list[list[bytes]]:
    """``SCAN cursor COUNT count`` on ``nodes[n]`` for each ``(n, cursor)``: the keys, in order."""
    replies: dict[int, list[bytes]] = {}
    for n, node in enumerate(nodes):
        mine = [i for i, (which, _) in enumerate(draws) if which == n]
        if not mine:
            continue
        pipe = node.pipeline(transaction=False)
        for i in mine:
            pipe.scan(cursor=draws[i][1], count=count)
        for i, (_, batch) in zip(mine, pipe.execute(), strict=True):
            replies[i] = list(batch)
    return [replies[i] for i in range(len(draws))]


def mismatch_rate_bound(sampled: int, found: int, confidence: float = 0.95) -> float | None:
    """The mismatch rate the data can have at most, at ``confidence``, after a clean-ish sample.

    With ``found == 0``, the exact binomial bound ``1 - (1 - confidence) ** (1 / sampled)`` (about
    ``3 / sampled`` at 95 %). With mismatches, the Wilson score upper bound.
    """
    if sampled <= 0:
        return None
    if found == 0:
        return float(1 - (1 - confidence) ** (1 / sampled))
    z = {0.9: 1.645, 0.95: 1.96, 0.99: 2.576}.get(confidence, 1.96)
    p = found / sampled
    centre = p + z * z / (2 * sampled)
    margin = z * math.sqrt(p * (1 - p) / sampled + z * z / (4 * sampled * sampled))
    return float(min(1.0, (centre + margin) / (1 + z * z / sampled)))
