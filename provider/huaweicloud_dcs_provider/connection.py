"""Reading a ``huaweicloud_dcs`` Airflow connection into the settings the hooks need.

Connection fields: login = Access Key ID, password = Secret Access Key, host = optional endpoint
URL with scheme (empty: ``https://dcs.{region}.myhuaweicloud.com``). Extra: ``project_id``
(required), ``region``, ``security_token`` (temporary credentials), and the optional transport
settings ``verify`` (bool or CA bundle path), ``ca_bundle`` (CA bundle path), ``timeout`` (seconds)
and ``proxy`` (URL). Unlike the plain HTTP hook, no extra is ever sent as an HTTP header.

TLS: certificates are verified by default (system CAs). ``ca_bundle`` (or ``verify`` set to a path)
trusts a private CA instead; a path that does not exist is rejected before any request. Turning
verification off (``verify: false``) is explicit and logged as a warning each time a hook reads the
connection, and so is a plain ``http://`` endpoint that is not on the loopback interface (the
signed requests and the Redis passwords in their bodies would cross the network unencrypted).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from huaweicloud_dcs_provider.api.signing import Credentials
from huaweicloud_dcs_provider.exceptions import DcsValidationError

DEFAULT_ENDPOINT_TEMPLATE = "https://dcs.{region}.myhuaweicloud.com"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
#: Longest read timeout accepted (seconds): a DCS call that has not answered in an hour never will.
MAX_READ_TIMEOUT = 3600.0
KNOWN_EXTRAS = frozenset(
    {"project_id", "region", "security_token", "verify", "ca_bundle", "timeout", "proxy"}
)
_REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_PROJECT_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
#: A DNS host name (letters, digits, ``-``, dots) or an IPv4 address.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")

log = logging.getLogger(__name__)


def is_loopback_host(hostname: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``)."""
    if not hostname:
        return False
    name = hostname.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


_VERIFY_FAILED_RE = re.compile(r"certificate verify failed: ([^()'\"\\]+)")


def tls_failure_detail(text: str) -> str:
    """The reason in an SSL error's text, e.g. ``self-signed certificate in certificate chain``."""
    match = _VERIFY_FAILED_RE.search(text)
    return f"certificate verify failed: {match.group(1).strip()}" if match else "certificate verify failed"


def tls_failure_message(operation: str, endpoint: str, detail: str) -> str:
    """The words of a :class:`DcsConnectionError` for a certificate the client did not trust."""
    return (
        f"DCS {operation}: TLS certificate verification failed for {endpoint} ({detail}). "
        "If the endpoint uses a private CA, set the connection extra 'ca_bundle' to its PEM file"
    )


#: What OpenSSL says when the other side answered the TLS handshake in plain text (an HTTP
#: server's ``HTTP/1.1 400``): ``wrong version number`` (1.1, 3.0, 3.1), ``record layer failure``
#: (3.2 and later).
_PLAIN_TEXT_ANSWERS = ("wrong version number", "record layer failure")


def plain_text_answer(text: str) -> str | None:
    """The words of an SSL error saying the endpoint answered TLS in plain text, else ``None``."""
    lowered = text.lower()
    return next((words for words in _PLAIN_TEXT_ANSWERS if words in lowered), None)


def plain_http_message(operation: str, endpoint: str, detail: str) -> str:
    """The words of a :class:`DcsTlsError` for an endpoint that answered plain HTTP to TLS."""
    plain = "http://" + endpoint.split("://", 1)[-1]
    return (
        f"DCS {operation}: the endpoint answered plain HTTP to a TLS handshake ({endpoint}; SSL: "
        f"{detail}): if it serves plain HTTP, as the local emulator does, write {plain} in the "
        "connection's host (a host without a scheme means https://); otherwise check the host, "
        "the port and the proxy"
    )


