"""No registered secret anywhere the whole session produced (see :mod:`secret_hygiene`).

The plugin moves this test to the end of the run. It first proves that the scan reads each kind
of source by planting a canary in each (a stdlib log record, a structlog event, a ``DcsError``, a
zlib-compressed SQLite cell, a file) and finding it there, then scans for the real secrets: 0 hits
required.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import sqlite3
import zlib

import pytest
from airflow.utils.log.logging_mixin import LoggingMixin

import secret_hygiene
from airflow_versions import AIRFLOW_V_3
from huaweicloud_dcs_provider.exceptions import DcsApiError
from reliability import figures


def test_no_secret_anywhere_in_the_session(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.getbasetemp()
    extra_dbs = [db] if (db := secret_hygiene.process_metadata_db()) else []

    # 1. The scan is live: a canary planted in each kind of source is found there.
    canaries = {
        kind: f"CANARY-{kind}-{secrets.token_hex(16)}"
        for kind in ("log", "structlog", "exception", "sqlite", "file")
    }
    for kind, value in canaries.items():
        secret_hygiene.register_secret(value, f"canary {kind}")
    planted = base / "secret-hygiene-canaries"
    planted.mkdir(exist_ok=True)
    try:
        logging.getLogger("secret_hygiene.canary").warning("a record the scan must see: %s", canaries["log"])
        LoggingMixin().log.warning(
            "an event the scan must see: %s", canaries["structlog"]
        )  # Airflow 3: structlog
        DcsApiError(f"an error the scan must see: {canaries['exception']}", status_code=500)
        connection = sqlite3.connect(planted / "canary.db")
        with connection:
            connection.execute("CREATE TABLE xcom (key TEXT, value BLOB)")
            compressed = zlib.compress(f'{{"planted": "{canaries["sqlite"]}"}}'.encode())
            connection.execute("INSERT INTO xcom VALUES (?, ?)", ("return_value", compressed))
        connection.close()
        (planted / "task.log").write_text(f"a line the scan must see: {canaries['file']}\n")

        canary_hits = [hit for hit in secret_hygiene.scan(base).hits if hit.startswith("canary ")]
        assert any(
            h.startswith("canary log in log record secret_hygiene.canary WARNING") for h in canary_hits
        ), canary_hits
        # Airflow 3's ``self.log`` is structlog; Airflow 2's is a stdlib logger (a log record).
        structlog_where = (
            "structlog event" if AIRFLOW_V_3 else "log record airflow.utils.log.logging_mixin.LoggingMixin"
        )
        assert any(h.startswith(f"canary structlog in {structlog_where}") for h in canary_hits), canary_hits
        assert any(h.startswith("canary exception in DcsApiError created") for h in canary_hits), canary_hits
        # Compressed: only the cell decoder can find it (not the raw-bytes scan of the file).
        assert any(
            h.startswith("canary sqlite in SQLite secret-hygiene-canaries/canary.db table xcom")
            for h in canary_hits
        ), canary_hits
        assert not any(h.startswith("canary sqlite in file") for h in canary_hits), canary_hits
        assert "canary file in file secret-hygiene-canaries/task.log" in canary_hits, canary_hits
        assert any(h.startswith("canary log (first 12 characters) in") for h in canary_hits), canary_hits
    finally:
        for value in canaries.values():
            secret_hygiene.unregister_secret(value)
        shutil.rmtree(planted, ignore_errors=True)

    # 2. The real scan.
    result = secret_hygiene.scan(base, extra_databases=extra_dbs)
    print(f"\n[secret hygiene] {result.summary()}; exempt: {result.exempt_files}")
    figures.record(
        "security",
        {
            "check": "session secret scan",
            "result": (
                f"{len(result.hits)} hits in {result.log_records} log records, "
                f"{result.exceptions} exceptions, "
                f"{result.reports} report sections, {result.files} files, "
                f"{result.tables} tables/{result.cells} cells ({result.databases} SQLite DBs); "
                f"{result.secrets} secrets, {len(result.exempt_files)} exempt files"
            ),
        },
    )
    assert result.secrets > 0 or result.log_records > 0
    assert not result.hits, f"{len(result.hits)} secret hits:\n{secret_hygiene.format_hits(result.hits)}"
