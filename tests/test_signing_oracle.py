"""Our signer against the official ``huaweicloudsdkcore`` signer, on generated requests.

A hypothesis strategy builds whole requests around every trap listed in the reference
(``dcs-api.md`` section 7): unicode and reserved characters in paths, query keys and values,
percent-encoded path segments (``%2F`` included), trailing slashes, repeated keys, empty values,
booleans, ints, list values, ``None`` values, ``None`` / ``b""`` / ``b"{}"`` / JSON bodies, DELETE
with a body, JSON and non-JSON content types (``UNSIGNED-PAYLOAD``), padded header values, headers
with and without ``_``, a security token, hosts with and without a port and a pinned
``X-Sdk-Date``. Each request is signed by both signers; the ``Authorization`` header, every header
sent and the query string sent must be identical.

Every trap generated is counted; ``test_every_trap_was_exercised`` (which must run after the
property test, as it does in file order) proves the run covered them and prints the tally in the
terminal summary.

Only ``huaweicloudsdkcore.signer.signer`` and ``huaweicloudsdkcore.sdk_request`` are imported:
``huaweicloudsdkcore.auth.*`` writes ``~/.huaweicloud/application_id`` when imported, which
``test_oracle_does_not_write_to_home`` checks in a subprocess with a throw-away ``HOME``.

Known, deliberate differences from the SDK (pinned by the ``test_divergence_*`` tests) are kept
out of the generator: booleans inside list values, a ``content-type`` header not spelled
``Content-Type``, and tuple query values. A key given more than once with list values is fed to
the SDK expanded, as its client layer would; see
``test_sdk_signs_one_query_and_sends_another_for_a_repeated_list_key`` for why.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest

# Only these two SDK modules (see the module docstring).
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from huaweicloud_dcs_provider.api.signing import (
    Credentials,
    SignedRequest,
    canonical_query_string,
    encode_component,
    parse_authorization,
    sign,
)

MAX_EXAMPLES = 400
MIN_COMPARED = 300
MIN_PER_TRAP = 10

TRAPS: Counter[str] = Counter()
STATS: Counter[str] = Counter()

RESERVED = " +/=&*~%?#:@!$'(),;[]"
INTERESTING_UNICODE = "éüßÆΩж名値中文😀🚀\u0301\u00a0\u3000"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

# Strategies are built once, at import: building them inside the composite strategies is slow.
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
non_ascii_char = st.one_of(
    st.sampled_from(INTERESTING_UNICODE),
    st.characters(min_codepoint=0x80, exclude_categories=("Cs", "Cc", "Co", "Cn")),
)
ascii_word = st.text(st.sampled_from(ALNUM + "_.-"), min_size=1, max_size=10)
unicode_text = st.text(st.one_of(non_ascii_char, st.sampled_from("abcXYZ09")), min_size=1, max_size=8)
reserved_text = st.text(st.sampled_from(RESERVED + "ab"), min_size=1, max_size=6)
# Anything a Python str can hold in a query (control characters too): all of it is percent-encoded.
wild_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8)
header_text = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20)
padded_header_text = st.builds(
    lambda before, text, after: before + text + after,
    st.sampled_from(["", " ", "  ", "\t", " \t "]),
    header_text,
    st.sampled_from(["", " ", "\t", "  \t"]),
)

path_segments = st.one_of(
    st.sampled_from(["v2", "migration-tasks", "stats", "instance", "0a1b2c3d"]),
    ascii_word,
    unicode_text,
    reserved_text.map(lambda s: s.replace("/", "")).filter(bool),
    # Percent-encoded segments, upper- and lower-case hex.
    (unicode_text | reserved_text).map(lambda s: quote(s, safe="")),
    (unicode_text | reserved_text).map(lambda s: quote(s, safe="").lower()),
    # An encoded slash inside a segment.
    st.builds(lambda a, slash, b: a + slash + b, ascii_word, st.sampled_from(["%2F", "%2f"]), unicode_text),
    st.just(""),
)
paths = st.builds(
    lambda segments, trailing: "/" + "/".join(segments) + ("/" if segments and trailing else ""),
    st.lists(path_segments, max_size=4),
    st.booleans(),
)

query_text = st.one_of(st.just(""), ascii_word, unicode_text, reserved_text, wild_text)
query_ints = st.integers(min_value=-20, max_value=200)
# One kind of value per key: the SDK cannot sort mixed types under one key.
QUERY_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "str": query_text,
    "int": query_ints,
    "bool": st.booleans(),
    "float": st.floats(allow_nan=False, allow_infinity=False, width=32),
    "list-str": st.lists(query_text, max_size=4),
    "list-int": st.lists(query_ints, max_size=4),
}
QUERY_VALUES_OR_NONE = {kind: st.none() | values for kind, values in QUERY_VALUES.items()}
VALUE_KINDS = st.sampled_from(["str", "str", "int", "bool", "float", "list-str", "list-int"])
query_keys = st.one_of(
    st.sampled_from(["limit", "offset", "name", "status", "id", "task_id"]),
    unicode_text,
    reserved_text,
    wild_text,
)


@st.composite
def queries(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """``(key, value)`` pairs in random order; keys may repeat, values may be ``None``."""
    pairs: list[tuple[str, Any]] = []
    for key in draw(st.lists(query_keys, max_size=5, unique=True)):
        kind = draw(VALUE_KINDS)
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            values = QUERY_VALUES_OR_NONE[kind] if draw(st.integers(0, 9)) == 0 else QUERY_VALUES[kind]
            pairs.append((key, draw(values)))
    return list(draw(st.permutations(pairs)))


json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    unicode_text,
    reserved_text,
    st.lists(unicode_text | ascii_word, max_size=3),
)
json_bodies = st.builds(
    lambda obj, ascii_only, seps: json.dumps(obj, ensure_ascii=ascii_only, separators=seps).encode(),
    st.dictionaries(ascii_word | unicode_text, json_values, min_size=1, max_size=4),
    st.sampled_from([False, False, True]),  # ensure_ascii: raw UTF-8 bytes more often than not
    st.sampled_from([None, (",", ":")]),
)
bodies = st.one_of(
    st.none(),
    st.just(b""),
    st.just(b"{}"),
    json_bodies,
    json_bodies,
    st.binary(min_size=1, max_size=32),
)

CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        " application/json;charset=UTF-8",
        "application/bson",
        "text/plain",
        " application/octet-stream",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
    ]
)
user_agents = st.sampled_from(["huaweicloud-usdk-python/3.0", "airflow-provider-huaweicloud-dcs/0.1.0"])
project_id_names = st.sampled_from(["X-Project-Id", "x-project-id", "X-PROJECT-ID"])
project_ids = st.text(st.sampled_from("0123456789abcdef"), min_size=32, max_size=32)
custom_header_names = st.lists(
    st.sampled_from(["X-Custom", "X-Request-Id", "x-lower-case", "X_Trace_Id", "x_under_score", "Accept"]),
    max_size=3,
    unique=True,
)
hosts = st.sampled_from(
    [
        "dcs.cn-north-4.myhuaweicloud.com",
        "dcs.ap-southeast-1.myhuaweicloud.com:443",
        "127.0.0.1:8443",
        "localhost:18080",
        "[::1]:9443",
        "dcs.example.com",
    ]
)
sdk_dates = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda moment: moment.strftime(DATE_FORMAT)
)
access_keys = st.text(st.sampled_from(ALNUM[:26] + ALNUM[52:]), min_size=8, max_size=24)
secret_keys = st.text(st.sampled_from(ALNUM + "+/=") | non_ascii_char, min_size=1, max_size=40)
tokens = st.none() | st.text(st.sampled_from(ALNUM + "+/="), min_size=16, max_size=64)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "delete", "get"])


@dataclass
class GeneratedRequest:
    """A request as the SDK's client layer would hand it to the signer, plus credentials."""

    method: str
    host: str
    path: str
    query: list[tuple[str, Any]]
    query_as_mapping: bool
    headers: dict[str, str]
    body: bytes | None
    access_key: str
    secret_key: str
    token: str | None
    sdk_date: str
    date_header: str | None  # the name under which the date is given as a header, if any
    other_date: str  # what ``sign(sdk_date=...)`` gets when the date header must win


