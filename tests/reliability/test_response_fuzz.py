"""Arbitrary, malformed and huge API answers: the hooks never hang, crash or leak a secret.

A tiny HTTP server on a real socket answers every request with what the current hypothesis example
says (status, headers, body bytes, or a body cut off mid-way). The sync :class:`DcsHook` and the
async :class:`DcsAsyncHook` read methods (and a configure call that sends a Redis password) are
pointed at it. For every example:

* the call returns in bounded time (two attempts, tiny waits, a short read timeout; a pathological
  ``Retry-After`` must not make it sleep);
* it returns our model objects or raises a :class:`DcsError` subclass, never ``KeyError``,
  ``TypeError``, ``ValueError``, ``RecursionError``, ``UnicodeError``...;
* the secret key, the security token and the Redis password, planted anywhere in the answer, are
  in none of: the exception's ``str``/``repr``, the returned value's ``repr``, any log record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.exceptions import DcsError
from huaweicloud_dcs_provider.hooks.dcs import DcsAsyncHook, DcsHook
from reliability import figures

pytestmark = pytest.mark.integration

CONN_ID = "dcs_fuzz"
SECRET_KEY = "SK" + secrets.token_hex(19)
SECURITY_TOKEN = "TOKEN" + secrets.token_hex(24)
REDIS_PASSWORD = "RedisPw" + secrets.token_hex(12)
SECRETS = (SECRET_KEY, SECURITY_TOKEN, REDIS_PASSWORD)
POLICY = RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.02, max_total_seconds=3)
READ_TIMEOUT = 1.5
MAX_SECONDS = 8.0
EXAMPLES = 150
STATUSES = [200, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503]
KNOWN_FIELDS = [
    "id",
    "task_id",
    "instance_id",
    "job_id",
    "name",
    "task_name",
    "status",
    "task_status",
    "migration_type",
    "migration_method",
    "resume_mode",
    "bandwidth_limit_mb",
    "error",
    "error_message",
    "error_code",
    "error_msg",
    "ecs_tenant_private_ip",
    "description",
    "created_at",
    "source_instance",
    "target_instance",
    "data_source",
    "source_instance_id",
    "target_instance_addrs",
    "full_migration_progress",
    "offset",
    "source_dbsize",
    "target_dbsize",
    "target_input_kbps",
    "target_ops",
    "is_migrating",
    "count",
    "log_num",
    "migration_tasks",
    "migration_logs",
    "keyword",
    "log_level",
    "message",
    "enable_whitelist",
    "whitelist",
    "group_name",
    "ip_list",
    "fail_reason",
    "begin_time",
    "addrs",
    "port",
    "password",
]


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    """What the server sends to every request."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b"{}"
    #: Announce the whole body but send only this many bytes, then close the connection.
    cut_at: int | None = None

    def describe(self) -> str:
        size = f"{len(self.body)} bytes, cut_at={self.cut_at}"
        return f"HTTP {self.status} {self.headers} {size}: {self.body[:200]!r}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FuzzServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = self.server.answer
        self.server.hits += 1
        self.send_response(answer.status)
        body = b"" if answer.status == 204 else answer.body
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if answer.cut_at is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            if answer.cut_at is not None and body:
                self.wfile.write(body[: answer.cut_at])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self.wfile.write(body)
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _FuzzServer(ThreadingHTTPServer):
    daemon_threads = True
    answer: Answer
    hits: int


@pytest.fixture(scope="module")
def server() -> Iterator[_FuzzServer]:
    httpd = _FuzzServer(("127.0.0.1", 0), _Handler)
    httpd.answer = Answer()
    httpd.hits = 0
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    document = {
        "conn_type": "huaweicloud_dcs",
        "login": "FUZZACCESSKEY0000000",
        "password": SECRET_KEY,
        "host": f"http://127.0.0.1:{httpd.server_address[1]}",
        "extra": {"project_id": "fuzzproject", "security_token": SECURITY_TOKEN, "timeout": READ_TIMEOUT},
    }
    variable = f"AIRFLOW_CONN_{CONN_ID.upper()}"
    previous = os.environ.get(variable)
    os.environ[variable] = json.dumps(document)
    try:
        yield httpd
    finally:
        if previous is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = previous
        httpd.shutdown()
        httpd.server_close()


