"""The async hook against the running emulator, over real sockets."""

from __future__ import annotations

import json

import pytest

from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorProcess
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.api.statuses import NOT_FOUND
from huaweicloud_dcs_provider.exceptions import DcsApiError, DcsAuthError, DcsValidationError
from huaweicloud_dcs_provider.hooks.dcs import DcsAsyncHook, DcsHook

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.05, max_wait=0.2, max_total_seconds=20)
NETWORK = {"vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}


@pytest.fixture
def task_id(emulator_conn_env: EmulatorProcess) -> str:
    hook = DcsHook(retry_policy=FAST_RETRY)
    created = hook.create_online_migration_task(name="async", poll_interval=0.1, timeout=20, **NETWORK)
    hook.configure_online_migration(
        created["task_id"],
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "127.0.0.1:6379", "password": "async-source-pass"},
        target_instance={"addrs": "127.0.0.1:6380"},
    )
    return str(created["task_id"])


async def test_reads_in_one_session(task_id: str, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.clear_requests()
    async with DcsAsyncHook(retry_policy=FAST_RETRY) as hook:
        task = await hook.get_migration_task(task_id)
        stats = await hook.get_migration_task_stats(task_id)
        logs = await hook.list_migration_task_logs(task_id)
        tasks = await hook.list_migration_tasks(name="async")
    assert task.task_id == task_id
    assert task.status in ("FULLMIGRATING", "SUCCESS")
    assert "async-source-pass" not in json.dumps(task.to_dict())
    assert stats.source_dbsize is not None
    assert logs
    assert [t.task_id for t in tasks] == [task_id]
    assert emulator_admin.count_requests() == 4


async def test_transient_errors_are_retried(task_id: str, emulator_admin: EmulatorAdmin) -> None:
    emulator_admin.add_fault(method="GET", path=r"/stats$", status=503, count=2)
    emulator_admin.add_fault(method="GET", path=r"/migration-task/[^/]+$", action="drop", count=1)
    emulator_admin.clear_requests()
    async with DcsAsyncHook(retry_policy=FAST_RETRY) as hook:
        await hook.get_migration_task_stats(task_id)
        await hook.get_migration_task(task_id)
    assert emulator_admin.count_requests(path=r"/stats$") == 3
    assert emulator_admin.count_requests(path=r"/migration-task/[^/]+$") == 2


async def test_unknown_task_and_auth_errors(
    emulator: EmulatorProcess, emulator_admin: EmulatorAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", emulator.conn_uri_json())
    async with DcsAsyncHook(retry_policy=FAST_RETRY) as hook:
        assert await hook.get_task_status("3f2b4c1e-0000-4000-8000-000000000000") == NOT_FOUND
        with pytest.raises(DcsApiError, match=r"HTTP 400 DCS\.4133"):
            await hook.get_migration_task("3f2b4c1e-0000-4000-8000-000000000000")
    doc = json.loads(emulator.conn_uri_json())
    doc["password"] = "a-wrong-secret-key"
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", json.dumps(doc))
    emulator_admin.clear_requests()
    with pytest.raises(DcsAuthError) as info:
        await DcsAsyncHook(retry_policy=FAST_RETRY).get_migration_task("t-1")
    assert "HTTP 401" in str(info.value)
    assert "a-wrong-secret-key" not in str(info.value) + repr(info.value)
    assert emulator_admin.count_requests() == 1


async def test_validation_before_sending(
    emulator_conn_env: EmulatorProcess, emulator_admin: EmulatorAdmin
) -> None:
    with pytest.raises(DcsValidationError, match="migration_task_id"):
        await DcsAsyncHook().get_migration_task("a/b")
    assert emulator_admin.count_requests() == 0
