"""Reading damaged answers: unreadable 2xx, gateway HTML pages, an expired signature, echoed secrets.

The pure reading (:func:`transport.read_response`) is tested on bytes; the hooks' handling of a
connection broken mid-answer, of a skewed clock and of a configure that must not be sent twice is
tested against the emulator (its fault rules).
"""

from __future__ import annotations

import asyncio
import json
import pickle
import time
from email.utils import formatdate
from typing import Any

import pytest

from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorProcess
from huaweicloud_dcs_provider.api import calls
from huaweicloud_dcs_provider.api.retry import RetryPolicy, is_ambiguous, is_retryable
from huaweicloud_dcs_provider.api.transport import read_response
from huaweicloud_dcs_provider.exceptions import (
    DcsApiError,
    DcsAuthError,
    DcsClockSkewError,
    DcsConnectionError,
    DcsResponseError,
    DcsTlsError,
)

TASK_ID = "5e0c5c3b-7d4e-4b1a-9c0b-1234567890ab"
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
    + b"<p>"
    + b"x" * 5000
    + b"</p><hr>nginx</body></html>"
)
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.02, max_wait=0.1, max_total_seconds=20)
DETAIL = r"/migration-task/[0-9a-f-]+$"
CONFIGURE = r"/migration/[0-9a-f-]+/task$"


def _read(call: Any, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> Any:
    return read_response(call, status, {"Content-Type": content_type, **headers}, body, secrets=["s3cr3t-SK"])


# ------------------------------------------------------------------------------------------------
# 2xx answers
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", "application/json", "an empty body (0 bytes, Content-Type application/json)"),
        (b'{"id": "abc", "sta', "application/json", "cut off or damaged"),
        (HTML_PAGE, "text/html", "an HTML page titled '502 Bad Gateway'"),
        (b"OK", "text/plain", "not JSON (2 bytes, Content-Type text/plain): 'OK'"),
        (b"null", "application/json", "not JSON"),
    ],
)
def test_unreadable_2xx_is_an_ambiguous_transient_error(
    body: bytes, content_type: str, expected: str
) -> None:
    with pytest.raises(DcsResponseError) as info:
        _read(calls.show_task(TASK_ID), 200, body, content_type)
    error = info.value
    assert expected in str(error)
    assert "DCS show_task answered HTTP 200" in str(error)
    assert "may have been processed" in str(error)
    assert len(str(error)) < 400, "never the whole page"
    assert is_retryable(error)
    assert is_ambiguous(error)
    assert isinstance(pickle.loads(pickle.dumps(error)), DcsResponseError)  # noqa: S301


def test_valid_json_with_a_wrong_content_type_is_read() -> None:
    task = _read(calls.show_task(TASK_ID), 200, b'{"task_id": "x", "status": "FULLMIGRATING"}', "text/html")
    assert task.status == "FULLMIGRATING"


@pytest.mark.parametrize("status", [200, 204])
def test_calls_without_data_accept_an_empty_or_text_body(status: int) -> None:
    for call in (
        calls.stop_task_sync(TASK_ID),
        calls.rollback_ip(TASK_ID),
        calls.update_resume_mode(TASK_ID, "auto"),
    ):
        assert _read(call, status, b"") is None
        assert _read(call, status, b"success", "text/plain") is None


# ------------------------------------------------------------------------------------------------
# Error answers
# ------------------------------------------------------------------------------------------------


def test_gateway_html_error_page_is_named_by_its_title() -> None:
    with pytest.raises(DcsApiError) as info:
        _read(calls.show_task(TASK_ID), 502, HTML_PAGE, "text/html")
    message = str(info.value)
    assert message.startswith("DCS show_task failed: HTTP 502: an HTML page titled '502 Bad Gateway'")
    assert "<" not in message
    assert "xxxx" not in message
    assert is_retryable(info.value)


def test_expired_signature_names_the_clock_and_the_offset() -> None:
    body = (
        b'{"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information: signature '
        b'expired, signature time:20260101T000000Z,server time:20260101T002003Z"}'
    )
    gateway_date = formatdate(time.time() + 1203, usegmt=True)
    with pytest.raises(DcsClockSkewError) as info:
        _read(calls.show_task(TASK_ID), 401, body, Date=gateway_date)
    message = str(info.value)
    assert "clock" in message
    assert "NTP" in message
    assert any(f"is {n} s behind the DCS gateway's" in message for n in (1202, 1203, 1204)), message
    assert isinstance(info.value, DcsAuthError)
    assert not is_retryable(info.value)
    # Without a Date header, the gateway's own two times give the offset.
    with pytest.raises(DcsClockSkewError, match="clock is 1203 s behind"):
        _read(calls.show_task(TASK_ID), 401, body)


def test_a_secret_echoed_by_an_error_is_redacted() -> None:
    call = calls.configure_online_task(
        TASK_ID,
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "127.0.0.1:6379", "password": "redis-Pass-123"},
        target_instance={"addrs": "127.0.0.1:6380"},
    )
    from huaweicloud_dcs_provider.api.redaction import secrets_in

    body = b'{"error_code": "DCS.4000", "error_msg": "bad password redis-Pass-123 for s3cr3t-SK"}'
    with pytest.raises(DcsApiError) as info:
        read_response(call, 400, {}, body, secrets=["s3cr3t-SK", *secrets_in(call.body)])
    for text in (str(info.value), repr(info.value), info.value.error_msg or ""):
        assert "redis-Pass-123" not in text
        assert "s3cr3t-SK" not in text
        assert "***" in text


# ------------------------------------------------------------------------------------------------
# The hooks against the emulator
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def admin(emulator_conn_env: EmulatorProcess, emulator_admin: EmulatorAdmin) -> EmulatorAdmin:
    emulator_admin.set_config(create_seconds=0.05, full_seconds=30)
    return emulator_admin


def _ready_task(admin: EmulatorAdmin) -> str:
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    hook = DcsHook(retry_policy=FAST_RETRY)
    created = hook.create_online_migration_task(
        name="faults", vpc_id="vpc-1", subnet_id="subnet-1", security_group_id="sg-1", poll_interval=0.05
    )
    admin.clear_requests()
    return str(created["task_id"])


def _configure(task_id: str) -> Any:
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    return DcsHook(retry_policy=FAST_RETRY).configure_online_migration(
        task_id,
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "127.0.0.1:6379"},
        target_instance={"addrs": "127.0.0.1:6380"},
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    "fault",
    [
        {"action": "reset", "when": "after", "keep_bytes": 8},
        {"action": "drop", "when": "after"},
        {"action": "truncate", "when": "after", "keep_bytes": 12},
        {"status": 502, "when": "after", "body": "<html><title>Bad Gateway</title></html>"},
    ],
    ids=["reset", "drop", "truncated", "502-after"],
)
def test_configure_is_not_sent_again_after_it_took_effect(
    admin: EmulatorAdmin, fault: dict[str, Any]
) -> None:
    task_id = _ready_task(admin)
    admin.add_fault(method="POST", path=CONFIGURE, **fault)
    task = _configure(task_id)
    assert task.status == "FULLMIGRATING"
    posts = admin.requests(method="POST", path=CONFIGURE)
    assert [p["handled_status"] for p in posts] == [200], "one configure, never a second one"


@pytest.mark.integration
def test_configure_is_sent_again_when_the_first_one_did_not_take_effect(admin: EmulatorAdmin) -> None:
    task_id = _ready_task(admin)
    admin.add_fault(method="POST", path=CONFIGURE, status=200, body="")  # an empty 200, never processed
    admin.add_fault(method="POST", path=CONFIGURE, status=503)
    assert _configure(task_id).status == "FULLMIGRATING"
    posts = admin.requests(method="POST", path=CONFIGURE)
    assert [p["handled_status"] for p in posts] == [None, None, 200]


@pytest.mark.integration
def test_async_hook_reset_mid_answer_is_a_sent_connection_error(admin: EmulatorAdmin) -> None:
    from huaweicloud_dcs_provider.hooks.dcs import DcsAsyncHook

    task_id = _ready_task(admin)
    admin.add_fault(method="GET", path=DETAIL, action="reset", when="after", keep_bytes=20, count=None)

    async def read() -> None:
        async with DcsAsyncHook(retry_policy=RetryPolicy(max_attempts=2, initial_wait=0.01)) as hook:
            await hook.get_migration_task(task_id)

    with pytest.raises(DcsConnectionError, match="broken in the middle of the answer") as info:
        asyncio.run(read())
    assert info.value.request_sent
    assert admin.count_requests(method="GET", path=DETAIL) == 2, "retried"