# ------------------------------------------------------------------------------------------------
# Strategies
# ------------------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["SUCCESS", "INCRMIGEATING", "FAILED", "12", "45%", "1e400", "-1", "", "true", "null"]),
)
_json = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KNOWN_FIELDS), st.text(max_size=10)), children, max_size=6),
    ),
    max_leaves=25,
)
#: Objects with the known fields, each of a random (usually wrong) type.
_shaped = st.dictionaries(st.sampled_from(KNOWN_FIELDS), _json, max_size=12)


@st.composite
def _planted(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with secrets planted: under "password" keys, in error texts, as unknown fields."""
    if not isinstance(document, dict):
        document = {"value": document}
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        secret = draw(st.sampled_from(SECRETS))
        where = draw(
            st.sampled_from(
                ["password", "error_msg", "error", "unknown", "nested", "status", "name", "list", "message"]
            )
        )
        if where == "password":
            document["password"] = secret
        elif where == "error_msg":
            document["error_msg"] = f"auth failed for {secret} (check it)"
            document.setdefault("error_code", "DCS.4000")
        elif where == "unknown":
            document[f"x_{draw(st.text(max_size=5))}"] = secret
        elif where == "nested":
            document["source_instance"] = {"addrs": "10.0.0.1:6379", "password": secret, "name": secret}
        elif where == "list":
            document["migration_tasks"] = [{"id": "t1", "name": secret, "status": "SUCCESS"}]
            document["migration_logs"] = [{"message": f"AUTH {secret}", "keyword": [secret]}]
            document["whitelist"] = [{"group_name": secret, "ip_list": [secret]}]
        else:
            document[where] = f"{where}: {secret}"
    return document


def _deep(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


#: Answers that broke (or could break) the parsing: each is also tried explicitly, below.
PATHOLOGICAL_BODIES = [
    b'{"full_migration_progress": NaN, "offset": Infinity, "count": -Infinity, "log_num": NaN}',
    b'{"source_dbsize": 1e400, "target_dbsize": -1e400, "bandwidth_limit_mb": 1e308, "port": 1e999}',
    b'{"count": 99999999999999999999999999999999999, "migration_tasks": [{"id": "a"}]}',
    b'{"count": "' + b"9" * 5000 + b'", "migration_tasks": [{"id": "a"}]}',
    b'{"offset": "' + b"9" * 5000 + b'", "full_migration_progress": "' + b"1" * 5000 + b'%"}',
    b'{"status": "SUCCESS", "status": ["x"], "status": {"a": 1}}',
    b'{"migration_tasks": {"id": "x"}, "migration_logs": "abc", "whitelist": 5, "keyword": {"a": 1}}',
    b'{"source_instance": [], "target_instance": "x", "migration_tasks": [1, null, [], "x"]}',
    b'{"enable_whitelist": "yes", "whitelist": [{"group_name": [], "ip_list": {"a": 1}}, 3, null]}',
    b'{"job_id": [], "status": 12.5, "fail_reason": {"x": 1}}',
    b"null",
    b"[]",
    b'"just a string"',
    b"12345",
    b"\xef\xbb\xbf{}",
    b'{"a": "\\ud800"}',
    b'{"error_msg": "\\u0000\\u001b[31m", "error_code": "\\ud83d"}',
    _deep(5_000, "list"),
    _deep(100_000, "dict"),
    _deep(900, "dict"),
    b'{"error_code": ' + _deep(900, "list") + b', "error_msg": {"a": [1]}}',
    # a full page announcing a billion tasks, served again for every offset
    b'{"count": 1000000000, "log_num": 1000000000, "migration_tasks": ['
    + b",".join(b'{"id": "t%d"}' % i for i in range(100))
    + b"], "
    + b'"migration_logs": ['
    + b",".join(b'{"message": "m%d"}' % i for i in range(100))
    + b"]}",
]

_bodies = st.one_of(
    # arbitrary JSON with planted secrets
    _shaped.flatmap(_planted).map(lambda d: json.dumps(d).encode()),
    _json.flatmap(_planted).map(lambda d: json.dumps(d).encode()),
    # a JSON document that is not an object
    _json.map(lambda d: json.dumps(d).encode()),
    # deep nesting
    st.builds(_deep, st.sampled_from([50, 500, 5_000, 100_000]), st.sampled_from(["list", "dict"])),
    st.sampled_from([10, 40, 100, 1000]).map(
        lambda n: json.dumps(
            {
                "status": "SUCCESS",
                "source_instance": json.loads(_deep(n, "dict")),
                "error": json.loads(_deep(n, "list")),
            }
        ).encode()
    ),
    # huge strings and lists
    st.tuples(st.sampled_from([1_000_000, 3_000_000, 5_000_000]), st.sampled_from(SECRETS)).map(
        lambda t: json.dumps({"status": "A" * t[0], "error": "E" * t[0] + t[1], "name": t[1]}).encode()
    ),
    st.sampled_from([10_000, 200_000]).map(
        lambda n: json.dumps(
            {
                "count": n * 10,
                "migration_tasks": [{"id": f"t{i}"} for i in range(n)],
                "migration_logs": [{}] * n,
            }
        ).encode()
    ),
    st.just(json.dumps({"whitelist": [{"group_name": "g", "ip_list": list(range(100_000))}]}).encode()),
    # NaN / Infinity literals, huge numbers, duplicate keys, wrong shapes
    st.sampled_from(PATHOLOGICAL_BODIES),
    # non-JSON bytes, truncated JSON, HTML
    st.binary(max_size=3000),
    st.text(max_size=500).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.tuples(_shaped.flatmap(_planted), st.floats(min_value=0.05, max_value=0.95)).map(
        lambda t: json.dumps(t[0]).encode()[: max(1, int(len(json.dumps(t[0])) * t[1]))]
    ),
    st.sampled_from(SECRETS).map(
        lambda s: f"<html><head><title>502 Bad Gateway {s}</title></head><body>{s}</body></html>".encode()
    ),
    st.sampled_from(SECRETS).map(lambda s: f"upstream said: token {s} rejected".encode()),
    st.just(b"<!DOCTYPE html>" + b"<p>x</p>" * 200_000),
)

_retry_after = st.one_of(
    st.integers(min_value=-10, max_value=10**12).map(str),
    st.floats().map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "Wed, 21 Oct 2015 07:28:00 GMT", "", "  5  ", "0x10"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
_content_types = st.sampled_from(
    [
        "application/json",
        "application/json;charset=utf-8",
        "text/html",
        "text/plain",
        "application/octet-stream",
        "x",
    ]
)


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    headers: list[tuple[str, str]] = []
    if draw(st.booleans()):
        headers.append(("Retry-After", draw(_retry_after)))
    if draw(st.booleans()):
        headers.append(("Content-Type", draw(_content_types)))
    if draw(st.booleans()):
        headers.append(("X-Request-Id", draw(st.text(alphabet="0123456789abcdef-", max_size=40))))
    body = draw(_bodies)
    cut_at = draw(st.none() | st.integers(min_value=0, max_value=max(0, len(body) - 1))) if body else None
    if cut_at is not None and draw(st.integers(0, 3)):
        cut_at = None  # a cut connection in about one example out of four
    return Answer(status=draw(st.sampled_from(STATUSES)), headers=headers, body=body, cut_at=cut_at)


# ------------------------------------------------------------------------------------------------
# The calls
# ------------------------------------------------------------------------------------------------

SENDS_PASSWORD = frozenset({"configure_online_migration"})
SOURCE = {"addrs": "10.0.0.1:6379", "password": REDIS_PASSWORD}
TARGET = {"addrs": "10.0.0.2:6379", "password": REDIS_PASSWORD}

SYNC_CALLS: dict[str, Callable[[DcsHook], Any]] = {
    "get_migration_task": lambda h: h.get_migration_task("task-1"),
    "get_task_status": lambda h: h.get_task_status("task-1"),
    "get_migration_task_stats": lambda h: h.get_migration_task_stats("task-1"),
    "list_migration_tasks": lambda h: h.list_migration_tasks(),
    "list_migration_task_logs": lambda h: h.list_migration_task_logs("task-1"),
    "get_job": lambda h: h.get_job("job-1"),
    "get_whitelist": lambda h: h.get_whitelist("instance-1"),
    "configure_online_migration": lambda h: h.configure_online_migration(
        "task-1",
        migration_method="incremental_migration",
        resume_mode="auto",
        source_instance=SOURCE,
        target_instance=TARGET,
    ),
    "stop_migration_task": lambda h: h.stop_migration_task("task-1"),
    "batch_stop_migration_tasks": lambda h: h.batch_stop_migration_tasks(["task-1", "task-2"]),
    "delete_migration_tasks": lambda h: h.delete_migration_tasks(["task-1"]),
}

ASYNC_CALLS: dict[str, Callable[[DcsAsyncHook], Any]] = {
    "get_migration_task": lambda h: h.get_migration_task("task-1"),
    "get_task_status": lambda h: h.get_task_status("task-1"),
    "get_migration_task_stats": lambda h: h.get_migration_task_stats("task-1"),
    "list_migration_tasks": lambda h: h.list_migration_tasks(),
    "list_migration_task_logs": lambda h: h.list_migration_task_logs("task-1"),
    "get_job": lambda h: h.get_job("job-1"),
    "stop_migration_task": lambda h: h.stop_migration_task("task-1"),
}


class _Records(logging.Handler):
    """Every log record, wherever it is emitted (root and the Airflow task logger)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> Iterator[str]:
        for record in self.records:
            try:
                yield record.getMessage()
            except Exception as exc:  # a record that cannot be formatted is a bug too
                yield f"unformattable record {record.msg!r}: {exc!r}"
            if record.exc_info and record.exc_info[1] is not None:
                yield str(record.exc_info[1])
                yield repr(record.exc_info[1])


@pytest.fixture
def records() -> Iterator[_Records]:
    handler = _Records()
    loggers = [
        logging.getLogger(),
        logging.getLogger("airflow.task"),
        logging.getLogger("huaweicloud_dcs_provider"),
    ]
    previous = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in previous:
            logger.removeHandler(handler)
            logger.setLevel(level)


@dataclass
class Stats:
    examples: int = 0
    max_seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)


