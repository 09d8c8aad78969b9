"""Imports that differ between Airflow 2.11 and 3.x, resolved in one place.

``apache-airflow-providers-common-compat`` picks the Airflow 3 (``airflow.sdk``) location first and
falls back to the Airflow 2 one.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
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
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "Context",
    "conf",
]