@st.composite
def http_requests(draw: st.DrawFn) -> GeneratedRequest:
    """A whole request; header names never clash case-insensitively (a client would merge them)."""
    method = draw(methods)
    host = draw(hosts)
    headers: dict[str, str] = {}
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        # Always spelled "Content-Type": see test_divergence_content_type_header_case.
        headers["Content-Type"] = content_type
    if draw(st.booleans()):
        headers["User-Agent"] = draw(user_agents | padded_header_text)
    if draw(st.booleans()):
        headers[draw(project_id_names)] = draw(project_ids)
    for name in draw(custom_header_names):
        headers[name] = draw(padded_header_text)
    if draw(st.integers(0, 9)) == 0:
        headers[draw(st.sampled_from(["Host", "host"]))] = host
    query = draw(queries())
    repeated = len({key for key, _ in query}) != len(query)
    return GeneratedRequest(
        method=method,
        host=host,
        path=draw(paths),
        query=query,
        query_as_mapping=not repeated and draw(st.booleans()),
        headers=headers,
        # Batch delete is a DELETE with a JSON body: make it common.
        body=draw(json_bodies if method.upper() == "DELETE" and draw(st.booleans()) else bodies),
        access_key=draw(access_keys),
        secret_key=draw(secret_keys),
        token=draw(tokens),
        sdk_date=draw(sdk_dates),
        date_header=draw(st.sampled_from([None, None, "X-Sdk-Date", "x-sdk-date"])),
        other_date="20000101T000000Z",
    )


