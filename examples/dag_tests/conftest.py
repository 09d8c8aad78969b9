"""A DAG author's ``conftest.py`` for offline tests of migration DAGs.

``dag.test()`` needs an Airflow metadata DB: this makes a throw-away Airflow home (SQLite) before
Airflow is imported and migrates its DB once per session. The emulator and the connection to it
come from the fixtures installed with the emulator (``dcs_connection``; the provider's ``testing`` extra).

The DAGs under test are in the first ``dags/`` folder found next to this file, one level up
(``tests/`` beside ``dags/`` in a project) or two levels up (this provider's repository: this
example is in ``examples/dag_tests/``, the example DAGs in ``dags/``). Point ``DAGS`` at your
own DAGs folder if it is elsewhere.
"""

import os
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DAGS = next((folder / "dags" for folder in (HERE, *HERE.parents[:2]) if (folder / "dags").is_dir()), HERE)

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> None:
    """Create the tables of the throw-away metadata DB (like ``airflow db migrate``)."""
    from airflow.utils.db import upgradedb

    upgradedb()
