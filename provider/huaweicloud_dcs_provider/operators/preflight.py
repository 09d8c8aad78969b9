"""The pre-flight check of a migration's source and target, against what DCS's FAQ says breaks one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from huaweicloud_dcs_provider import DEFAULT_CONN_ID
from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.compat import Context
from huaweicloud_dcs_provider.exceptions import DcsError, DcsValidationError
from huaweicloud_dcs_provider.operators.base import DcsBaseOperator
from huaweicloud_dcs_provider.operators.instances import resolve_instance, split_instance

if TYPE_CHECKING:
    from huaweicloud_dcs_provider.datacheck.preflight_rules import Row

#: The XCom key the report is pushed under when a rule fails (the task then returns nothing).
FAILED_REPORT_XCOM_KEY = "preflight"
_INSTANCE_SHAPE = "{'id': ...} or {'addrs': 'host:port'}, with 'password' or 'password_conn_id'"


def _bool(parameter: str, value: Any, *, rendered: bool = False) -> bool:
    """A flag: ``True``/``False`` (once ``rendered`` from a template, ``"true"``/``"false"`` too)."""
    if isinstance(value, bool):
        return value
    if rendered and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise DcsValidationError(parameter, f"must be True or False, got {v.shown(value)}")


class DcsMigrationPreflightOperator(DcsBaseOperator):
    """Check a migration's source and target against what Huawei's DCS FAQ says breaks migrations.

    Each rule gives one row ``{"rule", "result", "detail", "why", "action"}``: ``result`` is
    ``pass``, ``warn`` (logged only), ``fail`` or ``skipped`` (the facts were not reachable);
    ``detail`` says what was seen (never a password), ``why`` the reason from Huawei's docs,
    ``action`` what to do. The rules (``datacheck.preflight_rules``):

    * ``source-reachable``/``target-reachable``: the server answers (a DCS instance this worker
      cannot reach, e.g. from outside its VPC, is ``skipped`` with its Redis-level rules);
    * ``sync-psync``: SYNC and PSYNC neither renamed/disabled nor denied by the source's ACL
      (read with ``COMMAND INFO`` and ``ACL DRYRUN``; SYNC is never run);
    * ``repl-timeout`` (>= 300 s) and ``replica-buffer`` (replica output buffer limits >= 20 % of
      maxmemory, or 0): ``warn`` only;
    * ``versions``: source >= 3.0 and not newer than the target;
    * ``proxy-source``: a DCS Proxy Cluster source cannot migrate online;
    * ``multi-db-cluster``: source keys outside DB0 cannot go into a Redis Cluster target;
    * ``target-empty`` (``require_empty_target``) and ``target-memory`` (``check_memory``);
    * ``password-quote``: a password with a single quote breaks the migration;
    * ``ip-switch`` (with ``ip_switch=True``): both sides can use the DCS IP switch.

    A DCS instance (``{"id": ...}``) is looked up through the DCS API (its address, version,
    ``cache_mode``, memory), then connected to like any Redis. The rows are logged as one table;
    the task fails when any row is ``fail``, naming each failing rule and its action. Returns
    ``{"passed", "rules": [rows], "figures": {"source_used_memory", "target_keys",
    "target_maxmemory", "skipped", ...}}`` (also pushed as XCom ``preflight`` when it fails).
    Needs the ``redis`` package on the worker.

    :param source_instance: the migration's source: ``{"id": "<DCS instance id>"}`` or
        ``{"addrs": "host:port[,host:port...]"}``, plus ``"password"`` (a literal or a
        ``{{ conn.x.password }}`` template) or ``"password_conn_id"`` (an Airflow connection
        whose password is the Redis password). Templated, except the password, which is rendered
        privately when the task runs and never logged, shown or returned.
    :param target_instance: the migration's target, same shape. Templated.
    :param require_empty_target: keys on the target fail the check (default); ``False`` makes them
        a warning (keys only on the target survive the migration).
    :param check_memory: compare the target's maxmemory with the source's used memory (default).
    :param ip_switch: also check that the two instances can use the DCS IP switch at cutover
        (both DCS, same port, Redis 4.0+, not a Redis Cluster, basic edition). Templated.
    :param socket_timeout: seconds for each Redis connection attempt and command.
    :param dcs_conn_id: Airflow connection of type ``huaweicloud_dcs`` (to look up DCS instances).
    """

    template_fields: Sequence[str] = ("source_instance", "target_instance", "ip_switch")
    template_fields_renderers = {"source_instance": "json", "target_instance": "json"}

    def __init__(
        self,
        *,
        source_instance: Mapping[str, Any],
        target_instance: Mapping[str, Any],
        require_empty_target: bool = True,
        check_memory: bool = True,
        ip_switch: bool | str = False,
        socket_timeout: float = 5.0,
        dcs_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(dcs_conn_id=dcs_conn_id, **kwargs)
        for name, value in (("source_instance", source_instance), ("target_instance", target_instance)):
            if v.is_literal(value) and not isinstance(value, Mapping):
                raise DcsValidationError(
                    name, f"must be a mapping, got {type(value).__name__}", _INSTANCE_SHAPE
                )
        self.source_instance, self._source_password = split_instance("source_instance", source_instance)
        self.target_instance, self._target_password = split_instance("target_instance", target_instance)
        self.require_empty_target = _bool("require_empty_target", require_empty_target)
        self.check_memory = _bool("check_memory", check_memory)
        if v.is_literal(ip_switch):
            _bool("ip_switch", ip_switch)
        self.ip_switch = ip_switch
        self.socket_timeout = v.seconds("socket_timeout", socket_timeout)

    def _resolve(self, name: str, rendered: Any, password: Any, context: Context) -> dict[str, Any]:
        instance = resolve_instance(name, rendered, password, lambda t: self.render_template(t, context))
        v.instance(name, {key: instance[key] for key in ("id", "addrs") if key in instance})
        return instance

    def execute(self, context: Context) -> dict[str, Any]:
        """Read the facts of both sides, apply every rule, log the table; fail on a ``fail`` row."""
        source = self._resolve("source_instance", self.source_instance, self._source_password, context)
        target = self._resolve("target_instance", self.target_instance, self._target_password, context)
        check_ip_switch = _bool("ip_switch", self.ip_switch, rendered=True)
        try:
            from huaweicloud_dcs_provider.operators import preflight_facts as facts
        except ImportError as exc:  # pragma: no cover - depends on the worker
            raise DcsError(
                "the pre-flight checks need the 'redis' package on the worker: "
                "pip install 'airflow-provider-huaweicloud-dcs[redis]'"
            ) from exc
        from huaweicloud_dcs_provider.datacheck import preflight_rules as rules

        sides = [
            facts.read_side(
                label,
                instance,
                get_instance=lambda instance_id: self.hook.get_instance(instance_id),
                socket_timeout=self.socket_timeout,
            )
            for label, instance in (("source", source), ("target", target))
        ]
        rows = rules.evaluate(
            *sides,
            require_empty_target=self.require_empty_target,
            check_memory=self.check_memory,
            check_ip_switch=check_ip_switch,
        )
        failing = [row for row in rows if row.result == rules.FAIL]
        report = {
            "passed": not failing,
            "rules": [row.as_dict() for row in rows],
            "figures": facts.figures(*sides),
        }
        self.log.info("%s", rules_table(rows))
        if failing:
            context["ti"].xcom_push(key=FAILED_REPORT_XCOM_KEY, value=report)
            steps = "; ".join(f"{row.rule}: {row.detail} (do: {row.action})" for row in failing)
            raise DcsError(f"Pre-flight checks failed ({len(failing)} of {len(rows)} rules): {steps}")
        return report


def _line(text: str) -> str:
    """One table cell: on one line."""
    return " ".join(text.split())


def rules_table(rows: Sequence[Row]) -> str:
    """The rows as one aligned text table, then why each rule that did not pass matters."""
    counts = Counter(row.result for row in rows)
    summary = ", ".join(f"{counts[r]} {r}" for r in ("fail", "warn", "skipped", "pass") if counts[r])
    header = ("RULE", "RESULT", "DETAIL", "ACTION")
    cells = [header, *((row.rule, row.result.upper(), _line(row.detail), _line(row.action)) for row in rows)]
    widths = [max(len(cell[column]) for cell in cells) for column in range(3)]
    lines = [f"Pre-flight checks: {summary}"]
    lines += ["  ".join(cell[c].ljust(widths[c]) for c in range(3)) + "  " + cell[3] for cell in cells]
    reasons = [f"  {row.rule}: {row.why}" for row in rows if row.result != "pass"]
    if reasons:
        lines += ["Why (Huawei DCS documentation):", *reasons]
    return "\n".join(lines)
