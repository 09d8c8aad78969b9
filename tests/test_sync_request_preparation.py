"""The sync hook's quick request preparation builds exactly what ``requests`` itself builds.

``requests_transport.prepare`` skips ``PreparedRequest.prepare``'s URL parsing on every call (the
prepared URL is kept per distinct URL) and hands the signer the split URL. Whatever the call, the
result must be the request ``PreparedRequest.prepare(..., auth=session.auth)`` makes: same method,
URL (query included), headers in the same order with the same values, and body.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import requests

from huaweicloud_dcs_provider.api import calls
from huaweicloud_dcs_provider.api.endpoints import Api
from huaweicloud_dcs_provider.api.signing import Credentials, RequestsSigner
from huaweicloud_dcs_provider.api.transport import Call
from huaweicloud_dcs_provider.hooks import requests_transport

PROJECT_ID = "0123456789abcdef0123456789abcdef"
TASK_ID = "8b381722-a809-4245-b331-b7749ff5a053"
DATE = "20240102T030405Z"

CALLS: dict[str, Call[Any]] = {
    "GET detail": calls.show_task(TASK_ID),
    "GET list with a name": calls.list_tasks_page(offset=100, limit=50, name="näme x+y&z=1"),
    "GET logs with a level": calls.list_logs_page(TASK_ID, offset=0, limit=10, log_level="ERROR"),
    "POST body with a password": calls.configure_online_task(
        TASK_ID,
        migration_method="full_amount_migration",
        resume_mode="auto",
        source_instance={"addrs": "10.0.0.1:6379", "password": "pässwörd-1"},
        target_instance={"id": "target-id", "password": "another-secret"},
    ),
    "POST without a body": calls.stop_task_sync(TASK_ID),
    "DELETE with a body": calls.delete_tasks([TASK_ID, "other-task"]),
    "PUT": calls.update_resume_mode(TASK_ID, "manual"),
    "raw query": Call(Api.LIST_TASKS, query=[("b", "2"), ("a", ""), ("ä ö", "x/y?#"), ("a", "1")]),
}

ENDPOINTS = (
    "http://127.0.0.1:8780",
    "https://dcs.ap-southeast-1.myhuaweicloud.com",
    "http://Host.Example:81/prefix",
)


def _session(credentials: Credentials) -> requests.Session:
    session = requests.Session()
    session.auth = RequestsSigner(credentials, clock=lambda: DATE)
    session.headers["User-Agent"] = "overridden by the call"
    return session


def _by_requests(session: requests.Session, settings: Any, call: Call[Any]) -> requests.PreparedRequest:
    prepared = requests.PreparedRequest()
    prepared.prepare(
        method=call.api.method,
        url=settings.endpoint + call.path(settings.project_id),
        headers={**session.headers, **call.headers(settings.project_id)},
        data=call.body_bytes(),
        params=call.query or None,
        auth=session.auth,
    )
    return prepared


def _wire(prepared: requests.PreparedRequest) -> tuple[Any, ...]:
    return prepared.method, prepared.url, list(prepared.headers.items()), prepared.body


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("token", [None, "temporary+token/with=="], ids=["aksk", "token"])
@pytest.mark.parametrize("name", list(CALLS))
def test_quick_preparation_equals_requests_own(name: str, token: str | None, endpoint: str) -> None:
    session = _session(Credentials("AKPREPARE0001", "prepare-secret-ключ", security_token=token))
    settings = SimpleNamespace(endpoint=endpoint, project_id=PROJECT_ID)
    call = CALLS[name]
    expected = _wire(_by_requests(session, settings, call))
    for _ in range(2):  # the second time from the kept URL
        assert _wire(requests_transport.prepare(session, settings, call)) == expected  # type: ignore[arg-type]


def test_a_session_with_another_auth_is_prepared_by_requests() -> None:
    session = requests.Session()
    session.auth = ("user", "pass")  # not our signer: requests' own preparation, Basic auth
    settings = SimpleNamespace(endpoint="http://127.0.0.1:8780", project_id=PROJECT_ID)
    call = CALLS["GET detail"]
    prepared = requests_transport.prepare(session, settings, call)  # type: ignore[arg-type]
    assert _wire(prepared) == _wire(_by_requests(session, settings, call))
    assert prepared.headers["Authorization"].startswith("Basic ")
