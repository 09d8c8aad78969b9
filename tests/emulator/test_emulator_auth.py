"""Signature checking of the emulator, over real sockets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import requests
import yarl

from huaweicloud_dcs_emulator import routes, signature, signer
from huaweicloud_dcs_emulator.testing import (
    FAST_TIMINGS,
    EmulatorApiClient,
    EmulatorProcess,
    random_security_token,
)

pytestmark = pytest.mark.integration


def _error(response: requests.Response) -> dict[str, str]:
    data: dict[str, str] = response.json()
    return data


def test_good_signature_is_accepted(emulator_api: EmulatorApiClient) -> None:
    response = emulator_api.call(routes.LIST_TASKS, query={"offset": 0, "limit": 10})
    assert response.status_code == 200
    assert response.json() == {"count": 0, "migration_tasks": []}
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


def test_special_characters_in_query_are_verified(emulator_api: EmulatorApiClient) -> None:
    name = "a b/c+d=e&f~g*ü"
    response = emulator_api.call(routes.LIST_TASKS, query=[("name", name), ("limit", "5"), ("offset", "")])
    assert response.status_code == 200, response.text


def test_wrong_secret_key_is_rejected(emulator: EmulatorProcess, emulator_api: EmulatorApiClient) -> None:
    bad = signer.Credentials(emulator.access_key, "not-the-secret")
    response = emulator_api.call(routes.LIST_TASKS, credentials=bad)
    assert response.status_code == 401
    body = _error(response)
    assert body["error_code"] == "APIGW.0301"
    assert body["error_msg"].startswith(
        "Incorrect IAM authentication information: verify aksk signature fail"
    )
    assert "X-Request-Id" in response.headers


def test_unknown_access_key_is_rejected(emulator_api: EmulatorApiClient) -> None:
    response = emulator_api.call(routes.LIST_TASKS, credentials=signer.Credentials("UNKNOWNAK", "x"))
    assert response.status_code == 401
    assert "ak not exist" in _error(response)["error_msg"]


def test_missing_authorization_is_rejected(
    emulator: EmulatorProcess, emulator_api: EmulatorApiClient
) -> None:
    response = emulator_api.session.get(f"{emulator.base_url}/v2/{emulator.project_id}/migration-tasks")
    assert response.status_code == 401
    assert _error(response)["error_code"] == "APIGW.0301"


def test_tampered_query_is_rejected(emulator_api: EmulatorApiClient) -> None:
    prepared = emulator_api.prepare(routes.LIST_TASKS, query={"limit": 5})
    tampered = signer.PreparedRequest(
        prepared.method, prepared.url.replace("limit=5", "limit=6"), prepared.headers, prepared.body
    )
    assert emulator_api.send(prepared).status_code == 200
    assert emulator_api.send(tampered).status_code == 401


def test_tampered_body_is_rejected(emulator_api: EmulatorApiClient) -> None:
    body = {"name": "t", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}
    prepared = emulator_api.prepare(routes.CREATE_ONLINE_TASK, body=body)
    tampered = signer.PreparedRequest(
        prepared.method, prepared.url, prepared.headers, json.dumps(dict(body, name="u")).encode()
    )
    response = emulator_api.send(tampered)
    assert response.status_code == 401
    listing = emulator_api.call(routes.LIST_TASKS).json()
    assert listing["count"] == 0, "a rejected request must have no side effect"


def test_expired_date_is_rejected(emulator_api: EmulatorApiClient) -> None:
    old = signature.format_sdk_date(datetime.now(UTC) - timedelta(minutes=20))
    response = emulator_api.call(routes.LIST_TASKS, sdk_date=old)
    assert response.status_code == 401
    assert "signature expired" in _error(response)["error_msg"]
    within = signature.format_sdk_date(datetime.now(UTC) - timedelta(minutes=10))
    assert emulator_api.call(routes.LIST_TASKS, sdk_date=within).status_code == 200


def test_missing_signed_header_is_rejected(emulator_api: EmulatorApiClient) -> None:
    prepared = emulator_api.prepare(routes.LIST_TASKS, headers={"X-Custom": "yes"})
    assert "x-custom" in prepared.headers["Authorization"]
    headers = {k: v for k, v in prepared.headers.items() if k != "X-Custom"}
    response = emulator_api.send(signer.PreparedRequest(prepared.method, prepared.url, headers, None))
    assert response.status_code == 401
    assert "x-custom" in _error(response)["error_msg"]


def test_tampered_signed_header_is_rejected(emulator_api: EmulatorApiClient) -> None:
    prepared = emulator_api.prepare(routes.LIST_TASKS)
    headers = dict(prepared.headers, **{"User-Agent": "someone-else"})
    response = emulator_api.send(signer.PreparedRequest(prepared.method, prepared.url, headers, None))
    assert response.status_code == 401


def test_wrong_project_is_rejected(emulator_api: EmulatorApiClient) -> None:
    response = emulator_api.call(routes.LIST_TASKS, project_id="0" * 32)
    assert response.status_code == 401
    assert _error(response)["error_code"] == "DCS.1004"
    mismatch = emulator_api.call(routes.LIST_TASKS, headers={"X-Project-Id": "1" * 32})
    assert mismatch.status_code == 401
    assert _error(mismatch)["error_code"] == "DCS.1004"


def test_unknown_path_is_apigw_404(emulator: EmulatorProcess, emulator_api: EmulatorApiClient) -> None:
    response = emulator_api.session.get(f"{emulator.base_url}/v2/{emulator.project_id}/nothing-here")
    assert response.status_code == 404
    assert _error(response)["error_code"] == "APIGW.0101"
    assert "X-Request-Id" in response.headers


async def test_aiohttp_client_requests_are_accepted(
    emulator: EmulatorProcess, emulator_api: EmulatorApiClient
) -> None:
    body = json.dumps(
        {"name": "via aiohttp", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}
    ).encode()
    prepared = signer.prepare_signed(
        method="POST",
        base_url=emulator.base_url,
        path=routes.render(routes.CREATE_ONLINE_TASK, emulator.project_id),
        query=None,
        headers={"Content-Type": "application/json;charset=utf-8", "X-Project-Id": emulator.project_id},
        body=body,
        credentials=emulator.credentials(),
        sdk_date=signature.now_sdk_date(),
    )
    listed = signer.prepare_signed(
        method="GET",
        base_url=emulator.base_url,
        path=routes.render(routes.LIST_TASKS, emulator.project_id),
        query=[("name", "via aiohttp"), ("limit", 1)],
        headers={"Content-Type": "application/json"},
        body=None,
        credentials=emulator.credentials(),
        sdk_date=signature.now_sdk_date(),
    )
    async with aiohttp.ClientSession() as session:
        async with session.request(
            prepared.method,
            yarl.URL(prepared.url, encoded=True),
            headers=prepared.headers,
            data=prepared.body,
        ) as response:
            assert response.status == 200, await response.text()
        async with session.get(yarl.URL(listed.url, encoded=True), headers=listed.headers) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["count"] == 1


# ------------------------------------------------------------------------------------------------
# Temporary credentials
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(security_token=random_security_token(), config=FAST_TIMINGS) as process:
        yield process


def test_security_token_mode(token_emulator: EmulatorProcess) -> None:
    api = token_emulator.api()
    good = api.call(routes.LIST_TASKS)
    assert good.status_code == 200, good.text
    assert "x-security-token" in good.request.headers["Authorization"]

    no_token = api.call(
        routes.LIST_TASKS,
        credentials=signer.Credentials(token_emulator.access_key, token_emulator.secret_key),
    )
    assert no_token.status_code == 401
    assert "X-Security-Token" in no_token.json()["error_msg"]

    wrong = signer.Credentials(token_emulator.access_key, token_emulator.secret_key, "another-token")
    assert api.call(routes.LIST_TASKS, credentials=wrong).status_code == 401


def test_unsigned_token_is_rejected(token_emulator: EmulatorProcess) -> None:
    api = token_emulator.api()
    plain = signer.Credentials(token_emulator.access_key, token_emulator.secret_key)
    prepared = api.prepare(routes.LIST_TASKS, credentials=plain)
    assert token_emulator.security_token is not None
    headers = dict(prepared.headers, **{"X-Security-Token": token_emulator.security_token})
    response = api.send(signer.PreparedRequest(prepared.method, prepared.url, headers, None))
    assert response.status_code == 401
    assert "must be signed" in response.json()["error_msg"]


def test_token_sent_to_permanent_credentials_is_rejected(
    emulator: EmulatorProcess, emulator_api: EmulatorApiClient
) -> None:
    creds = signer.Credentials(emulator.access_key, emulator.secret_key, "unexpected")
    response = emulator_api.call(routes.LIST_TASKS, credentials=creds)
    assert response.status_code == 401
