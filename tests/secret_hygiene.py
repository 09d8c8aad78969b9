"""The session-wide secret scan (a pytest plugin, loaded by ``conftest.py``).

Every secret the suite creates is registered here (:func:`register_secret`): the secret key and
security token of every :class:`EmulatorProcess` (the session emulator, the example-DAG runs' and
the e2e deployment's, any test's own), the password of every :class:`RedisServer` (the session
pair, factories, the e2e servers), the example-DAG runs' four Redis passwords and the fixed Redis
password of ``airflow_fixtures``. Registration happens where the secrets are made: the plugin
wraps ``EmulatorProcess.__init__`` and ``RedisServer.__init__``; the two module-level sets are
picked up when the scan runs.

During the session the plugin collects, from the test process:

* every log record that any stdlib logger emits (``logging.Logger.callHandlers`` is wrapped, so
  records of loggers that do not propagate to the root are seen too, whatever handlers Airflow's
  logging configuration installs): the formatted message, the exception text and the stack text;
  and every structlog event (Airflow 3's ``self.log`` of hooks and operators): the text its
  output logger writes. The provider's module loggers are set to DEBUG (when not configured
  otherwise) so their debug lines are checked too;
* the ``str`` and ``repr`` of every :class:`~huaweicloud_dcs_provider.exceptions.DcsError` created
  (``DcsError.__init__`` is wrapped);
* every test report: the captured stdout, stderr and log of every phase of every test (passed or
  not), and the failure text of every failed one.

``tests/test_zz_secret_hygiene.py::test_no_secret_anywhere_in_the_session``, moved to the very end
of the run, scans all of that plus every file under the session's base temp directory (task and
component logs, Airflow homes, configs, JSON and text files; the raw bytes of each file and, for
SQLite databases such as the example runs' and the e2e deployment's metadata DBs, the text of every
cell of every table, bytes decoded and zlib-compressed values such as serialized DAGs decompressed:
XCom, rendered fields, triggers, task-instance notes...) and the test process's own SQLite metadata
DB, if it has one. It looks for every registered secret and for its first 12 characters (a
truncated leak) and fails with the list of hits (source and label; never the secret).

Exemptions (kept as few as possible):

* files of mode 0600 whose content is an Airflow connection document (JSON with ``conn_type``):
  their purpose is to hold the credential for a process, like the emulator's ``--conn-file``, and
  their mode keeps other users out;
* the scan's own canaries (see the test) are planted under labels that are unregistered before
  the real scan.

Not covered: the memory and the unlogged output of subprocesses (their log files under the base
temp are scanned), and files that tests write outside the base temp directory (the emulator's and
Redis' own temporary directories, removed when they stop; their logs are scanned by the e2e test).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
import stat
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from huaweicloud_dcs_emulator.local_redis import RedisServer
from huaweicloud_dcs_emulator.testing import EmulatorProcess
from huaweicloud_dcs_provider.exceptions import DcsError

#: A truncated leak is caught down to this many leading characters.
PREFIX = 12
#: The hygiene test; moved to the end of the run.
HYGIENE_TEST = "test_zz_secret_hygiene.py::test_no_secret_anywhere_in_the_session"
#: Files larger than this are scanned in their first bytes only.
MAX_FILE_BYTES = 512 * 1024 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"

_lock = threading.Lock()
#: secret value -> label
_SECRETS: dict[str, str] = {}
#: (where, text) collected during the session.
_LOG_TEXTS: list[tuple[str, str]] = []
_EXCEPTION_TEXTS: list[tuple[str, str]] = []
_REPORT_TEXTS: list[tuple[str, str]] = []


def register_secret(value: str | None, label: str) -> None:
    """Look for ``value`` (and its first characters) everywhere at the end of the session."""
    if value and len(value) >= 8:
        with _lock:
            _SECRETS.setdefault(value, label)


def unregister_secret(value: str) -> None:
    """Stop looking for ``value`` (for the scan's own canaries)."""
    with _lock:
        _SECRETS.pop(value, None)


def registered_secrets() -> dict[str, str]:
    """``{label: value}`` of every registered secret (labels made unique)."""
    with _lock:
        items = list(_SECRETS.items())
    result: dict[str, str] = {}
    for value, label in items:
        name, n = label, 1
        while name in result:
            n += 1
            name = f"{label} #{n}"
        result[name] = value
    return result


def needles(secrets_by_label: dict[str, str]) -> dict[str, str]:
    """What to look for: each secret, and its first :data:`PREFIX` characters."""
    found: dict[str, str] = {}
    for label, value in secrets_by_label.items():
        found[label] = value
        if len(value) > PREFIX + 4:
            found[f"{label} (first {PREFIX} characters)"] = value[:PREFIX]
    return found


# ------------------------------------------------------------------------------------------------
# Registration at the points where secrets are made
# ------------------------------------------------------------------------------------------------


def _wrap_init(cls: type, register: Callable[[Any], None]) -> None:
    original = cls.__init__  # type: ignore[misc]
    if getattr(original, "_secret_hygiene", False):
        return

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        register(self)

    __init__._secret_hygiene = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]


