"""Source and target Redis in DAG code: an instance's shape, and its password kept out of sight.

An instance is ``{"id": "<DCS instance id>"}`` or ``{"addrs": "host:port[,...]"}``, plus
``"password"`` (a literal or a ``{{ conn.x.password }}`` template) or ``"password_conn_id"`` (an
Airflow connection whose password is the Redis password; ``""`` for a Redis without one).
:func:`split_instance` keeps the password out of the templated part at parse time, so Airflow
never stores or shows it rendered; :func:`resolve_instance` puts it back in when the task runs,
registered with the secrets masker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.compat import (
    AirflowNotFoundException,
    BaseHook,
    mask_secret,
    quiet_secret_channel,
)
from huaweicloud_dcs_provider.exceptions import DcsValidationError

#: Keys an instance (``source_instance``/``target_instance``) may have in DAG code.
INSTANCE_KEYS = ("id", "addrs", "password", "password_conn_id")


def check_instance_keys(parameter: str, value: Mapping[str, Any]) -> None:
    """The keys and value types of an instance; its endpoint too when it is not templated."""
    unknown = sorted(
        v.shown(key) if not isinstance(key, str) else key for key in value if key not in INSTANCE_KEYS
    )
    if unknown:
        raise DcsValidationError(parameter, f"unknown key(s) {unknown}", ", ".join(INSTANCE_KEYS))
    if value.get("password") not in (None, "") and value.get("password_conn_id"):
        raise DcsValidationError(parameter, "give either 'password' or 'password_conn_id', not both")
    conn_id = value.get("password_conn_id")
    if conn_id is not None and not isinstance(conn_id, str):
        raise DcsValidationError(
            f"{parameter}.password_conn_id",
            f"must be a string, got {type(conn_id).__name__}",
            "an Airflow connection id, or '' for a Redis without a password",
        )
    password = value.get("password")
    if password is not None and not isinstance(password, str):
        raise DcsValidationError(f"{parameter}.password", f"must be a string, got {type(password).__name__}")
    endpoint = {key: value[key] for key in ("id", "addrs") if key in value}
    if v.is_literal(endpoint):
        v.instance(parameter, endpoint)


def split_instance(parameter: str, value: Any) -> tuple[Any, Any]:
    """Split an instance into its templated, non-secret part and its password (kept apart).

    The password (a literal or a ``{{ conn.x.password }}`` template) never goes into a template
    field, so Airflow never stores or shows its rendered value. Values that are not a mapping yet
    (an ``XComArg`` or a template string) are checked after rendering.
    """
    if not isinstance(value, Mapping):
        return value, None
    check_instance_keys(parameter, value)
    public = {key: item for key, item in value.items() if key != "password"}
    return public, value.get("password")


def resolve_instance(
    parameter: str, rendered: Any, password_template: Any, render: Callable[[Any], Any]
) -> dict[str, Any]:
    """The instance to send, password included (resolved now, and masked).

    :param rendered: the rendered, non-secret part (from :func:`split_instance`).
    :param password_template: the password kept apart (a literal or a template), or ``None``.
    :param render: renders ``password_template`` with the task's context.
    """
    if not isinstance(rendered, Mapping):
        raise DcsValidationError(
            parameter,
            f"must be a mapping, got {type(rendered).__name__}",
            "{'id': ...} or {'addrs': 'host:port'}, with 'password' or 'password_conn_id'",
        )
    instance = dict(rendered)
    conn_id = instance.get("password_conn_id")
    if isinstance(conn_id, str) and not conn_id.strip():
        # '' (a literal, or a template that rendered empty, e.g. a param left ''): no password.
        del instance["password_conn_id"]
    check_instance_keys(parameter, instance)
    password = instance.pop("password", None)
    if password_template is not None:
        password = render(password_template)
    conn_id = instance.pop("password_conn_id", None)
    if conn_id:
        if password not in (None, ""):
            raise DcsValidationError(parameter, "give either 'password' or 'password_conn_id', not both")
        password = _connection_password(f"{parameter}.password_conn_id", str(conn_id))
        if not password:
            raise DcsValidationError(
                f"{parameter}.password_conn_id", f"connection {conn_id!r} has no password"
            )
    if password is not None and not isinstance(password, str):
        raise DcsValidationError(f"{parameter}.password", "must be a string")
    if password:
        mask_secret(password)
        instance["password"] = password
    return instance


def _connection_password(parameter: str, conn_id: str) -> str | None:
    """The password of Airflow connection ``conn_id``; a missing one is named with ``parameter``."""
    quiet_secret_channel()  # before Airflow registers the connection's secrets
    try:
        return BaseHook.get_connection(conn_id).password
    except AirflowNotFoundException:
        raise DcsValidationError(
            parameter,
            f"Airflow connection {conn_id!r} is not defined: add it, its password the Redis "
            "password (airflow connections add, or AIRFLOW_CONN_<ID>), or give '' for a Redis "
            "without a password",
        ) from None
