"""Pre-flight checks of self-hosted Redis endpoints before a migration, with the ``redis`` client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from huaweicloud_dcs_provider.api import validation as v
from huaweicloud_dcs_provider.compat import BaseHook, Context, quiet_secret_channel
from huaweicloud_dcs_provider.exceptions import DcsError, DcsValidationError
from huaweicloud_dcs_provider.operators.base import DcsBaseOperator


class DcsMigrationPreflightOperator(DcsBaseOperator):
    """Check self-hosted Redis endpoints before a migration, with the ``redis`` client.

    Scope: only endpoints given by ``addrs`` (``host:port[,host:port...]``) that this worker can
    reach; a DCS endpoint (``id``) is skipped with a log line (check it in the console). Checks:

    * the source answers ``PING`` (its ``used_memory`` is summed over its nodes);
    * the target holds no key (``require_empty_target``);
    * the target's ``maxmemory``, when every node sets one, is at least the source's
      ``used_memory`` (``check_memory``).

    Every failed check is listed in one error. Passwords come from ``password_conn_id`` (an
    Airflow connection) and never reach a log or the XCom. Returns the figures:
    ``{"source_used_memory", "target_keys", "target_maxmemory", "skipped"}``. Needs the
    ``redis`` package on the worker.

    :param source_instance: ``{"addrs": ..., "password_conn_id": ...}`` or ``{"id": ...}``. Templated.
    :param target_instance: same shape. Templated.
    :param require_empty_target: fail when the target has keys (default).
    :param check_memory: compare the target's maxmemory with the source's used memory (default).
    :param socket_timeout: seconds for each Redis connection and command.
    """

    template_fields: Sequence[str] = ("source_instance", "target_instance")
    template_fields_renderers = {"source_instance": "json", "target_instance": "json"}

    def __init__(
        self,
        *,
        source_instance: Mapping[str, Any],
        target_instance: Mapping[str, Any],
        require_empty_target: bool = True,
        check_memory: bool = True,
        socket_timeout: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for name, value in (("source_instance", source_instance), ("target_instance", target_instance)):
            if isinstance(value, Mapping) and value.get("password"):
                raise DcsValidationError(f"{name}.password", "give 'password_conn_id' instead of a password")
        self.source_instance = source_instance
        self.target_instance = target_instance
        self.require_empty_target = require_empty_target
        self.check_memory = check_memory
        self.socket_timeout = socket_timeout

    def _clients(self, name: str, instance: Any) -> list[Any] | None:
        if not isinstance(instance, Mapping):
            raise DcsValidationError(name, f"must be a mapping, got {type(instance).__name__}")
        if instance.get("id") and not instance.get("addrs"):
            self.log.info(
                "%s is DCS instance %s: pre-flight skipped (check it in the console)", name, instance["id"]
            )
            return None
        if not instance.get("addrs"):
            raise DcsValidationError(name, "needs 'addrs' (host:port) or 'id'")
        addrs = v.addrs(f"{name}.addrs", instance.get("addrs"))
        password = None
        if instance.get("password_conn_id"):
            quiet_secret_channel()  # before Airflow registers the connection's secrets
            password = BaseHook.get_connection(str(instance["password_conn_id"])).password or None
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the worker
            raise DcsError("the pre-flight checks need the 'redis' package on the worker") from exc
        clients = []
        for addr in (a.strip() for a in addrs.split(",") if a.strip()):
            host, _, port = addr.rpartition(":")
            clients.append(
                redis.Redis(
                    host=host.strip("[]"),
                    port=int(port),
                    password=password,
                    socket_timeout=self.socket_timeout,
                    socket_connect_timeout=self.socket_timeout,
                )
            )
        return clients

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the checks; raise one error listing every failure."""
        import redis

        figures: dict[str, Any] = {
            "source_used_memory": None,
            "target_keys": None,
            "target_maxmemory": None,
            "skipped": [],
        }
        problems: list[str] = []
        source = self._clients("source_instance", self.source_instance)
        target = self._clients("target_instance", self.target_instance)
        if source is None:
            figures["skipped"].append("source")
        else:
            try:
                figures["source_used_memory"] = sum(int(c.info("memory")["used_memory"]) for c in source)
            except redis.RedisError as exc:
                problems.append(f"the source {self.source_instance.get('addrs')} is not reachable: {exc}")
        if target is None:
            figures["skipped"].append("target")
        else:
            try:
                figures["target_keys"] = sum(
                    int(db.get("keys", 0)) for c in target for db in c.info("keyspace").values()
                )
                limits = [int(c.config_get("maxmemory").get("maxmemory", 0)) for c in target]
                figures["target_maxmemory"] = sum(limits) if limits and all(limits) else None
            except redis.RedisError as exc:
                problems.append(f"the target {self.target_instance.get('addrs')} is not reachable: {exc}")
        if self.require_empty_target and figures["target_keys"]:
            problems.append(
                f"the target holds {figures['target_keys']} key(s) ; a migration "
                "into a non-empty target mixes data: empty it or pick another target"
            )
        used, limit = figures["source_used_memory"], figures["target_maxmemory"]
        if self.check_memory and used is not None and limit is not None and limit < used:
            problems.append(
                f"the target's maxmemory ({limit} bytes) is below the source's used memory ({used} bytes)"
            )
        self.log.info("Pre-flight figures: %s", figures)
        if problems:
            raise DcsError(f"Pre-flight checks failed: {'; '.join(problems)}")
        return figures
