"""The admin API as a service: a per-run token, no Redis password in any answer, bounded patterns.

Before: ``/_emulator/...`` answered anyone on the machine, ``POST /_emulator/tasks/<id>/fail``
answered the task's Redis passwords, and a client's path pattern such as ``(a+)+$`` blocked the
server for half a minute.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from huaweicloud_dcs_emulator import routes
from huaweicloud_dcs_emulator.path_patterns import MAX_PATTERN_CHARS, compile_path_pattern
from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorApiClient, EmulatorProcess

pytestmark = pytest.mark.integration

TASK = str(uuid.uuid4())
#: Every admin route, with a body where it takes one.
ADMIN_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "health", None),
    ("GET", "requests", None),
    ("DELETE", "requests", None),
    ("GET", "faults", None),
    ("POST", "faults", {"status": 503}),
    ("DELETE", "faults", None),
    ("DELETE", "faults/1", None),
    ("POST", "reset", None),
    ("GET", "config", None),
    ("POST", "config", {"create_seconds": 1}),
    ("GET", "instances", None),
    ("POST", "instances", {"id": "dcs-x"}),
    ("DELETE", "instances/dcs-x", None),
    ("POST", f"tasks/{TASK}/fail", {"error": "x"}),
    ("POST", f"tasks/{TASK}/status", {"status": "X", "reads": 1}),
]
SOURCE_PASSWORD = "source-redis-pass-4a7b"
TARGET_PASSWORD = "target-redis-pass-9c2d"


@pytest.mark.parametrize(
    ("method", "path", "body"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES]
)
@pytest.mark.parametrize("sent", [None, "", "wrong-token", "x" * 500], ids=["none", "empty", "wrong", "long"])
def test_every_admin_call_needs_the_token(
    emulator: EmulatorProcess, method: str, path: str, body: Any, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Emulator-Token": sent}
    response = requests.request(
        method, f"{emulator.base_url}/_emulator/{path}", json=body, headers=headers, timeout=10
    )
    assert response.status_code == 401, response.text
    assert "X-Emulator-Token" in response.json()["error"]


def test_the_token_opens_the_admin_api_and_no_other_header_does(emulator: EmulatorProcess) -> None:
    url = f"{emulator.base_url}/_emulator/health"
    assert requests.get(url, headers={"X-Emulator-Token": emulator.admin_token}, timeout=10).ok
    for header in ("Authorization", "X-Auth-Token", "X-Security-Token"):
        refused = requests.get(url, headers={header: emulator.admin_token}, timeout=10)
        assert refused.status_code == 401, header
    # The token is the emulator's, per run: an admin client of another token is refused.
    other = EmulatorAdmin(emulator.base_url, token="not-the-token")
    with pytest.raises(RuntimeError, match="HTTP 401"):
        other.health()
    assert emulator.admin_token not in repr(emulator)
    assert emulator.admin_token not in repr(emulator.admin())


def test_the_token_comes_from_the_flag_or_the_environment(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DCS_EMULATOR_")}
    for how, extra_args, extra_env in (
        ("flag", ["--admin-token", "flag-token-123"], {}),
        ("env", [], {"DCS_EMULATOR_ADMIN_TOKEN": "env-token-456"}),
    ):
        ready = tmp_path / f"{how}.ready"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "huaweicloud_dcs_emulator",
                "--port",
                "0",
                "--ready-file",
                str(ready),
                *extra_args,
            ],
            env={**env, **extra_env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 20
            while not ready.exists() or not ready.read_text().strip():
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.02)
            document = json.loads(ready.read_text())
            expected = "flag-token-123" if how == "flag" else "env-token-456"
            assert document["admin_token"] == expected
            admin = EmulatorAdmin(document["base_url"], token=expected)
            assert admin.health()["status"] == "ok"
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


def test_no_admin_answer_holds_a_redis_password(
    emulator_api: EmulatorApiClient, emulator_admin: EmulatorAdmin
) -> None:
    emulator_admin.add_instance("dcs-admin-secrets")
    task_id = emulator_api.create_ready_task("secrets")
    body = {
        "migration_method": "incremental_migration",
        "resume_mode": "manual",
        "source_instance": {"addrs": "127.0.0.1:6379", "password": SOURCE_PASSWORD},
        "target_instance": {"id": "dcs-admin-secrets", "password": TARGET_PASSWORD},
    }
    response = emulator_api.call(routes.CONFIGURE_ONLINE_TASK, path_params={"task_id": task_id}, body=body)
    assert response.status_code == 200, response.text
    # The API itself answers the passwords, as the real service does.
    assert emulator_api.detail(task_id)["source_instance"]["password"] == SOURCE_PASSWORD
    answers: list[Any] = [
        emulator_admin.force_status(task_id, "MIGRATING", reads=1),
        emulator_admin.fail_task(task_id, "went away"),
        emulator_admin.requests(),
        emulator_admin.faults(),
        emulator_admin.config(),
        emulator_admin.health(),
        emulator_admin.instances(),
    ]
    failed = answers[1]
    assert failed["source_instance"]["password"] == "***"
    assert failed["target_instance"]["password"] == "***"
    text = json.dumps(answers)
    assert SOURCE_PASSWORD not in text
    assert TARGET_PASSWORD not in text


# ------------------------------------------------------------------------------------------------
# Path patterns
# ------------------------------------------------------------------------------------------------

CATASTROPHIC = [
    r"(a+)+$",
    r"(a*)*b",
    r"(a|aa)+$",
    r"(.*a){12}",
    r"(\w+\s?)+$",
    r"([a-z]+)*/x",
    "(a|a)" * 12 + "$",
    r"a*a*a*a*a*b",
    r"(\d+)\1",
    "a" * (MAX_PATTERN_CHARS + 1),
]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_a_pattern_that_could_backtrack_catastrophically_is_refused(
    emulator_admin: EmulatorAdmin, pattern: str
) -> None:
    started = time.monotonic()
    rule = emulator_admin.session.post(
        f"{emulator_admin.base_url}/_emulator/faults", json={"path": pattern}, timeout=10
    )
    listed = emulator_admin.session.get(
        f"{emulator_admin.base_url}/_emulator/requests", params={"path": pattern}, timeout=10
    )
    assert time.monotonic() - started < 0.5
    for response in (rule, listed):
        assert response.status_code == 400, response.text
        assert "pattern" in response.json()["error"]
    assert emulator_admin.faults() == []


def test_the_patterns_in_use_keep_their_meaning() -> None:
    task = "3f2a1b4c-0000-4000-8000-00000000abcd"
    cases = {
        r"/migration/[0-9a-f-]+/task$": (f"/v2/p/migration/{task}/task", f"/v2/p/migration/{task}/tasks"),
        r"/migration-task/[^/]+$": (f"/v2/p/migration-task/{task}", f"/v2/p/migration-task/{task}/stats"),
        r"^/v2/": ("/v2/p/migration-tasks", "/x/v2/"),
        f"{task}/task$": (f"/v2/p/migration/{task}/task", f"/v2/p/migration-task/{task}"),
        r"/migration-tasks?$": ("/v2/p/migration-tasks", "/v2/p/migration-taskss"),
    }
    for pattern, (hit, miss) in cases.items():
        compiled = compile_path_pattern(pattern)
        assert compiled.search(hit), (pattern, hit)
        assert not compiled.search(miss), (pattern, miss)


def test_the_server_keeps_answering_while_patterns_meet_long_paths(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin
) -> None:
    # The costliest patterns accepted, as fault rules that never expire (a path of 256
    # characters or fewer is searched; a longer one matches no pattern).
    for pattern in (r"[a-z]+[a-z]+$", r"[a-z]*(a|aa)(a|aa)(a|aa)(a|aa)$"):
        emulator_admin.add_fault(path=pattern, status=503, count=None)
    # (a+)+$ is refused: before, it blocked the whole server for 31.6 s on such a path.
    with pytest.raises(RuntimeError, match="HTTP 400"):
        emulator_admin.add_fault(path=r"(a+)+$", status=503)
    worst = "/v2/" + "a" * 251 + "/"  # searched (256 characters), matches nothing: the costliest
    matching = "/v2/" + "b" * 200  # searched, matches the first rule
    long = "/v2/" + "a" * 8000  # would match, but is longer than 256 characters: not searched
    paths = [worst, matching, long]
    stop = threading.Event()

    def hammer() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                for path in paths:
                    session.get(f"{emulator.base_url}{path}", timeout=30)

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    slowest = 0.0
    try:
        time.sleep(0.3)
        for _ in range(10):
            started = time.monotonic()
            emulator_admin.health()
            slowest = max(slowest, time.monotonic() - started)
        # The request-log filter with the costliest pattern over those paths answers too.
        started = time.monotonic()
        emulator_admin.requests(path=r"[a-z]+[a-z]+$")
        filter_seconds = time.monotonic() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert slowest < 0.5, f"an admin call took {slowest:.2f} s"
    assert filter_seconds < 5.5, f"the request-log filter took {filter_seconds:.2f} s"
    statuses: dict[str, set[int | None]] = {path: set() for path in paths}
    for entry in emulator_admin.requests():
        statuses[entry["path"]].add(entry["status"])
    assert all(statuses.values()), statuses
    assert statuses[matching] == {503}
    assert 503 not in statuses[worst]
    assert 503 not in statuses[long], "a path longer than 256 characters matches no pattern"
