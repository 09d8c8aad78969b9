"""TLS: verification on by default, a private CA through ``ca_bundle``, loud ``verify: false``.

The emulator serves HTTPS with a certificate of a throw-away CA made here (``cryptography``); both
hooks talk to it over real sockets:

* default connection (system CAs): the call fails with a :class:`DcsConnectionError` that says
  the certificate could not be verified (not a raw ``ssl`` traceback), before any request is sent;
* extra ``ca_bundle`` (or ``verify`` set to the same path): the call succeeds;
* ``verify: false``: the call succeeds and a warning naming the connection is logged.

Settings-level checks: plain ``http://`` to a non-loopback host is warned about, loopback http
(the emulator) is quiet, a CA bundle that does not exist is rejected naming the extra.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from huaweicloud_dcs_emulator import __main__ as emulator_cli
from huaweicloud_dcs_emulator.testing import FAST_TIMINGS, EmulatorProcess, TlsFiles
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.connection import DcsConnectionSettings
from huaweicloud_dcs_provider.exceptions import DcsConnectionError, DcsTlsError, DcsValidationError
from huaweicloud_dcs_provider.hooks.dcs import DcsAsyncHook, DcsHook
from reliability import figures

pytestmark = pytest.mark.integration

CONN_ID = "dcs_tls"
ONE_ATTEMPT = RetryPolicy(max_attempts=1)
CONNECTION_LOGGER = "huaweicloud_dcs_provider.connection"


# ------------------------------------------------------------------------------------------------
# A throw-away CA and a server certificate for 127.0.0.1 / localhost
# ------------------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_tls_files(directory: Path) -> TlsFiles:
    """A CA (``ca.pem``) and a server certificate it signed (``server.pem`` / ``server.key``)."""
    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("dcs-provider test CA"))
        .issuer_name(_name("dcs-provider test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(cert=directory / "server.pem", key=directory / "server.key", ca=directory / "ca.pem")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key.chmod(0o600)
    return files


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """The throw-away CA and server certificate."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_emulator(tls_files: TlsFiles) -> Iterator[EmulatorProcess]:
    """An emulator serving HTTPS with the test CA's certificate."""
    with EmulatorProcess(config=FAST_TIMINGS, tls=tls_files) as process:
        yield process


def use_connection(
    monkeypatch: pytest.MonkeyPatch, emulator: EmulatorProcess, **extra: Any
) -> dict[str, Any]:
    """Point ``CONN_ID`` at the emulator; ``extra`` replaces the TLS extras (``None`` removes)."""
    document = emulator.conn_dict()
    merged = {**dict(document["extra"]), **extra}  # type: ignore[call-overload]
    document["extra"] = {key: value for key, value in merged.items() if value is not None}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(document))
    return document


def tls_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == CONNECTION_LOGGER and record.levelno == logging.WARNING
    ]


async def _async_list(retry_policy: RetryPolicy = ONE_ATTEMPT) -> int:
    async with DcsAsyncHook(CONN_ID, retry_policy=retry_policy) as hook:
        return len(await hook.list_migration_tasks())


# ------------------------------------------------------------------------------------------------
# Against the HTTPS emulator
# ------------------------------------------------------------------------------------------------


def test_the_emulator_serves_https(tls_emulator: EmulatorProcess) -> None:
    assert tls_emulator.base_url.startswith("https://127.0.0.1:")
    assert tls_emulator.admin().health()
    assert "listening on https://" in tls_emulator.log_text()


