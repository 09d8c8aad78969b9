"""Imports that differ between Airflow 2.11 and 3.x, resolved in one place.

``apache-airflow-providers-common-compat`` picks the Airflow 3 (``airflow.sdk``) location first and
falls back to the Airflow 2 one.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowNotFoundException,
    BaseHook,
    BaseOperator,
    BaseOperatorLink,
    BaseSensorOperator,
    Context,
    conf,
)

__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "Context",
    "conf",
    "mask_secret",
]


def mask_secret(value: str) -> None:
    """Register a secret with Airflow's secrets masker (see :func:`quiet_secret_channel`)."""
    quiet_secret_channel()
    from airflow.providers.common.compat.sdk import mask_secret as register

    register(value)


def quiet_secret_channel() -> None:
    """Under ``dag.test()``, keep Airflow's in-process channel from logging secrets at DEBUG.

    ``mask_secret()`` (called by Airflow itself for every connection a task reads, and by this
    provider for the Redis passwords) sends the secret to the supervisor. Under ``dag.test()`` and
    ``airflow dags test`` (Airflow 3) the supervisor runs in the task's process, and its in-process
    channel logs every message at DEBUG level, this one with the secret in clear, before any masking
    applies (upstream, Airflow 3.3.2; docs/testing.md, "Known issues"). This makes that channel log a
    ``MaskSecret`` message without its body, as the supervisor's own "Received message" line already
    does: the fix proposed upstream, applied only where the in-process channel exists (never in a
    worker, a triggerer or on Airflow 2), once, before the provider reads a connection.
    """
    import sys

    module = sys.modules.get("airflow.sdk.execution_time.supervisor")
    channel = getattr(module, "InProcessSupervisorComms", None)
    send = getattr(channel, "send", None)
    if channel is None or send is None or getattr(send, "_dcs_quiet", False):
        return

    def quiet_send(self: Any, msg: Any) -> Any:
        if type(msg).__name__ != "MaskSecret":
            return send(self, msg)
        log = self.log
        self.log = _BodyOmitted(log)
        try:
            return send(self, msg)
        finally:
            self.log = log

    quiet_send._dcs_quiet = True  # type: ignore[attr-defined]
    channel.send = quiet_send


class _BodyOmitted:
    """A logger that logs a message's type instead of the message (its body holds a secret)."""

    def __init__(self, log: Any) -> None:
        self._log = log

    def debug(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if "msg" in kwargs:
            kwargs["msg"] = type(kwargs["msg"])
        return self._log.debug(f"{event} (body omitted)", *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)