@dataclass(frozen=True)
class DcsConnectionSettings:
    """Everything needed to call the API; ``repr`` never shows a secret."""

    endpoint: str
    project_id: str
    credentials: Credentials = field(repr=False)
    region: str | None = None
    verify: bool | str = True
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    proxy: str | None = field(default=None, repr=False)
    ignored_extras: tuple[str, ...] = ()
    conn_id: str | None = None

    def __repr__(self) -> str:
        shown = f", proxy={without_password(self.proxy)!r}" if self.proxy else ""
        return (
            f"DcsConnectionSettings(endpoint={self.endpoint!r}, project_id={self.project_id!r}, "
            f"region={self.region!r}, verify={self.verify!r}{shown}, conn_id={self.conn_id!r})"
        )

    @property
    def host(self) -> str:
        """``host[:port]`` of the endpoint, as signed in the ``Host`` header."""
        return urlsplit(self.endpoint).netloc

    def transport_warnings(self) -> list[str]:
        """Why this connection's transport is less safe than the default (empty when it is not).

        The messages name the connection and the endpoint, never a credential.
        """
        name = self.conn_id or "(unnamed)"
        warnings: list[str] = []
        parts = urlsplit(self.endpoint)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            warnings.append(
                f"Connection {name} uses plain http:// to {parts.netloc}, which is not a loopback "
                "host: AK/SK-signed requests and Redis passwords go unencrypted over the network. "
                "Use https://."
            )
        elif parts.scheme == "https" and self.verify is False:
            warnings.append(
                f"TLS certificate verification is OFF for connection {name}: anyone on the path to "
                f"{parts.netloc} can impersonate the endpoint and read the signed requests and the Redis "
                "passwords they carry. Set the extra 'ca_bundle' to the CA's PEM file instead of "
                "'verify': false."
            )
        return warnings

    @cached_property
    def ssl_context(self) -> bool | ssl.SSLContext:
        """What ``aiohttp`` takes as ``ssl=``: ``True`` (system CAs), ``False`` or a context.

        A context trusting the CA bundle is built (reading the file) once per settings object;
        an async caller reads this property in a worker thread, outside the event loop.
        """
        if isinstance(self.verify, bool):
            return self.verify
        try:
            if os.path.isdir(self.verify):
                return ssl.create_default_context(capath=self.verify)
            return ssl.create_default_context(cafile=self.verify)
        except (ssl.SSLError, OSError, ValueError) as exc:
            # Fail now, naming the setting: else every connection attempt fails the same way and
            # the retries end, much later, in "connection lost".
            raise DcsValidationError(
                f"connection {self.conn_id or '(unnamed)'!r} extra 'ca_bundle'",
                f"{self.verify!r} is not a CA bundle ({type(exc).__name__}: {exc})",
                "a PEM file (or directory) of CA certificates",
            ) from None

    @classmethod
    def from_connection(
        cls,
        *,
        conn_id: str,
        host: str | None,
        port: int | None,
        schema: str | None,
        login: str | None,
        password: str | None,
        extra: Mapping[str, Any],
    ) -> DcsConnectionSettings:
        """Validate a connection's fields; errors name the field and what is expected."""
        where = f"connection {conn_id!r}"
        if not login:
            raise DcsValidationError(f"{where} login", "is empty", "the Access Key ID (AK)")
        if not password:
            raise DcsValidationError(f"{where} password", "is empty", "the Secret Access Key (SK)")
        project_id = extra.get("project_id")
        if not isinstance(project_id, str) or not _PROJECT_RE.fullmatch(project_id):
            raise DcsValidationError(
                f"{where} extra 'project_id'",
                "is missing or malformed",
                "the IAM project ID of the region: letters, digits, '-', '_'",
            )
        region = extra.get("region") or None
        if region is not None and (not isinstance(region, str) or not _REGION_RE.fullmatch(region)):
            raise DcsValidationError(
                f"{where} extra 'region'", f"{region!r} is malformed", "e.g. 'ap-southeast-1'"
            )
        endpoint = _endpoint(where, host, port, schema, region)
        token = extra.get("security_token") or None
        verify = _verify(where, extra)
        read_timeout = _timeout(where, extra.get("timeout"))
        proxy = _proxy(where, extra.get("proxy"))
        settings = cls(
            endpoint=endpoint,
            project_id=project_id,
            credentials=Credentials(login, password, str(token) if token else None),
            region=region,
            verify=verify,
            read_timeout=read_timeout,
            proxy=proxy,
            ignored_extras=tuple(sorted(set(extra) - KNOWN_EXTRAS)),
            conn_id=conn_id,
        )
        for message in settings.transport_warnings():
            log.warning("%s", message)
        return settings