# --------------------------------------------------------------------------------------------
# The two signers
# --------------------------------------------------------------------------------------------


def sdk_sign(req: GeneratedRequest) -> SdkRequest:
    """Sign with the official SDK, emulating what its client and credentials layers do first."""
    headers = dict(req.headers)
    if req.token:
        headers["X-Security-Token"] = req.token  # BasicCredentials.sign_request adds it
    headers[req.date_header or "X-Sdk-Date"] = req.sdk_date  # the only way to pin the SDK's clock
    request = SdkRequest(
        method=req.method,
        schema="https",
        host=req.host,
        resource_path=req.path,
        query_params=_sdk_query(req.query),
        header_params=headers,
        body=req.body,
    )
    return Signer(SimpleNamespace(ak=req.access_key, sk=req.secret_key)).sign(request)


def _sdk_query(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The query as the SDK's client layer hands it to the signer.

    ``None`` values are dropped. A key that occurs more than once never carries a list there (one
    parameter, one key; a "multi" list is already expanded into repeated pairs), so such lists are
    expanded; other lists are copied, as the SDK sorts them in place.
    """
    keys = [key for key, _ in pairs]
    query: list[tuple[str, Any]] = []
    for key, value in pairs:
        if value is None:
            continue
        if isinstance(value, list):
            if keys.count(key) > 1:
                query.extend((key, item) for item in value)
            else:
                query.append((key, list(value)))
        else:
            query.append((key, value))
    return query


def our_sign(req: GeneratedRequest) -> SignedRequest:
    """Sign with ``huaweicloud_dcs_provider.api.signing.sign``."""
    headers = dict(req.headers)
    if req.date_header:
        headers[req.date_header] = req.sdk_date
    query: Any = dict(req.query) if req.query_as_mapping else list(req.query)
    return sign(
        method=req.method,
        host=req.host,
        path=req.path,
        query=query,
        headers=headers,
        body=req.body,
        credentials=Credentials(req.access_key, req.secret_key, security_token=req.token),
        sdk_date=req.other_date if req.date_header else req.sdk_date,
    )


def sdk_sent_headers(request: SdkRequest) -> dict[str, str]:
    """The SDK stores header values as UTF-8 bytes seen as latin-1 (for http.client): undo that."""
    return {k: v.encode("latin-1").decode("utf-8") for k, v in request.header_params.items()}


# --------------------------------------------------------------------------------------------
# Trap classification
# --------------------------------------------------------------------------------------------


def _has_non_ascii(text: str) -> bool:
    return any(ord(c) > 127 for c in text)


def _has_reserved(text: str) -> bool:
    return any(c in RESERVED for c in text)


def classify(req: GeneratedRequest) -> set[str]:
    """The names of the traps this request contains."""
    traps: set[str] = {f"method {req.method.upper()}"}
    path = req.path
    if _has_non_ascii(path) or re.search(r"%[89A-Fa-f][0-9A-Fa-f]", path):
        traps.add("path: unicode")
    if _has_reserved(path.replace("/", "")):
        traps.add("path: reserved characters")
    if re.search(r"%[0-9A-Fa-f]{2}", path):
        traps.add("path: percent-encoded segment")
    if "%2f" in path.lower():
        traps.add("path: encoded slash %2F")
    if "//" in path:
        traps.add("path: empty segment")
    traps.add("path: trailing slash" if path.endswith("/") and path != "/" else "path: no trailing slash")

    pairs = req.query
    if not pairs:
        traps.add("query: none")
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        traps.add("query: repeated key")
        if any(isinstance(v, list) and keys.count(k) > 1 for k, v in pairs):
            traps.add("query: repeated key with list values")
    if req.query_as_mapping:
        traps.add("query: given as a mapping")
    if any(_has_non_ascii(k) for k in keys):
        traps.add("query: unicode key")
    if any(_has_reserved(k) for k in keys):
        traps.add("query: reserved characters in key")
    unique_keys = sorted(set(keys))
    if unique_keys != sorted(unique_keys, key=encode_component):
        traps.add("query: raw order differs from encoded order")
    ints_by_key: dict[str, list[int]] = {}
    for key, value in pairs:
        scalars = value if isinstance(value, list) else [value]
        if value is None:
            traps.add("query: None value (dropped)")
        elif isinstance(value, list):
            traps.add("query: list value" if value else "query: empty list value")
        for item in scalars:
            if isinstance(item, bool):
                traps.add("query: boolean")
            elif isinstance(item, int):
                traps.add("query: int")
                ints_by_key.setdefault(key, []).append(item)
            elif isinstance(item, float):
                traps.add("query: float")
            elif isinstance(item, str):
                if item == "":
                    traps.add("query: empty value")
                if _has_non_ascii(item):
                    traps.add("query: unicode value")
                if _has_reserved(item):
                    traps.add("query: reserved characters in value")
    if any(sorted(v) != sorted(v, key=str) for v in ints_by_key.values()):
        traps.add("query: ints sort numerically, not as text")

    body = req.body
    if body is None:
        traps.add("body: None")
    elif body == b"":
        traps.add("body: empty bytes")
    elif body == b"{}":
        traps.add("body: {}")
    elif body.startswith(b"{"):
        traps.add("body: JSON")
        if any(b > 127 for b in body):
            traps.add("body: JSON with raw UTF-8")
        if req.method.upper() == "DELETE":
            traps.add("body: DELETE with JSON body")

    lowered = {k.lower(): v for k, v in req.headers.items()}
    content_type = lowered.get("content-type")
    if content_type is None:
        traps.add("header: no Content-Type")
    elif content_type.strip().startswith(("application/json", "application/bson")):
        traps.add("header: JSON/BSON Content-Type")
    elif body:
        traps.add("header: non-JSON Content-Type -> UNSIGNED-PAYLOAD")
    else:
        traps.add("header: non-JSON Content-Type, empty body")
    if "user-agent" in lowered:
        traps.add("header: User-Agent")
    if "x-project-id" in lowered:
        traps.add("header: X-Project-Id")
    if any("_" in k for k in req.headers):
        traps.add("header: name with _ (sent, unsigned)")
    if any(k.lower() in ("x-custom", "x-request-id", "x-lower-case", "accept") for k in req.headers):
        traps.add("header: custom signed header")
    if any(v != v.strip() for v in req.headers.values()):
        traps.add("header: value with surrounding whitespace")
    if any(_has_non_ascii(v) for v in req.headers.values()):
        traps.add("header: non-ASCII value")
    if "host" in lowered:
        traps.add("header: explicit Host")
    if req.date_header:
        traps.add("header: X-Sdk-Date given as a header")
    traps.add("security token" if req.token else "no security token")
    traps.add("host with port" if re.search(r":\d+$", req.host) else "host without port")
    if _has_non_ascii(req.secret_key):
        traps.add("non-ASCII secret key")
    return traps


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(http_requests())
def test_authorization_matches_the_official_signer(req: GeneratedRequest) -> None:
    """Our ``Authorization``, headers and query string are byte-identical to the SDK's."""
    traps = classify(req)
    for trap in traps:
        event(trap)
    STATS["compared"] += 1

    expected = sdk_sign(req)
    ours = our_sign(req)

    assert ours.headers["Authorization"] == expected.header_params["Authorization"]
    assert ours.headers == sdk_sent_headers(expected)
    sent_uri = req.path + (f"?{ours.query_string}" if ours.query_string else "")
    assert sent_uri == expected.uri
    assert ours.query_string == canonical_query_string(req.query)
    parsed = parse_authorization(ours.headers["Authorization"])
    assert parsed is not None
    assert parsed.access_key == req.access_key
    assert parsed.signed_names == ours.signed_names

    STATS["agreed"] += 1
    TRAPS.update(traps)


def test_every_trap_was_exercised(pytestconfig: pytest.Config) -> None:
    """Runs after the property test (file order): proves coverage and reports the tally."""
    if not STATS["compared"]:
        pytest.skip("the property test did not run in this session")
    expected_traps = {
        "path: unicode",
        "path: reserved characters",
        "path: percent-encoded segment",
        "path: encoded slash %2F",
        "path: trailing slash",
        "path: no trailing slash",
        "query: repeated key",
        "query: repeated key with list values",
        "query: unicode key",
        "query: unicode value",
        "query: reserved characters in key",
        "query: reserved characters in value",
        "query: empty value",
        "query: boolean",
        "query: int",
        "query: ints sort numerically, not as text",
        "query: list value",
        "query: empty list value",
        "query: None value (dropped)",
        "query: raw order differs from encoded order",
        "body: None",
        "body: empty bytes",
        "body: {}",
        "body: JSON with raw UTF-8",
        "body: DELETE with JSON body",
        "header: JSON/BSON Content-Type",
        "header: non-JSON Content-Type -> UNSIGNED-PAYLOAD",
        "header: User-Agent",
        "header: X-Project-Id",
        "header: name with _ (sent, unsigned)",
        "header: custom signed header",
        "header: value with surrounding whitespace",
        "header: non-ASCII value",
        "header: X-Sdk-Date given as a header",
        "security token",
        "host with port",
        "host without port",
        "method DELETE",
    }
    lines = [
        f"{STATS['agreed']}/{STATS['compared']} generated requests: Authorization, headers and query "
        f"string identical to huaweicloudsdkcore {version('huaweicloudsdkcore')}",
        *(f"{TRAPS[name]:5d}  {name}" for name in sorted(TRAPS)),
    ]
    print("\n".join(lines))
    _report_in_terminal_summary(pytestconfig, lines)

    assert STATS["agreed"] == STATS["compared"] >= MIN_COMPARED
    rare = {name: TRAPS[name] for name in expected_traps if TRAPS[name] < MIN_PER_TRAP}
    assert not rare, f"traps generated fewer than {MIN_PER_TRAP} times: {rare}"


class _OracleSummary:
    """A plugin registered at run time that prints the oracle tally in pytest's summary."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("-", "SDK signer oracle")
        for line in self.lines:
            terminalreporter.write_line(line)


def _report_in_terminal_summary(config: pytest.Config, lines: list[str]) -> None:
    name = "huaweicloud-dcs-signing-oracle-summary"
    if not config.pluginmanager.has_plugin(name):
        config.pluginmanager.register(_OracleSummary(lines), name=name)


def fixed_request(**overrides: Any) -> GeneratedRequest:
    """A small hand-written request; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "method": "POST",
        "host": "dcs.example.com",
        "path": "/v2/p",
        "query": [],
        "query_as_mapping": False,
        "headers": {},
        "body": None,
        "access_key": "AK",
        "secret_key": "SK",
        "token": None,
        "sdk_date": "20240102T030405Z",
        "date_header": None,
        "other_date": "20240102T030405Z",
    }
    fields.update(overrides)
    return GeneratedRequest(**fields)


