"""Apache Airflow provider for Huawei Cloud DCS (managed Redis) online data migration."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

CONN_TYPE = "huaweicloud_dcs"
DEFAULT_CONN_ID = "huaweicloud_dcs_default"


def get_provider_info() -> dict[str, Any]:
    """Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""
    from huaweicloud_dcs_provider.provider_info import PROVIDER_INFO

    return PROVIDER_INFO
