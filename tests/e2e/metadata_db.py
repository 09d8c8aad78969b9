"""Read access to a deployment's metadata database, SQLite or PostgreSQL, in one shape.

The e2e tests read the metadata DB the way an operator of a deployment would audit it: a query
(``?`` placeholders on both backends), every cell of every table as text (the secret scan), and the
raw files the database keeps on disk (a byte scan: what a backup or a stolen disk would hold).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from e2e.postgres import PostgresServer


@dataclass
class DatabaseDump:
    """Every cell of every table of the metadata DB, as text (blobs decoded, zlib inflated)."""

    text: str
    rows: dict[str, int] = field(default_factory=dict)
    cells: int = 0

    @property
    def tables(self) -> int:
        """How many tables were read."""
        return len(self.rows)

    @property
    def total_rows(self) -> int:
        """Rows read, all tables together."""
        return sum(self.rows.values())


class MetadataDb(Protocol):
    """What the tests read of a metadata DB, whatever its backend."""

    backend: str

    @property
    def sqlalchemy_url(self) -> str:
        """``[database] sql_alchemy_conn`` of the deployment."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (``?`` placeholders)."""

    def row(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a query as a column -> value mapping (``None`` when there is none)."""

    def dump(self) -> DatabaseDump:
        """Every table, every row, every non-null cell as text."""

    def raw_files(self) -> list[Path]:
        """The files holding the database on disk (flushed first), for a raw byte scan."""


def as_text(value: Any) -> str:
    """A cell as text: bytes decoded (and inflated when zlib-compressed), JSON as JSON."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
        with contextlib.suppress(zlib.error):
            text += "\n" + zlib.decompress(value).decode("utf-8", errors="replace")
        return text
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


class _Dumper:
    """Collects ``table.column<TAB>text`` lines of non-null cells."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.dump = DatabaseDump(text="")

    def table(self, name: str, columns: Sequence[str], rows: Iterator[Sequence[Any]]) -> None:
        count = 0
        for row in rows:
            count += 1
            for column, value in zip(columns, row, strict=True):
                if value is not None:
                    self.dump.cells += 1
                    self.lines.append(f"{name}.{column}\t{as_text(value)}")
        self.dump.rows[name] = count

    def result(self) -> DatabaseDump:
        self.dump.text = "\n".join(self.lines)
        return self.dump


class SqliteDb:
    """The SQLite metadata DB of a one-machine deployment (read-only, safe while it runs)."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def sqlalchemy_url(self) -> str:
        return f"sqlite:///{self.path}"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            yield connection
        finally:
            connection.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connect() as connection:
            return list(connection.execute(sql, params).fetchall())

    def row(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            found = connection.execute(sql, params).fetchone()
        return None if found is None else dict(found)

    def dump(self) -> DatabaseDump:
        dumper = _Dumper()
        with self._connect() as connection:
            tables = [
                str(name)
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            for table in tables:
                cursor = connection.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from sqlite_master
                dumper.table(table, [d[0] for d in cursor.description], iter(cursor))
        return dumper.result()

    def raw_files(self) -> list[Path]:
        names = (self.path.name + suffix for suffix in ("", "-journal", "-wal"))
        return [path for path in (self.path.with_name(name) for name in names) if path.exists()]


class PostgresDb:
    """The PostgreSQL metadata DB of a distributed deployment (its own throw-away cluster)."""

    backend = "postgres"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server

    @property
    def sqlalchemy_url(self) -> str:
        return self.server.sqlalchemy_url

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[Any]:
        connection = self.server.connect()
        try:
            connection.set_session(readonly=True, autocommit=True)
            with connection.cursor() as cursor:
                yield cursor
        finally:
            connection.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), tuple(params))
            return [tuple(row) for row in cursor.fetchall()]

    def row(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        with self._cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), tuple(params))
            found = cursor.fetchone()
            columns = [d[0] for d in cursor.description]
        return None if found is None else dict(zip(columns, found, strict=True))

    def dump(self) -> DatabaseDump:
        dumper = _Dumper()
        with self._cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
            tables = [str(name) for (name,) in cursor.fetchall()]
            for table in tables:
                cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from information_schema
                dumper.table(table, [d[0] for d in cursor.description], iter(cursor.fetchall()))
        return dumper.result()

    def raw_files(self) -> list[Path]:
        connection = self.server.connect()
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute("CHECKPOINT")  # every change written to the data files
        finally:
            connection.close()
        return sorted(path for path in self.server.data_dir.rglob("*") if path.is_file())
