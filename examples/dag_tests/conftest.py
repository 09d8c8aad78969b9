"""A DAG author's ``conftest.py`` for offline tests of migration DAGs.

``dag.test()`` needs an Airflow metadata DB: this makes a throw-away Airflow home (SQLite) before
Airflow is imported and migrates its DB once per session. The emulator and the connection to it
come from the fixtures installed with the emulator (``dcs_connection``; the provider's ``testing`` extra).
"""

import os
import tempfile
from pathlib import Path

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).parent / "dags")

import pytest


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> None:
    """Create the tables of the throw-away metadata DB (like ``airflow db migrate``)."""
    from airflow.utils.db import upgradedb

    upgradedb()
