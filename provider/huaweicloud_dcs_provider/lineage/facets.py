"""The ``dcsMigration`` OpenLineage run facet (needs the ``openlineage`` extra).

Its JSON schema ships next to this module (``DcsMigrationRunFacet.json``); ``_schemaURL`` points
at it in the repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attr
from openlineage.client.generated.base import RunFacet

SCHEMA_URL = (
    "https://raw.githubusercontent.com/airflow-provider-huaweicloud-dcs/airflow-provider-huaweicloud-dcs/"
    "main/provider/huaweicloud_dcs_provider/lineage/DcsMigrationRunFacet.json#/$defs/DcsMigrationRunFacet"
)


@attr.define
class DcsMigrationRunFacet(RunFacet):
    """What a DCS migration (or its verification) did: ids, method, status, key counts."""

    migrationTaskId: str | None = attr.field(default=None)
    migrationMethod: str | None = attr.field(default=None)
    status: str | None = attr.field(default=None)
    sourceKeys: int | None = attr.field(default=None)
    targetKeys: int | None = attr.field(default=None)
    verification: dict[str, Any] | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


def migration_facet(facts: Mapping[str, Any]) -> DcsMigrationRunFacet:
    """The facet from plain facts (``migration_task_id``, ``migration_method``, ``status``, ...)."""

    def number(key: str) -> int | None:
        value = facts.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return DcsMigrationRunFacet(
        migrationTaskId=facts.get("migration_task_id") or None,
        migrationMethod=facts.get("migration_method") or None,
        status=facts.get("status") or None,
        sourceKeys=number("source_keys"),
        targetKeys=number("target_keys"),
        verification=dict(facts["verification"]) if facts.get("verification") else None,
    )