def _register_emulator(process: EmulatorProcess) -> None:
    register_secret(process.secret_key, f"emulator secret key (AK {process.access_key})")
    register_secret(process.security_token, f"emulator security token (AK {process.access_key})")


def _register_redis(server: RedisServer) -> None:
    register_secret(server.password, "Redis password")


def _late_registrations() -> None:
    """Secrets held in test modules (registered when the scan runs, if those modules ran)."""
    examples = sys.modules.get("test_example_dags")
    shared = getattr(examples, "_SHARED", {}).get("runs") if examples else None
    if shared is not None:
        for name, value in shared.secrets.items():
            register_secret(value, f"example DAG runs: {name}")
    fixtures = sys.modules.get("airflow_fixtures")
    if fixtures is not None:
        register_secret(getattr(fixtures, "REDIS_SOURCE_PASSWORD", None), "airflow_fixtures Redis password")


# ------------------------------------------------------------------------------------------------
# Collection during the session
# ------------------------------------------------------------------------------------------------


def _current_test() -> str:
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    return current.rsplit(" (", 1)[0] if current else "outside a test"


_FORMATTER = logging.Formatter()


def _collect_record(record: logging.LogRecord) -> None:
    try:
        parts = [record.getMessage()]
    except Exception:  # a broken log call: keep its raw parts
        parts = [str(record.msg), repr(record.args)]
    if record.exc_info:
        with contextlib.suppress(Exception):
            parts.append(_FORMATTER.formatException(record.exc_info))
    elif record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    where = f"log record {record.name} {record.levelname} ({_current_test()})"
    _LOG_TEXTS.append((where, "\n".join(parts)))


def _install_log_collector() -> None:
    original = logging.Logger.callHandlers
    if getattr(original, "_secret_hygiene", False):
        return

    @functools.wraps(original)
    def callHandlers(self: logging.Logger, record: logging.LogRecord) -> None:
        _collect_record(record)
        original(self, record)

    callHandlers._secret_hygiene = True  # type: ignore[attr-defined]
    logging.Logger.callHandlers = callHandlers  # type: ignore[method-assign]
    provider = logging.getLogger("huaweicloud_dcs_provider")
    if provider.level == logging.NOTSET:
        provider.setLevel(logging.DEBUG)


def _install_structlog_collector() -> None:
    """Airflow 3's ``LoggingMixin.log`` (hooks, operators) is a structlog logger, not a stdlib one:
    keep the text of every event its output logger writes (after every processor ran)."""
    try:
        from structlog import _output
    except ImportError:  # pragma: no cover - structlog comes with Airflow 3
        return
    for cls in (_output.WriteLogger, _output.PrintLogger, _output.BytesLogger):
        original = cls.msg
        if getattr(original, "_secret_hygiene", False):
            continue

        def msg(self: Any, message: Any = "", _original: Any = original) -> None:
            _LOG_TEXTS.append(
                (f"structlog event {getattr(self, 'name', '')} ({_current_test()})", str(message))
            )
            _original(self, message)

        msg._secret_hygiene = True  # type: ignore[attr-defined]
        for name, value in list(vars(cls).items()):
            if value is original:
                setattr(cls, name, msg)


def _install_exception_collector() -> None:
    if getattr(DcsError.__dict__.get("__init__"), "_secret_hygiene", False):
        return

    def __init__(self: DcsError, *args: Any, **kwargs: Any) -> None:
        super(DcsError, self).__init__(*args, **kwargs)
        try:
            text = f"{self}\n{self!r}"
        except Exception:
            text = repr(self.args)
        _EXCEPTION_TEXTS.append((f"{type(self).__name__} created ({_current_test()})", text))

    __init__._secret_hygiene = True  # type: ignore[attr-defined]
    DcsError.__init__ = __init__  # type: ignore[method-assign,assignment]


def pytest_configure(config: pytest.Config) -> None:
    """Install the collectors and the registration wrappers before any test runs."""
    _install_log_collector()
    _install_structlog_collector()
    _install_exception_collector()
    _wrap_init(EmulatorProcess, _register_emulator)
    _wrap_init(RedisServer, _register_redis)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep every test's captured output and every failure's text."""
    for name, content in report.sections:
        if content:
            _REPORT_TEXTS.append((f"report {report.nodeid} {report.when}: {name}", content))
    if report.failed:
        _REPORT_TEXTS.append((f"report {report.nodeid} {report.when}: failure", report.longreprtext))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the hygiene test after every other test."""
    last = [item for item in items if item.nodeid.endswith(HYGIENE_TEST)]
    if last:
        items[:] = [item for item in items if item not in last] + last


