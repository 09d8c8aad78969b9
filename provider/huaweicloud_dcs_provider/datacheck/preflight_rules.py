"""The rules Huawei's DCS documentation gives for an online migration that works, as pure functions.

The pre-flight operator reads the facts first (:class:`SideFacts`: a side's DCS instance record,
if it is one, and what its Redis server answered); each rule here turns them into a :class:`Row`:
``rule`` (a short id), ``result`` (``pass``, ``warn``, ``fail`` or ``skipped``), ``detail`` (what
was seen, never a password), ``why`` (the reason, from Huawei's FAQ or user guide) and ``action``
(what to do). :func:`evaluate` runs every rule in a fixed order. Nothing here talks to a server.

``skipped``: the facts a rule needs were not read (a side this worker cannot reach, such as a DCS
instance inside its VPC). ``warn``: a risk, or a fact the server would not show (a refused
command). Only ``fail`` fails the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from huaweicloud_dcs_provider.datacheck.preflight_reasons import (
    ACTIONS,
    BASIC_EDITIONS,
    IP_SWITCH_MODES,
    MIN_BUFFER_SHARE,
    MIN_IP_SWITCH_VERSION,
    MIN_REPL_TIMEOUT,
    MIN_SOURCE_VERSION,
    PROFESSIONAL_EDITIONS,
    WHY,
)

PASS, WARN, FAIL, SKIPPED = "pass", "warn", "fail", "skipped"
_NOTHING = "-"
_BY_HAND = "check it by hand (or in the console)"


@dataclass(frozen=True)
class Row:
    """One rule's outcome (see the module docstring)."""

    rule: str
    result: str
    detail: str
    why: str
    action: str

    def as_dict(self) -> dict[str, str]:
        """The row as the XCom holds it."""
        return asdict(self)


def _row(rule: str, result: str, detail: str, case: str | None = None) -> Row:
    """A row; ``case`` picks the rule's action (none: ``-``; an unknown case: check by hand)."""
    key = "reachable" if rule.endswith("-reachable") else rule
    action = _NOTHING if case is None else ACTIONS.get(f"{key}:{case}", _BY_HAND)
    return Row(rule, result, detail, WHY[key], action)


@dataclass(frozen=True)
class NodeFacts:
    """What one primary node answered; ``None``: not read (the matching ``*_note`` says why).

    :param replica_buffer: the replica class's ``client-output-buffer-limit`` ``(hard, soft)``, bytes.
    :param missing_commands: of :data:`SYNC_COMMANDS`, those ``COMMAND INFO`` does not know.
    :param acl_denied: of the others, those the connected ACL user may not run.
    """

    addr: str
    used_memory: int | None = None
    maxmemory: int | None = None
    repl_timeout: int | None = None
    replica_buffer: tuple[int, int] | None = None
    config_note: str | None = None
    missing_commands: tuple[str, ...] | None = None
    commands_note: str | None = None
    acl_denied: tuple[str, ...] | None = None
    acl_note: str | None = None