def _verify(where: str, extra: Mapping[str, Any]) -> bool | str:
    """``verify``/``ca_bundle`` extras: ``True``, ``False`` or the path of an existing CA bundle."""
    verify = extra.get("verify", True)
    if isinstance(verify, str) and verify.strip().lower() in ("true", "false"):
        verify = verify.strip().lower() == "true"
    if verify is None or verify == "":
        verify = True
    if not isinstance(verify, bool | str):
        raise DcsValidationError(
            f"{where} extra 'verify'", f"{verify!r}", "true, false or the path of a CA bundle (PEM)"
        )
    ca_bundle = extra.get("ca_bundle") or None
    if ca_bundle is not None:
        if not isinstance(ca_bundle, str):
            raise DcsValidationError(f"{where} extra 'ca_bundle'", f"{ca_bundle!r}", "a file path")
        if verify is False:
            raise DcsValidationError(
                f"{where} extra 'ca_bundle'",
                "is set while extra 'verify' is false",
                "either a CA bundle (verification on) or 'verify': false, not both",
            )
        if isinstance(verify, str) and verify != ca_bundle:
            raise DcsValidationError(
                f"{where} extra 'ca_bundle'",
                "differs from the CA bundle path given in extra 'verify'",
                "one CA bundle path, preferably in 'ca_bundle'",
            )
        verify = ca_bundle
    if isinstance(verify, str):
        name = "ca_bundle" if ca_bundle is not None else "verify"
        path = os.path.expanduser(verify)
        if not os.path.exists(path):
            raise DcsValidationError(
                f"{where} extra {name!r}",
                f"the CA bundle {verify!r} does not exist",
                "the path of a PEM file (or directory) readable by the worker and the triggerer",
            )
        verify = path
    result: bool | str = verify
    return result