def test_default_verification_rejects_an_untrusted_certificate_sync(
    tls_emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_connection(monkeypatch, tls_emulator, ca_bundle=None)
    admin = tls_emulator.admin()
    before = admin.count_requests()
    with pytest.raises(DcsConnectionError) as info:
        DcsHook(CONN_ID, retry_policy=ONE_ATTEMPT).list_migration_tasks()
    message = str(info.value)
    assert "TLS certificate verification failed" in message, message
    assert "certificate verify failed" in message, message
    assert "'ca_bundle'" in message
    assert info.value.request_sent is False
    assert "Traceback" not in message
    assert "SSLCertVerificationError" not in message
    ok, text = DcsHook(CONN_ID, retry_policy=ONE_ATTEMPT).test_connection()
    assert not ok
    assert "TLS certificate verification failed" in text, text
    assert admin.count_requests() == before  # nothing reached the API
    figures.record("security", {"check": "TLS default verify, untrusted CA (sync hook)", "result": message})


def test_certificate_failure_is_not_retried(
    tls_emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backoff cannot fix a certificate: the first failure is final, whatever the retry policy."""
    use_connection(monkeypatch, tls_emulator, ca_bundle=None)
    hook = DcsHook(CONN_ID, retry_policy=RetryPolicy(max_attempts=5, initial_wait=5.0))
    attempts = 0
    send = hook._send

    def counting_send(call: Any) -> Any:
        nonlocal attempts
        attempts += 1
        return send(call)

    monkeypatch.setattr(hook, "_send", counting_send)
    with pytest.raises(DcsTlsError):
        hook.list_migration_tasks()
    assert attempts == 1
    figures.record(
        "security",
        {
            "check": "TLS certificate failure with a 5-attempt retry policy",
            "result": "1 attempt, not retried",
        },
    )


async def test_default_verification_rejects_an_untrusted_certificate_async(
    tls_emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_connection(monkeypatch, tls_emulator, ca_bundle=None)
    with pytest.raises(DcsConnectionError) as info:
        await _async_list()
    message = str(info.value)
    assert "TLS certificate verification failed" in message, message
    assert "certificate verify failed" in message, message
    assert info.value.request_sent is False
    figures.record("security", {"check": "TLS default verify, untrusted CA (async hook)", "result": message})


@pytest.mark.parametrize("extra_name", ["ca_bundle", "verify"])
def test_a_ca_bundle_in_the_connection_is_trusted_sync(
    tls_emulator: EmulatorProcess,
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    extra_name: str,
) -> None:
    use_connection(monkeypatch, tls_emulator, **{"ca_bundle": None, extra_name: str(tls_files.ca)})
    with caplog.at_level(logging.WARNING, logger=CONNECTION_LOGGER):
        hook = DcsHook(CONN_ID, retry_policy=ONE_ATTEMPT)
        assert hook.list_migration_tasks() == []
        ok, text = hook.test_connection()
    assert ok, text
    assert tls_warnings(caplog) == []
    figures.record(
        "security", {"check": f"TLS extra {extra_name!r} = CA bundle (sync hook)", "result": "connected"}
    )


@pytest.mark.parametrize("extra_name", ["ca_bundle", "verify"])
async def test_a_ca_bundle_in_the_connection_is_trusted_async(
    tls_emulator: EmulatorProcess,
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
    extra_name: str,
) -> None:
    use_connection(monkeypatch, tls_emulator, **{"ca_bundle": None, extra_name: str(tls_files.ca)})
    assert await _async_list() == 0
    figures.record(
        "security", {"check": f"TLS extra {extra_name!r} = CA bundle (async hook)", "result": "connected"}
    )


async def test_the_async_hook_builds_its_ssl_context_once(
    tls_emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_connection(monkeypatch, tls_emulator)
    built: list[Any] = []
    original = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        if kwargs.get("cafile") or kwargs.get("capath"):
            built.append(kwargs.get("cafile") or kwargs.get("capath"))
        return original(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    async with DcsAsyncHook(CONN_ID, retry_policy=ONE_ATTEMPT) as hook:
        for _ in range(5):
            assert await hook.list_migration_tasks() == []
        settings = await hook.asettings()
    assert isinstance(settings.ssl_context, ssl.SSLContext)
    assert built == [settings.verify]  # one context (one read of the bundle) for five requests


def test_verify_false_connects_and_warns_sync(
    tls_emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    document = use_connection(monkeypatch, tls_emulator, ca_bundle=None, verify=False)
    with caplog.at_level(logging.WARNING, logger=CONNECTION_LOGGER), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # urllib3's InsecureRequestWarning: the point of the test
        hook = DcsHook(CONN_ID, retry_policy=ONE_ATTEMPT)
        assert hook.list_migration_tasks() == []
        assert hook.list_migration_tasks() == []
    [message] = tls_warnings(caplog)  # once per settings load, not per request
    assert message.startswith(f"TLS certificate verification is OFF for connection {CONN_ID}: "), message
    assert str(document["password"]) not in message
    figures.record(
        "security", {"check": "TLS verify=false (sync hook)", "result": f"connected; warned: {message}"}
    )


async def test_verify_false_connects_and_warns_async(
    tls_emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    use_connection(monkeypatch, tls_emulator, ca_bundle=None, verify="false")
    with caplog.at_level(logging.WARNING, logger=CONNECTION_LOGGER):
        assert await _async_list() == 0
    [message] = tls_warnings(caplog)
    assert f"TLS certificate verification is OFF for connection {CONN_ID}" in message
    figures.record("security", {"check": "TLS verify=false (async hook)", "result": "connected; warned"})


# ------------------------------------------------------------------------------------------------
# Settings only (no request)
# ------------------------------------------------------------------------------------------------

SECRET_KEY = "sk-" + "x" * 37  # a placeholder; the settings are never used for a request
TOKEN = "tok-" + "y" * 60


def settings_for(host: str, caplog: pytest.LogCaptureFixture, **extra: Any) -> list[str]:
    """The transport warnings logged while reading a connection with this host and extras."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=CONNECTION_LOGGER):
        DcsConnectionSettings.from_connection(
            conn_id="dcs_x",
            host=host,
            port=None,
            schema=None,
            login="AKAKAKAKAKAKAKAKAKAK",
            password=SECRET_KEY,
            extra={"project_id": "p" * 32, "security_token": TOKEN, **extra},
        )
    return tls_warnings(caplog)


@pytest.mark.parametrize(
    "host",
    ["http://dcs.example.com", "http://10.0.0.5:8780", "http://[2001:db8::1]:80", "http://127-0-0-1.evil.io"],
)
def test_plain_http_to_a_remote_host_is_warned_about(host: str, caplog: pytest.LogCaptureFixture) -> None:
    [message] = settings_for(host, caplog)
    assert "plain http://" in message
    assert "Connection dcs_x" in message
    assert "AK/SK-signed requests and Redis passwords go unencrypted" in message
    assert SECRET_KEY not in message
    assert TOKEN not in message
    assert SECRET_KEY[:12] not in message
    figures.record("security", {"check": f"plain http to {host}", "result": "warned"})


@pytest.mark.parametrize(
    "host",
    [
        "http://127.0.0.1:8780",
        "http://127.8.9.10",
        "http://localhost:8780",
        "http://[::1]:8780",
        "https://dcs.ap-southeast-1.myhuaweicloud.com",
        "",  # the default endpoint (https, from the region)
    ],
)
def test_loopback_http_and_https_are_quiet(host: str, caplog: pytest.LogCaptureFixture) -> None:
    assert settings_for(host, caplog, region="ap-southeast-1") == []


def test_loopback_http_is_quiet_even_with_verify_false(caplog: pytest.LogCaptureFixture) -> None:
    assert settings_for("http://127.0.0.1:8780", caplog, verify=False) == []
    figures.record("security", {"check": "plain http to loopback (the emulator)", "result": "no warning"})


def test_verify_false_on_https_is_warned_about_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    [message] = settings_for("https://dcs.example.com", caplog, verify="False")
    assert message.startswith("TLS certificate verification is OFF for connection dcs_x: ")
    assert SECRET_KEY not in message
    assert TOKEN not in message


@pytest.mark.parametrize("extra_name", ["ca_bundle", "verify"])
def test_a_missing_ca_bundle_is_rejected_before_any_request(
    extra_name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(DcsValidationError) as info:
        settings_for("https://dcs.example.com", caplog, **{extra_name: str(missing)})
    assert f"extra '{extra_name}'" in str(info.value)
    assert str(missing) in str(info.value)
    figures.record(
        "security", {"check": f"missing CA bundle in extra {extra_name!r}", "result": str(info.value)}
    )


def test_ca_bundle_conflicts_are_rejected(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("placeholder")
    with pytest.raises(DcsValidationError, match=r"'ca_bundle'.*'verify' is false"):
        settings_for("https://dcs.example.com", caplog, ca_bundle=str(bundle), verify=False)
    with pytest.raises(DcsValidationError, match="extra 'verify'"):
        settings_for("https://dcs.example.com", caplog, verify=0)


def test_verification_is_on_by_default(caplog: pytest.LogCaptureFixture) -> None:
    settings = DcsConnectionSettings.from_connection(
        conn_id="d",
        host=None,
        port=None,
        schema=None,
        login="AK",
        password=SECRET_KEY,
        extra={"project_id": "p1", "region": "ap-southeast-1"},
    )
    assert settings.verify is True
    assert settings.ssl_context is True
    assert settings.endpoint.startswith("https://")


def test_the_emulator_cli_needs_both_tls_files(
    tls_files: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    assert emulator_cli.main(["--tls-cert", str(tls_files.cert)]) == 2
    assert "--tls-cert and --tls-key" in capsys.readouterr().err