@dataclass(frozen=True)
class SideFacts:
    """What the pre-flight read about one side: its DCS record (``id`` sides) and its server.

    :param where: how rows name it, e.g. ``Redis 10.0.0.1:6379`` (never a password).
    :param record_note: why the DCS record could not be read (``record_missing``: no such instance).
    :param reached: the server answered; else ``unreachable`` says why, and ``refused`` is set when
        it answered but refused the connection (a wrong password), a failure even for a DCS side.
    :param keyspace: keys per database, summed over the primaries.
    :param password_issues: what is wrong with its password (:func:`password_issues`).
    """

    label: str
    where: str
    instance_id: str | None = None
    record_note: str | None = None
    record_missing: bool = False
    cache_mode: str | None = None
    engine_version: str | None = None
    port: int | None = None
    edition: str | None = None
    record_max_memory: int | None = None
    record_used_memory: int | None = None
    reached: bool = False
    unreachable: str | None = None
    refused: bool = False
    redis_version: str | None = None
    cluster: bool | None = None
    keyspace: Mapping[int, int] | None = None
    nodes: tuple[NodeFacts, ...] = ()
    password_issues: tuple[str, ...] = ()

    @property
    def version(self) -> str | None:
        """The server's ``redis_version`` when reached, else the record's ``engine_version``."""
        return self.redis_version or self.engine_version

    def _summed(self, values: list[int | None]) -> int | None:
        if self.reached and values and all(value is not None for value in values):
            return sum(value or 0 for value in values)
        return None

    @property
    def used_memory(self) -> int | None:
        """Bytes in use, summed over the primaries (else the record's), or ``None``."""
        used = self._summed([node.used_memory for node in self.nodes])
        return self.record_used_memory if used is None else used

    @property
    def maxmemory(self) -> int | None:
        """Summed maxmemory in bytes, ``0`` when a primary sets none (unlimited); else the record's."""
        limits = [node.maxmemory for node in self.nodes]
        total = self._summed(limits)
        if total is None:
            return self.record_max_memory
        return 0 if 0 in limits else total

    @property
    def kind(self) -> str | None:
        """``cluster``, ``proxy`` (a DCS Proxy Cluster) or ``single``; ``None`` when unknown."""
        if self.cluster or self.cache_mode == "cluster":
            return "cluster"
        if self.cache_mode == "proxy":
            return "proxy"
        return "single" if self.cluster is False or self.cache_mode else None


def password_issues(password: str | None) -> tuple[str, ...]:
    """The character classes of ``password`` that DCS documents as breaking a migration."""
    return ("a single quote (')",) if password and "'" in password else ()


def parse_version(text: str | None) -> tuple[int, int] | None:
    """``(major, minor)`` of ``7.0.15`` or ``5.0``; ``None`` when it is not a version."""
    parts = (text or "").strip().split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1])


def size(value: int) -> str:
    """Bytes as ``512 B``, ``64 KiB``, ``1.5 GiB``."""
    amount, unit = float(value), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            break
        amount /= 1024
    return f"{int(amount)} B" if unit == "B" else f"{amount:.3g} {unit}"


def _where(addrs: list[str]) -> str:
    return addrs[0] if len(addrs) == 1 else f"{addrs[0]} and {len(addrs) - 1} more"


def _not_reached(rule: str, side: SideFacts, extra: str = "") -> Row:
    return _row(rule, SKIPPED, f"not read: the {side.label} was not reached{extra}", "by-hand")


def reachable(side: SideFacts) -> Row:
    """``<side>-reachable``: the DCS record exists and the server answers. A DCS side this worker
    cannot reach is ``skipped``; a self-hosted one, or a refused password, is a ``fail``."""
    rule = f"{side.label}-reachable"
    if side.record_missing:
        return _row(rule, FAIL, f"{side.where}: {side.record_note}", "missing")
    if side.reached:
        version = f", redis_version {side.redis_version}" if side.redis_version else ""
        count = len(side.nodes)
        shape = (
            f"Redis Cluster, {count} primar{'y' if count == 1 else 'ies'}" if side.cluster else "single Redis"
        )
        return _row(rule, PASS, f"{side.where} answered ({shape}{version})")
    reason = side.unreachable or side.record_note or "no address"
    if side.refused or side.instance_id is None:
        return _row(rule, FAIL, f"{side.where}: {reason}", "down")
    if side.record_note:
        return _row(rule, WARN, f"{side.where}: {reason}; its checks are skipped", "record")
    detail = f"{side.where}: {reason}; usual outside the instance's VPC: its Redis checks are skipped"
    return _row(rule, SKIPPED, detail, "vpc")


