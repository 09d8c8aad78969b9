"""What the pre-flight reads about a side before its rules run: the DCS record and the Redis server.

:func:`read_side` turns a resolved instance (``addrs`` or ``id``, with its ``password``) into the
:class:`~huaweicloud_dcs_provider.datacheck.preflight_rules.SideFacts` the rules need, and keeps
nothing else: never the password (only what is wrong with it), never a value or a key name.
Commands a server refuses (``CONFIG`` renamed, ``ACL`` denied...) leave that fact unread with a
note; nothing is ever written to a server, and ``SYNC``/``PSYNC`` are never run (``COMMAND INFO``
and ``ACL DRYRUN`` tell whether they would be allowed).

Imported when the task runs (it loads ``redis``), never when a DAG is parsed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import redis
from redis.exceptions import RedisClusterException

from huaweicloud_dcs_provider.datacheck.preflight_reasons import MIB, SYNC_CATEGORIES, SYNC_COMMANDS
from huaweicloud_dcs_provider.datacheck.preflight_rules import (
    NodeFacts,
    SideFacts,
    parse_version,
    password_issues,
)
from huaweicloud_dcs_provider.datacheck.sides import (
    Side,
    SideError,
    describe_error,
    endpoint_from_instance,
    error_kind,
    open_side,
)
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsError

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.api.models import DcsInstance

#: Arguments of the dry runs (``PSYNC ? -1`` asks for a full resync, as a new replica does).
_DRY_RUN = {"sync": ("SYNC",), "psync": ("PSYNC", "?", "-1")}
_UNITS = {"k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


def read_side(
    label: str,
    instance: Mapping[str, Any],
    *,
    get_instance: Callable[[str], DcsInstance],
    socket_timeout: float,
) -> SideFacts:
    """The facts of one side (``label``: ``source`` or ``target``) of a resolved instance.

    :param get_instance: reads a DCS instance record (``DcsHook.get_instance``), for ``id`` sides.
    :param socket_timeout: seconds for each connection attempt and command.
    """
    facts: dict[str, Any] = {"label": label, "password_issues": password_issues(instance.get("password"))}
    record: DcsInstance | None = None
    if instance.get("id"):
        instance_id = str(instance["id"])
        facts.update(instance_id=instance_id, where=f"DCS instance {instance_id}")
        try:
            record = get_instance(instance_id)
        except DcsApiError as exc:
            missing = exc.status_code == 404
            what = "does not exist" if missing else "its record could not be read"
            code = " ".join(str(part) for part in (exc.status_code, exc.error_code) if part)
            seen = f"HTTP {code}" if exc.status_code else type(exc).__name__
            return SideFacts(**facts, record_missing=missing, record_note=f"{what} ({seen})")
        facts.update(_record_facts(record))
        if not record.addrs:
            return SideFacts(**facts, record_note="the instance record shows no address (ip/port)")
        facts["where"] = f"DCS instance {instance_id} ({record.addrs})"
    else:
        facts["where"] = f"Redis {instance['addrs']}"
    try:
        endpoint = endpoint_from_instance(label, instance, resolve_id=lambda _id: record)
        unreachable = _probe(*endpoint.nodes[0], timeout=socket_timeout)
        if unreachable:
            return SideFacts(**facts, unreachable=unreachable)
        with open_side(endpoint, socket_timeout=socket_timeout, retries=0) as side:
            return _read_server(side, facts, source=label == "source")
    except SideError as exc:
        return SideFacts(**facts, unreachable=str(exc)[:300], refused=exc.kind != "unreachable")
    except (DcsError, redis.RedisError, RedisClusterException) as exc:
        if isinstance(exc, redis.RedisError):
            return SideFacts(
                **facts,
                unreachable=f"not reachable: {describe_error(exc)}",
                refused=error_kind(exc) != "unreachable",
            )
        return SideFacts(**facts, unreachable=str(exc)[:300])


def _probe(host: str, port: int, *, timeout: float) -> str | None:
    """Why a TCP connection to ``host:port`` fails, or ``None``: one attempt, where the Redis
    client would retry an unreachable address with backoff for many seconds."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except TimeoutError:
        return f"not reachable: connecting to {host}:{port} timed out after {timeout:g} s"
    except OSError as exc:
        return f"not reachable: connecting to {host}:{port} failed ({exc.strerror or type(exc).__name__})"
    return None


def _record_facts(record: DcsInstance) -> dict[str, Any]:
    """What the rules use of a DCS instance record (memory in bytes)."""
    edition = record.product_type
    return {
        "cache_mode": record.cache_mode,
        "engine_version": record.engine_version,
        "port": record.port,
        "edition": str(edition) if edition else None,
        "record_max_memory": None if record.max_memory_mb is None else record.max_memory_mb * MIB,
        "record_used_memory": None if record.used_memory_mb is None else record.used_memory_mb * MIB,
    }


def _read_server(side: Side, facts: dict[str, Any], *, source: bool) -> SideFacts:
    """INFO, keyspace and (for the source) replication settings of every primary."""
    nodes, version = [], None
    for client in side.primaries():
        server, memory = client.info("server"), client.info("memory")
        version = version or str(server.get("redis_version") or "") or None
        kwargs = client.connection_pool.connection_kwargs
        node: dict[str, Any] = {
            "addr": f"{kwargs.get('host')}:{kwargs.get('port')}",
            "used_memory": _int(memory.get("used_memory")),
            "maxmemory": _int(memory.get("maxmemory")),
        }
        if source:
            node.update(_replication_config(client))
            node.update(_sync_commands(client, version))
        nodes.append(NodeFacts(**node))
    keyspace = {db: keys for db, (keys, _expires) in side.keyspace().items()}
    return SideFacts(
        **facts,
        reached=True,
        redis_version=version,
        cluster=side.cluster,
        keyspace=keyspace,
        nodes=tuple(nodes),
    )


