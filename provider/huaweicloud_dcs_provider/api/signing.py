"""SDK-HMAC-SHA256 request signing, as Huawei Cloud's API gateway expects it.

Everything in the first half of this module is a pure function with no I/O: given the parts of a
request it returns the canonical request, the string to sign and the ``Authorization`` header. The
algorithm follows the official ``huaweicloudsdkcore`` signer step by step (the test suite compares
the two on hundreds of generated requests):

1. ``CanonicalURI``: percent-decode the path, split it on ``/``, percent-encode every segment
   (only ``A-Z a-z 0-9 - _ . ~`` kept) and make sure it ends with ``/``.
2. ``CanonicalQueryString``: expand list values into pairs, sort the ``(key, value)`` pairs on
   their raw values, write booleans as ``true``/``false`` and encode keys and values like path segments.
3. ``CanonicalHeaders``/``SignedHeaders``: every header given whose name has no ``_``, lower-cased
   and sorted, values stripped.
4. ``HashedPayload``: SHA-256 of the exact body bytes (the empty-string hash for no body).
5. ``StringToSign`` = algorithm, ``X-Sdk-Date``, SHA-256 of the canonical request;
   ``Signature`` = HMAC-SHA256 keyed with the secret key.

The second half adapts the signer to the two HTTP clients the hooks use: a ``requests`` auth
object (sync hook) and a function that prepares an ``aiohttp`` request (async hook). Both send the
canonical query string that was signed, so what goes on the wire is exactly what was signed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from requests import PreparedRequest

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
CONTENT_SHA256_HEADER = "X-Sdk-Content-Sha256"
SECURITY_TOKEN_HEADER = "X-Security-Token"  # noqa: S105 - a header name
PROJECT_ID_HEADER = "X-Project-Id"
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

QueryValue = str | int | float | bool | Sequence[str | int | float | bool]
QueryParams = Mapping[str, QueryValue | None] | Iterable[tuple[str, QueryValue | None]]


@dataclass(frozen=True)
class Credentials:
    """An AK/SK pair, plus the security token of temporary credentials.

    ``repr`` never shows the secret key or the token.
    """

    access_key: str
    secret_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.access_key:
            raise ValueError("Access Key ID (connection login) is empty")
        if not self.secret_key:
            raise ValueError("Secret Access Key (connection password) is empty")

    def __repr__(self) -> str:
        token = ", security_token=***" if self.security_token else ""
        return f"Credentials(access_key={self.access_key!r}, secret_key=***{token})"


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------


def encode_component(value: str) -> str:
    """Percent-encode one path segment, query key or query value (RFC 3986 unreserved kept)."""
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """Canonical form of a URL path: decoded, re-encoded per segment, always ending in ``/``."""
    return _canonical_uri(path) if type(path) is str else _canonical_uri.__wrapped__(path)


@functools.lru_cache(maxsize=512)
def _canonical_uri(path: str) -> str:
    # Pure, so kept: a wait signs the same path on every poll.
    uri = "/".join(encode_component(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def _query_pairs(params: QueryParams | None) -> list[tuple[str, Any]]:
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    return [(key, value) for key, value in items if value is not None]


def _format_query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def canonical_query_string(params: QueryParams | None) -> str:
    """Canonical (and sent) query string.

    ``params`` is a mapping or a sequence of ``(key, value)`` pairs, so repeated keys are allowed;
    a list value expands into one pair per element; ``None`` values are dropped.
    """
    # Expand list values first, then sort all pairs: the result is fully sorted even when a key is
    # given more than once with list values, so a server that sorts the pairs it receives gets the
    # same string. (Sorting the unexpanded pairs, as the SDK does, leaves e.g. k=[1] and k=[1, 0]
    # as "k=1&k=0&k=1"; the SDK then even sends "k=0&k=1&k=1", not what it signed.)
    flat: list[tuple[str, Any]] = []
    for key, value in _query_pairs(params):
        if isinstance(value, list | tuple):
            flat.extend((key, item) for item in value)
        else:
            flat.append((key, value))
    flat.sort()
    return "&".join(f"{encode_component(k)}={encode_component(_format_query_value(v))}" for k, v in flat)


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """Lower-cased, sorted names of the headers that are signed (those without ``_``)."""
    return sorted(name.lower() for name in headers if "_" not in name)


def canonical_headers(headers: Mapping[str, str], signed_names: Sequence[str]) -> str:
    """``name:value`` lines of the signed headers, each ending with a newline."""
    lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
    return "".join(f"{name}:{lowered[name]}\n" for name in signed_names)


def _get_header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def hashed_payload(body: bytes | None, headers: Mapping[str, str]) -> str:
    """Hex SHA-256 of the body, the empty hash for no body, or the ``X-Sdk-Content-Sha256`` value."""
    if not body:
        return EMPTY_BODY_SHA256
    declared = _get_header(headers, CONTENT_SHA256_HEADER)
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
    """The canonical request string and the signed header names it covers."""
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
    """``SDK-HMAC-SHA256\\n<date>\\n<sha256 hex of the canonical request>``."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign, keyed with the secret key."""
    return hmac.digest(secret_key.encode("utf-8"), to_sign.encode("utf-8"), "sha256").hex()