def sync_psync(source: SideFacts) -> Row:
    """``sync-psync``: SYNC or PSYNC renamed/disabled (``COMMAND INFO`` does not know it) or denied
    by the ACL is a ``fail``; a node where that could not be checked, a ``warn``."""
    if not source.reached:
        dcs = " (DCS allows both from DCS to DCS in one region and account)" if source.instance_id else ""
        return _not_reached("sync-psync", source, dcs)
    missing = sorted({c.upper() for n in source.nodes for c in n.missing_commands or ()})
    denied = sorted({c.upper() for n in source.nodes for c in n.acl_denied or ()})
    if missing:
        where = _where([n.addr for n in source.nodes if n.missing_commands])
        detail = f"{'/'.join(missing)} renamed or disabled on {where} (COMMAND INFO does not know it)"
        return _row("sync-psync", FAIL, detail, "missing")
    if denied:
        notes = sorted({n.acl_note for n in source.nodes if n.acl_denied and n.acl_note})
        return _row("sync-psync", FAIL, f"the ACL denies {'/'.join(denied)} ({'; '.join(notes)})", "denied")
    unknown = [n for n in source.nodes if n.missing_commands is None or n.acl_denied is None]
    if unknown:
        notes = sorted({note for n in unknown for note in (n.commands_note, n.acl_note) if note})
        detail = f"could not check on {_where([n.addr for n in unknown])}: {'; '.join(notes)}"
        return _row("sync-psync", WARN, detail, "unknown")
    notes = sorted({n.acl_note for n in source.nodes if n.acl_note})
    return _row("sync-psync", PASS, f"SYNC and PSYNC available ({'; '.join(notes)})")


def _config_unread(rule: str, source: SideFacts) -> Row | None:
    if not source.reached:
        return _not_reached(rule, source)
    unread = [n for n in source.nodes if n.config_note]
    if unread:
        detail = f"could not check on {_where([n.addr for n in unread])}: {unread[0].config_note}"
        return _row(rule, WARN, detail, "by-hand")
    return None


def repl_timeout(source: SideFacts) -> Row:
    """``repl-timeout``: below :data:`MIN_REPL_TIMEOUT` s on a source primary is a ``warn``, not a
    ``fail``: it breaks only a full copy slower than the timeout (a large or busy source), and
    Redis's default (60 s) serves small data sets well."""
    unread = _config_unread("repl-timeout", source)
    if unread:
        return unread
    timeouts = [n.repl_timeout for n in source.nodes if n.repl_timeout is not None]
    low = [n.addr for n in source.nodes if n.repl_timeout is not None and n.repl_timeout < MIN_REPL_TIMEOUT]
    if low:
        detail = f"repl-timeout {min(timeouts)} s on {_where(low)} (advised: {MIN_REPL_TIMEOUT} s)"
        return _row("repl-timeout", WARN, detail, "low")
    return _row("repl-timeout", PASS, f"repl-timeout {min(timeouts, default=0)} s")


def replica_buffer(source: SideFacts) -> Row:
    """``replica-buffer``: a replica output buffer hard or soft limit that is neither 0 (unlimited)
    nor at least :data:`MIN_BUFFER_SHARE` of maxmemory (of used memory without maxmemory) is a
    ``warn`` (like ``repl-timeout``: it bites on large, busy sources)."""
    unread = _config_unread("replica-buffer", source)
    if unread:
        return unread
    shown = set()
    for node in source.nodes:
        basis = node.maxmemory or node.used_memory
        if node.replica_buffer is None or not basis:
            continue
        need, (hard, soft) = int(basis * MIN_BUFFER_SHARE), node.replica_buffer
        shown.add(f"{size(hard)}/{size(soft)}")
        if any(0 < limit < need for limit in (hard, soft)):
            of = "maxmemory" if node.maxmemory else "used memory (no maxmemory)"
            detail = (
                f"replica output buffer hard {size(hard)} / soft {size(soft)} on {node.addr}: below 20% "
                f"of its {of} {size(basis)}, i.e. {size(need)}"
            )
            return _row("replica-buffer", WARN, detail, "low")
    return _row("replica-buffer", PASS, f"replica output buffer hard/soft {', '.join(sorted(shown)) or '?'}")


