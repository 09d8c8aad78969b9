"""What the sync and the async DCS hook share: identity, settings, secrets, and words for failures.

* :class:`DcsHookBase` is the mixin both hooks start from: the connection type, the connection id,
  the retry policy, the settings read from the Airflow connection, and the secrets a hook has sent
  (every answer and error is scrubbed of them);
* :func:`settings_from` reads a connection (sync or async lookup alike) into
  :class:`~huaweicloud_dcs_provider.connection.DcsConnectionSettings` and registers the credentials
  with Airflow's secrets masker;
* :func:`describe_failure` says in words what ``test_connection`` ran into.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from huaweicloud_dcs_provider import CONN_TYPE, DEFAULT_CONN_ID
from huaweicloud_dcs_provider.api.redaction import secrets_in
from huaweicloud_dcs_provider.api.retry import DEFAULT_RETRY_POLICY, RetryPolicy
from huaweicloud_dcs_provider.api.transport import Call
from huaweicloud_dcs_provider.compat import mask_secret
from huaweicloud_dcs_provider.connection import DcsConnectionSettings, password_of
from huaweicloud_dcs_provider.exceptions import (
    DcsApiError,
    DcsAuthError,
    DcsClockSkewError,
    DcsConnectionError,
    DcsTlsError,
)
from huaweicloud_dcs_provider.provider_info import HOOK_NAME


def mask(*values: str | None) -> None:
    """Register secrets with Airflow's masker so no log line can show them."""
    for value in values:
        if value:
            mask_secret(value)


def settings_from(conn_id: str, conn: Any, extra: Mapping[str, Any]) -> DcsConnectionSettings:
    """The settings of an Airflow connection (its credentials registered with the masker)."""
    settings = DcsConnectionSettings.from_connection(
        conn_id=conn_id,
        host=conn.host,
        port=conn.port,
        schema=conn.schema,
        login=conn.login,
        password=conn.password,
        extra=extra,
    )
    mask(settings.credentials.secret_key, settings.credentials.security_token, password_of(settings.proxy))
    return settings


def may_echo(secrets: list[str], body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether an answer can hold one of ``secrets`` (else scrubbing it changes nothing).

    Without a backslash, every string of a JSON document is a verbatim (UTF-8) slice of the body:
    a secret absent from the bytes is absent from the parsed document, keys included.
    """
    if not secrets:
        return False
    if b"\\" in body:
        return True
    for secret in secrets:
        if secret.encode("utf-8") in body:
            return True
    for value in headers.values():
        for secret in secrets:
            if secret in value:
                return True
    return False


class DcsHookBase:
    """Identity and secret bookkeeping of both DCS hooks (a mixin before the HTTP provider's hook)."""

    conn_name_attr = "dcs_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME

    dcs_conn_id: str
    retry_policy: RetryPolicy
    _settings: DcsConnectionSettings | None
    _sent_secrets: set[str]

    def _init_dcs(self, dcs_conn_id: str, retry_policy: RetryPolicy | None) -> None:
        self.dcs_conn_id = dcs_conn_id
        self.retry_policy = retry_policy or DEFAULT_RETRY_POLICY
        self._settings = None
        self._sent_secrets = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dcs_conn_id={self.dcs_conn_id!r})"

    def _learn_secrets(self, call: Call[Any]) -> None:
        """Remember (and mask) the passwords a call carries, before anything about it is sent or read.

        Every later answer and error of this hook is scrubbed of them: a read answer or an error
        text that echoes a password sent earlier (or about to be sent) never shows it.
        """
        found = secrets_in(call.body)
        mask(*found)
        self._sent_secrets.update(found)

    def _scrub_list(
        self, settings: DcsConnectionSettings, status: int, body: bytes, headers: Any
    ) -> list[str]:
        """The secrets an answer might echo (the secret key, the token, every password sent).

        Empty for a success answer that cannot hold any: the deep copy of every answer that
        scrubbing costs is then skipped (each poll's cost).
        """
        known = [
            settings.credentials.secret_key,
            settings.credentials.security_token,
            *sorted(self._sent_secrets),
        ]
        secrets = [secret for secret in known if secret]
        if 200 <= status < 300 and not may_echo(secrets, body, headers):
            return []
        return secrets


def describe_failure(exc: BaseException, settings_endpoint: str | None) -> str:
    """Words for ``test_connection``: what is wrong and what to check."""
    if isinstance(exc, DcsClockSkewError):
        return f"Authentication failed because of this machine's clock ({exc})"
    if isinstance(exc, DcsAuthError):
        if exc.status_code == 403:
            return f"Access denied ({exc}). The credentials are valid but lack DCS migration permissions."
        hint = "the Access Key ID or Secret Access Key is wrong, the security token has expired, "
        hint += "or this machine's clock is more than 15 minutes off"
        if exc.error_code and exc.error_code.startswith("DCS.100"):
            hint = "the project_id does not belong to these credentials (check the connection's project_id)"
        return f"Authentication failed ({exc}): {hint}."
    if isinstance(exc, DcsTlsError):
        return f"TLS with the DCS endpoint {settings_endpoint} failed: {exc}."
    if isinstance(exc, DcsConnectionError):
        return f"Cannot reach the DCS endpoint {settings_endpoint}: {exc}. Check the host and the network."
    if isinstance(exc, DcsApiError):
        if exc.status_code == 404:
            return f"Endpoint answered 404 ({exc}): check the host URL and the project_id."
        return f"DCS API error: {exc}"
    return f"{type(exc).__name__}: {exc}"
