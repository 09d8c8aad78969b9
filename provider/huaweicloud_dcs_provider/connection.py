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
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from huaweicloud_dcs_provider.api.signing import Credentials
from huaweicloud_dcs_provider.exceptions import DcsValidationError

DEFAULT_ENDPOINT_TEMPLATE = "https://dcs.{region}.myhuaweicloud.com"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
KNOWN_EXTRAS = frozenset(
    {"project_id", "region", "security_token", "verify", "ca_bundle", "timeout", "proxy"}
)
_REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_PROJECT_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")

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
    proxy: str | None = None
    ignored_extras: tuple[str, ...] = ()
    conn_id: str | None = None

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
        if os.path.isdir(self.verify):
            return ssl.create_default_context(capath=self.verify)
        return ssl.create_default_context(cafile=self.verify)

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
        timeout = extra.get("timeout")
        read_timeout = DEFAULT_READ_TIMEOUT
        if timeout is not None:
            try:
                read_timeout = float(timeout)
            except (TypeError, ValueError):
                raise DcsValidationError(
                    f"{where} extra 'timeout'", f"{timeout!r}", "seconds (number)"
                ) from None
            if read_timeout <= 0:
                raise DcsValidationError(f"{where} extra 'timeout'", f"{timeout!r}", "seconds > 0")
        settings = cls(
            endpoint=endpoint,
            project_id=project_id,
            credentials=Credentials(login, password, str(token) if token else None),
            region=region,
            verify=verify,
            read_timeout=read_timeout,
            proxy=str(extra["proxy"]) if extra.get("proxy") else None,
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


def _endpoint(where: str, host: str | None, port: int | None, schema: str | None, region: str | None) -> str:
    host = (host or "").strip()
    if not host:
        if not region:
            raise DcsValidationError(
                f"{where} host",
                "is empty and extra 'region' is not set",
                "an endpoint URL such as https://dcs.ap-southeast-1.myhuaweicloud.com, or a region",
            )
        return DEFAULT_ENDPOINT_TEMPLATE.format(region=region)
    url = host if "://" in host else f"{schema or 'https'}://{host}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DcsValidationError(f"{where} host", f"{host!r} is not an endpoint URL", "http(s)://host[:port]")
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{netloc}{path}"
