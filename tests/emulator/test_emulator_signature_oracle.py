"""The emulator's own SDK-HMAC-SHA256 code against the official ``huaweicloudsdkcore`` signer.

The emulator implements the reference's algorithm itself (``huaweicloud_dcs_emulator.signature``),
apart from any client. Requests built around the traps of the reference (``dcs-api.md`` section 7:
reserved and non-ASCII query characters, empty values, repeated keys, an encoded slash and a
trailing slash in the path, JSON and non-JSON bodies, DELETE with a body, padded header values, a
security token) are signed by the official SDK; the emulator's gateway check must accept each one
as it was sent, and the emulator's test-client signer must produce the same ``Authorization``.

Only ``huaweicloudsdkcore.signer.signer`` and ``huaweicloudsdkcore.sdk_request`` are imported (the
SDK's credentials modules write to the home directory when imported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from huaweicloud_dcs_emulator import auth, signature, signer

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
AK, SK, PROJECT, TOKEN = "AKEXAMPLE0123456789", "sk-Example/Secret+Key=", "0123456789abcdef", "tok/en+="
HOST = "127.0.0.1:8780"
JSON = "application/json;charset=utf-8"


@dataclass(frozen=True)
class Case:
    name: str
    method: str = "GET"
    path: str = f"/v2/{PROJECT}/migration-tasks"
    query: list[tuple[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    body: bytes = b""
    token: str | None = None


CASES = [
    Case("plain list"),
    Case("reserved and non-ASCII query", query=[("name", "a b/c+d=e&f~g*ü"), ("limit", 5), ("offset", "")]),
    Case("repeated keys", query=[("k", "2"), ("k", "1"), ("a", "z")]),
    Case(
        "JSON body",
        method="POST",
        path=f"/v2/{PROJECT}/migration/instance",
        headers={"Content-Type": JSON, "X-Project-Id": PROJECT, "User-Agent": "  padded  "},
        body=b'{"name": "t", "vpc_id": "v", "subnet_id": "s", "security_group_id": "g"}',
    ),
    Case(
        "DELETE with a body",
        method="DELETE",
        path=f"/v2/{PROJECT}/migration-tasks/delete",
        headers={"Content-Type": JSON},
        body=b'{"task_id_list": ["x"]}',
    ),
    Case("encoded slash and trailing slash", path=f"/v2/{PROJECT}/migration-task/a%2Fb%C3%BC/"),
    Case(
        "non-JSON body (UNSIGNED-PAYLOAD)",
        method="PUT",
        path=f"/v2/{PROJECT}/migration-task/x",
        headers={"Content-Type": "text/plain"},
        body=b"resume",
    ),
    Case("temporary credentials", query=[("limit", 1)], token=TOKEN),
]


def _sdk_signed(case: Case) -> SdkRequest:
    headers = dict(case.headers)
    if case.token:
        headers["X-Security-Token"] = case.token  # what the SDK's credentials layer adds
    headers["X-Sdk-Date"] = signature.format_sdk_date(NOW)
    request = SdkRequest(
        method=case.method,
        schema="http",
        host=HOST,
        resource_path=case.path,
        query_params=list(case.query),
        header_params=headers,
        body=case.body,
    )
    return Signer(SimpleNamespace(ak=AK, sk=SK)).sign(request)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_gateway_check_accepts_what_the_official_sdk_signs(case: Case) -> None:
    sent = _sdk_signed(case)
    config = auth.AuthConfig(access_key=AK, secret_key=SK, project_id=PROJECT, security_token=case.token)
    failure = auth.verify(
        method=case.method,
        raw_target=sent.uri,
        headers=sent.header_params,
        body=case.body,
        config=config,
        now=NOW,
    )
    assert failure is None, failure
    spoilt = dict(sent.header_params, Authorization=sent.header_params["Authorization"][:-1] + "0")
    if spoilt["Authorization"] != sent.header_params["Authorization"]:
        assert auth.verify(
            method=case.method, raw_target=sent.uri, headers=spoilt, body=case.body, config=config, now=NOW
        )


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_test_client_signs_like_the_official_sdk(case: Case) -> None:
    sent = _sdk_signed(case)
    ours = signer.sign_headers(
        method=case.method,
        host=HOST,
        path=case.path,
        query=case.query,
        headers=case.headers,
        body=case.body or None,
        credentials=signer.Credentials(AK, SK, case.token),
        sdk_date=signature.format_sdk_date(NOW),
    )
    assert ours["Authorization"] == sent.header_params["Authorization"]
    assert sent.uri.partition("?")[2] == signature.canonical_query_string(case.query)
