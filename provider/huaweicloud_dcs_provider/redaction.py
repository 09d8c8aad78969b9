"""Removing secrets from API payloads before anything logs, returns or stores them.

The DCS API returns Redis passwords in clear text in task details; the request bodies we send
carry them too. :func:`redact` returns a deep copy with every secret-looking value replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REDACTED = "***"

#: Lower-cased key fragments whose values are secrets.
SECRET_KEY_FRAGMENTS = ("password", "passwd", "pwd", "secret", "token", "authorization")


def is_secret_key(key: str) -> bool:
    """True when a field with this name holds a secret."""
    lowered = key.lower()
    return any(fragment in lowered for fragment in SECRET_KEY_FRAGMENTS)


def redact(value: Any) -> Any:
    """Deep copy of ``value`` with the values of secret-named keys replaced by ``***``.

    Empty or ``None`` secrets are left as they are (they reveal nothing and say "no password").
    """
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if is_secret_key(str(key)) and item not in (None, "") else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def secrets_in(value: Any) -> list[str]:
    """Every non-empty string held under a secret-named key, to register with Airflow's masker."""
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if is_secret_key(str(key)) and isinstance(item, str) and item:
                found.append(item)
            else:
                found.extend(secrets_in(item))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(secrets_in(item))
    return found
