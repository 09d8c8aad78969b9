"""What a verification found: mismatches by kind, examples, per-database key counts.

A :class:`Finding` names a key (shown safely) and a kind, never a value. :class:`Report` is the
XCom and the log line; ``to_dict()`` is JSON-serialisable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from huaweicloud_dcs_provider.datacheck.keys import shown_key

MISSING_ON_TARGET = "missing_on_target"
EXTRA_ON_TARGET = "extra_on_target"
TYPE = "type"
VALUE = "value"
TTL = "ttl"
#: Every kind of mismatch, in the order reports show them.
KINDS = (MISSING_ON_TARGET, EXTRA_ON_TARGET, TYPE, VALUE, TTL)
#: Examples kept in a report.
MAX_EXAMPLES = 20


@dataclass(frozen=True)
class Finding:
    """One key that differs: its database, the key (bytes), the kind and a word on why."""

    db: int
    key: bytes
    kind: str
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        """``{"db", "key", "kind", "why"}`` with the key shown safely (no value)."""
        shown: dict[str, Any] = {"db": self.db, "key": shown_key(self.key), "kind": self.kind}
        if self.why:
            shown["why"] = self.why
        return shown


@dataclass
class Report:
    """The outcome of a verification (the operator's XCom)."""

    mode: str
    max_mismatches: int
    started: float = field(default_factory=time.monotonic)
    keys_compared: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Keys that differed in the first round beyond what is kept for re-checks, by kind: they
    #: count as mismatches (a verification with that many differences has failed anyway).
    overflow: dict[str, int] = field(default_factory=dict)
    target_keys_checked: int = 0
    source_keys: dict[str, int] = field(default_factory=dict)
    target_keys: dict[str, int] = field(default_factory=dict)
    databases: list[int] = field(default_factory=list)
    rounds_run: int = 0
    rechecked: int = 0
    notes: list[str] = field(default_factory=list)
    sample: dict[str, Any] | None = None
    duration_s: float = 0.0

    @property
    def mismatches(self) -> int:
        """Keys that differed in every round."""
        return len(self.findings) + sum(self.overflow.values())

    @property
    def passed(self) -> bool:
        """True when the mismatches are within ``max_mismatches``."""
        return self.mismatches <= self.max_mismatches

    def by_kind(self) -> dict[str, int]:
        """``{kind: count}`` for every kind (zeros included)."""
        counts = dict.fromkeys(KINDS, 0)
        for finding in self.findings:
            counts[finding.kind] = counts.get(finding.kind, 0) + 1
        for kind, count in self.overflow.items():
            counts[kind] = counts.get(kind, 0) + count
        return counts

    def examples(self) -> list[dict[str, Any]]:
        """Up to :data:`MAX_EXAMPLES` findings, spread over the kinds."""
        chosen: list[Finding] = []
        for kind in KINDS:
            chosen.extend([f for f in self.findings if f.kind == kind][: max(1, MAX_EXAMPLES // len(KINDS))])
        for finding in self.findings:
            if len(chosen) >= MAX_EXAMPLES:
                break
            if finding not in chosen:
                chosen.append(finding)
        return [f.to_dict() for f in chosen[:MAX_EXAMPLES]]

    def finish(self) -> Report:
        """Stamp the duration."""
        self.duration_s = round(time.monotonic() - self.started, 3)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The XCom: plain JSON data, no value of any key."""
        data: dict[str, Any] = {
            "passed": self.passed,
            "mode": self.mode,
            "keys_compared": self.keys_compared,
            "target_keys_checked": self.target_keys_checked,
            "mismatches": self.mismatches,
            "max_mismatches": self.max_mismatches,
            "by_kind": self.by_kind(),
            "examples": self.examples(),
            "source_keys": dict(self.source_keys),
            "target_keys": dict(self.target_keys),
            "databases": list(self.databases),
            "rounds_run": self.rounds_run,
            "rechecked": self.rechecked,
            "notes": list(self.notes),
            "duration_s": self.duration_s,
        }
        if self.sample is not None:
            data["sample"] = dict(self.sample)
        return data

    def summary(self) -> str:
        """One line for the log and the failure message."""
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.by_kind().items() if count) or "none"
        verdict = "passed" if self.passed else "FAILED"
        text = (
            f"Verification ({self.mode}) {verdict}: {self.keys_compared:,} keys compared in "
            f"{self.duration_s:.1f} s, {self.mismatches} mismatch(es) (allowed {self.max_mismatches}): "
            f"{kinds}"
        )
        if self.findings:
            shown = "; ".join(f"db{e['db']} {e['key']!r} ({e['kind']})" for e in self.examples()[:5])
            text += f". Examples: {shown}"
        return text