def test_divergence_bool_inside_a_list() -> None:
    """Deliberate: booleans inside lists are written ``true``/``false``; the SDK writes ``True``.

    Both sides send the query string they signed, so both are valid; ours is what the API expects.
    """
    req = fixed_request(query=[("flags", [True, False])])
    assert our_sign(req).query_string == "flags=false&flags=true"
    assert sdk_sign(req).uri == "/v2/p?flags=False&flags=True"


def test_divergence_content_type_header_case() -> None:
    """Deliberate: header names are case-insensitive here. The SDK looks up ``Content-Type``
    case-sensitively, so for ``content-type: text/plain`` it hashes the body while we send and sign
    ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` (a server following the algorithm accepts both)."""
    req = fixed_request(headers={"content-type": "text/plain"}, body=b"data")
    ours = our_sign(req)
    assert ours.headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    assert "x-sdk-content-sha256" in ours.signed_names
    assert "X-Sdk-Content-Sha256" not in sdk_sign(req).header_params


def test_divergence_tuple_query_values_expand_like_lists() -> None:
    """Deliberate: a tuple value expands like a list; the SDK would send ``str(tuple)``."""
    assert canonical_query_string([("id", ("b", "a"))]) == canonical_query_string([("id", ["a", "b"])])


def test_sdk_signs_one_query_and_sends_another_for_a_repeated_list_key() -> None:
    """Why ``canonical_query_string`` expands lists before sorting.

    The SDK sorts the unexpanded pairs (``[1] < [1, 0]``), signs ``k=1&k=0&k=1``, sorts the lists in
    place while doing so, and then rebuilds the URI from the now sorted lists: ``k=0&k=1&k=1``. A
    server sorting the pairs it receives gets the fully sorted string, which is what we sign and send.
    """
    request = SdkRequest(query_params=[("k", [1]), ("k", [1, 0])])
    assert Signer.process_canonical_query_string(request) == "k=1&k=0&k=1"  # signed
    assert Signer.process_canonical_query_string(request) == "k=0&k=1&k=1"  # sent
    assert canonical_query_string([("k", [1]), ("k", [1, 0])]) == "k=0&k=1&k=1"
    assert canonical_query_string([("k", 1), ("k", 1), ("k", 0)]) == "k=0&k=1&k=1"


