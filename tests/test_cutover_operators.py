"""Cutover operators (IP switch, whitelist, resume mode, batches) against the emulator.

DCS instances given by ``id`` (registered in the emulator first, as they would exist in the
cloud) are simulated by the emulator, so the IP switch and the whitelist paths run against its
API. The pre-flight check, against real ``redis-server`` processes, is in ``test_preflight.py``.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from huaweicloud_dcs_provider.exceptions import DcsError, DcsValidationError
from huaweicloud_dcs_provider.hooks.dcs import DcsHook
from huaweicloud_dcs_provider.operators.batch import (
    DcsBatchRestartMigrationTasksOperator,
    DcsBatchStopMigrationTasksOperator,
    DcsSetResumeModeOperator,
)
from huaweicloud_dcs_provider.operators.ip_switch import (
    DcsExchangeInstanceIpOperator,
    DcsRollbackInstanceIpOperator,
)
from huaweicloud_dcs_provider.operators.whitelist import (
    DcsAdmitMigrationEcsToWhitelistOperator,
    DcsRemoveMigrationEcsFromWhitelistOperator,
)

if TYPE_CHECKING:
    from airflow_fixtures import DcsTestEnv

pytest_plugins = ["airflow_fixtures", "redis_servers"]
pytestmark = pytest.mark.integration

EXCHANGE = r"/exchange-ip$"
ROLLBACK = r"/rollback-ip$"
WHITELIST = r"/instance/[0-9a-f-]+/whitelist$"


def context() -> dict[str, Any]:
    from airflow_fixtures import make_context

    return make_context()


def dcs_task(env: DcsTestEnv, method: str = "incremental_migration") -> tuple[str, str, str]:
    """A migration between two (simulated) DCS instances, waited until it is live."""
    source, target = str(uuid.uuid4()), str(uuid.uuid4())
    env.admin.add_instance(source, target)  # the emulator refuses DCS instances it does not know
    task_id = env.create_ready_task()
    env.configure(task_id, method=method, source={"id": source}, target={"id": target})
    env.wait_status(task_id, "INCRMIGEATING" if method == "incremental_migration" else "SUCCESS")
    return task_id, source, target


def whitelist(instance_id: str) -> tuple[bool, list[dict[str, Any]]]:
    current = DcsHook().get_whitelist(instance_id)
    return current.enable_whitelist, current.whitelist


# ------------------------------------------------------------------------------------------------
# IP switch
# ------------------------------------------------------------------------------------------------


def test_exchange_then_rollback_reach_their_task_status(dcs_env: DcsTestEnv) -> None:
    task_id, _, _ = dcs_task(dcs_env)
    exchange = DcsExchangeInstanceIpOperator(
        task_id="exchange", migration_task_id=task_id, poll_interval=0.1, timeout=20
    )
    done = exchange.execute(context())
    assert done["task_status"] == "EXCHANGE_SUCCESS"
    [call] = dcs_env.requests(method="POST", path=EXCHANGE)
    assert call["status"] in (200, 204)
    # A retry of a finished switch does not switch again.
    assert exchange.execute(context())["task_status"] == "EXCHANGE_SUCCESS"
    assert len(dcs_env.requests(method="POST", path=EXCHANGE)) == 1

    rollback = DcsRollbackInstanceIpOperator(
        task_id="rollback", migration_task_id=task_id, poll_interval=0.1, timeout=20
    )
    assert rollback.execute(context())["task_status"] == "ROLLBACK_SUCCESS"
    assert len(dcs_env.requests(method="POST", path=ROLLBACK)) == 1


def test_a_switch_in_progress_is_waited_for_before_deciding(dcs_env: DcsTestEnv) -> None:
    dcs_env.admin.set_config(exchange_seconds=1.0)
    task_id, _, _ = dcs_task(dcs_env)
    started = DcsExchangeInstanceIpOperator(
        task_id="exchange", migration_task_id=task_id, wait_for_completion=False
    ).execute(context())
    assert started["task_status"] is None
    # A retried switch while EXCHANGING: waits, does not ask twice.
    retried = DcsExchangeInstanceIpOperator(
        task_id="exchange", migration_task_id=task_id, poll_interval=0.1, timeout=20
    ).execute(context())
    assert retried["task_status"] == "EXCHANGE_SUCCESS"
    assert len(dcs_env.requests(method="POST", path=EXCHANGE)) == 1
    # A rollback asked while a switch runs waits for it, then rolls back.
    DcsRollbackInstanceIpOperator(
        task_id="rollback", migration_task_id=task_id, poll_interval=0.1, timeout=20
    ).execute(context())
    DcsExchangeInstanceIpOperator(
        task_id="exchange", migration_task_id=task_id, wait_for_completion=False
    ).execute(context())
    rolled = DcsRollbackInstanceIpOperator(
        task_id="rollback", migration_task_id=task_id, poll_interval=0.1, timeout=20
    ).execute(context())
    assert rolled["task_status"] == "ROLLBACK_SUCCESS"
    assert len(dcs_env.requests(method="POST", path=EXCHANGE)) == 2
    assert len(dcs_env.requests(method="POST", path=ROLLBACK)) == 2


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("full", "only incremental_migration"),
        ("running", "not INCRMIGEATING"),
        ("self_hosted", "self-hosted Redis 127.0.0.1:6379"),
    ],
)
def test_exchange_preconditions_are_explained_before_any_call(
    dcs_env: DcsTestEnv, setup: str, expected: str
) -> None:
    if setup == "full":
        task_id, _, _ = dcs_task(dcs_env, method="full_amount_migration")
    elif setup == "running":
        task_id = dcs_env.create_ready_task()
    else:
        task_id = dcs_env.create_ready_task()
        dcs_env.configure(task_id, method="incremental_migration")
        dcs_env.wait_status(task_id, "INCRMIGEATING")
    op = DcsExchangeInstanceIpOperator(task_id="exchange", migration_task_id=task_id, poll_interval=0.1)
    with pytest.raises(DcsError, match="Cannot switch the IPs") as info:
        op.execute(context())
    assert expected in str(info.value)
    assert "Nothing was changed" in str(info.value)
    assert dcs_env.requests(method="POST", path=EXCHANGE) == []


def test_rollback_without_a_switch_is_refused_before_any_call(dcs_env: DcsTestEnv) -> None:
    task_id, _, _ = dcs_task(dcs_env)
    op = DcsRollbackInstanceIpOperator(task_id="rollback", migration_task_id=task_id)
    with pytest.raises(DcsError, match="no IP switch to roll back"):
        op.execute(context())
    assert dcs_env.requests(method="POST", path=ROLLBACK) == []


def test_exchange_timeout_names_the_task_status_seen(dcs_env: DcsTestEnv) -> None:
    dcs_env.admin.set_config(exchange_seconds=30)
    task_id, _, _ = dcs_task(dcs_env)
    op = DcsExchangeInstanceIpOperator(
        task_id="exchange", migration_task_id=task_id, poll_interval=0.1, timeout=0.5
    )
    with pytest.raises(DcsError, match=r"no EXCHANGE_SUCCESS .*task_status seen: EXCHANGING"):
        op.execute(context())


def test_exchange_fails_when_the_task_fails_during_the_switch(dcs_env: DcsTestEnv) -> None:
    dcs_env.admin.set_config(exchange_seconds=30)
    task_id, _, _ = dcs_task(dcs_env)
    op = DcsExchangeInstanceIpOperator(
        task_id="exchange", migration_task_id=task_id, wait_for_completion=False
    )
    op.execute(context())
    dcs_env.admin.fail_task(task_id, "link to the source lost")
    waiter = DcsExchangeInstanceIpOperator(
        task_id="exchange", migration_task_id=task_id, poll_interval=0.1, timeout=5
    )
    with pytest.raises(DcsError, match="did not switch the IPs"):
        waiter.execute(context())


# ------------------------------------------------------------------------------------------------
# Whitelist
# ------------------------------------------------------------------------------------------------


def test_admit_keeps_existing_groups_is_idempotent_and_removal_restores(dcs_env: DcsTestEnv) -> None:
    task_id, source, target = dcs_task(dcs_env)
    ip = DcsHook().get_migration_task(task_id).ecs_tenant_private_ip
    apps = [{"group_name": "apps", "ip_list": ["10.1.0.0/24", "10.2.0.5"]}]
    DcsHook().replace_whitelist(source, enable_whitelist=True, whitelist=apps)
    original_source, original_target = whitelist(source), whitelist(target)  # target: disabled

    admit = DcsAdmitMigrationEcsToWhitelistOperator(task_id="admit", migration_task_id=task_id)
    admitted = admit.execute(context())
    assert admitted["ip"] == ip
    assert admitted["changed"] == [{"instance_id": source, "created_group": True, "enabled": False}]
    assert admitted["skipped"] == [{"instance_id": target, "reason": "whitelist disabled"}]
    enabled, groups = whitelist(source)
    assert enabled
    assert groups == [*apps, {"group_name": "dcs-migration", "ip_list": [ip]}]
    assert whitelist(target) == original_target

    writes = len(dcs_env.requests(method="PUT", path=WHITELIST))
    again = admit.execute(context())
    assert again["changed"] == []
    assert {"instance_id": source, "reason": "already admitted"} in again["skipped"]
    assert len(dcs_env.requests(method="PUT", path=WHITELIST)) == writes

    json.dumps(admitted)  # an XCom value
    remove = DcsRemoveMigrationEcsFromWhitelistOperator(task_id="remove", admitted=admitted)
    assert remove.execute(context()) == [source]
    assert whitelist(source) == original_source
    assert remove.execute(context()) == []  # idempotent


def test_admit_can_enable_a_disabled_whitelist_and_removal_disables_it_again(dcs_env: DcsTestEnv) -> None:
    task_id, source, target = dcs_task(dcs_env)
    admitted = DcsAdmitMigrationEcsToWhitelistOperator(
        task_id="admit", migration_task_id=task_id, instance_ids=[target], enable_whitelist=True
    ).execute(context())
    assert admitted["changed"] == [{"instance_id": target, "created_group": True, "enabled": True}]
    assert whitelist(target)[0] is True
    DcsRemoveMigrationEcsFromWhitelistOperator(task_id="remove", admitted=admitted).execute(context())
    assert whitelist(target) == (False, [])
    assert whitelist(source) == (False, [])


def test_admit_explains_a_full_whitelist_and_writes_nothing(dcs_env: DcsTestEnv) -> None:
    task_id, source, target = dcs_task(dcs_env)
    DcsHook().replace_whitelist(
        source,
        enable_whitelist=True,
        whitelist=[{"group_name": f"g{i}", "ip_list": [f"10.0.{i}.1"]} for i in range(4)],
    )
    DcsHook().replace_whitelist(
        target, enable_whitelist=True, whitelist=[{"group_name": "ok", "ip_list": ["10.9.0.1"]}]
    )
    dcs_env.admin.clear_requests()
    op = DcsAdmitMigrationEcsToWhitelistOperator(task_id="admit", migration_task_id=task_id)
    with pytest.raises(DcsError, match=rf"DCS instance {source} would have 5 groups .*at most 4 groups"):
        op.execute(context())
    assert dcs_env.requests(method="PUT", path=WHITELIST) == []


def test_remove_without_admitted_reads_the_task(dcs_env: DcsTestEnv) -> None:
    task_id, source, _ = dcs_task(dcs_env)
    ip = DcsHook().get_migration_task(task_id).ecs_tenant_private_ip
    DcsHook().replace_whitelist(
        source,
        enable_whitelist=True,
        whitelist=[{"group_name": "dcs-migration", "ip_list": [ip, "10.0.0.9"]}],
    )
    op = DcsRemoveMigrationEcsFromWhitelistOperator(task_id="remove", migration_task_id=task_id)
    assert op.execute(context()) == [source]
    assert whitelist(source) == (True, [{"group_name": "dcs-migration", "ip_list": ["10.0.0.9"]}])
    with pytest.raises(DcsValidationError):
        DcsRemoveMigrationEcsFromWhitelistOperator(task_id="remove2")


# ------------------------------------------------------------------------------------------------
# Resume mode and batches
# ------------------------------------------------------------------------------------------------


def test_set_resume_mode(dcs_env: DcsTestEnv) -> None:
    task_id, _, _ = dcs_task(dcs_env)
    op = DcsSetResumeModeOperator(task_id="resume", migration_task_id=task_id, resume_mode="auto")
    assert op.execute(context()) == "auto"
    assert DcsHook().get_migration_task(task_id).resume_mode == "auto"
    with pytest.raises(DcsValidationError, match="resume_mode"):
        DcsSetResumeModeOperator(task_id="r", migration_task_id=task_id, resume_mode="sometimes").execute(
            context()
        )


def test_batch_stop_waits_for_accepted_and_names_rejected_then_restart(dcs_env: DcsTestEnv) -> None:
    first, _, _ = dcs_task(dcs_env)
    second, _, _ = dcs_task(dcs_env)
    not_started = dcs_env.create_ready_task("idle")
    stop = DcsBatchStopMigrationTasksOperator(
        task_id="stop", migration_task_ids=[first, second, not_started], poll_interval=0.1, timeout=20
    )
    with pytest.raises(DcsError, match=rf"refused to stop 1 task\(s\): {not_started}"):
        stop.execute(context())
    assert dcs_env.status(first) == dcs_env.status(second) == "TERMINATED"

    restart = DcsBatchRestartMigrationTasksOperator(
        task_id="restart", migration_task_ids=f"{first},{second}", poll_interval=0.1, timeout=20
    )
    assert restart.execute(context()) == {first: "INCRMIGEATING", second: "INCRMIGEATING"}
    ok = DcsBatchStopMigrationTasksOperator(
        task_id="stop2", migration_task_ids=[first, second], poll_interval=0.1, timeout=20
    )
    assert ok.execute(context()) == {first: "TERMINATED", second: "TERMINATED"}


def test_batch_restart_brings_a_failed_task_back(dcs_env: DcsTestEnv) -> None:
    task_id, _, _ = dcs_task(dcs_env)
    dcs_env.admin.fail_task(task_id, "injected")
    status = dcs_env.status(task_id)
    assert status in ("FAILED", "MIGRATION_FAILED")
    restart = DcsBatchRestartMigrationTasksOperator(
        task_id="restart", migration_task_ids=[task_id], poll_interval=0.1, timeout=20
    )
    assert restart.execute(context()) == {task_id: "INCRMIGEATING"}


# ------------------------------------------------------------------------------------------------
# Registration (the pre-flight check has its own tests: tests/test_preflight.py)
# ------------------------------------------------------------------------------------------------


def test_provider_info_lists_the_cutover_operators() -> None:
    from huaweicloud_dcs_provider.provider_info import get_provider_info

    modules = [m for entry in get_provider_info()["operators"] for m in entry["python-modules"]]
    for name in ("ip_switch", "whitelist", "batch", "preflight"):
        assert f"huaweicloud_dcs_provider.operators.{name}" in modules
