"""The client side of SDK-HMAC-SHA256: how the emulator's test client signs what it sends.

Follows ``dcs-api.md`` section 7, steps 2-4 and 14: the security token of temporary credentials
is added (and signed) as ``X-Security-Token``; a body whose ``Content-Type`` is neither JSON nor
BSON is declared ``UNSIGNED-PAYLOAD``; an ``X-Sdk-Date`` already among the headers wins over the
given date; ``Host`` is the endpoint's netloc (with its port); every header given is signed. The
URL sent carries the canonical query string that was signed, so the wire matches the signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote, urlsplit

from huaweicloud_dcs_emulator.signature import (
    CONTENT_SHA256_HEADER,
    DATE_HEADER,
    SECURITY_TOKEN_HEADER,
    QueryParams,
    authorization_header,
    canonical_query_string,
    canonical_request,
    header_value,
    signature,
    string_to_sign,
)


class Keys(Protocol):
    """What signing needs: an AK/SK pair and, for temporary credentials, a security token."""

    @property
    def access_key(self) -> str:
        """Access key id."""

    @property
    def secret_key(self) -> str:
        """Secret access key."""

    @property
    def security_token(self) -> str | None:
        """Security token of temporary credentials (``None`` for permanent ones)."""


@dataclass(frozen=True)
class Credentials:
    """An AK/SK pair, plus the security token of temporary credentials (``repr`` hides both)."""

    access_key: str
    secret_key: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.access_key:
            raise ValueError("the access key is empty")
        if not self.secret_key:
            raise ValueError("the secret key is empty")

    def __repr__(self) -> str:
        token = ", security_token=***" if self.security_token else ""
        return f"Credentials(access_key={self.access_key!r}, secret_key=***{token})"


@dataclass(frozen=True)
class PreparedRequest:
    """A signed request: send ``url`` exactly as it is (it is already encoded)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def sign_headers(
    *,
    method: str,
    host: str,
    path: str,
    query: QueryParams | None,
    headers: Mapping[str, str],
    body: bytes | None,
    credentials: Keys,
    sdk_date: str,
) -> dict[str, str]:
    """Every header to send, ``Authorization`` included (values stripped)."""
    all_headers = dict(headers)
    if credentials.security_token:
        all_headers[SECURITY_TOKEN_HEADER] = credentials.security_token
    content_type = header_value(all_headers, "Content-Type")
    if content_type and not content_type.startswith(("application/json", "application/bson")):
        all_headers[CONTENT_SHA256_HEADER] = "UNSIGNED-PAYLOAD"
    existing_date = header_value(all_headers, DATE_HEADER)
    date_text = (existing_date if existing_date is not None else sdk_date).strip()
    if existing_date is None:
        all_headers[DATE_HEADER] = sdk_date
    if header_value(all_headers, "Host") is None:
        all_headers["Host"] = host
    canonical, names = canonical_request(method, path, query, all_headers, body)
    sig = signature(credentials.secret_key, string_to_sign(canonical, date_text))
    all_headers["Authorization"] = authorization_header(credentials.access_key, names, sig)
    return {name: str(value).strip() for name, value in all_headers.items()}


def prepare_signed(
    *,
    method: str,
    base_url: str,
    path: str,
    query: QueryParams | None,
    headers: Mapping[str, str],
    body: bytes | None,
    credentials: Keys,
    sdk_date: str,
) -> PreparedRequest:
    """Sign a request to ``base_url`` + ``path`` and assemble the URL to send."""
    base = urlsplit(base_url)
    full_path = (base.path.rstrip("/") + "/" + path.lstrip("/")) if path else base.path or "/"
    encoded_path = quote(full_path, safe="/~%")
    signed = sign_headers(
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
    query_string = canonical_query_string(query)
    if query_string:
        url += "?" + query_string
    return PreparedRequest(method=method.upper(), url=url, headers=signed, body=body or None)
