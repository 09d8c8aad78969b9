"""Secrets at every log level: the documented paths, run with Airflow's logging at DEBUG.

``dag.test()`` is the path docs/testing.md recommends, and DEBUG is what a user turns on when
something goes wrong. Under ``dag.test()`` Airflow 3's in-process supervisor logs every message a
task sends it at DEBUG, a ``mask_secret`` message included, with the secret in clear (upstream;
docs/testing.md, "Known issues"). The provider registers its secrets so that this never happens
(:func:`huaweicloud_dcs_provider.compat.mask_secret`). Two runs, each in a child process with
``AIRFLOW__LOGGING__LOGGING_LEVEL=DEBUG``, every line of their output scanned for every secret
(and its first characters):

* the example DAG ``example_dcs_full_migration`` with ``dag.test()`` (temporary credentials, so a
  security token too, and Redis passwords from connections);
* the hook alone: create, configure with Redis passwords, wait, stats, logs, stop, delete.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_versions import AIRFLOW_V_3
from huaweicloud_dcs_emulator.testing import EmulatorProcess, random_security_token
from reliability import figures
from secret_hygiene import needles, register_secret

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
TIMINGS = {"create_seconds": 0.2, "full_seconds": 2.0, "stop_seconds": 0.2, "job_seconds": 0.1}
DEBUG_ENV = {"AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG"}


def scan(output: str, found_secrets: dict[str, str]) -> list[str]:
    """The secrets (or their first characters) found in ``output``, by label."""
    return [label for label, needle in needles(found_secrets).items() if needle in output]


def keep_for_the_session_scan(directory: Path, output: str, known: dict[str, str]) -> None:
    """Register the run's secrets and leave its output under the base temp directory, so the
    session-wide scan (``tests/secret_hygiene.py``) goes over this DEBUG run too: its output, its
    Airflow home, logs and metadata DB."""
    for label, value in known.items():
        register_secret(value, f"DEBUG-level run: {label}")
    (directory / "debug-output.log").write_text(output)


@pytest.fixture(scope="module")
def emulator() -> Any:
    process = EmulatorProcess(config=TIMINGS, security_token=random_security_token())
    process.start()
    yield process
    process.stop()


def connection(emulator: EmulatorProcess) -> dict[str, Any]:
    document = emulator.conn_dict()
    document["extra"] = {**dict(document["extra"]), "region": "ap-southeast-1"}  # type: ignore[call-overload]
    return document


def test_dag_test_at_debug_level_shows_no_secret(
    emulator: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from test_example_dags import FULL_DAG, runner

    known = {
        "secret access key": emulator.secret_key,
        "security token": str(emulator.security_token),
        "redis source password": "src-" + secrets.token_urlsafe(18),
        "redis target password": "tgt-" + secrets.token_urlsafe(18),
    }
    home = tmp_path_factory.mktemp("debug-airflow-home")
    conn = connection(emulator)
    env = runner.airflow_env(
        home,
        {
            "AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": json.dumps(conn),
            "AIRFLOW_CONN_DCS_REDIS_SOURCE": json.dumps(
                {"conn_type": "generic", "password": known["redis source password"]}
            ),
            "AIRFLOW_CONN_DCS_REDIS_TARGET": json.dumps(
                {"conn_type": "generic", "password": known["redis target password"]}
            ),
            **DEBUG_ENV,
        },
    )
    runner.migrate_once(home, env)
    task_id = emulator.api().create_ready_task("debug-run")
    runs = runner.run_dags_in_child(
        [runner.DagTestJob("debug", FULL_DAG, {"migration_task_id": task_id})],
        env,
        home / "logs" / "dag-test",
    )
    run = runs["debug"]
    output = run.output
    keep_for_the_session_scan(home, output, known)
    assert run.result.get("state") == "success", output[-3000:]
    debug_lines = [line for line in output.splitlines() if "debug" in line.lower()]
    assert len(debug_lines) > 50, "the run did not log at DEBUG level"
    hits = scan(output, known)
    figures.record(
        "debug_scan",
        {
            "path": "dag.test() of example_dcs_full_migration, AIRFLOW__LOGGING__LOGGING_LEVEL=DEBUG",
            "lines scanned": len(output.splitlines()),
            "DEBUG lines": len(debug_lines),
            "secrets": len(known),
            "hits": len(hits),
        },
    )
    assert hits == [], f"secrets in the DEBUG output of dag.test(): {hits}"


HOOK_SCRIPT = textwrap.dedent(
    """
    import json, logging, os, sys
    logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(levelname)s %(name)s %(message)s")
    from huaweicloud_dcs_provider.api.retry import RetryPolicy
    from huaweicloud_dcs_provider.hooks.dcs import DcsHook

    source, target = json.loads(os.environ["DCS_DEBUG_PASSWORDS"])
    hook = DcsHook(retry_policy=RetryPolicy(max_attempts=2, initial_wait=0.05, max_wait=0.1))
    network = {"vpc_id": "vpc-1", "subnet_id": "subnet-1", "security_group_id": "sg-1"}
    created = hook.create_online_migration_task(name="debug-hook", poll_interval=0.1, **network)
    task_id = created["task_id"]
    hook.configure_online_migration(
        task_id,
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "127.0.0.1:6379", "password": source},
        target_instance={"addrs": "127.0.0.1:6380", "password": target},
    )
    task = hook.wait_for_task_status(task_id, ["SUCCESS"], poll_interval=0.2, timeout=60)
    print("task", task)
    print("raw", task.raw)
    print("stats", hook.get_migration_task_stats(task_id))
    print("logs", hook.list_migration_task_logs(task_id))
    print("settings", hook.settings)
    print("hook", hook)
    hook.delete_migration_tasks([task_id])
    print("DONE")
    """
)


def test_the_hook_at_debug_level_shows_no_secret(emulator: EmulatorProcess, tmp_path: Path) -> None:
    known = {
        "secret access key": emulator.secret_key,
        "security token": str(emulator.security_token),
        "redis source password": "hsrc-" + secrets.token_urlsafe(18),
        "redis target password": "htgt-" + secrets.token_urlsafe(18),
    }
    env = {
        **__import__("os").environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": json.dumps(connection(emulator)),
        "DCS_DEBUG_PASSWORDS": json.dumps([known["redis source password"], known["redis target password"]]),
        **DEBUG_ENV,
    }
    proc = subprocess.run(
        [sys.executable, "-c", HOOK_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=str(REPO),
    )
    output = proc.stdout + proc.stderr
    keep_for_the_session_scan(tmp_path, output, known)
    assert proc.returncode == 0, output[-3000:]
    assert "DONE" in proc.stdout, output[-3000:]
    debug_lines = [line for line in output.splitlines() if line.startswith("DEBUG")]
    assert debug_lines, "nothing was logged at DEBUG level"
    hits = scan(output, known)
    figures.record(
        "debug_scan",
        {
            "path": "the hook alone (create, configure, wait, stats, logs, delete), logging at DEBUG",
            "lines scanned": len(output.splitlines()),
            "DEBUG lines": len(debug_lines),
            "secrets": len(known),
            "hits": len(hits),
        },
    )
    assert hits == [], f"secrets in the DEBUG output of the hook: {hits}"


@pytest.mark.skipif(not AIRFLOW_V_3, reason="Airflow 2's dag.test() has no in-process supervisor")
def test_the_in_process_channel_logs_a_mask_secret_without_its_body() -> None:
    """The channel still delivers the secret to the masker; its DEBUG line no longer holds it."""
    code = textwrap.dedent(
        """
        from airflow.sdk.execution_time import supervisor
        from airflow.sdk.execution_time.comms import MaskSecret

        lines, delivered = [], []

        class Log:
            def debug(self, event, **kwargs):
                lines.append((event, repr(kwargs)))

        def send(self, msg):  # what the real channel does: log the message, then deliver it
            self.log.debug("Sending request", msg=msg)
            delivered.append(msg)

        supervisor.InProcessSupervisorComms.send = send
        from huaweicloud_dcs_provider.compat import quiet_secret_channel

        quiet_secret_channel()
        quiet_secret_channel()  # idempotent
        channel = supervisor.InProcessSupervisorComms.__new__(supervisor.InProcessSupervisorComms)
        object.__setattr__(channel, "log", Log())
        channel.send(MaskSecret(value="very-secret-value-123"))
        assert delivered and delivered[0].value == "very-secret-value-123", delivered
        assert "very-secret-value-123" not in repr(lines), lines
        assert "body omitted" in lines[0][0], lines
        print("OK")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout
