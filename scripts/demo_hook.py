"""Drive a whole DCS migration with the hook against the local emulator, and say what happened.

Run through ``scripts/demo.sh hook``. Starts the emulator on a free port with throw-away
credentials, then: create a migration task, wait until it is ready, configure a full migration,
poll status and progress until it ends, and print the outcome.
"""

from __future__ import annotations

import os
import sys
import time

from huaweicloud_dcs_emulator.testing import EmulatorProcess
from huaweicloud_dcs_provider.api.statuses import StatusClass, classify
from huaweicloud_dcs_provider.hooks.dcs import DcsHook

TIMINGS = {"create_seconds": 1.0, "full_seconds": 4.0, "stop_seconds": 1.0}


def main() -> int:
    started = time.monotonic()
    with EmulatorProcess(config=TIMINGS) as emulator:
        os.environ["AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT"] = emulator.conn_uri_json()
        print(f"emulator listening on {emulator.base_url}")
        hook = DcsHook()
        ok, message = hook.test_connection()
        print(f"test_connection: {ok} - {message}")
        created = hook.create_online_migration_task(
            name="demo-migration",
            vpc_id="vpc-demo",
            subnet_id="subnet-demo",
            security_group_id="sg-demo",
            poll_interval=0.5,
        )
        task_id = created["task_id"]
        print(f"created task {task_id}: {created['status']}")
        task = hook.configure_online_migration(
            task_id,
            migration_method="full_amount_migration",
            resume_mode="manual",
            source_instance={"addrs": "127.0.0.1:6379"},
            target_instance={"addrs": "127.0.0.1:6380"},
            bandwidth_limit_mb=100,
        )
        seen = [task.status]
        print(f"configured: {task.status}")
        while classify(task.status) == StatusClass.IN_PROGRESS:
            time.sleep(0.5)
            task = hook.get_migration_task(task_id)
            stats = hook.get_migration_task_stats(task_id)
            if task.status != seen[-1]:
                seen.append(task.status)
            print(f"  {task.status:<14} {stats.describe()}")
        print(f"statuses seen: {' -> '.join(seen)}")
        print(f"final result: {task.status} after {time.monotonic() - started:.1f} s")
        return 0 if task.status == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