_CHILD = textwrap.dedent(
    """
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("signing_oracle_child", sys.argv[1])
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if sys.argv[2] == "control":
        import huaweicloudsdkcore.auth.credentials  # the import that is known to write to HOME
    req = module.fixed_request(query=[("k", ["v", "w"])], body=b"{}", token="t")
    ours, sdk = module.our_sign(req), module.sdk_sign(req)
    assert ours.headers["Authorization"] == sdk.header_params["Authorization"]
    print(sorted(m for m in sys.modules if m.startswith("huaweicloudsdkcore.auth")))
    """
)


def _run_child(tmp_path: Path, mode: str) -> tuple[Path, str]:
    home = tmp_path / f"home-{mode}"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    env.pop("USERPROFILE", None)
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, __file__, mode],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return home, result.stdout.strip()


def test_oracle_does_not_write_to_home(tmp_path: Path) -> None:
    """Importing this module and signing with the SDK leaves ``HOME`` untouched."""
    home, auth_modules = _run_child(tmp_path, "oracle")
    assert auth_modules == "[]"
    assert list(home.iterdir()) == []


def test_home_check_detects_the_sdk_side_effect(tmp_path: Path) -> None:
    """Control: the same check does see ``~/.huaweicloud`` once the credentials module is imported."""
    home, _ = _run_child(tmp_path, "control")
    assert (home / ".huaweicloud" / "application_id").is_file()
