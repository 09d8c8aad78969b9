"""Signature verification of the emulator, done the way the API gateway does it.

The signature is recomputed from what was *received*, with the pure functions of
:mod:`.signature` (the reference's algorithm): the raw path (query string removed), the raw query
string split into ``(key, value)`` pairs (percent-decoded, blank values kept), exactly the headers
named in ``SignedHeaders`` (a missing one is an error), the body bytes and ``X-Sdk-Date``.

Failures mimic the gateway: HTTP 401 with ``APIGW.0301`` and an "Incorrect IAM authentication
information: ..." message. Huawei documents ``APIGW.0303`` ("Incorrect app authentication
information: signature expired, signature time:...,server time:...") for the *app*
authentication flavour only; DCS uses IAM authentication, so an expired date answers
``APIGW.0301`` with that same "signature expired" wording.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote

from huaweicloud_dcs_emulator import signature

IAM_ERROR = "APIGW.0301"
#: Largest accepted difference between ``X-Sdk-Date`` and the server clock.
MAX_SKEW_SECONDS = 15 * 60
#: Headers that must be among the signed ones.
REQUIRED_SIGNED = ("host", "x-sdk-date")


@dataclass(frozen=True)
class AuthConfig:
    """The credentials the emulator accepts. ``repr`` hides the secret key and token."""

    access_key: str
    secret_key: str = field(repr=False)
    project_id: str
    security_token: str | None = field(default=None, repr=False)
    max_skew_seconds: float = MAX_SKEW_SECONDS


@dataclass(frozen=True)
class AuthFailure:
    """Why a request was rejected (HTTP 401)."""

    error_code: str
    error_msg: str
    status: int = 401


def _fail(detail: str) -> AuthFailure:
    return AuthFailure(IAM_ERROR, f"Incorrect IAM authentication information: {detail}")


def split_raw_query(raw_query: str) -> list[tuple[str, str]]:
    """``a=1&b=&c`` -> ``[("a", "1"), ("b", ""), ("c", "")]``, percent-decoded (``+`` kept)."""
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


def _first_headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered.setdefault(name.lower(), value)
    return lowered


def verify(
    *,
    method: str,
    raw_target: str,
    headers: Mapping[str, str],
    body: bytes,
    config: AuthConfig,
    now: datetime | None = None,
) -> AuthFailure | None:
    """Check one request; ``None`` when it is correctly signed with the configured credentials.

    ``raw_target`` is the request target exactly as received (path and query string, still
    percent-encoded). ``headers`` may repeat names; the first value of each name is used.
    """
    received = _first_headers(headers)
    authorization = received.get("authorization")
    if not authorization:
        if received.get("x-auth-token"):
            return _fail("decrypt token fail (the emulator only accepts AK/SK signatures)")
        return _fail("x-auth-token not found and no Authorization header (sign the request with AK/SK)")
    parsed = signature.parse_authorization(authorization)
    if parsed is None:
        return _fail(
            "unsupported Authorization header (expected SDK-HMAC-SHA256 Access=..., SignedHeaders=..., "
            "Signature=...)"
        )
    if not hmac.compare_digest(parsed.access_key, config.access_key):
        return _fail(f"Get secretKey failed,ak:{parsed.access_key},err:ak not exist")
    sdk_date = received.get("x-sdk-date")
    if not sdk_date:
        return _fail("verify aksk signature fail, X-Sdk-Date header not found")
    try:
        signed_at = datetime.strptime(sdk_date.strip(), signature.DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return _fail(
            f"verify aksk signature fail, invalid X-Sdk-Date {sdk_date!r} (expected YYYYMMDDTHHMMSSZ)"
        )
    current = now or datetime.now(UTC)
    if abs((current - signed_at).total_seconds()) > config.max_skew_seconds:
        return _fail(
            f"signature expired, signature time:{signature.format_sdk_date(signed_at)},"
            f"server time:{signature.format_sdk_date(current)}"
        )
    names = parsed.signed_names
    if list(names) != sorted(names) or any(n != n.lower() for n in names):
        return _fail("verify aksk signature fail, SignedHeaders must be lower-case and sorted")
    for required in REQUIRED_SIGNED:
        if required not in names:
            return _fail(f"verify aksk signature fail, header {required} must be signed")
    signed_headers: dict[str, str] = {}
    for name in names:
        if name not in received:
            return _fail(f"verify aksk signature fail, signed header {name} is missing from the request")
        signed_headers[name] = received[name]
    token = received.get("x-security-token")
    if config.security_token is not None:
        if token is None:
            return _fail("verify aksk signature fail, X-Security-Token required for temporary credentials")
        if "x-security-token" not in names:
            return _fail("verify aksk signature fail, X-Security-Token must be signed")
        if not hmac.compare_digest(token.strip(), config.security_token):
            return _fail("verify aksk signature fail, invalid security token")
    elif token is not None:
        return _fail("verify aksk signature fail, X-Security-Token given for permanent credentials")
    raw_path, _, raw_query = raw_target.partition("?")
    canonical, _ = signature.canonical_request(
        method, raw_path or "/", split_raw_query(raw_query), signed_headers, body
    )
    expected = signature.signature(config.secret_key, signature.string_to_sign(canonical, sdk_date.strip()))
    if not hmac.compare_digest(expected, parsed.signature):
        return _fail("verify aksk signature fail")
    return None