def authorization_header(access_key: str, signed_names: Sequence[str], sig: str) -> str:
    """The ``Authorization`` header value."""
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed_names)}, Signature={sig}"


_AUTH_RE = re.compile(
    r"^SDK-HMAC-SHA256 Access=(?P<access>[^,\s]+), SignedHeaders=(?P<headers>[^,\s]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class ParsedAuthorization:
    """The three parts of an ``Authorization`` header."""

    access_key: str
    signed_names: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization | None:
    """Split an ``Authorization`` header; ``None`` when it is not SDK-HMAC-SHA256."""
    match = _AUTH_RE.match(value.strip())
    if match is None:
        return None
    return ParsedAuthorization(
        access_key=match["access"],
        signed_names=tuple(match["headers"].split(";")),
        signature=match["signature"],
    )


def format_sdk_date(moment: datetime) -> str:
    """``X-Sdk-Date`` text of a moment (UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(DATE_FORMAT)


@dataclass(frozen=True)
class SignedRequest:
    """What to send: every header (``Authorization`` included) and the query string that was signed."""

    headers: dict[str, str]
    query_string: str
    signed_names: tuple[str, ...]


def sign(
    *,
    method: str,
    host: str,
    path: str,
    query: QueryParams | None,
    headers: Mapping[str, str],
    body: bytes | None,
    credentials: Credentials,
    sdk_date: str,
) -> SignedRequest:
    """Sign a request; pure: the date is an argument, nothing is read from the clock or network.

    ``host`` is the URL's netloc (with its port, if any). The security token of temporary
    credentials is added as ``X-Security-Token`` before signing, so it is signed too. An
    ``X-Sdk-Date`` already in ``headers`` wins over ``sdk_date``, as in the official SDK.
    """
    all_headers = dict(headers)
    # The first value of each header name, whatever its case (what ``_get_header`` finds): the
    # headers added below are never among the names looked up after them.
    given: dict[str, str] = {}
    for name, value in all_headers.items():
        given.setdefault(name.lower(), value)
    if credentials.security_token:
        all_headers[SECURITY_TOKEN_HEADER] = credentials.security_token
    content_type = given.get("content-type")
    if content_type and not content_type.startswith(("application/json", "application/bson")):
        all_headers[CONTENT_SHA256_HEADER] = "UNSIGNED-PAYLOAD"
    existing_date = given.get("x-sdk-date")
    # The header goes out stripped (below), so the string to sign must use the stripped date too.
    date_text = (existing_date if existing_date is not None else sdk_date).strip()
    if existing_date is None:
        all_headers[DATE_HEADER] = sdk_date
    if given.get("host") is None:
        all_headers["Host"] = host
    canonical, names = canonical_request(method, path, query, all_headers, body)
    sig = signature(credentials.secret_key, string_to_sign(canonical, date_text))
    all_headers["Authorization"] = authorization_header(credentials.access_key, names, sig)
    return SignedRequest(
        headers={k: str(v).strip() for k, v in all_headers.items()},
        query_string=canonical_query_string(query),
        signed_names=tuple(names),
    )


# --------------------------------------------------------------------------------------------
# Adapters
# --------------------------------------------------------------------------------------------


#: The last ``X-Sdk-Date`` made, with its second: calls in the same second share the text.
_last_sdk_date: tuple[int, str] = (-1, "")


def now_sdk_date() -> str:
    """Current UTC time as ``X-Sdk-Date`` text."""
    global _last_sdk_date
    second = int(time.time())
    last_second, text = _last_sdk_date
    if second != last_second:
        text = time.strftime(DATE_FORMAT, time.gmtime(second))
        _last_sdk_date = (second, text)
    return text


# Headers the adapters sign. Transport headers that clients and proxies add or rewrite
# (Accept-Encoding, Connection, Content-Length) are deliberately left unsigned: the gateway only
# checks the names listed in SignedHeaders.
SIGNED_HEADER_ALLOWLIST = frozenset(
    {"content-type", "host", "user-agent", "x-project-id", "x-sdk-date", "x-security-token"}
)


def _body_bytes(body: bytes | str | None) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


class RequestsSigner:
    """A ``requests`` auth object: signs the prepared request right before it is sent.

    ``requests`` calls it once per attempt, so each retry carries a fresh ``X-Sdk-Date``. The
    query string of the prepared URL is replaced by the canonical one that was signed.
    """

    def __init__(self, credentials: Credentials, clock: Any = now_sdk_date) -> None:
        self.credentials = credentials
        self._clock = clock

    def __repr__(self) -> str:
        return f"RequestsSigner({self.credentials!r})"

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        url = urlsplit(request.url or "")
        return self.sign_split(request, url, parse_qsl(url.query, keep_blank_values=True))

    def sign_split(
        self, request: PreparedRequest, url: SplitResult, query: Sequence[tuple[str, str]]
    ) -> PreparedRequest:
        """Sign ``request`` whose URL, already split, is ``url`` and whose query pairs are ``query``.

        What :meth:`__call__` does, for a caller that split the URL once and kept it (the sync
        hook's transport: the same URL for every poll of a task).
        """
        # The request's headers that are signed (SIGNED_HEADER_ALLOWLIST) less a stale X-Sdk-Date,
        # plus Host if absent.
        signable: dict[str, str] = {}
        for name, value in request.headers.items():
            lowered = name.lower()
            if lowered in SIGNED_HEADER_ALLOWLIST and lowered != "x-sdk-date":
                signable[name] = value
        signable.setdefault("Host", url.netloc)
        signed = sign(
            method=request.method or "GET",
            host=url.netloc,
            path=url.path or "/",
            query=query,
            headers=signable,
            body=_body_bytes(request.body),
            credentials=self.credentials,
            sdk_date=self._clock(),
        )
        for name, value in signed.headers.items():
            # http.client writes str header values as latin-1; hand it the UTF-8 bytes that were
            # signed (as the SDK does), so a non-ASCII value is neither mis-sent nor an error.
            request.headers[name] = value if value.isascii() else value.encode("utf-8").decode("latin-1")
        request.url = urlunsplit((url.scheme, url.netloc, url.path, signed.query_string, ""))
        return request


@dataclass(frozen=True)
class PreparedAsyncRequest:
    """A signed request ready for ``aiohttp``: pass ``url`` with ``encoded=True`` semantics."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def prepare_signed(
    *,
    method: str,
    base_url: str,
    path: str,
    query: QueryParams | None,
    headers: Mapping[str, str],
    body: bytes | None,
    credentials: Credentials,
    sdk_date: str,
) -> PreparedAsyncRequest:
    """Sign and assemble a request for a client (aiohttp) that sends exactly the URL it is given.

    The returned URL is already encoded; give it to aiohttp as ``yarl.URL(url, encoded=True)``
    so the query string is not re-encoded.
    """
    base = urlsplit(base_url)
    full_path = (base.path.rstrip("/") + "/" + path.lstrip("/")) if path else base.path or "/"
    encoded_path = quote(full_path, safe="/~%")
    signed = sign(
        method=method,
        host=base.netloc,
        path=encoded_path,
        query=query,
        headers=headers,
        body=body,
        credentials=credentials,
        sdk_date=sdk_date,
    )
    url = f"{base.scheme}://{base.netloc}{encoded_path}"
    if signed.query_string:
        url += "?" + signed.query_string
    return PreparedAsyncRequest(method=method.upper(), url=url, headers=signed.headers, body=body or None)
