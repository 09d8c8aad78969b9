"""The e2e tests' deployment topologies: every test that makes sense on both runs on both.

``topology`` (module scope) is parametrized over :data:`~e2e.airflow_stack.SQLITE_LOCAL` (one
machine: SQLite, LocalExecutor, one triggerer) and :data:`~e2e.airflow_stack.POSTGRES_CELERY`
(PostgreSQL, CeleryExecutor with two workers, two triggerers, trigger queues). A module's own
``deployment`` fixture builds its deployment on it, so pytest runs the module's tests once per
topology, one deployment each. The PostgreSQL/Celery runs carry the ``distributed`` mark: CI runs
them in a job of their own (``-m distributed``; the main job runs ``-m "not distributed"``).
"""

from __future__ import annotations

import pytest

from e2e.airflow_stack import POSTGRES_CELERY, SQLITE_LOCAL, Topology

TOPOLOGIES = [
    pytest.param(SQLITE_LOCAL, id=SQLITE_LOCAL.name),
    pytest.param(POSTGRES_CELERY, id=POSTGRES_CELERY.name, marks=pytest.mark.distributed),
]


@pytest.fixture(scope="module", params=TOPOLOGIES)
def topology(request: pytest.FixtureRequest) -> Topology:
    """The deployment topology of this module's tests (each module runs once per topology)."""
    result: Topology = request.param
    return result
