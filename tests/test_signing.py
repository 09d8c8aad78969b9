"""Unit tests of the pure SDK-HMAC-SHA256 functions in ``huaweicloud_dcs_provider.api.signing``.

Every expectation here is written out by hand from the algorithm in the reference
(``dcs-api.md`` section 7), not computed with the module under test. The comparison with the
official SDK signer lives in ``test_signing_oracle.py``; the wire-level proof in
``test_signing_wire.py``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest

from huaweicloud_dcs_provider.api.signing import (
    CONTENT_SHA256_HEADER,
    EMPTY_BODY_SHA256,
    Credentials,
    ParsedAuthorization,
    RequestsSigner,
    authorization_header,
    canonical_headers,
    canonical_query_string,
    canonical_request,
    canonical_uri,
    encode_component,
    format_sdk_date,
    hashed_payload,
    parse_authorization,
    sign,
    signed_header_names,
    string_to_sign,
)

DATE = "20240102T030405Z"
AK = "AKTESTACCESSKEY"
SK = "sk-secret-value"
TOKEN = "tmp-token-abc=="
CREDS = Credentials(AK, SK)
EMPTY_JSON_OBJECT_SHA256 = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def _sign(**overrides: object):
    """``sign`` with harmless defaults, so each test only spells out what it is about."""
    kwargs: dict[str, object] = {
        "method": "GET",
        "host": "dcs.example.com",
        "path": "/v2/p/tasks",
        "query": None,
        "headers": {},
        "body": None,
        "credentials": CREDS,
        "sdk_date": DATE,
    }
    kwargs.update(overrides)
    return sign(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# CanonicalURI
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "/"),
        ("/a/b", "/a/b/"),
        ("/a/b/", "/a/b/"),
        ("/a//b", "/a//b/"),
        # An encoded slash is decoded first, so it becomes a real separator.
        ("/a%2Fb", "/a/b/"),
        ("/a%2fb", "/a/b/"),
        # Space, plus and the other reserved characters are encoded; '~' is kept.
        ("/a b", "/a%20b/"),
        ("/a%20b", "/a%20b/"),
        ("/a+b", "/a%2Bb/"),
        ("/~user", "/~user/"),
        ("/a*b", "/a%2Ab/"),
        ("/k=v&x", "/k%3Dv%26x/"),
        ("/a:b@c", "/a%3Ab%40c/"),
        # Unicode is UTF-8 encoded with upper-case hex, whether it arrives raw or encoded.
        ("/café", "/caf%C3%A9/"),
        ("/caf%C3%A9", "/caf%C3%A9/"),
        ("/caf%c3%a9", "/caf%C3%A9/"),
        # An encoded unreserved character is decoded; a stray '%' is encoded.
        ("/%41", "/A/"),
        ("/100%", "/100%25/"),
    ],
)
def test_canonical_uri(path: str, expected: str) -> None:
    assert canonical_uri(path) == expected


def test_trailing_slash_does_not_change_the_canonical_uri() -> None:
    assert canonical_uri("/a/b") == canonical_uri("/a/b/") == "/a/b/"


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("AZaz09-_.~", "AZaz09-_.~"),
        (" ", "%20"),
        ("+", "%2B"),
        ("/", "%2F"),
        ("=", "%3D"),
        ("&", "%26"),
        ("*", "%2A"),
        ("%", "%25"),
        ("é", "%C3%A9"),
        ("😀", "%F0%9F%98%80"),
    ],
)
def test_encode_component(raw: str, encoded: str) -> None:
    assert encode_component(raw) == encoded


# --------------------------------------------------------------------------------------------
# CanonicalQueryString
# --------------------------------------------------------------------------------------------


def test_no_query_is_empty() -> None:
    assert canonical_query_string(None) == ""
    assert canonical_query_string([]) == ""
    assert canonical_query_string({}) == ""


def test_empty_value_keeps_the_equals_sign() -> None:
    assert canonical_query_string([("k", "")]) == "k="


def test_booleans_are_lower_case() -> None:
    assert canonical_query_string([("a", True), ("b", False)]) == "a=true&b=false"


def test_reserved_characters_in_keys_and_values() -> None:
    query = [("a b", "x y"), ("p+q", "1+1=2"), ("s/t", "/path/"), ("amp&", "a&b*c~d")]
    assert canonical_query_string(query) == (
        "a%20b=x%20y&amp%26=a%26b%2Ac~d&p%2Bq=1%2B1%3D2&s%2Ft=%2Fpath%2F"
    )


def test_unicode_keys_and_values() -> None:
    assert canonical_query_string([("名", "値")]) == "%E5%90%8D=%E5%80%A4"


def test_pairs_sorted_by_raw_key_then_raw_value() -> None:
    assert canonical_query_string([("b", "1"), ("a", "z"), ("a", "y")]) == "a=y&a=z&b=1"


def test_sort_is_on_raw_not_encoded_text() -> None:
    """'~' (0x7E) sorts before 'é' raw, but '%C3%A9' would sort before '~' once encoded."""
    assert canonical_query_string([("é", "1"), ("~", "2")]) == "~=2&%C3%A9=1"


def test_int_values_sort_numerically_like_the_sdk() -> None:
    """The SDK sorts raw values, so 9 comes before 10 (a string sort would put '10' first)."""
    assert canonical_query_string([("n", 10), ("n", 9)]) == "n=9&n=10"
    assert canonical_query_string([("n", "10"), ("n", "9")]) == "n=10&n=9"


def test_repeated_keys_and_list_values_are_equivalent() -> None:
    expected = "id=a&id=b&id=c"
    assert canonical_query_string([("id", "c"), ("id", "a"), ("id", "b")]) == expected
    assert canonical_query_string([("id", ["c", "a", "b"])]) == expected
    assert canonical_query_string({"id": ["b", "c", "a"]}) == expected


def test_empty_list_emits_nothing() -> None:
    assert canonical_query_string([("id", []), ("k", "v")]) == "k=v"


def test_none_values_are_dropped() -> None:
    assert canonical_query_string({"a": None, "b": "1"}) == "b=1"


def test_mapping_and_pairs_agree() -> None:
    mapping = {"limit": 10, "offset": 0, "name": "a b", "flag": False}
    assert canonical_query_string(mapping) == canonical_query_string(list(mapping.items()))
    assert canonical_query_string(mapping) == "flag=false&limit=10&name=a%20b&offset=0"


# --------------------------------------------------------------------------------------------
# Headers and payload
# --------------------------------------------------------------------------------------------


def test_signed_header_names_lower_case_sorted_without_underscores() -> None:
    headers = {"X-Project-Id": "p", "Content-Type": "application/json", "X_Custom": "u", "a-b": "1"}
    assert signed_header_names(headers) == ["a-b", "content-type", "x-project-id"]


def test_canonical_headers_strip_only_the_ends() -> None:
    headers = {"User-Agent": "  my  agent \t", "Host": "h:1"}
    names = signed_header_names(headers)
    assert canonical_headers(headers, names) == "host:h:1\nuser-agent:my  agent\n"


def test_empty_body_hash_is_sha256_of_nothing() -> None:
    assert hashlib.sha256(b"").hexdigest() == EMPTY_BODY_SHA256
    assert hashed_payload(None, {}) == EMPTY_BODY_SHA256
    assert hashed_payload(b"", {}) == EMPTY_BODY_SHA256


def test_empty_json_object_is_not_an_empty_body() -> None:
    assert hashed_payload(b"{}", {}) == EMPTY_JSON_OBJECT_SHA256 != EMPTY_BODY_SHA256


def test_payload_hash_is_of_the_exact_bytes() -> None:
    compact = b'{"a":1}'
    spaced = b'{"a": 1}'
    assert hashed_payload(compact, {}) != hashed_payload(spaced, {})
    assert hashed_payload(spaced, {}) == hashlib.sha256(spaced).hexdigest()


def test_declared_content_sha256_wins_only_for_a_non_empty_body() -> None:
    headers = {"x-sdk-content-sha256": "UNSIGNED-PAYLOAD"}
    assert hashed_payload(b"data", headers) == "UNSIGNED-PAYLOAD"
    assert hashed_payload(b"", headers) == EMPTY_BODY_SHA256


# --------------------------------------------------------------------------------------------
# Whole requests
# --------------------------------------------------------------------------------------------


def test_known_answer_vector() -> None:
    """The canonical request and signature of one request, written out by hand."""
    headers = {"Content-Type": "application/json", "X-Project-Id": "proj", "X-Sdk-Date": DATE}
    headers["Host"] = "dcs.example.com:8443"
    query = [("offset", 0), ("name", "a b"), ("limit", 10)]
    expected_canonical = (
        "GET\n"
        "/v2/proj/migration-tasks/\n"
        "limit=10&name=a%20b&offset=0\n"
        "content-type:application/json\n"
        "host:dcs.example.com:8443\n"
        "x-project-id:proj\n"
        "x-sdk-date:20240102T030405Z\n"
        "\n"
        "content-type;host;x-project-id;x-sdk-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    canonical, names = canonical_request("get", "/v2/proj/migration-tasks", query, headers, None)
    assert canonical == expected_canonical
    assert names == ["content-type", "host", "x-project-id", "x-sdk-date"]

    expected_to_sign = (
        "SDK-HMAC-SHA256\n20240102T030405Z\n" + hashlib.sha256(expected_canonical.encode()).hexdigest()
    )
    assert string_to_sign(canonical, DATE) == expected_to_sign
    expected_sig = hmac.new(SK.encode(), expected_to_sign.encode(), hashlib.sha256).hexdigest()

    signed = _sign(
        host="dcs.example.com:8443",
        path="/v2/proj/migration-tasks",
        query=query,
        headers={"Content-Type": "application/json", "X-Project-Id": "proj"},
    )
    assert signed.headers["Authorization"] == (
        f"SDK-HMAC-SHA256 Access={AK}, "
        f"SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature={expected_sig}"
    )
    assert signed.headers["Host"] == "dcs.example.com:8443"
    assert signed.headers["X-Sdk-Date"] == DATE
    assert signed.query_string == "limit=10&name=a%20b&offset=0"


def test_trailing_slash_does_not_change_the_signature() -> None:
    assert _sign(path="/a/b").headers["Authorization"] == _sign(path="/a/b/").headers["Authorization"]


def test_security_token_is_added_and_signed() -> None:
    signed = _sign(credentials=Credentials(AK, SK, security_token=TOKEN))
    assert signed.headers["X-Security-Token"] == TOKEN
    assert "x-security-token" in signed.signed_names
    assert signed.headers["Authorization"] != _sign().headers["Authorization"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/octet-stream", "application/x-www-form-urlencoded"],
)
def test_non_json_content_type_is_unsigned_payload(content_type: str) -> None:
    signed = _sign(method="POST", headers={"Content-Type": content_type}, body=b"payload")
    assert signed.headers[CONTENT_SHA256_HEADER] == "UNSIGNED-PAYLOAD"
    assert "x-sdk-content-sha256" in signed.signed_names
    # The body no longer influences the signature.
    other = _sign(method="POST", headers={"Content-Type": content_type}, body=b"other")
    assert other.headers["Authorization"] == signed.headers["Authorization"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json;charset=UTF-8", "application/bson"]
)
def test_json_content_type_signs_the_body(content_type: str) -> None:
    signed = _sign(method="POST", headers={"Content-Type": content_type}, body=b"{}")
    assert CONTENT_SHA256_HEADER not in signed.headers
    other = _sign(method="POST", headers={"Content-Type": content_type}, body=b"{ }")
    assert other.headers["Authorization"] != signed.headers["Authorization"]


def test_delete_with_body_signs_the_body() -> None:
    headers = {"Content-Type": "application/json"}
    with_body = _sign(method="DELETE", headers=headers, body=b'{"task_id_list": ["1"]}')
    without = _sign(method="DELETE", headers=headers, body=None)
    assert with_body.headers["Authorization"] != without.headers["Authorization"]


def test_existing_sdk_date_header_wins_in_any_case() -> None:
    pinned = _sign(sdk_date=DATE)
    via_header = _sign(sdk_date="20991231T235959Z", headers={"x-sdk-date": DATE})
    assert via_header.headers["Authorization"] == pinned.headers["Authorization"]
    assert "X-Sdk-Date" not in via_header.headers


def test_whitespace_around_a_given_sdk_date_is_not_signed() -> None:
    """The date goes on the wire stripped, so the string to sign must use the stripped date too."""
    padded = _sign(headers={"X-Sdk-Date": f"  {DATE} "})
    assert padded.headers["X-Sdk-Date"] == DATE
    assert padded.headers["Authorization"] == _sign().headers["Authorization"]


def test_explicit_host_header_wins_over_the_host_argument() -> None:
    signed = _sign(host="ignored.example.com", headers={"host": "dcs.example.com:8443"})
    assert signed.headers["host"] == "dcs.example.com:8443"
    assert "Host" not in signed.headers
    assert signed.headers["Authorization"] == _sign(host="dcs.example.com:8443").headers["Authorization"]


def test_host_port_is_signed() -> None:
    with_port = _sign(host="127.0.0.1:8443")
    assert with_port.headers["Host"] == "127.0.0.1:8443"
    assert with_port.headers["Authorization"] != _sign(host="127.0.0.1").headers["Authorization"]


def test_underscore_headers_are_sent_but_not_signed() -> None:
    signed = _sign(headers={"X_Trace_Id": "abc", "X-Trace": " abc "})
    assert signed.headers["X_Trace_Id"] == "abc"
    assert signed.headers["X-Trace"] == "abc"
    assert signed.signed_names == ("host", "x-sdk-date", "x-trace")


# --------------------------------------------------------------------------------------------
# Credentials, Authorization header, dates
# --------------------------------------------------------------------------------------------


def test_credentials_repr_hides_secrets() -> None:
    creds = Credentials(AK, SK, security_token=TOKEN)
    for text in (repr(creds), str(creds), repr(RequestsSigner(creds))):
        assert AK in text
        assert SK not in text
        assert TOKEN not in text
    assert "security_token" not in repr(Credentials(AK, SK))


@pytest.mark.parametrize(("ak", "sk"), [("", SK), (AK, "")])
def test_credentials_require_both_keys(ak: str, sk: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        Credentials(ak, sk)


def test_parse_authorization_round_trip() -> None:
    names = ["content-type", "host", "x-sdk-date"]
    sig = "0123456789abcdef" * 4
    header = authorization_header(AK, names, sig)
    assert header == (
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=content-type;host;x-sdk-date, Signature={sig}"
    )
    assert parse_authorization(header) == ParsedAuthorization(AK, tuple(names), sig)
    assert parse_authorization(f"  {header}\r\n") == ParsedAuthorization(AK, tuple(names), sig)


def test_parse_authorization_of_a_signed_request() -> None:
    signed = _sign(headers={"X-Project-Id": "p"})
    parsed = parse_authorization(signed.headers["Authorization"])
    assert parsed is not None
    assert parsed.access_key == AK
    assert parsed.signed_names == signed.signed_names


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Basic dXNlcjpwYXNz",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=xyz",
        "SDK-HMAC-SM3 Access=AK, SignedHeaders=host, Signature=" + "0" * 64,
        "SDK-HMAC-SHA256 Access=AK,SignedHeaders=host,Signature=" + "0" * 64,
    ],
)
def test_parse_authorization_rejects_other_values(value: str) -> None:
    assert parse_authorization(value) is None


def test_format_sdk_date() -> None:
    assert format_sdk_date(datetime(2024, 1, 2, 3, 4, 5)) == DATE
    assert format_sdk_date(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == DATE
    beijing = timezone(timedelta(hours=8))
    assert format_sdk_date(datetime(2024, 1, 2, 11, 4, 5, tzinfo=beijing)) == DATE