@pytest.mark.integration
def test_test_connection_says_the_clock_is_off(admin: EmulatorAdmin, emulator: EmulatorProcess) -> None:
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    admin.set_clock_skew(-1500)
    ok, message = DcsHook().test_connection()
    assert not ok
    assert "clock" in message
    assert "ahead of the DCS gateway's" in message
    assert emulator.secret_key not in message
    assert admin.count_requests() == 1, "an expired signature is not retried"


# ------------------------------------------------------------------------------------------------
# An endpoint written without a scheme (taken as https://) that serves plain HTTP
# ------------------------------------------------------------------------------------------------

#: A default-sized policy: the retries of a transient failure would take far longer than the bound.
PATIENT_RETRY = RetryPolicy(max_attempts=6, initial_wait=1.0, max_wait=20.0, max_total_seconds=120)
PLAIN_HTTP_HINT = "the endpoint answered plain HTTP to a TLS handshake"


@pytest.fixture
def schemeless(emulator_conn_env: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    """The default connection's host is ``127.0.0.1:<port>`` of the plain-HTTP emulator, no scheme."""
    document = emulator_conn_env.conn_dict()
    hostport = emulator_conn_env.base_url.split("://", 1)[1]
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", json.dumps({**document, "host": hostport}))
    return hostport


def _assert_plain_http_hint(error: DcsConnectionError, hostport: str) -> None:
    message = str(error)
    assert isinstance(error, DcsTlsError), message
    assert PLAIN_HTTP_HINT in message, message
    assert f"write http://{hostport} in the connection's host" in message, message
    assert "connection lost before the answer" not in message
    assert error.request_sent is False
    assert not is_retryable(error)


@pytest.mark.integration
def test_schemeless_endpoint_serving_plain_http_fails_fast_with_the_hint_sync(
    schemeless: str, emulator_admin: EmulatorAdmin
) -> None:
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    hook = DcsHook(retry_policy=PATIENT_RETRY)
    assert hook.settings.endpoint == f"https://{schemeless}"
    started = time.monotonic()
    with pytest.raises(DcsConnectionError) as info:
        hook.list_migration_tasks()
    elapsed = time.monotonic() - started
    _assert_plain_http_hint(info.value, schemeless)
    assert elapsed < 3, f"retried for {elapsed:.1f} s"
    assert emulator_admin.count_requests() == 0  # nothing signed reached the API
    ok, text = DcsHook(retry_policy=PATIENT_RETRY).test_connection()
    assert not ok
    assert PLAIN_HTTP_HINT in text, text
    assert f"http://{schemeless}" in text, text


@pytest.mark.integration
def test_schemeless_endpoint_serving_plain_http_fails_fast_with_the_hint_async(
    schemeless: str, emulator_admin: EmulatorAdmin
) -> None:
    from huaweicloud_dcs_provider.hooks.dcs import DcsAsyncHook

    async def list_tasks() -> None:
        async with DcsAsyncHook(retry_policy=PATIENT_RETRY) as hook:
            await hook.list_migration_tasks()

    started = time.monotonic()
    with pytest.raises(DcsConnectionError) as info:
        asyncio.run(list_tasks())
    elapsed = time.monotonic() - started
    _assert_plain_http_hint(info.value, schemeless)
    assert elapsed < 3, f"retried for {elapsed:.1f} s"
    assert emulator_admin.count_requests() == 0


@pytest.mark.parametrize(
    "openssl_text",
    [
        "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",  # OpenSSL 1.1 - 3.1
        "[SSL: RECORD_LAYER_FAILURE] record layer failure (_ssl.c:1029)",  # OpenSSL 3.2+
    ],
)
def test_a_plain_text_answer_to_tls_is_a_final_tls_error(openssl_text: str) -> None:
    import requests

    from huaweicloud_dcs_provider.hooks.requests_transport import connection_error

    error = connection_error(
        requests.exceptions.SSLError(
            f"Max retries exceeded (Caused by SSLError(SSLError(1, '{openssl_text}')))"
        ),
        "list_tasks",
        "https://dcs.example.com:8780",
    )
    _assert_plain_http_hint(error, "dcs.example.com:8780")
    other = connection_error(
        requests.exceptions.SSLError("EOF occurred in violation of protocol"), "x", "https://h"
    )
    assert not isinstance(other, DcsTlsError)  # any other SSL failure stays a transient one
