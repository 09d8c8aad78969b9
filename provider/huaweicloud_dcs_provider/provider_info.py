"""Provider metadata: connection type, form fields, modules and links.

Read by Airflow's providers manager (``airflow providers list``/``hooks``) and by the connection form.
Importing this module imports nothing from Airflow, so provider discovery stays cheap.
"""

from __future__ import annotations

from typing import Any

from huaweicloud_dcs_provider import CONN_TYPE, __version__

HOOK_NAME = "Huawei Cloud DCS"
#: The operator modules (``huaweicloud_dcs_provider.operators.<name>``).
OPERATOR_MODULES = ("migration", "lifecycle", "ip_switch", "whitelist", "batch", "preflight", "verify")

#: Extra fields of the connection form (Airflow 3.2+ declarative form, JSON-schema typed).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "project_id": {
        "label": "Project ID",
        "description": "IAM project ID of the region (My Credentials > API Credentials). Required.",
        "schema": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_-]*$"},
    },
    "region": {
        "label": "Region",
        "description": "Region ID such as ap-southeast-1; builds the default endpoint "
        "https://dcs.<region>.myhuaweicloud.com when Endpoint URL is empty.",
        "schema": {"type": ["string", "null"]},
    },
    "security_token": {
        "label": "Security token",
        "description": "For temporary AK/SK credentials only (sent as X-Security-Token and signed).",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "ca_bundle": {
        "label": "CA bundle",
        "description": "Path (on the workers and the triggerer) of a PEM file or directory of CA "
        "certificates that signed the endpoint's certificate; empty: the system's trust store.",
        "schema": {"type": ["string", "null"]},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {
        "login": "Access Key ID",
        "password": "Secret Access Key",
        "host": "Endpoint URL (optional)",
    },
    "placeholders": {
        "login": "AK of the IAM user or agency",
        "password": "SK",
        "host": "empty for https://dcs.<region>.myhuaweicloud.com, or e.g. http://127.0.0.1:8780",
        "project_id": "0123456789abcdef0123456789abcdef",
        "region": "ap-southeast-1",
        "ca_bundle": "/etc/ssl/certs/private-ca.pem",
    },
}

_ASSET_URIS: dict[str, Any] = {
    "schemes": ["huaweicloud-dcs"],
    "handler": "huaweicloud_dcs_provider.assets.sanitize_uri",
    "factory": "huaweicloud_dcs_provider.assets.create_asset",
}

PROVIDER_INFO: dict[str, Any] = {
    "package-name": "airflow-provider-huaweicloud-dcs",
    "name": "Huawei Cloud DCS",
    "description": "Huawei Cloud DCS (managed Redis) online data migration: create, configure, "
    "watch, stop and delete migration tasks from Airflow DAGs.",
    "versions": [__version__],
    "integrations": [
        {
            "integration-name": HOOK_NAME,
            "external-doc-url": "https://support.huaweicloud.com/intl/en-us/api-dcs/",
            "tags": ["service"],
        }
    ],
    "hooks": [
        {"integration-name": HOOK_NAME, "python-modules": ["huaweicloud_dcs_provider.hooks.dcs"]},
    ],
    "operators": [
        {
            "integration-name": HOOK_NAME,
            "python-modules": [f"huaweicloud_dcs_provider.operators.{name}" for name in OPERATOR_MODULES],
        },
    ],
    "sensors": [
        {"integration-name": HOOK_NAME, "python-modules": ["huaweicloud_dcs_provider.sensors.migration"]},
    ],
    "triggers": [
        {"integration-name": HOOK_NAME, "python-modules": ["huaweicloud_dcs_provider.triggers.migration"]},
    ],
    "extra-links": ["huaweicloud_dcs_provider.links.DcsMigrationTaskLink"],
    # ``huaweicloud-dcs://<instance id>`` assets (Airflow 3) and datasets (Airflow 2).
    "asset-uris": [_ASSET_URIS],
    "dataset-uris": [_ASSET_URIS],
    "connection-types": [
        {
            "connection-type": CONN_TYPE,
            "hook-class-name": "huaweicloud_dcs_provider.hooks.dcs.DcsHook",
            "hook-name": HOOK_NAME,
            "conn-fields": CONN_FIELDS,
            "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
        }
    ],
}


def get_provider_info() -> dict[str, Any]:
    """Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""
    return PROVIDER_INFO
