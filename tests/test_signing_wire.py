"""The adapters send exactly what was signed, proven on a real socket.

A tiny HTTP server on 127.0.0.1 records each request as received: the raw request target (path
and query exactly as sent), the raw header values (decoded as UTF-8) and the body bytes. The
server then recomputes the signature with the OFFICIAL ``huaweicloudsdkcore`` signer from those
received parts only (path, the parsed query, the received values of the headers named in
``SignedHeaders``, the body), as the API gateway would, and the result must equal the received
``Authorization`` header. The received query string must also equal our canonical one.

Clients: ``requests`` with ``auth=RequestsSigner(...)`` (the sync hook) and ``aiohttp`` fed with
``prepare_signed(...)`` (the async hook).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, unquote

import aiohttp
import pytest
import requests
import yarl

# Only these two SDK modules: huaweicloudsdkcore.auth.* writes ~/.huaweicloud on import.
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from huaweicloud_dcs_provider.api.signing import (
    Credentials,
    RequestsSigner,
    canonical_query_string,
    parse_authorization,
    prepare_signed,
)

ACCESS_KEY = "AKWIRETEST0001"
SECRET_KEY = "wire-secret-ключ"
TOKEN = "temporary+token/with=="
PROJECT_ID = "0123456789abcdef0123456789abcdef"
CREDS = Credentials(ACCESS_KEY, SECRET_KEY)
TOKEN_CREDS = Credentials(ACCESS_KEY, SECRET_KEY, security_token=TOKEN)
DATE = "20240102T030405Z"


# --------------------------------------------------------------------------------------------
# The recording server
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    target: str  # the raw request target: path and query exactly as sent
    headers: tuple[tuple[str, str], ...]  # names as sent, values decoded as UTF-8
    body: bytes

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _RecordingServer

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.raw_requestline.split(b" ")[1].decode("ascii")
        # http.server decodes header bytes as latin-1; recover the bytes and read them as UTF-8.
        headers = tuple(
            (k, v.encode("latin-1").decode("utf-8", errors="backslashreplace"))
            for k, v in self.headers.raw_items()
        )
        self.server.received.append(Received(self.command, target, headers, body))
        payload = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _record

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.received: list[Received] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def last(self) -> Received:
        assert len(self.received) == 1, self.received
        return self.received.pop()


@pytest.fixture(scope="module")
def server() -> Iterator[_RecordingServer]:
    srv = _RecordingServer()
    thread = threading.Thread(target=srv.serve_forever, name="signing-wire-server", daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def recorder(server: _RecordingServer) -> _RecordingServer:
    server.received.clear()
    return server


# --------------------------------------------------------------------------------------------
# Server-side verification with the official signer
# --------------------------------------------------------------------------------------------


def sdk_authorization_from_wire(received: Received, secret_key: str) -> str:
    """What the official signer computes from the received parts only."""
    authorization = received.header("Authorization")
    assert authorization is not None
    parsed = parse_authorization(authorization)
    assert parsed is not None, authorization
    pairs = (part.partition("=") for part in received.query.split("&") if part)
    query = [(unquote(key), unquote(value)) for key, _, value in pairs]
    signed = {k: v for k, v in received.headers if k.lower() in parsed.signed_names}
    assert sorted(k.lower() for k in signed) == sorted(parsed.signed_names)
    request = SdkRequest(
        method=received.method,
        schema="http",
        host=received.header("Host"),
        resource_path=received.path,
        query_params=query,
        header_params=signed,
        body=received.body,
    )
    Signer(SimpleNamespace(ak=parsed.access_key, sk=secret_key)).sign(request)
    return str(request.header_params["Authorization"])


def assert_signed_as_received(received: Received, *, expected_query: str) -> None:
    """The received signature is the one the official signer computes from the received request."""
    assert received.header("Authorization") == sdk_authorization_from_wire(received, SECRET_KEY)
    assert received.query == expected_query


# --------------------------------------------------------------------------------------------
# requests + RequestsSigner
# --------------------------------------------------------------------------------------------

AWKWARD_PARAMS = [
    ("name", "a b+c/d=e&f*g~h%i"),
    ("q", "名前 ü 😀"),
    ("id", "b"),
    ("id", "a"),
    ("empty", ""),
    ("limit", "10"),
]


def test_requests_get_with_awkward_params(recorder: _RecordingServer) -> None:
    url = f"{recorder.base_url}/v2/{PROJECT_ID}/migration-tasks"
    response = requests.get(
        url,
        params=AWKWARD_PARAMS,
        headers={"X-Project-Id": PROJECT_ID},
        auth=RequestsSigner(CREDS),
        timeout=10,
    )
    assert response.status_code == 200
    received = recorder.last()
    assert received.path == f"/v2/{PROJECT_ID}/migration-tasks"
    assert_signed_as_received(received, expected_query=canonical_query_string(AWKWARD_PARAMS))
    # requests' own encoding (space as '+', '/' raw) was replaced by the canonical one.
    assert "a%20b%2Bc%2Fd%3De%26f%2Ag~h%25i" in received.query
    parsed = parse_authorization(received.header("Authorization") or "")
    assert parsed is not None
    assert {"host", "x-project-id", "x-sdk-date", "user-agent"} <= set(parsed.signed_names)
    assert received.header("Host") == recorder.base_url.removeprefix("http://")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_requests_json_body(recorder: _RecordingServer, method: str) -> None:
    body = {"task_id_list": ["t-1", "t-2"], "name": "迁移 task", "flag": True}
    url = f"{recorder.base_url}/v2/{PROJECT_ID}/migration-task/batch-delete"
    response = requests.request(method, url, json=body, auth=RequestsSigner(TOKEN_CREDS), timeout=10)
    assert response.status_code == 200
    received = recorder.last()
    assert json.loads(received.body) == body
    assert received.header("X-Security-Token") == TOKEN
    parsed = parse_authorization(received.header("Authorization") or "")
    assert parsed is not None
    assert "x-security-token" in parsed.signed_names
    assert_signed_as_received(received, expected_query="")


def test_requests_raw_utf8_body_and_empty_object(recorder: _RecordingServer) -> None:
    for body in ('{"name": "迁移"}'.encode(), b"{}"):
        requests.post(
            f"{recorder.base_url}/v2/p/tasks/",
            data=body,
            headers={"Content-Type": "application/json;charset=UTF-8"},
            auth=RequestsSigner(CREDS),
            timeout=10,
        )
        received = recorder.last()
        assert received.body == body
        assert received.path == "/v2/p/tasks/"
        assert_signed_as_received(received, expected_query="")


def test_requests_non_json_body_is_unsigned_payload(recorder: _RecordingServer) -> None:
    requests.put(
        f"{recorder.base_url}/v2/p/upload",
        data=b"\x00\xffraw bytes",
        headers={"Content-Type": "application/octet-stream"},
        auth=RequestsSigner(CREDS),
        timeout=10,
    )
    received = recorder.last()
    assert received.header("X-Sdk-Content-Sha256") == "UNSIGNED-PAYLOAD"
    assert_signed_as_received(received, expected_query="")


def test_requests_encoded_path_segments(recorder: _RecordingServer) -> None:
    requests.get(
        f"{recorder.base_url}/v2/a%2Fb/caf%C3%A9/sp%20ace/",
        params={"k": "v"},
        auth=RequestsSigner(CREDS),
        timeout=10,
    )
    received = recorder.last()
    assert received.path == "/v2/a%2Fb/caf%C3%A9/sp%20ace/"
    assert_signed_as_received(received, expected_query="k=v")


def test_requests_query_already_in_the_url(recorder: _RecordingServer) -> None:
    requests.get(
        f"{recorder.base_url}/v2/p/tasks?offset=0&name=a+b",
        params={"limit": "5", "status": ""},
        auth=RequestsSigner(CREDS),
        timeout=10,
    )
    received = recorder.last()
    expected = canonical_query_string([("offset", "0"), ("name", "a b"), ("limit", "5"), ("status", "")])
    assert_signed_as_received(received, expected_query=expected)


def test_requests_non_ascii_signed_header_goes_out_as_utf8(recorder: _RecordingServer) -> None:
    """A signed header value is signed as UTF-8, so it must be sent as UTF-8 (http.client would
    send a ``str`` as latin-1, or fail outside latin-1)."""
    for agent in ("airflow-ü", "airflow-迁移"):
        requests.get(
            f"{recorder.base_url}/v2/p/tasks",
            headers={"User-Agent": agent},
            auth=RequestsSigner(CREDS),
            timeout=10,
        )
        received = recorder.last()
        assert received.header("User-Agent") == agent
        assert_signed_as_received(received, expected_query="")


def test_requests_retry_is_signed_again(recorder: _RecordingServer) -> None:
    """Each attempt carries a fresh ``X-Sdk-Date`` and a signature matching it."""
    dates = iter(["20240102T030405Z", "20240102T030410Z"])
    signer = RequestsSigner(CREDS, clock=lambda: next(dates))
    with requests.Session() as session:
        for _ in range(2):
            session.get(f"{recorder.base_url}/v2/p/tasks", params={"k": "v"}, auth=signer, timeout=10)
    first, second = recorder.received
    recorder.received.clear()
    assert first.header("X-Sdk-Date") == "20240102T030405Z"
    assert second.header("X-Sdk-Date") == "20240102T030410Z"
    for received in (first, second):
        assert_signed_as_received(received, expected_query="k=v")


def test_requests_writes_booleans_its_own_way(recorder: _RecordingServer) -> None:
    """``requests`` turns ``params={"flag": True}`` into ``flag=True`` before the signer sees it.

    Still signed correctly (the signer signs what is sent), but an API expecting ``true`` should
    get the string ``"true"`` from the caller.
    """
    requests.get(f"{recorder.base_url}/v2/p", params={"flag": True}, auth=RequestsSigner(CREDS), timeout=10)
    received = recorder.last()
    assert_signed_as_received(received, expected_query="flag=True")


# --------------------------------------------------------------------------------------------
# aiohttp + prepare_signed
# --------------------------------------------------------------------------------------------

TYPED_QUERY: list[tuple[str, Any]] = [
    ("name", "a b+c/d=e&f*g~h%i"),
    ("q", "名前 ü 😀"),
    ("id", ["c", "a"]),
    ("id", "b"),
    ("flag", True),
    ("off", False),
    ("limit", 10),
    ("offset", 0),
    ("empty", ""),
    ("dropped", None),
]


async def _send(prepared: Any) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            prepared.method,
            yarl.URL(prepared.url, encoded=True),
            headers=prepared.headers,
            data=prepared.body,
        ) as response,
    ):
        assert response.status == 200
        await response.read()


@pytest.mark.asyncio
async def test_aiohttp_get_with_typed_query(recorder: _RecordingServer) -> None:
    prepared = prepare_signed(
        method="get",
        base_url=recorder.base_url,
        path=f"/v2/{PROJECT_ID}/migration-tasks/",
        query=TYPED_QUERY,
        headers={"X-Project-Id": PROJECT_ID, "User-Agent": "airflow-dcs/0.1 ü"},
        body=None,
        credentials=TOKEN_CREDS,
        sdk_date=DATE,
    )
    await _send(prepared)
    received = recorder.last()
    assert received.method == "GET"
    assert received.path == f"/v2/{PROJECT_ID}/migration-tasks/"
    assert received.header("X-Sdk-Date") == DATE
    assert received.header("User-Agent") == "airflow-dcs/0.1 ü"
    assert received.header("X-Security-Token") == TOKEN
    assert "flag=true" in received.query
    assert "off=false" in received.query
    assert "id=a&id=b&id=c" in received.query
    assert "dropped" not in received.query
    assert_signed_as_received(received, expected_query=canonical_query_string(TYPED_QUERY))


@pytest.mark.asyncio
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_aiohttp_json_body(recorder: _RecordingServer, method: str) -> None:
    body = json.dumps({"task_id_list": ["t-1"], "name": "迁移"}, ensure_ascii=False).encode()
    prepared = prepare_signed(
        method=method,
        base_url=recorder.base_url,
        path="/v2/p/migration-task/batch-delete",
        query=None,
        headers={"Content-Type": "application/json"},
        body=body,
        credentials=CREDS,
        sdk_date=DATE,
    )
    await _send(prepared)
    received = recorder.last()
    assert received.body == body
    assert_signed_as_received(received, expected_query="")


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [None, b"", b"{}"])
async def test_aiohttp_empty_and_empty_object_bodies(recorder: _RecordingServer, body: bytes | None) -> None:
    prepared = prepare_signed(
        method="DELETE",
        base_url=recorder.base_url,
        path="/v2/p/tasks/t-1",
        query={"force": True},
        headers={"Content-Type": "application/json"},
        body=body,
        credentials=CREDS,
        sdk_date=DATE,
    )
    await _send(prepared)
    received = recorder.last()
    assert received.body == (body or b"")
    assert_signed_as_received(received, expected_query="force=true")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("base_path", "path", "sent_path"),
    [
        ("", "/v2/项目/tasks", "/v2/%E9%A1%B9%E7%9B%AE/tasks"),
        ("", "/v2/a%2Fb/caf%C3%A9/", "/v2/a%2Fb/caf%C3%A9/"),
        ("", "/v2/with space/x", "/v2/with%20space/x"),
        ("/prefix/", "v2/tasks", "/prefix/v2/tasks"),
    ],
)
async def test_aiohttp_paths(recorder: _RecordingServer, base_path: str, path: str, sent_path: str) -> None:
    prepared = prepare_signed(
        method="GET",
        base_url=recorder.base_url + base_path,
        path=path,
        query=[("k", "v w")],
        headers={},
        body=None,
        credentials=CREDS,
        sdk_date=DATE,
    )
    await _send(prepared)
    received = recorder.last()
    assert received.path == sent_path
    assert_signed_as_received(received, expected_query="k=v%20w")


@pytest.mark.asyncio
@pytest.mark.xfail(
    strict=True,
    reason=(
        "SDK parity: ints under one key sort numerically (9 before 10), but a server only sees text "
        "and sorts '10' before '9'. Pass repeated numeric query values as strings."
    ),
)
async def test_aiohttp_repeated_int_values_sort_differently_from_text(recorder: _RecordingServer) -> None:
    query = [("n", 10), ("n", 9)]
    prepared = prepare_signed(
        method="GET",
        base_url=recorder.base_url,
        path="/v2/p",
        query=query,
        headers={},
        body=None,
        credentials=CREDS,
        sdk_date=DATE,
    )
    await _send(prepared)
    assert_signed_as_received(recorder.last(), expected_query=canonical_query_string(query))


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "tamper",
    ["query", "signed header", "body", "path"],
)
async def test_harness_detects_what_was_not_signed(recorder: _RecordingServer, tamper: str) -> None:
    """Control: changing any signed part after signing makes the server-side check fail."""
    prepared = prepare_signed(
        method="POST",
        base_url=recorder.base_url,
        path="/v2/p/tasks",
        query=[("k", "v")],
        headers={"Content-Type": "application/json", "X-Project-Id": PROJECT_ID},
        body=b'{"a": 1}',
        credentials=CREDS,
        sdk_date=DATE,
    )
    url, headers, body = prepared.url, dict(prepared.headers), prepared.body
    if tamper == "query":
        url = url.replace("k=v", "k=w")
    elif tamper == "signed header":
        headers["X-Project-Id"] = "f" * 32
    elif tamper == "body":
        body = b'{"a": 2}'
    else:
        url = url.replace("/tasks", "/tasks2")
    await _send(type(prepared)(method=prepared.method, url=url, headers=headers, body=body))
    received = recorder.last()
    assert received.header("Authorization") != sdk_authorization_from_wire(received, SECRET_KEY)


def test_parse_qsl_round_trip_of_the_canonical_query() -> None:
    """The server's parsing above is the inverse of our encoding (a sanity check of the harness)."""
    text = canonical_query_string(AWKWARD_PARAMS)
    assert sorted(parse_qsl(text, keep_blank_values=True)) == sorted(AWKWARD_PARAMS)
