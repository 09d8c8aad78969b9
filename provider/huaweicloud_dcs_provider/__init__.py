"""Apache Airflow provider for Huawei Cloud DCS (managed Redis) online data migration."""

from __future__ import annotations

__version__ = "0.1.0"

CONN_TYPE = "huaweicloud_dcs"
DEFAULT_CONN_ID = "huaweicloud_dcs_default"
