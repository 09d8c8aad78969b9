"""No secret reaches a task log, an XCom or the metadata DB after the example DAG runs.

The runs are those of ``test_example_dags.py`` (done once per session, whichever file runs first):
the DCS connection carries temporary credentials (secret key **and** security token), the full
migrations read their Redis passwords from environment connections, the cutover (on Airflow 2: a
third full migration, ``DB_CONN_RUN``) from connections stored in the metadata DB. The scan looks
for each secret, and for its first 12 characters (a truncated leak), in:

* every file under ``AIRFLOW_HOME/logs`` (the task logs of every run);
* every XCom of every run;
* the text of every cell of every table of the SQLite metadata DB (bytes decoded, compressed
  serialized DAGs decompressed).

Stored connections are encrypted with the Fernet key, so a plain-text hit in the ``connection``
table would be a finding too. Each scan first proves that it reads what it claims to read.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

from airflow_versions import AIRFLOW_V_3
from secret_hygiene import sqlite_cells
from test_example_dags import DB_CONN_RUN, ExampleRuns, example_runs

pytestmark = pytest.mark.integration

PREFIX = 12


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> ExampleRuns:
    """The example runs (shared with ``test_example_dags.py``)."""
    return example_runs(tmp_path_factory, request.session.addfinalizer)


def _needles(secret_values: Mapping[str, str]) -> dict[str, str]:
    """What to look for: each secret, and its first characters."""
    needles: dict[str, str] = {}
    for name, value in secret_values.items():
        assert len(value) >= 2 * PREFIX, f"{name} is too short to scan for reliably"
        needles[name] = value
        needles[f"{name} (first {PREFIX} characters)"] = value[:PREFIX]
    return needles


def _find(needles: Mapping[str, str], corpus: Iterable[tuple[str, str]]) -> list[str]:
    """``"<secret name> in <where>"`` for every hit."""
    return [
        f"{name} in {where}" for where, text in corpus for name, value in needles.items() if value in text
    ]


def _log_files(log_dir: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(log_dir.rglob("*")):
        if path.is_file():
            yield str(path.relative_to(log_dir)), path.read_text(errors="replace")


def test_secrets_used_are_known(runs: ExampleRuns) -> None:
    assert set(runs.secrets) == {
        "secret access key",
        "security token",
        "redis source password (env connection)",
        "redis target password (env connection)",
        "redis source password (DB connection)",
        "redis target password (DB connection)",
    }
    # The runs really used them: they succeeded with these credentials and passwords.
    assert runs.runs["full_ok"].state == "success"
    assert runs.runs[DB_CONN_RUN].state == "success"
    assert runs.emulator.security_token


def test_no_secret_in_the_task_logs(runs: ExampleRuns) -> None:
    canary = "CANARY-" + secrets.token_hex(16)
    planted = runs.log_dir / "scan-canary" / "canary.log"
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(f"a line the scan must find: {canary}\n")
    try:
        corpus = list(_log_files(runs.log_dir))
        # The scan works: it finds the canary, and it reads the task logs of every run.
        assert _find({"canary": canary}, corpus) == [f"canary in {planted.relative_to(runs.log_dir)}"]
        text = "\n".join(body for _, body in corpus)
        for task_id in runs.migration_task_ids.values():
            assert task_id
            assert task_id in text
        # A task start line: the Execution API's on Airflow 3, the task instance's own on Airflow 2.
        markers = ["wait_for_full_migration", "Task started" if AIRFLOW_V_3 else "Exporting env vars"]
        if DB_CONN_RUN == "cutover":
            markers.append("stop_migration_task")
        for marker in markers:
            assert marker in text
        assert _find(_needles(runs.secrets), corpus) == []
        # Nothing even tried to log a secret (Airflow's masker would have turned it into ***).
        masked = [where for where, body in corpus if "***" in body]
        assert masked == [], f"a secret was logged and only masked by Airflow in {masked}"
    finally:
        planted.unlink()


def test_no_secret_in_xcom(runs: ExampleRuns) -> None:
    corpus = [
        (f"{label}: XCom {task}.{key}", repr(value))
        for label, run in runs.runs.items()
        for task, values in run.result.get("xcom", {}).items()
        for key, value in values.items()
    ]
    assert len(corpus) >= 10
    assert any(runs.migration_task_ids["full_ok"] in text for _, text in corpus)
    assert _find(_needles(runs.secrets), corpus) == []


def test_no_secret_anywhere_in_the_metadata_db(runs: ExampleRuns) -> None:
    dump = {table: "\n".join(texts) for table, texts in sqlite_cells(runs.db_path)}
    # The scan works: the tables that would hold a leak were read and are not empty.
    for table in ("xcom", "rendered_task_instance_fields", "task_instance", "dag_run", "connection"):
        assert dump.get(table), f"table {table} is empty or was not read"
    assert runs.migration_task_ids["full_ok"] in dump["xcom"]
    assert "password_conn_id" in dump["rendered_task_instance_fields"]
    assert "dcs_redis_source_db" in dump["connection"]  # DB_CONN_RUN's stored connections
    assert _find(_needles(runs.secrets), dump.items()) == []
