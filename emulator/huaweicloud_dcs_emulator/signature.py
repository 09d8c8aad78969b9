"""The SDK-HMAC-SHA256 signing algorithm, written from ``dcs-api.md`` section 7.

Pure functions, no I/O; both sides use them: the gateway's check (:mod:`.auth`) recomputes the
signature of what it received, the test client (:mod:`.signer`) signs what it sends.

1. ``CanonicalURI``: percent-decode the path, split it on ``/``, percent-encode every segment
   (only ``A-Z a-z 0-9 - _ . ~`` kept, UTF-8, upper-case hex) and make sure it ends with ``/``.
2. ``CanonicalQueryString``: ``(key, value)`` pairs (a list value gives one pair per element),
   sorted on the raw strings, booleans as ``true``/``false``, keys and values encoded like path
   segments, joined with ``&``.
3. ``CanonicalHeaders``: ``name:value`` (name lower-cased, value stripped) and a newline, for
   each signed header in order; ``SignedHeaders`` = those names joined with ``;``.
4. ``HashedPayload``: hex SHA-256 of the exact body bytes; the empty-string hash for no body;
   the ``X-Sdk-Content-Sha256`` value (``UNSIGNED-PAYLOAD``) when that header is there.
5. ``CanonicalRequest`` = method, URI, query, headers, signed names, payload hash, one per line.
6. ``StringToSign`` = ``SDK-HMAC-SHA256``, ``X-Sdk-Date``, hex SHA-256 of the canonical request.
7. ``Signature`` = hex HMAC-SHA256 of the string to sign, keyed with the secret key (no derived
   key, no credential scope).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
#: ``X-Sdk-Date`` format, e.g. ``20240102T030405Z`` (UTC).
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
CONTENT_SHA256_HEADER = "X-Sdk-Content-Sha256"
SECURITY_TOKEN_HEADER = "X-Security-Token"  # noqa: S105 - a header name
#: SHA-256 of the empty string: the payload hash of a request without a body.
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

QueryValue = str | int | float | bool | Sequence[str | int | float | bool]
QueryParams = Mapping[str, QueryValue | None] | Iterable[tuple[str, QueryValue | None]]


def encode_component(value: str) -> str:
    """Percent-encode a path segment, query key or query value (``A-Z a-z 0-9 - _ . ~`` kept)."""
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """Step 1: decoded, re-encoded segment by segment, always ending in ``/``."""
    uri = "/".join(encode_component(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def _pairs(params: QueryParams | None) -> list[tuple[str, Any]]:
    """The ``(key, value)`` pairs, list values expanded, ``None`` values dropped."""
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    flat: list[tuple[str, Any]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, list | tuple):
            flat.extend((key, item) for item in value)
        else:
            flat.append((key, value))
    return flat


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def canonical_query_string(params: QueryParams | None) -> str:
    """Step 2 (also the query string to send): sorted, encoded ``k=v`` pairs joined with ``&``."""
    flat = sorted(_pairs(params))
    return "&".join(f"{encode_component(k)}={encode_component(_query_text(v))}" for k, v in flat)


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """Lower-cased, sorted names of the headers to sign: every one whose name has no ``_``."""
    return sorted(name.lower() for name in headers if "_" not in name)


def canonical_headers(headers: Mapping[str, str], signed_names: Sequence[str]) -> str:
    """Step 3: a ``name:value`` line for each signed header."""
    lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
    return "".join(f"{name}:{lowered[name]}\n" for name in signed_names)


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (any case), or ``None``."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def hashed_payload(body: bytes | None, headers: Mapping[str, str]) -> str:
    """Step 4."""
    if not body:
        return EMPTY_BODY_SHA256
    declared = header_value(headers, CONTENT_SHA256_HEADER)
    if declared:
        return declared
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    path: str,
    query: QueryParams | None,
    headers: Mapping[str, str],
    body: bytes | None,
) -> tuple[str, list[str]]:
    """Step 5: the canonical request over ``headers`` (all signed), and the signed names."""
    names = signed_header_names(headers)
    text = "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query_string(query),
            canonical_headers(headers, names),
            ";".join(names),
            hashed_payload(body, headers),
        ]
    )
    return text, names


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """Step 6."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    """Step 7."""
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization_header(access_key: str, signed_names: Sequence[str], sig: str) -> str:
    """``SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>``."""
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed_names)}, Signature={sig}"


_AUTHORIZATION = re.compile(
    r"^SDK-HMAC-SHA256 Access=(?P<access>[^,\s]+), SignedHeaders=(?P<headers>[^,\s]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Authorization:
    """The three parts of an ``Authorization`` header."""

    access_key: str
    signed_names: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> Authorization | None:
    """Split an ``Authorization`` header; ``None`` when it is not SDK-HMAC-SHA256."""
    match = _AUTHORIZATION.match(value.strip())
    if match is None:
        return None
    return Authorization(
        access_key=match["access"],
        signed_names=tuple(match["headers"].split(";")),
        signature=match["signature"],
    )


def format_sdk_date(moment: datetime) -> str:
    """``X-Sdk-Date`` text of a moment (UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(DATE_FORMAT)


def now_sdk_date() -> str:
    """The current UTC time as ``X-Sdk-Date`` text."""
    return format_sdk_date(datetime.now(UTC))