def versions(source: SideFacts, target: SideFacts) -> Row:
    """``versions``: a source older than 3.0, or newer (major.minor) than the target, is a ``fail``."""
    src, dst = source.version, target.version
    parsed_src, parsed_dst = parse_version(src), parse_version(dst)
    if (src and parsed_src is None) or (dst and parsed_dst is None):
        return _row("versions", WARN, f"unreadable version (source {src!r}, target {dst!r})", "by-hand")
    if parsed_src is not None and parsed_src < MIN_SOURCE_VERSION:
        return _row("versions", FAIL, f"the source is Redis {src}, older than 3.0", "old")
    if parsed_src is None or parsed_dst is None:
        known = f"source {src}" if src else (f"target {dst}" if dst else "neither version")
        return _row("versions", SKIPPED, f"not compared: only {known} is known", "by-hand")
    if parsed_src > parsed_dst:
        detail = f"the source (Redis {src}) is newer than the target (Redis {dst})"
        return _row("versions", FAIL, detail, "newer")
    return _row("versions", PASS, f"source Redis {src}, target Redis {dst}")


def proxy_source(source: SideFacts) -> Row:
    """``proxy-source``: a DCS Proxy Cluster source (``cache_mode`` ``proxy``) is a ``fail``."""
    if source.instance_id is None:
        return _row("proxy-source", PASS, "self-hosted source (not a DCS Proxy Cluster)")
    if source.cache_mode is None:
        return _row("proxy-source", SKIPPED, "not read: the instance record shows no cache_mode", "by-hand")
    if source.cache_mode == "proxy":
        return _row(
            "proxy-source", FAIL, f"{source.where} is a DCS Proxy Cluster (cache_mode proxy)", "proxy"
        )
    return _row("proxy-source", PASS, f"DCS cache_mode {source.cache_mode}")


def multi_db_cluster(source: SideFacts, target: SideFacts) -> Row:
    """``multi-db-cluster``: source keys outside DB0 into a Redis Cluster target is a ``fail``;
    into a Proxy Cluster target a ``warn`` (multi-DB must be enabled there)."""
    kind = target.kind
    if kind is None:
        return _row("multi-db-cluster", SKIPPED, "not read: the target's type is unknown", "by-hand")
    if kind == "single":
        return _row("multi-db-cluster", PASS, "the target is not a cluster: every DB is kept")
    if source.keyspace is None:
        return _not_reached("multi-db-cluster", source)
    others = {db: keys for db, keys in source.keyspace.items() if db != 0 and keys}
    if not others:
        return _row("multi-db-cluster", PASS, f"the source holds keys in DB0 only; the target is a {kind}")
    dbs = ", ".join(f"DB{db}: {keys}" for db, keys in sorted(others.items()))
    if kind == "proxy":
        detail = f"the source holds keys outside DB0 ({dbs}); the target is a Proxy Cluster"
        return _row("multi-db-cluster", WARN, detail, "proxy")
    detail = f"the source holds keys outside DB0 ({dbs}); the target is a Redis Cluster (DB0 only)"
    return _row("multi-db-cluster", FAIL, detail, "cluster")


def target_empty(target: SideFacts, require_empty: bool) -> Row:
    """``target-empty``: keys on the target are a ``fail`` (a ``warn`` without ``require_empty``)."""
    if target.keyspace is None:
        return _not_reached("target-empty", target)
    keys = sum(target.keyspace.values())
    if not keys:
        return _row("target-empty", PASS, "the target holds no key")
    dbs = ", ".join(f"DB{db}: {n}" for db, n in sorted(target.keyspace.items()) if n)
    return _row(
        "target-empty", FAIL if require_empty else WARN, f"the target holds {keys} key(s) ({dbs})", "keys"
    )