def _check_outcome(
    name: str, answer: Answer, run: Callable[[], Any], handler: _Records, stats: Stats
) -> None:
    handler.records.clear()
    started = time.monotonic()
    result: Any = None
    error: BaseException | None = None
    try:
        result = run()
    except DcsError as exc:
        error = exc
    except BaseException as exc:
        raise AssertionError(f"{name}: {type(exc).__name__}: {exc!r:.300} for {answer.describe()}") from exc
    elapsed = time.monotonic() - started
    stats.examples += 1
    stats.max_seconds = max(stats.max_seconds, elapsed)
    outcome = type(error).__name__ if error is not None else "returned"
    stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + 1
    assert elapsed < MAX_SECONDS, f"{name} took {elapsed:.1f} s for {answer.describe()}"
    texts = list(handler.texts())
    if error is not None:
        texts += [str(error), repr(error), str(error.args)]
    else:
        texts.append(repr(result))
        to_dicts = [
            item.to_dict()
            for item in (result if isinstance(result, list) else [result])
            if hasattr(item, "to_dict")
        ]
        texts.append(json.dumps(to_dicts, default=str))
    # The Redis password is known to (and scrubbed by) the calls that send it.
    known = SECRETS if name in SENDS_PASSWORD else (SECRET_KEY, SECURITY_TOKEN)
    for text in texts:
        for secret in known:
            assert secret not in text, f"{name} leaked a secret in {text[:300]!r} for {answer.describe()}"


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    derandomize=False,
)