def without_password(url: str | None) -> str | None:
    """``url`` with the password of its user info shown as ``***`` (for messages and ``repr``)."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def password_of(url: str | None) -> str | None:
    """The password in a URL's user info (a proxy's), to register with the secrets masker."""
    if not url:
        return None
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def _timeout(where: str, value: Any) -> float:
    """The ``timeout`` extra: a finite number of seconds in (0, :data:`MAX_READ_TIMEOUT`]."""
    if value is None:
        return DEFAULT_READ_TIMEOUT
    name = f"{where} extra 'timeout'"
    allowed = f"seconds, a number > 0 and <= {MAX_READ_TIMEOUT:g}"
    if isinstance(value, bool) or not isinstance(value, int | float | str) or len(str(value)) > 32:
        raise DcsValidationError(name, f"{str(value)[:40]!r} is not a number of seconds", allowed)
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        raise DcsValidationError(name, f"{str(value)[:40]!r} is not a number of seconds", allowed) from None
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_READ_TIMEOUT:
        raise DcsValidationError(name, f"{str(value)[:40]!r} is out of range", allowed)
    return seconds


def _proxy(where: str, value: Any) -> str | None:
    """The ``proxy`` extra: an ``http(s)://`` URL, checked like the endpoint (``None`` for none)."""
    if value is None or value == "":
        return None
    name = f"{where} extra 'proxy'"
    if not isinstance(value, str):
        raise DcsValidationError(name, f"must be a URL, got {type(value).__name__}", "http(s)://host:port")
    _check_url_text(name, value, "http(s)://[user:password@]host:port")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise DcsValidationError(
            name, f"{without_password(value)!r} has an invalid port", "1..65535"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise DcsValidationError(
            name, f"{without_password(value)!r} is not a proxy URL", "http(s)://host:port"
        )
    return value


def _check_url_text(name: str, url: str, allowed: str) -> None:
    """Characters no URL may hold here: white space, control characters, a backslash."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise DcsValidationError(name, "contains spaces or control characters", allowed)
    if "\\" in url:
        raise DcsValidationError(
            name,
            "contains a backslash, which URL parsers read in different ways (one may connect "
            "elsewhere than another checked)",
            allowed,
        )


def _endpoint(where: str, host: str | None, port: int | None, schema: str | None, region: str | None) -> str:
    """The endpoint URL, parsed once and refused whenever it could be read two ways.

    The URL is parsed both as the standard library reads it and as ``urllib3`` (what ``requests``
    connects with) does; user info, a backslash, white space or control characters, a port out of
    range, dot segments, a query or a fragment are refused before anything is sent, with the
    password of any user info never quoted.
    """
    name = f"{where} host"
    allowed = "http(s)://host[:port][/path]"
    text = (host or "").strip(" ")  # a stray space around a pasted URL; never a tab or newline
    if not text:
        if not region:
            raise DcsValidationError(
                name,
                "is empty and extra 'region' is not set",
                "an endpoint URL such as https://dcs.ap-southeast-1.myhuaweicloud.com, or a region",
            )
        return DEFAULT_ENDPOINT_TEMPLATE.format(region=region)
    _check_url_text(name, text, allowed)
    url = text if "://" in text else f"{schema or 'https'}://{text}"
    shown = without_password(url) if "@" in url else url
    try:
        parts = urlsplit(url)
    except ValueError:
        raise DcsValidationError(name, f"{shown!r} is not an endpoint URL", allowed) from None
    try:
        parsed_port = parts.port
    except ValueError:
        if "@" in parts.netloc:
            raise DcsValidationError(name, "holds user info (user:password@)", allowed) from None
        raise DcsValidationError(name, f"{shown!r}: the port is not a number 1..65535", allowed) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise DcsValidationError(name, f"{shown!r} is not an endpoint URL (not http(s))", allowed)
    if "@" in parts.netloc:
        raise DcsValidationError(
            name,
            "holds user info (user:password@): put the Access Key ID in login and the Secret Access "
            "Key in password instead",
            allowed,
        )
    if not parts.hostname:
        raise DcsValidationError(name, f"{shown!r} has no host", allowed)
    hostname = parts.hostname
    if hostname.startswith("[") or ":" in hostname:
        try:
            ipaddress.IPv6Address(hostname.strip("[]"))
        except ValueError:
            raise DcsValidationError(name, f"{shown!r} is not an endpoint URL", allowed) from None
    elif not _HOSTNAME_RE.fullmatch(hostname):
        raise DcsValidationError(name, f"{hostname!r} is not a valid host name", allowed)
    if (parsed_port is not None and not 0 < parsed_port < 65536) or parts.netloc.endswith(":0"):
        raise DcsValidationError(name, f"{shown!r}: the port is not a number 1..65535", allowed)
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise DcsValidationError(name, f"{shown!r} has a query or fragment", allowed)
    segments = unquote(parts.path).split("/")
    if any(segment in (".", "..") for segment in segments):
        raise DcsValidationError(name, f"{shown!r} has a dot segment ('.' or '..') in its path", allowed)
    _same_for_urllib3(name, url, hostname, parsed_port, allowed)
    netloc = parts.netloc.lower()
    if port and parsed_port is None:
        if not 0 < port < 65536:
            raise DcsValidationError(f"{where} port", f"{port!r} is not a number 1..65535")
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower()}://{netloc}{path}"


def _same_for_urllib3(name: str, url: str, hostname: str, port: int | None, allowed: str) -> None:
    """Refuse a URL that ``urllib3`` (the client that connects) reads with another host or port."""
    try:
        from urllib3.util import parse_url
    except ImportError:  # pragma: no cover - requests always brings urllib3
        return
    try:
        theirs = parse_url(url)
    except ValueError:
        raise DcsValidationError(name, f"{url!r} is not an endpoint URL", allowed) from None
    their_host = (theirs.host or "").strip("[]").lower()
    if theirs.auth or their_host != hostname.strip("[]").lower() or (theirs.port or None) != port:
        raise DcsValidationError(
            name,
            f"{url!r} is read differently by the HTTP client ({their_host}:{theirs.port}) than here "
            f"({hostname}:{port})",
            allowed,
        )
