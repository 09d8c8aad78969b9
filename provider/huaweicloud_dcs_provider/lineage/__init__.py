"""Lineage of a migration: OpenLineage datasets and facets, and Airflow's hook lineage.

A migration moves a whole Redis dataset from one place to another. OpenLineage's naming spec has
no Redis entry yet, so we follow its house pattern (``scheme://host:port`` as the namespace, a
path as the name, like Cassandra's ``keyspace.table``):

* a self-hosted Redis: namespace ``redis://{host}:{port}`` (the first node given), name
  ``db{n}``;
* a DCS instance: namespace ``huaweicloud-dcs://{instance id}`` (the URI the provider's assets
  use), name ``db{n}``.

The names come from what a task knows: the verify operator names every database it compared,
the configure operator (which never connects to Redis) names ``db0``. No password, user or
query ever goes into a namespace, a name or a facet.

Everything here is imported when a task runs, never when a DAG is parsed; the OpenLineage
pieces need the ``openlineage`` extra (``apache-airflow-providers-openlineage``), and without it
the operators' lineage methods are never called.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from huaweicloud_dcs_provider.assets import SCHEME as DCS_SCHEME

REDIS_SCHEME = "redis"


def namespace_of(instance: Any) -> str | None:
    """The namespace of one side (a mapping with ``id``/``addrs``, or an object with them)."""
    if isinstance(instance, Mapping):
        instance_id, addrs = instance.get("id"), instance.get("addrs")
    else:
        instance_id = getattr(instance, "instance_id", None) or getattr(instance, "id", None)
        addrs = getattr(instance, "addrs", None)
    if instance_id:
        return f"{DCS_SCHEME}://{instance_id}"
    if isinstance(addrs, str) and addrs.strip():
        first = addrs.split(",")[0].strip()
        host, _, port = first.rpartition(":")
        if host and port.isdigit():
            return f"{REDIS_SCHEME}://{host}:{port}"
    return None


def datasets_of(instance: Any, databases: Iterable[int] | None = None) -> list[tuple[str, str]]:
    """``[(namespace, name)]`` of one side: one dataset per database (``db0`` when unknown)."""
    namespace = namespace_of(instance)
    if namespace is None:
        return []
    names = [f"db{db}" for db in sorted(set(databases or ()))] or ["db0"]
    return [(namespace, name) for name in names]


def operator_lineage(
    source: Any,
    target: Any,
    facts: Mapping[str, Any],
    *,
    databases: Iterable[int] | None = None,
    target_databases: Iterable[int] | None = None,
    target_key_counts: Mapping[str, int] | None = None,
) -> Any:
    """An ``OperatorLineage``: inputs the source, outputs the target, the ``dcsMigration`` facet.

    :param facts: what the task knows (``migration_task_id``, ``migration_method``, ``status``,
        ``source_keys``, ``target_keys``, ``verification``); ``None`` values are left out.
    :param target_key_counts: ``{"db0": keys, ...}``: each output's ``outputStatistics.rowCount``.
    """
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.generated.base import InputDataset, OutputDataset
    from openlineage.client.generated.output_statistics_output_dataset import (
        OutputStatisticsOutputDatasetFacet,
    )

    from huaweicloud_dcs_provider.lineage.facets import migration_facet

    inputs = [InputDataset(namespace=ns, name=name) for ns, name in datasets_of(source, databases)]
    counts = dict(target_key_counts or {})
    outputs = []
    for ns, name in datasets_of(target, target_databases if target_databases is not None else databases):
        keys = counts.get(name)
        output_facets: dict[str, Any] = {}
        if isinstance(keys, int) and not isinstance(keys, bool) and keys >= 0:
            output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(rowCount=keys)
        outputs.append(OutputDataset(namespace=ns, name=name, outputFacets=output_facets))
    return OperatorLineage(
        inputs=inputs, outputs=outputs, run_facets={"dcsMigration": migration_facet(facts)}
    )


def report_hook_lineage(hook: Any, source: Any, target: Any) -> None:
    """Tell Airflow's hook lineage collector (where the installed Airflow has one) what moved."""
    try:
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
    except ImportError:  # pragma: no cover - an old common-compat
        return
    try:
        collector = get_hook_lineage_collector()  # type: ignore[no-untyped-call]
        for namespace, name in datasets_of(source):
            collector.add_input_asset(context=hook, uri=f"{namespace}/{name}")
        for namespace, name in datasets_of(target):
            collector.add_output_asset(context=hook, uri=f"{namespace}/{name}")
    except Exception as exc:
        hook.log.debug("Hook lineage not recorded: %s", type(exc).__name__)