def _record(prop: str, stats: Stats) -> None:
    figures.record(
        "fuzz",
        {
            "property": prop,
            "examples": stats.examples,
            "failures": 0,
            "max_seconds": round(stats.max_seconds, 3),
            "outcomes": dict(sorted(stats.outcomes.items())),
        },
    )


def test_sync_hook_survives_any_answer(server: _FuzzServer, records: _Records) -> None:
    stats = Stats()

    @_SETTINGS
    @given(answer=answers(), name=st.sampled_from(sorted(SYNC_CALLS)))
    def check(answer: Answer, name: str) -> None:
        server.answer = answer
        hook = DcsHook(CONN_ID, retry_policy=POLICY)
        _check_outcome(name, answer, lambda: SYNC_CALLS[name](hook), records, stats)

    check()
    _record("sync hook, any answer: bounded, DcsError only, no secret", stats)


def test_async_hook_survives_any_answer(server: _FuzzServer, records: _Records) -> None:
    stats = Stats()

    async def run(name: str) -> Any:
        async with DcsAsyncHook(CONN_ID, retry_policy=POLICY) as hook:
            return await ASYNC_CALLS[name](hook)

    @_SETTINGS
    @given(answer=answers(), name=st.sampled_from(sorted(ASYNC_CALLS)))
    def check(answer: Answer, name: str) -> None:
        server.answer = answer
        _check_outcome(name, answer, lambda: asyncio.run(run(name)), records, stats)

    check()
    _record("async hook, any answer: bounded, DcsError only, no secret", stats)