def _replication_config(client: Any) -> dict[str, Any]:
    """``repl-timeout`` and the replica output buffer limits, or why they could not be read."""
    try:
        timeout = client.config_get("repl-timeout").get("repl-timeout")
        limits = str(client.config_get("client-output-buffer-limit").get("client-output-buffer-limit", ""))
    except redis.ResponseError as exc:
        return {"config_note": f"CONFIG GET refused ({describe_error(exc)})"}
    return {"repl_timeout": _int(timeout), "replica_buffer": replica_limits(limits)}


def replica_limits(setting: str) -> tuple[int, int] | None:
    """``(hard, soft)`` bytes of the replica (``slave``) class in a ``client-output-buffer-limit``
    setting such as ``normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60``."""
    parts = setting.split()
    for index in range(0, len(parts) - 3, 4):
        if parts[index].lower() in ("slave", "replica"):
            hard, soft = memory_value(parts[index + 1]), memory_value(parts[index + 2])
            return None if hard is None or soft is None else (hard, soft)
    return None


def memory_value(text: str) -> int | None:
    """Bytes of ``268435456``, ``256mb`` or ``1gb`` (``redis.conf`` units), or ``None``."""
    text = text.strip().lower()
    digits = text.rstrip("kmgb")
    unit = text[len(digits) :]
    if not digits.isdigit() or (unit and unit not in _UNITS):
        return None
    return int(digits) * _UNITS.get(unit, 1)


def _sync_commands(client: Any, version: str | None) -> dict[str, Any]:
    """Whether SYNC and PSYNC exist (``COMMAND INFO``) and the ACL lets this user run them."""
    try:
        # The command name with its subcommand in one string: redis-py sends them apart and,
        # finding no reply callback for it, returns the raw reply (its COMMAND callback fails
        # on the nil entries of unknown commands).
        answer = client.execute_command("COMMAND INFO", *SYNC_COMMANDS)
    except redis.ResponseError as exc:
        return {"commands_note": f"COMMAND INFO refused ({describe_error(exc)})"}
    known = [name for name, entry in zip(SYNC_COMMANDS, answer or (), strict=False) if entry]
    facts: dict[str, Any] = {"missing_commands": tuple(n for n in SYNC_COMMANDS if n not in known)}
    denied, note = _acl_denied(client, known, version)
    facts.update(acl_denied=denied, acl_note=note)
    return facts


def _acl_denied(client: Any, commands: list[str], version: str | None) -> tuple[tuple[str, ...] | None, str]:
    """Of ``commands``, those the connected user may not run: ``ACL DRYRUN`` on Redis 7+, the
    user's rules (``ACL GETUSER``) on 6.x; no ACL before 6. ``None`` (with why) if unknown."""
    parsed = parse_version(version) or (0, 0)
    if parsed < (6, 0):
        return (), f"no ACL (Redis {version})"
    try:
        user = _text(client.execute_command("ACL", "WHOAMI"))
        if parsed < (7, 0):
            return _denied_by_rules(client, user, commands)
        denied = [
            name
            for name in commands
            if _text(client.execute_command("ACL", "DRYRUN", user, *_DRY_RUN[name])) != "OK"
        ]
    except redis.ResponseError as exc:
        return None, f"ACL check refused ({describe_error(exc)})"
    return tuple(denied), f"ACL user {user!r}"


def _denied_by_rules(client: Any, user: str, commands: list[str]) -> tuple[tuple[str, ...] | None, str]:
    reply = client.execute_command("ACL", "GETUSER", user)
    # A flat [field, value, ...] list (RESP2) or a mapping (RESP3); only "commands" is read.
    fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2], strict=False))
    rules = next((_text(value) for key, value in fields.items() if _text(key) == "commands"), None)
    verdicts = {name: acl_allows(rules, name) for name in commands} if rules is not None else {}
    if rules is None or None in verdicts.values():
        return None, f"the ACL rules of user {user!r} could not be read here"
    return tuple(name for name, allowed in verdicts.items() if not allowed), f"ACL user {user!r}"


def acl_allows(rules: str, command: str) -> bool | None:
    """Whether ACL command rules (``ACL GETUSER``'s ``commands``, e.g. ``+@all -psync``) allow
    ``command`` (one of ``sync``, ``psync``); ``None`` when a rule cannot be read here."""
    allowed = False
    for rule in rules.lower().split():
        if rule in ("allcommands", "nocommands"):
            allowed = rule == "allcommands"
            continue
        sign, name = rule[:1], rule[1:]
        if sign not in ("+", "-"):
            return None
        if name == command or name in SYNC_CATEGORIES:
            allowed = sign == "+"
        elif name.split("|", 1)[0] == command:
            return None  # a subcommand rule: not ours to interpret
    return allowed


def figures(source: SideFacts, target: SideFacts) -> dict[str, Any]:
    """The figures the XCom carries beside the rows (never a password)."""
    keyspace = source.keyspace
    return {
        "source_used_memory": source.used_memory,
        "target_keys": sum(target.keyspace.values()) if target.keyspace is not None else None,
        "target_maxmemory": target.maxmemory or None,
        "skipped": [side.label for side in (source, target) if not side.reached],
        "source_keys": None if keyspace is None else {f"db{db}": n for db, n in sorted(keyspace.items())},
        "source_version": source.version,
        "target_version": target.version,
    }


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