def target_memory(source: SideFacts, target: SideFacts, check_memory: bool) -> Row:
    """``target-memory``: the target's maxmemory below the source's used memory is a ``fail``."""
    if not check_memory:
        return _row("target-memory", SKIPPED, "not asked (check_memory=False)")
    used, limit = source.used_memory, target.maxmemory
    if used is None or limit is None:
        missing = "the source's used memory" if used is None else "the target's maxmemory"
        return _row("target-memory", SKIPPED, f"not read: {missing}", "by-hand")
    if limit == 0:
        return _row("target-memory", PASS, f"the target sets no maxmemory; the source uses {size(used)}")
    if limit < used:
        detail = f"the target's maxmemory ({size(limit)}) is below the source's used memory ({size(used)})"
        return _row("target-memory", FAIL, detail, "small")
    return _row("target-memory", PASS, f"target maxmemory {size(limit)} >= source used memory {size(used)}")


def password_quote(source: SideFacts, target: SideFacts) -> Row:
    """``password-quote``: a password with a single quote, on either side, is a ``fail``."""
    found = [
        f"the {s.label}'s password contains {issue}" for s in (source, target) for issue in s.password_issues
    ]
    if found:
        return _row("password-quote", FAIL, "; ".join(found), "quote")
    return _row("password-quote", PASS, "no password contains a single quote")


def _ip_switch_side(side: SideFacts, problems: list[str], unknown: list[str]) -> None:
    shown = side.engine_version or side.redis_version
    version = parse_version(shown)
    if version is None:
        unknown.append(f"the {side.label}'s version")
    elif version < MIN_IP_SWITCH_VERSION:
        problems.append(f"the {side.label} is Redis {shown} (< 4.0)")
    if side.cache_mode is None:
        unknown.append(f"the {side.label}'s cache_mode")
    elif side.cache_mode not in IP_SWITCH_MODES:
        bad = problems if side.cache_mode == "cluster" else unknown
        bad.append(f"the {side.label}'s cache_mode {side.cache_mode}")
    edition = (side.edition or "").lower()
    if edition in PROFESSIONAL_EDITIONS:
        problems.append(f"the {side.label} is a professional-edition instance")
    elif edition not in BASIC_EDITIONS:
        unknown.append(f"the {side.label}'s edition ({edition or 'the record shows none'})")


def ip_switch(source: SideFacts, target: SideFacts) -> Row:
    """``ip-switch`` (only when asked): both sides DCS instances on the same port, Redis 4.0+,
    ``cache_mode`` single/ha/proxy, basic edition; ``warn`` for what the records do not show."""
    problems = [
        f"the {s.label} is self-hosted (needs a DCS instance)" for s in (source, target) if not s.instance_id
    ]
    unknown: list[str] = []
    if not problems:
        if source.port and target.port and source.port != target.port:
            problems.append(f"the ports differ ({source.port} and {target.port})")
        elif not (source.port and target.port):
            unknown.append("the ports")
        for side in (source, target):
            _ip_switch_side(side, problems, unknown)
    if problems:
        return _row("ip-switch", FAIL, "; ".join(problems), "no")
    if unknown:
        return _row("ip-switch", WARN, f"could not check {', '.join(unknown)}", "unknown")
    return _row("ip-switch", PASS, f"two DCS instances on port {source.port}, Redis 4.0+, basic edition")


def evaluate(
    source: SideFacts,
    target: SideFacts,
    *,
    require_empty_target: bool = True,
    check_memory: bool = True,
    check_ip_switch: bool = False,
) -> list[Row]:
    """Every rule, in a fixed order (``ip-switch`` only with ``check_ip_switch``)."""
    rows = [reachable(source), reachable(target), sync_psync(source), repl_timeout(source)]
    rows += [replica_buffer(source), versions(source, target), proxy_source(source)]
    rows += [multi_db_cluster(source, target), target_empty(target, require_empty_target)]
    rows += [target_memory(source, target, check_memory), password_quote(source, target)]
    return rows + ([ip_switch(source, target)] if check_ip_switch else [])