# ------------------------------------------------------------------------------------------------
# The scan
# ------------------------------------------------------------------------------------------------


@dataclass
class ScanResult:
    """Hits (``"<label> in <where>"``) and what was read."""

    hits: list[str] = field(default_factory=list)
    log_records: int = 0
    exceptions: int = 0
    reports: int = 0
    files: int = 0
    exempt_files: list[str] = field(default_factory=list)
    databases: int = 0
    tables: int = 0
    cells: int = 0
    secrets: int = 0

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"{len(self.hits)} hits in {self.log_records} log records, {self.exceptions} exceptions, "
            f"{self.reports} report sections, {self.files} files ({len(self.exempt_files)} exempt), "
            f"{self.databases} SQLite DBs with {self.tables} tables/{self.cells} cells; "
            f"{self.secrets} secrets x 2 forms"
        )


def _find(found: dict[str, str], corpus: Iterable[tuple[str, str]]) -> list[str]:
    """Hits of ``found`` (label -> needle) in ``corpus`` ((where, text)); a quick pre-check first."""
    texts = list(corpus)
    joined = "\x00".join(text for _, text in texts)
    hits: list[str] = []
    for label, needle in found.items():
        if needle in joined:
            hits.extend(f"{label} in {where}" for where, text in texts if needle in text)
    return hits


def _cell_texts(value: object) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        yield raw.decode("utf-8", errors="replace")
        with contextlib.suppress(zlib.error):
            yield zlib.decompress(raw).decode("utf-8", errors="replace")
    else:
        yield str(value)


def sqlite_cells(path: Path) -> Iterator[tuple[str, list[str]]]:
    """``(table, texts of every non-null cell)`` for every table of a SQLite file."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the DB
            yield table, [text for row in cursor for cell in row for text in _cell_texts(cell)]
    finally:
        connection.close()


def _is_exempt(path: Path, data: bytes) -> bool:
    """A private (0600) file whose purpose is to hold a credential: see the module docstring."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return False
    if mode & 0o077:
        return False
    text = data.decode("utf-8", errors="replace")
    with contextlib.suppress(ValueError):
        document = json.loads(text)
        return isinstance(document, dict) and "conn_type" in document
    return False


def _files(root: Path) -> Iterator[Path]:
    for directory, _dirs, names in os.walk(root, followlinks=False):
        for name in sorted(names):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                yield path


def process_metadata_db() -> Path | None:
    """The test process's own SQLite metadata DB, if Airflow is configured with one."""
    try:
        from airflow.configuration import conf

        url = conf.get("database", "sql_alchemy_conn")
    except Exception:
        return None
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///").split("?")[0])
    return path if path.is_file() else None


def scan(base: Path, *, extra_databases: Iterable[Path] = ()) -> ScanResult:
    """Look for every registered secret in everything collected and every file under ``base``."""
    _late_registrations()
    secrets_by_label = registered_secrets()
    found = needles(secrets_by_label)
    found_bytes = {label: needle.encode() for label, needle in found.items()}
    result = ScanResult(secrets=len(secrets_by_label))
    with _lock:
        logs, exceptions, reports = list(_LOG_TEXTS), list(_EXCEPTION_TEXTS), list(_REPORT_TEXTS)
    result.log_records, result.exceptions, result.reports = len(logs), len(exceptions), len(reports)
    for corpus in (logs, exceptions, reports):
        result.hits += _find(found, corpus)

    databases: list[tuple[str, Path]] = []
    for path in _files(base):
        where = str(path.relative_to(base))
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES)
        except OSError:
            continue
        if _is_exempt(path, data):
            result.exempt_files.append(where)
            continue
        result.files += 1
        result.hits += [f"{label} in file {where}" for label, needle in found_bytes.items() if needle in data]
        if data.startswith(SQLITE_MAGIC):
            databases.append((where, path))
    databases += [(f"test-process metadata DB {path}", path) for path in extra_databases]
    for where, path in databases:
        try:
            tables = list(sqlite_cells(path))
        except sqlite3.Error as exc:
            result.hits.append(f"(unreadable SQLite DB {where}: {exc})")
            continue
        result.databases += 1
        result.tables += len(tables)
        result.cells += sum(len(cells) for _, cells in tables)
        result.hits += _find(
            found, ((f"SQLite {where} table {table}", "\n".join(cells)) for table, cells in tables)
        )
    return result


def format_hits(hits: list[str]) -> str:
    """The hits, one a line (labels and places only)."""
    return "\n".join(f"  - {hit}" for hit in hits)


__all__ = [
    "HYGIENE_TEST",
    "PREFIX",
    "ScanResult",
    "format_hits",
    "needles",
    "process_metadata_db",
    "register_secret",
    "registered_secrets",
    "scan",
    "sqlite_cells",
    "unregister_secret",
]
