"""The Airflow connection that points a DCS client at an emulator.

The emulator writes it (``--conn-file``) and the test helpers hand it out; it is the JSON form of
an ``AIRFLOW_CONN_<CONN_ID>`` environment variable, of connection type ``huaweicloud_dcs``.
"""

from __future__ import annotations

#: The Airflow connection id DCS clients use unless told otherwise.
DEFAULT_CONN_ID = "huaweicloud_dcs_default"
#: The Airflow connection type of DCS connections.
CONN_TYPE = "huaweicloud_dcs"


def connection_document(
    *,
    base_url: str,
    access_key: str,
    secret_key: str,
    project_id: str,
    security_token: str | None = None,
) -> dict[str, object]:
    """The Airflow connection (JSON form of ``AIRFLOW_CONN_...``) that talks to the emulator."""
    extra: dict[str, str] = {"project_id": project_id}
    if security_token:
        extra["security_token"] = security_token
    return {
        "conn_type": CONN_TYPE,
        "login": access_key,
        "password": secret_key,
        "host": base_url,
        "extra": extra,
    }
