"""Reading a ``huaweicloud_dcs`` Airflow connection into the settings the hooks need.

Connection fields: login = Access Key ID, password = Secret Access Key, host = optional endpoint
URL with scheme (empty: ``https://dcs.{region}.myhuaweicloud.com``). Extra: ``project_id``
(required), ``region``, ``security_token`` (temporary credentials), and the optional transport
settings ``verify`` (bool or CA bundle path), ``timeout`` (seconds) and ``proxy`` (URL).
Unlike the plain HTTP hook, no extra is ever sent as an HTTP header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from huaweicloud_dcs_provider.exceptions import DcsValidationError
from huaweicloud_dcs_provider.signing import Credentials

DEFAULT_ENDPOINT_TEMPLATE = "https://dcs.{region}.myhuaweicloud.com"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
KNOWN_EXTRAS = frozenset({"project_id", "region", "security_token", "verify", "timeout", "proxy"})
_REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_PROJECT_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


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

    @property
    def host(self) -> str:
        """``host[:port]`` of the endpoint, as signed in the ``Host`` header."""
        return urlsplit(self.endpoint).netloc

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
        if not isinstance(project_id, str) or not _PROJECT_RE.match(project_id):
            raise DcsValidationError(
                f"{where} extra 'project_id'",
                "is missing or malformed",
                "the IAM project ID of the region: letters, digits, '-', '_'",
            )
        region = extra.get("region") or None
        if region is not None and (not isinstance(region, str) or not _REGION_RE.match(region)):
            raise DcsValidationError(
                f"{where} extra 'region'", f"{region!r} is malformed", "e.g. 'ap-southeast-1'"
            )
        endpoint = _endpoint(where, host, port, schema, region)
        token = extra.get("security_token") or None
        verify = extra.get("verify", True)
        if isinstance(verify, str) and verify.lower() in ("true", "false"):
            verify = verify.lower() == "true"
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
        return cls(
            endpoint=endpoint,
            project_id=project_id,
            credentials=Credentials(login, password, str(token) if token else None),
            region=region,
            verify=verify if isinstance(verify, bool | str) else True,
            read_timeout=read_timeout,
            proxy=str(extra["proxy"]) if extra.get("proxy") else None,
            ignored_extras=tuple(sorted(set(extra) - KNOWN_EXTRAS)),
        )


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
