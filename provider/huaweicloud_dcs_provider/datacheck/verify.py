"""The verification run: which databases, both directions, re-check rounds, progress.

Round 1 compares every key (or a seeded sample) from the source to the target and looks for
keys only the target has. A key that differs is a *suspect*: after ``round_interval`` seconds
it is compared again, up to ``rounds`` times in all, and counts as a mismatch only if it differs
every time. Keys in flight during incremental sync settle between rounds; a real divergence does
not. A Redis Cluster target has database 0 only: a source's other databases are compared
against it (DCS merges them there) and the report says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from huaweicloud_dcs_provider.datacheck import compare as cmp
from huaweicloud_dcs_provider.datacheck.keys import mismatch_rate_bound, sample_keys, scan_keys
from huaweicloud_dcs_provider.datacheck.pacing import Pace
from huaweicloud_dcs_provider.datacheck.report import EXTRA_ON_TARGET, Finding, Report
from huaweicloud_dcs_provider.datacheck.sides import Side

MODES = ("full", "sample", "keys", "length")
#: Suspects kept for re-checks; beyond this many, further ones count as mismatches at once.
MAX_SUSPECTS = 100_000
#: Keys compared per pipeline.
BATCH = 500


@dataclass(frozen=True)
class VerifySettings:
    """How to verify (the operator's parameters, checked).

    :param mode: ``full``, ``sample``, ``keys`` or ``length``.
    :param sample_size: keys sampled from each side (mode ``sample``).
    :param seed: the sample's seed.
    :param rounds: comparisons of a differing key before it counts (at least 1).
    :param round_interval: seconds between rounds.
    :param ttl_tolerance_seconds: remaining lives may differ by this much.
    :param max_mismatches: the run passes with at most this many.
    :param qps: commands per second per side (``None``: no cap).
    :param databases: databases to compare (``None``: every one with keys on either side).
    :param progress_interval: seconds between progress lines in the log.
    """

    mode: str = "full"
    sample_size: int = 10_000
    seed: int = 0
    rounds: int = 3
    round_interval: float = 5.0
    ttl_tolerance_seconds: float = 5.0
    max_mismatches: int = 0
    qps: float | None = None
    databases: tuple[int, ...] | None = None
    progress_interval: float = 30.0


@dataclass
class _Suspects:
    """Keys that differed in the last round: ``{(db, key): (kind, why)}`` plus overflow counts."""

    items: dict[tuple[int, bytes], tuple[str, str]]
    overflow: dict[str, int]

    def add(self, db: int, found: Iterable[cmp.Suspect]) -> None:
        for key, kind, why in found:
            if len(self.items) < MAX_SUSPECTS or (db, key) in self.items:
                self.items[(db, key)] = (kind, why)
            else:
                self.overflow[kind] = self.overflow.get(kind, 0) + 1


class Verification:
    """One run over a connected source and target (see the module docstring)."""

    def __init__(
        self,
        source: Side,
        target: Side,
        settings: VerifySettings,
        *,
        log: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source, self.target, self.settings = source, target, settings
        self.log = log or logging.getLogger(__name__)
        self._sleep = sleep
        self.src_pace, self.tgt_pace = Pace(settings.qps), Pace(settings.qps)
        #: Keys per pipeline: at most a twentieth of a second's commands under a cap.
        self.batch = BATCH if not settings.qps else max(10, min(BATCH, int(settings.qps // 40)))
        self.report = Report(mode=settings.mode, max_mismatches=settings.max_mismatches)
        self._last_progress = time.monotonic()

    def target_db(self, db: int) -> int:
        """Where the target keeps the source's ``db`` (database 0 on a cluster)."""
        return 0 if self.target.cluster else db

    def run(self) -> Report:
        """Compare, re-check, report."""
        report = self.report
        src_space, tgt_space = self.source.keyspace(), self.target.keyspace()
        report.source_keys = {f"db{db}": keys for db, (keys, _) in sorted(src_space.items())}
        report.target_keys = {f"db{db}": keys for db, (keys, _) in sorted(tgt_space.items())}
        wanted = self.settings.databases
        dbs = sorted(wanted if wanted is not None else {*src_space, *tgt_space})
        if self.source.cluster:
            dbs = [db for db in dbs if db == 0]
        report.databases = dbs
        others = [db for db in dbs if db != 0 and src_space.get(db, (0, 0))[0]]
        if self.target.cluster and others:
            report.notes.append(
                f"the target is a Redis Cluster (database 0 only): the source's databases "
                f"{others} were compared against its database 0, where DCS puts them; a key in "
                "several source databases keeps only the value of the highest one"
            )
        suspects = _Suspects({}, {})
        for db in dbs:
            self._forward(db, src_space.get(db, (0, 0))[0], suspects)
        for db in sorted({self.target_db(db) for db in dbs}):
            self._reverse(db, tgt_space.get(db, (0, 0))[0], dbs, suspects)
        report.rounds_run = 1
        for _ in range(1, max(1, self.settings.rounds)):
            if not suspects.items:
                break
            self._sleep(self.settings.round_interval)
            report.rechecked += len(suspects.items)
            suspects = self._recheck(suspects, dbs)
            report.rounds_run += 1
        report.findings = [Finding(db, key, kind, why) for (db, key), (kind, why) in suspects.items.items()]
        report.overflow = dict(suspects.overflow)
        if self.settings.mode == "sample" and report.sample is not None:
            report.sample["max_mismatch_rate"] = mismatch_rate_bound(
                report.keys_compared + report.target_keys_checked, report.mismatches
            )
        return report.finish()

    # --------------------------------------------------------------- directions

    def _batches(self, side: Side, db: int, total: int, *, sampled: str, seed: int) -> Iterable[list[bytes]]:
        """The keys of ``db`` on ``side`` to look at, in batches: all of them, or the sample
        (counted in the report as ``sampled``)."""
        pace = self.src_pace if side is self.source else self.tgt_pace
        if self.settings.mode != "sample":
            return scan_keys(side, db, pace, count=self.batch)
        keys = sample_keys(side, db, self.settings.sample_size, seed, pace, total=total)
        self._note_sample(sampled, len(keys))
        return self._chunks(keys)

    def _chunks(self, keys: list[bytes]) -> list[list[bytes]]:
        return [keys[i : i + self.batch] for i in range(0, len(keys), self.batch)]

    def _note_sample(self, name: str, count: int) -> None:
        sample = self.report.sample
        if sample is None:
            sample = self.report.sample = {
                "size_per_side": self.settings.sample_size,
                "seed": self.settings.seed,
                "source_sampled": 0,
                "target_sampled": 0,
                "confidence": 0.95,
            }
        sample[name] += count

    def _compare(self, db: int, keys: list[bytes]) -> tuple[list[cmp.Suspect], int]:
        """``keys`` of the source's ``db`` against the target (a sample is compared in full)."""
        return cmp.compare_keys(
            self.source.client(db),
            self.target.client(self.target_db(db)),
            keys,
            mode=cmp.FULL if self.settings.mode == "sample" else self.settings.mode,
            ttl_tolerance_ms=self.settings.ttl_tolerance_seconds * 1000,
            src_pace=self.src_pace,
            tgt_pace=self.tgt_pace,
        )

    def _extra(self, tdb: int, keys: list[bytes], dbs: list[int]) -> list[bytes]:
        """Of ``keys`` on the target's ``tdb``, those no source database that maps there has."""
        extra = list(keys)
        for db in dbs:
            if not extra:
                break
            if self.target_db(db) != tdb:
                continue
            found, _ = cmp.check_extra(
                self.source.client(db),
                self.target.client(tdb),
                extra,
                src_pace=self.src_pace,
                tgt_pace=self.tgt_pace,
            )
            extra = [key for key, _, _ in found]
        return extra

    def _forward(self, db: int, total: int, suspects: _Suspects) -> None:
        seed = self.settings.seed
        for batch in self._batches(self.source, db, total, sampled="source_sampled", seed=seed):
            found, compared = self._compare(db, batch)
            self.report.keys_compared += compared
            suspects.add(db, found)
            self._progress(f"database {db}, from the source", suspects)

    def _reverse(self, tdb: int, total: int, dbs: list[int], suspects: _Suspects) -> None:
        seed = self.settings.seed + 1
        for batch in self._batches(self.target, tdb, total, sampled="target_sampled", seed=seed):
            extra = self._extra(tdb, batch, dbs)
            self.report.target_keys_checked += len(batch)
            suspects.add(tdb, [(key, EXTRA_ON_TARGET, "") for key in extra])
            if self.settings.mode == "sample" and tdb in dbs and self.target_db(tdb) == tdb:
                # A sampled target key the source has: compare it too (the sample is both ways).
                missing = set(extra)
                shared = [key for key in batch if key not in missing]
                if shared:
                    found, _ = self._compare(tdb, shared)
                    suspects.add(tdb, found)
            self._progress(f"database {tdb}, from the target", suspects)

    def _recheck(self, suspects: _Suspects, dbs: list[int]) -> _Suspects:
        """Compare the suspects again; the ones still differing stay suspects."""
        again = _Suspects({}, dict(suspects.overflow))
        by_db: dict[tuple[int, bool], list[bytes]] = {}
        for (db, key), (kind, _) in suspects.items.items():
            by_db.setdefault((db, kind == EXTRA_ON_TARGET), []).append(key)
        for (db, extra), keys in sorted(by_db.items()):
            for batch in self._chunks(keys):
                if extra:
                    again.add(db, [(key, EXTRA_ON_TARGET, "") for key in self._extra(db, batch, dbs)])
                else:
                    again.add(db, self._compare(db, batch)[0])
        return again

    def _progress(self, where: str, suspects: _Suspects) -> None:
        now = time.monotonic()
        if now - self._last_progress < self.settings.progress_interval:
            return
        self._last_progress = now
        self.log.info(
            "Verifying (%s): %s, %d keys compared, %d target keys checked, %d differing so far",
            self.settings.mode,
            where,
            self.report.keys_compared,
            self.report.target_keys_checked,
            len(suspects.items) + sum(suspects.overflow.values()),
        )
