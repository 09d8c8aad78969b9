"""IDs used in URL paths cannot leave their path segment.

A property over arbitrary text: :func:`validation.safe_id` either refuses an ID (naming the
parameter) or :meth:`Endpoint.render` puts it into exactly one path segment that decodes back to
the ID and is neither ``.`` nor ``..``, with no ``/``, ``%2F``, ``?`` or ``#`` sneaking in. Then,
through the real hooks against the emulator, every endpoint with a path parameter is called with
IDs that try to escape (``../x``, ``a/b``, ``%2e%2e``, ``x?y``, ``x#y``...): all are refused
before anything is sent.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorProcess
from huaweicloud_dcs_provider.api import validation
from huaweicloud_dcs_provider.api.endpoints import Api
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.exceptions import DcsValidationError
from huaweicloud_dcs_provider.hooks.dcs import DcsAsyncHook, DcsHook
from reliability import figures

PROJECT = "0123456789abcdef0123456789abcdef"
PATH_ENDPOINTS = [api for api in Api if "{" in api.path]
FAST_RETRY = RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.05, max_total_seconds=5)
ESCAPING_IDS = [
    "../x",
    "..",
    ".",
    "a/b",
    "/x",
    "x/",
    "%2e%2e",
    "%2F",
    "a%2Fb",
    "x?y",
    "x#y",
    "x y",
    "x\\y",
    "x\ny",
    "x\n",
    "",
    "\u2215x",  # division slash
    "\uff0e\uff0e",  # fullwidth dots
    ";x",
    "x;y=1",
]

#: Characters that matter in a path, mixed into arbitrary text so the search hits them often.
_PATH_CHARS = st.sampled_from([*"/.%?#;\\ \n\t", "%2F", "%2f", "%2e", "..", "\u2215", "\x00"])
IDS = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(_PATH_CHARS, st.sampled_from(list(string.ascii_letters + string.digits + "-_.")))).map(
        "".join
    ),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}", fullmatch=True),
)


def _placeholder_segment(api: Api, name: str) -> int:
    """Index of ``{name}`` among the ``/``-separated segments of the rendered path."""
    template = "/v2/{project_id}" + api.path
    return template.split("/").index("{" + name + "}")


def _check_one_id(raw: str) -> None:
    """Refused naming the parameter, or rendered into exactly one segment of every path."""
    try:
        checked = validation.safe_id("migration_task_id", raw)
    except DcsValidationError as exc:
        refused: DcsValidationError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.parameter == "migration_task_id"
        assert str(refused).startswith("invalid migration_task_id: ")
        return
    assert checked == raw
    assert raw not in (".", "..")
    for api in PATH_ENDPOINTS:
        name = api.path.split("{", 1)[1].split("}", 1)[0]
        path = api.render(PROJECT, **{name: checked})
        template_segments = ("/v2/{project_id}" + api.path).split("/")
        segments = path.split("/")
        assert len(segments) == len(template_segments), (api, path)
        segment = segments[_placeholder_segment(api, name)]
        assert segment not in (".", "..", "")
        assert unquote(segment) == raw
        for forbidden in ("%2F", "%2f", "?", "#", "%5C", "\\"):
            assert forbidden not in segment
        parts = urlsplit("https://dcs.example.com" + path)
        assert parts.path == path
        assert not parts.query
        assert not parts.fragment


def test_an_id_is_refused_or_stays_in_one_segment() -> None:
    seen = {"examples": 0, "accepted": 0}

    @settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(raw=IDS)
    def check(raw: str) -> None:
        seen["examples"] += 1
        _check_one_id(raw)
        seen["accepted"] += validation._ID_RE.fullmatch(raw) is not None

    check()
    for raw in ESCAPING_IDS:
        _check_one_id(raw)
    figures.record(
        "fuzz",
        {
            "property": "path ids: refused, or exactly one path segment",
            "examples": seen["examples"],
            "accepted": seen["accepted"],
            "failures": 0,
            "max_seconds": None,
        },
    )


# ------------------------------------------------------------------------------------------------
# Through the real hooks
# ------------------------------------------------------------------------------------------------

SYNC_CALLS: dict[Api, tuple[str, Callable[[DcsHook, Any], Any]]] = {
    Api.CONFIGURE_ONLINE_TASK: (
        "migration_task_id",
        lambda h, i: h.configure_online_migration(
            i,
            migration_method="full_amount_migration",
            resume_mode="auto",
            source_instance={"addrs": "10.0.0.1:6379"},
            target_instance={"addrs": "10.0.0.2:6379"},
        ),
    ),
    Api.SHOW_TASK: ("migration_task_id", lambda h, i: h.get_migration_task(i)),
    Api.SHOW_TASK_STATS: ("migration_task_id", lambda h, i: h.get_migration_task_stats(i)),
    Api.LIST_TASK_LOGS: ("migration_task_id", lambda h, i: h.list_migration_task_logs(i)),
    Api.STOP_TASK: ("migration_task_id", lambda h, i: h.stop_migration_task(i)),
    Api.STOP_TASK_SYNC: ("migration_task_id", lambda h, i: h.stop_migration_task_sync(i)),
    Api.UPDATE_RESUME_MODE: ("migration_task_id", lambda h, i: h.set_resume_mode(i, "auto")),
    Api.EXCHANGE_IP: (
        "migration_task_id",
        lambda h, i: h.exchange_instance_ip(i, exchanged_ip=["10.0.0.1"], is_exchange_domain=False),
    ),
    Api.ROLLBACK_IP: ("migration_task_id", lambda h, i: h.rollback_instance_ip(i)),
    Api.SHOW_JOB: ("job_id", lambda h, i: h.get_job(i)),
    Api.SHOW_WHITELIST: ("instance_id", lambda h, i: h.get_whitelist(i)),
    Api.SHOW_INSTANCE: ("instance_id", lambda h, i: h.get_instance(i)),
    Api.UPDATE_WHITELIST: (
        "instance_id",
        lambda h, i: h.replace_whitelist(i, enable_whitelist=False, whitelist=[]),
    ),
    Api.UPDATE_WHITELIST_ASYNC: (
        "instance_id",
        lambda h, i: h.replace_whitelist(i, enable_whitelist=False, whitelist=[], asynchronous=True),
    ),
}

ASYNC_CALLS: dict[str, Callable[[DcsAsyncHook, Any], Any]] = {
    "get_migration_task": lambda h, i: h.get_migration_task(i),
    "get_task_status": lambda h, i: h.get_task_status(i),
    "get_migration_task_stats": lambda h, i: h.get_migration_task_stats(i),
    "list_migration_task_logs": lambda h, i: h.list_migration_task_logs(i),
    "stop_migration_task": lambda h, i: h.stop_migration_task(i),
    "get_job": lambda h, i: h.get_job(i),
}


def test_every_endpoint_with_a_path_parameter_is_covered() -> None:
    assert set(SYNC_CALLS) == set(PATH_ENDPOINTS)


@pytest.mark.integration
@pytest.mark.parametrize("api", PATH_ENDPOINTS, ids=[api.name for api in PATH_ENDPOINTS])
def test_escaping_ids_are_refused_before_sending(
    api: Api, emulator_conn_env: EmulatorProcess, emulator_admin: EmulatorAdmin
) -> None:
    parameter, call = SYNC_CALLS[api]
    hook = DcsHook(retry_policy=FAST_RETRY)
    for raw in ESCAPING_IDS:
        with pytest.raises(DcsValidationError) as info:
            call(hook, raw)
        assert info.value.parameter == parameter, (raw, str(info.value))
    assert emulator_admin.requests() == []
    figures.record(
        "path_ids",
        {
            "endpoint": api.operation,
            "ids_tried": len(ESCAPING_IDS),
            "rejected": len(ESCAPING_IDS),
            "requests_sent": 0,
        },
    )


@pytest.mark.integration
def test_escaping_ids_are_refused_by_the_async_hook(
    emulator_conn_env: EmulatorProcess, emulator_admin: EmulatorAdmin
) -> None:
    async def run() -> None:
        async with DcsAsyncHook(retry_policy=FAST_RETRY) as hook:
            for name, call in ASYNC_CALLS.items():
                for raw in ESCAPING_IDS:
                    with pytest.raises(DcsValidationError) as info:
                        await call(hook, raw)
                    assert info.value.parameter in ("migration_task_id", "job_id"), (name, raw)

    asyncio.run(run())
    assert emulator_admin.requests() == []
