"""Prove the data arrived: compare the migration's source and target key by key.

:class:`DcsVerifyMigrationOperator` reads both sides with the ``redis`` client (a single Redis
or a Redis Cluster on either side) and fails the task when they differ by more than
``max_mismatches`` keys. See docs/verify.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import assets
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.compat import Context
from huaweicloud_dcs_provider.exceptions import DcsError, DcsValidationError
from huaweicloud_dcs_provider.operators.base import DcsBaseOperator, OpenLineageMethods, check_literal
from huaweicloud_dcs_provider.operators.instances import resolve_instance, split_instance

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.datacheck.sides import Endpoint

#: What each ``mode`` compares.
MODES = {
    "full": "every key both ways: existence, type, TTL, length and value",
    "sample": "sample_size keys from each side, seeded, compared in full",
    "keys": "every key both ways: existence, type and TTL",
    "length": "every key both ways: existence, type, TTL and element count",
}
_PASSWORD_ONLY = ("password", "password_conn_id")
#: Largest number any parameter takes (a bigger one is a typo, not a wish).
MAX_NUMBER = 10**9


def _check_mode(parameter: str, value: Any) -> None:
    if value not in MODES:
        raise DcsValidationError(parameter, f"{v.shown(value)} is not a mode", ", ".join(MODES))


def _number(
    parameter: str, value: Any, *, low: float, integer: bool = False, allow_none: bool = False
) -> Any:
    """``value`` when it is a finite number (an integer if asked) of at least ``low``."""
    if value is None and allow_none:
        return None
    kinds = (int,) if integer else (int, float)
    if (
        isinstance(value, bool)
        or not isinstance(value, kinds)
        or not math.isfinite(value)
        or value < low
        or value > MAX_NUMBER
    ):
        expected = f"{'an integer' if integer else 'a number'} from {low:g} to {MAX_NUMBER:g}"
        raise DcsValidationError(
            parameter, f"{v.shown(value)} is not allowed", expected + (" or None" if allow_none else "")
        )
    return value


class DcsVerifyMigrationOperator(OpenLineageMethods, DcsBaseOperator):
    """Compare the source and the target of a migration and fail when they differ.

    Say what to compare either with ``migration_task_id`` (both endpoints are read from the
    migration task, as the migration sees them; give the passwords through ``source_instance`` /
    ``target_instance`` holding only ``password_conn_id`` or ``password``) or with explicit
    ``source_instance`` and ``target_instance`` in the configure operator's shape
    (``{"addrs": "host:port"}`` or ``{"id": "<DCS instance id>"}``, plus the password). A DCS
    instance id is looked up through the DCS API for its address. The worker must reach both,
    and needs the ``redis`` package (the ``redis`` extra: ``redis`` and ``hiredis``).

    A key that differs is compared again after ``round_interval`` seconds, ``rounds`` times in
    all, and counts only if it differs every time (keys in flight during incremental sync
    settle). The task returns (XCom) ``passed``, ``keys_compared``, ``mismatches``, ``by_kind``
    (``missing_on_target``, ``extra_on_target``, ``type``, ``value``, ``ttl``), up to 20
    ``examples`` (database, key, kind: never a value), ``source_keys`` / ``target_keys`` per
    database and ``duration_s``, and fails when ``mismatches > max_mismatches``.

    :param migration_task_id: the migration whose two sides to compare. Templated.
    :param source_instance: the source, or only its password when ``migration_task_id`` is
        given. Templated (the password is kept out of the templated part).
    :param target_instance: the target, same shape. Templated.
    :param mode: ``full`` (default), ``sample``, ``keys`` or ``length`` (see docs/verify.md).
        Templated.
    :param sample_size: keys sampled from each side in mode ``sample``.
    :param seed: the sample's seed (the same seed picks the same keys of an unchanged data set).
    :param rounds: comparisons of a differing key before it counts as a mismatch (>= 1).
    :param round_interval: seconds between two rounds.
    :param ttl_tolerance_seconds: how far the remaining lives of a key may differ.
    :param max_mismatches: the task passes with at most this many mismatches (default 0).
    :param qps: commands per second the check may send to each side (default: no cap). Use it on
        a source that serves production traffic.
    :param databases: databases to compare (default: every one that has keys on either side).
    :param socket_timeout: seconds for each Redis connection and command.
    :param progress_interval: seconds between progress lines in the log.
    """

    template_fields: Sequence[str] = ("migration_task_id", "source_instance", "target_instance", "mode")
    template_fields_renderers = {"source_instance": "json", "target_instance": "json"}
    ui_color = "#e2f0fd"

    def __init__(
        self,
        *,
        migration_task_id: str | None = None,
        source_instance: Mapping[str, Any] | None = None,
        target_instance: Mapping[str, Any] | None = None,
        mode: str = "full",
        sample_size: int = 10_000,
        seed: int = 0,
        rounds: int = 3,
        round_interval: float = 5.0,
        ttl_tolerance_seconds: float = 5.0,
        max_mismatches: int = 0,
        qps: float | None = None,
        databases: Sequence[int] | None = None,
        socket_timeout: float = 10.0,
        progress_interval: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_literal("mode", mode, _check_mode)
        self.mode = mode
        self.sample_size = _number("sample_size", sample_size, low=1, integer=True)
        self.seed = _number("seed", seed, low=0, integer=True)
        self.rounds = _number("rounds", rounds, low=1, integer=True)
        self.round_interval = _number("round_interval", round_interval, low=0)
        self.ttl_tolerance_seconds = _number("ttl_tolerance_seconds", ttl_tolerance_seconds, low=0)
        self.max_mismatches = _number("max_mismatches", max_mismatches, low=0, integer=True)
        self.qps = _number("qps", qps, low=1, allow_none=True)
        self.socket_timeout = _number("socket_timeout", socket_timeout, low=0.1)
        self.progress_interval = _number("progress_interval", progress_interval, low=1)
        if databases is not None:
            if isinstance(databases, str | bytes) or not isinstance(databases, Sequence):
                raise DcsValidationError("databases", "must be a list of database numbers", "e.g. [0, 1]")
            databases = [_number("databases", db, low=0, integer=True) for db in databases]
        self.databases = databases
        self.migration_task_id = migration_task_id
        for name, value in (("source_instance", source_instance), ("target_instance", target_instance)):
            if migration_task_id is not None and isinstance(value, Mapping):
                _password_only(name, value)  # an XComArg or a template is checked when rendered
        if migration_task_id is None and (source_instance is None or target_instance is None):
            raise DcsValidationError(
                "migration_task_id",
                "say what to compare",
                "migration_task_id, or both source_instance and target_instance",
            )
        if migration_task_id is not None:
            # Only the passwords: the endpoints come from the task when it runs. A literal
            # password stays out of the templated part.
            self.source_instance, self._source_password = _split_password(source_instance)
            self.target_instance, self._target_password = _split_password(target_instance)
        else:
            self.source_instance, self._source_password = split_instance("source_instance", source_instance)
            self.target_instance, self._target_password = split_instance("target_instance", target_instance)

    # ---------------------------------------------------------------- endpoints

    def _passwords(self, context: Context) -> tuple[dict[str, Any], dict[str, Any]]:
        """The rendered instance mappings with their passwords resolved (and masked)."""
        render = lambda template: self.render_template(template, context)  # noqa: E731
        if self.migration_task_id is not None:
            # Only a password here: give resolve_instance a placeholder endpoint to check.
            resolved = []
            for name, public, secret in (
                ("source_instance", self.source_instance, self._source_password),
                ("target_instance", self.target_instance, self._target_password),
            ):
                if not isinstance(public, Mapping):
                    raise DcsValidationError(name, f"must be a mapping, got {type(public).__name__}")
                _password_only(name, public)
                instance = resolve_instance(name, {**public, "id": "placeholder"}, secret, render)
                instance.pop("id", None)
                resolved.append(instance)
            return resolved[0], resolved[1]
        return (
            resolve_instance("source_instance", self.source_instance, self._source_password, render),
            resolve_instance("target_instance", self.target_instance, self._target_password, render),
        )

    def _endpoints(self, context: Context) -> tuple[Endpoint, Endpoint]:
        from huaweicloud_dcs_provider.datacheck.sides import endpoint_from_instance

        source, target = self._passwords(context)
        if self.migration_task_id is not None:
            task_id = v.safe_id("migration_task_id", self.migration_task_id)
            task = self._read_task(task_id)
            self._push_task(context, task_id)
            sides = (("source", task.source_instance, source), ("target", task.target_instance, target))
            for label, side, given in sides:
                if side is None:
                    raise DcsError(
                        f"DCS migration task {task_id} shows no {label} instance: compare explicit "
                        "source_instance and target_instance instead"
                    )
                addrs = side.addrs or (f"{side.ip}:{side.port}" if side.ip and side.port else None)
                given.update({"addrs": addrs} if addrs else {"id": side.id})
                if side.has_password and not given.get("password"):
                    self.log.warning(
                        "The %s of task %s has a password but none was given (%s_instance.password_conn_id)",
                        label,
                        task_id,
                        label,
                    )
        resolve = self.hook.get_instance
        return (
            endpoint_from_instance("source", source, resolve_id=resolve),
            endpoint_from_instance("target", target, resolve_id=resolve),
        )

    # ---------------------------------------------------------------- run

    def execute(self, context: Context) -> dict[str, Any]:
        """Compare both sides; fail when they differ by more than ``max_mismatches`` keys."""
        _check_mode("mode", self.mode)
        import importlib.util

        if importlib.util.find_spec("redis") is None:  # pragma: no cover - depends on the worker
            raise DcsError(
                "the verify operator needs the 'redis' package on the worker: "
                "pip install 'airflow-provider-huaweicloud-dcs[redis]'"
            )
        from huaweicloud_dcs_provider.datacheck.sides import open_side
        from huaweicloud_dcs_provider.datacheck.verify import Verification, VerifySettings

        settings = VerifySettings(
            mode=self.mode,
            sample_size=self.sample_size,
            seed=self.seed,
            rounds=self.rounds,
            round_interval=float(self.round_interval),
            ttl_tolerance_seconds=float(self.ttl_tolerance_seconds),
            max_mismatches=self.max_mismatches,
            qps=self.qps,
            databases=tuple(self.databases) if self.databases is not None else None,
            progress_interval=float(self.progress_interval),
        )
        source_endpoint, target_endpoint = self._endpoints(context)
        self._lineage_sides = (source_endpoint, target_endpoint)
        self.log.info(
            "Verifying %s against %s: %s",
            source_endpoint.describe(),
            target_endpoint.describe(),
            MODES[self.mode],
        )
        with (
            open_side(source_endpoint, socket_timeout=self.socket_timeout) as source,
            open_side(target_endpoint, socket_timeout=self.socket_timeout) as target,
        ):
            report = self._run(Verification(source, target, settings, log=self.log))
            target_cluster = target.cluster
        result: dict[str, Any] = report.to_dict()
        self._lineage_report = (result, target_cluster)
        self.log.info("%s", report.summary())
        for note in report.notes:
            self.log.warning("Note: %s", note)
        if not report.passed:
            raise DcsError(report.summary())
        assets.attach_event_extra(context, self.outlets, {"verify": _event_facts(result)})
        return result

    # ---------------------------------------------------------------- lineage (openlineage extra)

    def _lineage(self) -> Any:
        from huaweicloud_dcs_provider import lineage

        sides = getattr(self, "_lineage_sides", None)
        report: tuple[dict[str, Any], bool] = getattr(self, "_lineage_report", None) or ({}, False)
        result, target_cluster = report
        if sides is None:  # before the endpoints are known: what the DAG says of them
            sides = (self.source_instance, self.target_instance)
        databases = result.get("databases")
        facts: dict[str, Any] = {
            "migration_task_id": self.migration_task_id,
            "source_keys": sum(result["source_keys"].values()) if result.get("source_keys") else None,
            "target_keys": sum(result["target_keys"].values()) if result.get("target_keys") else None,
        }
        if result:
            facts["verification"] = {
                "mode": result["mode"],
                "passed": result["passed"],
                "keysCompared": result["keys_compared"],
                "mismatches": result["mismatches"],
                "byKind": result["by_kind"],
            }
        if not isinstance(facts["migration_task_id"], str) or "{{" in facts["migration_task_id"]:
            facts["migration_task_id"] = None
        return lineage.operator_lineage(
            sides[0],
            sides[1],
            facts,
            databases=databases,
            target_databases=[0] if target_cluster and databases else None,
            target_key_counts=result.get("target_keys"),
        )

    @staticmethod
    def _run(verification: Any) -> Any:
        import redis

        try:
            return verification.run()
        except redis.RedisError as exc:
            from huaweicloud_dcs_provider.datacheck.sides import describe_error

            raise DcsError(f"Verification stopped: {describe_error(exc)}") from None


def _password_only(name: str, value: Mapping[str, Any]) -> None:
    """With ``migration_task_id`` an instance may hold its password only."""
    extra = sorted(str(key) for key in value if key not in _PASSWORD_ONLY)
    if extra:
        raise DcsValidationError(
            name,
            f"with migration_task_id the endpoints come from the task; {extra} not allowed",
            "only 'password' or 'password_conn_id'",
        )


def _split_password(value: Any) -> tuple[Any, Any]:
    """``(the templated part, the password kept apart)`` of a password-only instance."""
    if not isinstance(value, Mapping):
        return ({} if value is None else value), None
    public = {key: item for key, item in value.items() if key != "password"}
    return public, value.get("password")


def _event_facts(result: Mapping[str, Any]) -> dict[str, Any]:
    """What an asset event says of a verification (no key, no value)."""
    keys = ("passed", "mode", "keys_compared", "mismatches", "by_kind", "duration_s")
    return {key: result[key] for key in keys if key in result}
