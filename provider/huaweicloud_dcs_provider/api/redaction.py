"""Removing secrets from API payloads before anything logs, returns or stores them.

The DCS API returns Redis passwords in clear text in task details; the request bodies we send
carry them too. :func:`redact` returns a deep copy with every secret-looking value replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"
#: Nesting depth beyond which :func:`redact` and :func:`secrets_in` stop (deeper data is dropped).
MAX_DEPTH = 32

#: Lower-cased key fragments whose values are secrets.
SECRET_KEY_FRAGMENTS = ("password", "passwd", "pwd", "secret", "token", "authorization")


def is_secret_key(key: str) -> bool:
    """True when a field with this name holds a secret."""
    lowered = key.lower()
    return any(fragment in lowered for fragment in SECRET_KEY_FRAGMENTS)


def redact(value: Any, *, _depth: int = 0) -> Any:
    """Deep copy of ``value`` with the values of secret-named keys replaced by ``***``.

    Empty or ``None`` secrets are left as they are (they reveal nothing and say "no password").
    Containers nested deeper than :data:`MAX_DEPTH` are replaced by ``***`` (no recursion error).
    """
    if isinstance(value, Mapping | list | tuple) and _depth >= MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            key: (
                REDACTED
                if is_secret_key(str(key)) and item not in (None, "")
                else redact(item, _depth=_depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, _depth=_depth + 1) for item in value]
    return value


def scrub(value: Any, secrets: Iterable[str | None], *, _depth: int = 0) -> Any:
    """Deep copy of ``value`` with every occurrence of the known ``secrets`` in its text replaced.

    For answers that may echo a secret we sent (a Redis password, the secret key) under a name
    :func:`redact` cannot recognise. Keys are scrubbed too; containers nested deeper than
    :data:`MAX_DEPTH` are replaced by ``***``.
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
        return {
            scrub(key, known, _depth=_depth + 1): scrub(item, known, _depth=_depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item, known, _depth=_depth + 1) for item in value]
    return value


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
