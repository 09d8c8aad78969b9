"""Removing secrets from API payloads before anything logs, returns or stores them.

The DCS API returns Redis passwords in clear text in task details; the request bodies we send
carry them too. :func:`redact` returns a deep copy with every secret-looking value replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"
#: Nesting depth beyond which :func:`redact` and :func:`secrets_in` stop (deeper data is dropped).
MAX_DEPTH = 32

#: Lower-cased key fragments whose values are secrets.
SECRET_KEY_FRAGMENTS = ("password", "passwd", "pwd", "secret", "token", "authorization")


#: What :func:`is_secret_key` said of the key names seen so far (API answers reuse a few dozen
#: names; bounded, so hostile answers with ever new names cannot grow it without end).
_SECRET_KEY_VERDICTS: dict[str, bool] = {}
_MAX_REMEMBERED_KEYS = 2048
#: Values that are never containers: returned as they are, without a call.
_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})


def is_secret_key(key: str) -> bool:
    """True when a field with this name holds a secret."""
    verdict = _SECRET_KEY_VERDICTS.get(key) if type(key) is str else None
    if verdict is None:
        lowered = key.lower()
        verdict = any(fragment in lowered for fragment in SECRET_KEY_FRAGMENTS)
        if type(key) is str and len(_SECRET_KEY_VERDICTS) < _MAX_REMEMBERED_KEYS:
            _SECRET_KEY_VERDICTS[key] = verdict
    return verdict


def redact(value: Any, *, _depth: int = 0) -> Any:
    """Deep copy of ``value`` with the values of secret-named keys replaced by ``***``.

    Empty or ``None`` secrets are left as they are (they reveal nothing and say "no password").
    Containers nested deeper than :data:`MAX_DEPTH` are replaced by ``***`` (no recursion error).
    """
    cls = type(value)
    if cls is dict:  # what JSON gives: the common case, without the ABC checks
        return _redact_plain_dict(value, _depth) if _depth < MAX_DEPTH else REDACTED
    if cls in _LEAF_TYPES:
        return value
    if isinstance(value, Mapping | list | tuple) and _depth >= MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return _redact_dict(value, _depth)
    if isinstance(value, list | tuple):
        return [item if type(item) in _LEAF_TYPES else redact(item, _depth=_depth + 1) for item in value]
    return value


def _redact_dict(value: Mapping[Any, Any], depth: int) -> Any:
    if depth >= MAX_DEPTH:
        return REDACTED
    if type(value) is dict:
        return _redact_plain_dict(value, depth)
    result: dict[Any, Any] = {}
    for key, item in value.items():
        if _secret_name(key) and item not in (None, ""):
            result[key] = REDACTED
        elif type(item) in _LEAF_TYPES:
            result[key] = item
        else:
            result[key] = redact(item, _depth=depth + 1)
    return result


def _secret_name(key: Any) -> bool:
    secret = _SECRET_KEY_VERDICTS.get(key) if type(key) is str else None
    return is_secret_key(key if type(key) is str else str(key)) if secret is None else secret


#: The secret-named keys of each set of key names seen so far (an API answer of one kind always has
#: the same names): the copy of such a dict is made in C, then only its containers and its secrets
#: are rewritten. Bounded like :data:`_SECRET_KEY_VERDICTS`.
_SECRET_KEYS_OF: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_MAX_REMEMBERED_KEY_SETS = 256


def _redact_plain_dict(value: dict[Any, Any], depth: int) -> dict[Any, Any]:
    names = tuple(value)
    secrets = _SECRET_KEYS_OF.get(names)
    if secrets is None:
        secrets = tuple(key for key in names if _secret_name(key))
        if len(_SECRET_KEYS_OF) < _MAX_REMEMBERED_KEY_SETS:
            _SECRET_KEYS_OF[names] = secrets
    result = value.copy()
    leaves = _LEAF_TYPES
    for key, item in value.items():
        if type(item) not in leaves:
            result[key] = redact(item, _depth=depth + 1)
    for key in secrets:
        if result[key] not in (None, ""):
            result[key] = REDACTED
    return result


#: Fields whose values are identifiers, statuses, codes, numbers, addresses, names or times: what a
#: secret never is, and what a wait and a comparison read. :func:`scrub` rewrites them only with
#: long secrets, and only where the value is not well-formed (a short password such as ``0`` is a
#: substring of ids, offsets and addresses).
_STRUCTURAL_KEY = re.compile(
    r"(?:^|_)(?:id|ids|list|status|code|offset|count|num|db|dbsize|progress|kbps|ops|port|ip|addrs|"
    r"at|time|date|version|method|type|mode|name|migrating|enable\w*)$",
    re.IGNORECASE,
)
#: A well-formed value of such a field: a number (the API's figures are strings), a hex id (task,
#: instance and project ids), a status or error-code word (``SUCCESS``, ``DCS.4133``), an enum value
#: (``full_amount_migration``), an ISO time. It is never rewritten by a secret it merely contains (a
#: password ``00000000`` in the key count ``100000000``, a password that is part of a task id); one
#: that is not well-formed (``"status: <echoed secret>"``), or is a secret itself, is scrubbed.
_WELL_FORMED_VALUE = re.compile(
    r"-?\d+(?:\.\d+)?"
    r"|[0-9a-fA-F]+(?:-[0-9a-fA-F]+)*"
    r"|[A-Z][A-Z0-9_]*(?:\.\d+)?"
    r"|[a-z][a-z0-9_]*"
    r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
#: A key shaped like an API field name is not rewritten by a short secret either.
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: Secrets at least this long are scrubbed from structural fields too (addresses, names, key names,
#: values that are not well-formed); shorter ones only where free text can be.
MIN_SECRET_LENGTH_EVERYWHERE = 8


def is_structural_key(key: str) -> bool:
    """True for a field that no short secret rewrites (ids, statuses, numbers, addresses...)."""
    return bool(_STRUCTURAL_KEY.search(key))


def scrub(value: Any, secrets: Iterable[str | None], *, _depth: int = 0) -> Any:
    """Deep copy of ``value`` with every occurrence of the known ``secrets`` replaced, where a secret
    can be: free text (error messages, descriptions, log lines) and fields of unknown meaning.

    For answers that may echo a secret we sent (a Redis password, the secret key) under a name
    :func:`redact` cannot recognise. Identifiers, statuses, codes, numbers, addresses and times
    (:func:`is_structural_key`) and keys shaped like field names are rewritten only by secrets of at
    least :data:`MIN_SECRET_LENGTH_EVERYWHERE` characters, so a password as short as ``0`` cannot
    turn a task id or a status into something else; a well-formed id, status, code, number or time
    is never rewritten by a secret it merely contains (only one that is the secret itself). A bare
    string (an error text) is scrubbed whole. Containers nested deeper than :data:`MAX_DEPTH` are
    replaced by ``***``.
    """
    known = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not known:
        return value
    if isinstance(value, str):
        for secret in known:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping | list | tuple) and _depth >= MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        long_ones = [secret for secret in known if len(secret) >= MIN_SECRET_LENGTH_EVERYWHERE]
        result: dict[Any, Any] = {}
        for key, item in value.items():
            field_like = isinstance(key, str) and _FIELD_NAME.fullmatch(key) is not None
            name = scrub(key, long_ones if field_like else known)
            structural = isinstance(key, str) and is_structural_key(key) and not isinstance(item, Mapping)
            if structural and _intact(item, long_ones):
                result[name] = item
            else:
                result[name] = scrub(item, long_ones if structural else known, _depth=_depth + 1)
        return result
    if isinstance(value, list | tuple):
        return [scrub(item, known, _depth=_depth + 1) for item in value]
    return value


def _intact(value: Any, long_secrets: list[str]) -> bool:
    """True for a well-formed structural value that is not itself one of the ``long_secrets``."""
    if not isinstance(value, str) or value in long_secrets:
        return False
    return _WELL_FORMED_VALUE.fullmatch(value) is not None


def secrets_in(value: Any, *, _depth: int = 0) -> list[str]:
    """Every non-empty string held under a secret-named key, to register with Airflow's masker."""
    found: list[str] = []
    if _depth >= MAX_DEPTH:
        return found
    if isinstance(value, Mapping):
        for key, item in value.items():
            if is_secret_key(str(key)) and isinstance(item, str) and item:
                found.append(item)
            else:
                found.extend(secrets_in(item, _depth=_depth + 1))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(secrets_in(item, _depth=_depth + 1))
    return found
