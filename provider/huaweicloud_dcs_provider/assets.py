"""Airflow assets (datasets on Airflow 2) for DCS instances: ``huaweicloud-dcs://<instance id>``.

A migration that succeeds can tell Airflow "new data landed in this DCS instance", so that other
DAGs run on it instead of on a clock::

    from huaweicloud_dcs_provider.assets import dcs_instance_asset

    TARGET = dcs_instance_asset("6f1e2d3c-...")  # the target instance's id

    # Producer: the event is emitted when the task succeeds (the migration finished).
    DcsMigrationTaskSensor(..., outlets=[TARGET])

    # Consumer, in another DAG file:
    with DAG("rebuild_cache_index", schedule=[TARGET], ...): ...

Every task of this provider that waits for a migration (the configure operator when it waits, both
sensors) attaches what it knows of the migration to the events of its outlets
(:func:`event_extra`): the migration task id, its final status and the key counts. Never a
password or an address.

The scheme is registered with Airflow (``asset-uris`` / ``dataset-uris`` in the provider info):
:func:`sanitize_uri` refuses a URI that does not name exactly one instance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider.api.validation import is_literal, safe_id
from huaweicloud_dcs_provider.exceptions import DcsValidationError

if TYPE_CHECKING:
    from urllib.parse import SplitResult

#: URI scheme of a DCS instance asset.
SCHEME = "huaweicloud-dcs"


def instance_uri(instance_id: str) -> str:
    """The asset URI of a DCS instance: ``huaweicloud-dcs://<instance id>``."""
    return f"{SCHEME}://{safe_id('instance_id', instance_id)}"


def dcs_instance_asset(instance_id: str, *, extra: Mapping[str, Any] | None = None) -> Any:
    """The Airflow asset (a ``Dataset`` on Airflow 2) standing for DCS instance ``instance_id``.

    Use the same call in the producing task's ``outlets`` and in the consuming DAG's ``schedule``:
    Airflow matches assets by name and URI, and this gives both the same.

    :param instance_id: ID of the DCS instance (the target of the migration), as shown in the
        console. Checked now: letters, digits, ``-``, ``_``, ``.``.
    :param extra: static metadata of the asset itself (not of its events).
    """
    uri = instance_uri(instance_id)
    return _asset(uri, dict(extra or {}))


def create_asset(*, instance_id: str, extra: Mapping[str, Any] | None = None) -> Any:
    """Airflow's factory hook for the ``huaweicloud-dcs`` scheme (same as :func:`dcs_instance_asset`)."""
    return dcs_instance_asset(instance_id, extra=extra)


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow's URI check for the scheme: exactly one instance id, nothing else.

    Raises ``ValueError`` (what Airflow expects) for a missing or malformed id, a path, a query
    or user info.
    """
    if uri.username or uri.password or uri.port is not None:
        raise ValueError(f"{SCHEME}:// URIs take no user, password or port: {SCHEME}://<instance id>")
    if uri.path not in ("", "/") or uri.query:
        raise ValueError(f"{SCHEME}:// URIs name one instance and nothing more: {SCHEME}://<instance id>")
    try:
        safe_id("instance_id", uri.netloc)
    except DcsValidationError as exc:
        raise ValueError(f"{SCHEME}:// URI without a valid DCS instance id: {exc}") from None
    return uri


def instance_id_of(asset: Any) -> str | None:
    """The instance id of a ``huaweicloud-dcs://`` asset; ``None`` for anything else."""
    uri = getattr(asset, "uri", None)
    if not isinstance(uri, str) or not uri.startswith(f"{SCHEME}://"):
        return None
    return uri[len(SCHEME) + 3 :].rstrip("/") or None


def event_extra(result: Mapping[str, Any], **more: Any) -> dict[str, Any]:
    """What an asset event says of the migration: task id, status, key counts. No secrets.

    :param result: what the task returns (``id``, ``status``, ``stats``).
    :param more: further JSON-able facts (e.g. ``migration_method``); ``None`` values are left out.
    """
    stats = result.get("stats") or {}
    extra: dict[str, Any] = {
        "migration_task_id": result.get("id"),
        "status": result.get("status"),
        "source_keys": stats.get("source_dbsize") if isinstance(stats, Mapping) else None,
        "target_keys": stats.get("target_dbsize") if isinstance(stats, Mapping) else None,
        **more,
    }
    return {key: value for key, value in extra.items() if value is not None}


def attach_event_extra(context: Mapping[str, Any], outlets: Iterable[Any], extra: Mapping[str, Any]) -> int:
    """Put ``extra`` on the events Airflow emits for the task's asset outlets when it succeeds.

    Outlets without a URI (asset aliases) are left alone. Returns the number of outlets given
    the extra.
    """
    outlet_events = context.get("outlet_events")
    if outlet_events is None:
        return 0
    count = 0
    for outlet in outlets or ():
        if not isinstance(getattr(outlet, "uri", None), str):
            continue
        outlet_events[outlet].extra.update(extra)
        count += 1
    return count


def check_outlets(
    outlets: Iterable[Any], *, waits: bool, target_instance: Any = None, task_id: str = "?"
) -> None:
    """At DAG parse time: DCS instance outlets only on a task that waits, for its own target.

    :param waits: the task succeeds only once the migration did (else the event would say
        "migrated" when the migration had merely started).
    :param target_instance: the task's target, when known before rendering (``{"id": ...}``).
    """
    instance_ids = [instance_id for outlet in outlets or () if (instance_id := instance_id_of(outlet))]
    if not instance_ids:
        return
    if not waits:
        raise DcsValidationError(
            "outlets",
            f"task {task_id!r} has a DCS instance asset in outlets but does not wait for the migration "
            "(wait_for_completion=False), so its asset event would fire before the data is there",
            "wait_for_completion=True, or put the asset on the sensor that waits",
        )
    target_id = target_instance.get("id") if isinstance(target_instance, Mapping) else None
    if isinstance(target_id, str) and is_literal(target_id):
        others = sorted(set(instance_ids) - {target_id})
        if others:
            raise DcsValidationError(
                "outlets",
                f"task {task_id!r} migrates into DCS instance {target_id} but its outlets name "
                f"{', '.join(others)}",
                f"dcs_instance_asset({target_id!r})",
            )


def _asset(uri: str, extra: dict[str, Any]) -> Any:
    from airflow.providers.common.compat.sdk import Asset

    try:
        return Asset(name=uri, uri=uri, extra=extra)
    except TypeError:  # Airflow 2's Dataset has no name
        return Asset(uri=uri, extra=extra)
