"""Hostile connection settings: refused before any request, with an error naming the field.

Each case was once accepted, crashed deep inside, or sent the request somewhere else than the
provider had checked: a password in the endpoint's user info (sent in the ``Host`` header and
printed in errors), an endpoint two URL parsers read differently (the provider checked one host
and ``urllib3`` connected to the other), spaces and control characters, ports out of range, dot
segments, timeouts of ``inf``/``nan``/``1e308``/400 digits, a CA bundle that is no CA bundle
(17.7 s of retries ending in "connection lost"), and a proxy password shown by ``repr``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from huaweicloud_dcs_provider.connection import DcsConnectionSettings
from huaweicloud_dcs_provider.exceptions import DcsValidationError
from huaweicloud_dcs_provider.hooks.dcs import DcsAsyncHook, DcsHook
from reliability import figures

if TYPE_CHECKING:
    from pathlib import Path

    from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorProcess

SECRET_KEY = "sk-hostile-" + "q" * 29
PROXY_PASSWORD = "proxy-pass-" + "z" * 20
USERINFO_PASSWORD = "in-the-url-" + "w" * 20


def settings(host: str | None = "http://127.0.0.1:8780", **extra: Any) -> DcsConnectionSettings:
    return DcsConnectionSettings.from_connection(
        conn_id="dcs_hostile",
        host=host,
        port=None,
        schema=None,
        login="AKAKAKAKAKAKAKAKAKAK",
        password=SECRET_KEY,
        extra={"project_id": "p" * 32, **extra},
    )


ENDPOINTS = [
    (f"http://user:{USERINFO_PASSWORD}@127.0.0.1:8780", "user info"),
    (f"https://admin:{USERINFO_PASSWORD}@dcs.example.com", "user info"),
    ("http://a\\@127.0.0.1:8780", "backslash"),
    ("http://127.0.0.1:8780\\@evil.example.com", "backslash"),
    ("http://dcs.example.com@evil.example.com", "user info"),
    ("http://dcs .example.com", "spaces or control characters"),
    ("http://dcs.example.com\t", "spaces or control characters"),
    ("http://dcs.example.com\r\nX-Injected: 1", "spaces or control characters"),
    ("http://dcs.example.com\x00", "spaces or control characters"),
    ("http://dcs.example.com:0", "port"),
    ("http://dcs.example.com:65536", "port"),
    ("http://dcs.example.com:99999999999999999999", "port"),
    ("http://dcs.example.com:-1", "port"),
    ("http://dcs.example.com:80a", "port"),
    ("http://dcs.example.com/../admin", "dot segment"),
    ("http://dcs.example.com/v1/./x", "dot segment"),
    ("http://dcs.example.com/%2e%2e/admin", "dot segment"),
    ("http://dcs.example.com/?debug=1", "query or fragment"),
    ("http://dcs.example.com/#frag", "query or fragment"),
    ("ftp://dcs.example.com", "http(s)"),
    ("http://", "no host"),
    ("http://[::1", "not an endpoint URL"),
    ("http://exa mple.com", "spaces or control characters"),
    ("http://dcs_example.com", "host name"),
]


@pytest.mark.parametrize(("host", "problem"), ENDPOINTS)
def test_hostile_endpoints_are_refused_naming_the_field(host: str, problem: str) -> None:
    with pytest.raises(DcsValidationError) as raised:
        settings(host)
    text = str(raised.value)
    assert "host" in text, text
    assert problem in text, text
    assert USERINFO_PASSWORD not in text
    assert SECRET_KEY not in text
    figures.record("hostile_config", {"setting": "host", "value": ascii(host)[:60], "error": text[:200]})


@pytest.mark.parametrize(
    "host",
    [
        "http://127.0.0.1:8780",
        "https://dcs.ap-southeast-1.myhuaweicloud.com",
        "https://dcs.example.com:443/prefix",
        "http://[::1]:8780",
        "dcs.eu-de.otc.t-systems.com",
        "HTTPS://DCS.Example.COM",
    ],
)
def test_ordinary_endpoints_are_accepted(host: str) -> None:
    endpoint = settings(host).endpoint
    assert "@" not in endpoint
    assert endpoint.startswith(("http://", "https://"))


@pytest.mark.parametrize(
    "timeout", ["inf", "-inf", "nan", "1e308", "9" * 400, 10**400, float("inf"), 0, -5, True, "ten", 86401]
)
def test_hostile_timeouts_are_refused(timeout: Any) -> None:
    with pytest.raises(DcsValidationError) as raised:
        settings(timeout=timeout)
    text = str(raised.value)
    assert "timeout" in text, text
    figures.record(
        "hostile_config", {"setting": "extra timeout", "value": ascii(timeout)[:60], "error": text}
    )


def test_a_file_that_is_not_a_ca_bundle_fails_at_once(
    tmp_path: Path,
    emulator: EmulatorProcess,
    emulator_admin: EmulatorAdmin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("this is not a certificate\n")
    document = json.loads(emulator.conn_uri_json())
    document["host"] = document["host"].replace("http://", "https://")
    document.setdefault("extra", {})["ca_bundle"] = str(bogus)
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", json.dumps(document))
    before = emulator_admin.count_requests()
    started = time.monotonic()
    with pytest.raises(DcsValidationError) as raised:
        DcsHook().list_migration_tasks()
    sync_seconds = time.monotonic() - started
    text = str(raised.value)
    assert "ca_bundle" in text, text
    assert "not a CA bundle" in text, text
    assert sync_seconds < 2, sync_seconds

    async def read() -> None:
        async with DcsAsyncHook() as hook:
            await hook.get_migration_task("abc")

    import asyncio

    with pytest.raises(DcsValidationError, match="not a CA bundle"):
        asyncio.run(read())
    assert emulator_admin.count_requests() == before
    figures.record(
        "hostile_config",
        {"setting": "extra ca_bundle", "value": "a text file", "error": f"{text} ({sync_seconds:.2f} s)"},
    )


def test_a_proxy_password_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    proxy = f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:3128"
    made = settings(proxy=proxy)
    assert made.proxy == proxy  # still used to connect
    assert PROXY_PASSWORD not in repr(made)
    assert "proxy-user:***@127.0.0.1:3128" in repr(made)


def test_a_proxy_password_is_registered_with_the_masker(
    emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.common.compat.sdk import mask_secret  # noqa: F401  (the masker is set up)

    from huaweicloud_dcs_provider.hooks import base

    masked: list[str] = []
    monkeypatch.setattr(base, "mask", lambda *values: masked.extend(v for v in values if v))
    document = json.loads(emulator.conn_uri_json())
    document.setdefault("extra", {})["proxy"] = f"http://u:{PROXY_PASSWORD}@127.0.0.1:3128"
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", json.dumps(document))
    assert DcsHook().settings.proxy
    assert PROXY_PASSWORD in masked


@pytest.mark.parametrize(
    ("proxy", "problem"),
    [("not a url", "proxy"), ("ftp://127.0.0.1:21", "proxy"), ("http://127.0.0.1:99999", "proxy")],
)
def test_hostile_proxies_are_refused(proxy: str, problem: str) -> None:
    with pytest.raises(DcsValidationError, match=problem):
        settings(proxy=proxy)