@pytest.mark.parametrize("status", [200, 400])
def test_pathological_bodies(status: int, server: _FuzzServer, records: _Records) -> None:
    """Every known pathological body, with every sync and async call: the fuzz properties hold."""
    stats = Stats()
    for body in PATHOLOGICAL_BODIES:
        answer = Answer(status=status, body=body)
        server.answer = answer
        for name, call in SYNC_CALLS.items():
            hook = DcsHook(CONN_ID, retry_policy=POLICY)
            _check_outcome(name, answer, lambda: call(hook), records, stats)  # noqa: B023

        async def run_all(answer: Answer = answer) -> None:
            for name, call in ASYNC_CALLS.items():
                async with DcsAsyncHook(CONN_ID, retry_policy=POLICY) as hook:
                    started = time.monotonic()
                    try:
                        result = await call(hook)
                    except DcsError as exc:
                        texts = [str(exc), repr(exc)]
                    else:
                        texts = [repr(result)]
                    assert time.monotonic() - started < MAX_SECONDS, (name, answer.describe())
                    for text in texts:
                        assert SECRET_KEY not in text, (name, answer.describe())

        asyncio.run(run_all())
    _record(f"pathological bodies, HTTP {status}, every call", stats)


def test_pathological_retry_after_does_not_sleep(server: _FuzzServer, records: _Records) -> None:
    """A 503 asking for a retry in 10**12 seconds (or NaN, or -inf) waits at most ``max_wait``."""
    for value in ("1000000000000", "1e999", "nan", "-inf", "inf", "Wed, 21 Oct 2015 07:28:00 GMT"):
        server.answer = Answer(status=503, headers=[("Retry-After", value)], body=b'{"error_code": "X"}')
        started = time.monotonic()
        with pytest.raises(DcsError):
            DcsHook(CONN_ID, retry_policy=POLICY).get_migration_task("task-1")
        assert time.monotonic() - started < 2.0, value
