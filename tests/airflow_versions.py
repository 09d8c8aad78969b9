"""Which Airflow the suite runs on, and the skip markers of tests that need a newer one.

The suite runs on Airflow 3.3 and on 2.11 (``scripts/test.sh --airflow 2.11``). A test that needs
something only Airflow 3 has is marked with :data:`requires_airflow3` (or a :func:`requires_airflow`
marker naming what is missing), so it is reported as skipped on 2.x with the reason, not failed::

    from airflow_versions import requires_airflow3

    pytestmark = requires_airflow3
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest
from packaging.version import Version

#: The installed apache-airflow, e.g. ``3.3.2`` (read from the distribution: no Airflow import).
AIRFLOW_VERSION = Version(Version(version("apache-airflow")).base_version)
#: Airflow 3.x (Task SDK, api-server, Execution API, React UI).
AIRFLOW_V_3 = AIRFLOW_VERSION.major >= 3
#: Airflow 3.1+ (human-in-the-loop operators such as ``ApprovalOperator``).
AIRFLOW_V_3_1 = AIRFLOW_VERSION.release >= (3, 1)


def requires_airflow(minimum: str, missing: str) -> pytest.MarkDecorator:
    """Skip unless Airflow >= ``minimum``; the reason names what the older Airflow lacks.

    :param minimum: the first Airflow version that has it, e.g. ``"3.1"``.
    :param missing: what is missing before that version, e.g. ``"ApprovalOperator (HITL)"``.
    """
    return pytest.mark.skipif(
        Version(minimum) > AIRFLOW_VERSION,
        reason=f"needs Airflow >= {minimum}: Airflow {AIRFLOW_VERSION} has no {missing}",
    )


#: Tests of the Airflow 3 web UI and its api-server (browser and REST tests).
requires_airflow3 = requires_airflow("3.0", "api-server and React web UI (Airflow 3 components)")
#: Tests that start a real Airflow 3 deployment (tests/e2e).
requires_airflow3_deployment = requires_airflow(
    "3.0", "api-server, dag-processor and Task Execution API (the Airflow 3 deployment tests/e2e starts)"
)
#: Tests of the example DAGs with a human approval step (the cutover DAGs).
requires_hitl = requires_airflow(
    "3.1", "ApprovalOperator (human-in-the-loop), which the cutover example DAGs use"
)


def serialize_dag(dag: Any) -> dict[str, Any]:
    """The DAG as the scheduler stores it (``DagSerialization`` on Airflow 3, ``SerializedDAG`` on 2)."""
    if AIRFLOW_V_3:
        from airflow.serialization.serialized_objects import DagSerialization

        return dict(DagSerialization.to_dict(dag))
    from airflow.serialization.serialized_objects import SerializedDAG

    return dict(SerializedDAG.to_dict(dag))
