"""The fault matrix (issue 6): every fault the API or the network can throw at a migration run.

Each case runs the real flow of a DAG step against the session emulator: the deferrable
:class:`DcsConfigureOnlineMigrationOperator` configures a ready migration task and defers; its
trigger is rebuilt from its serialized form (as the triggerer does) and run until it fires;
``execute_complete`` maps the event. That is what ``dag.test()`` runs, minus the metadata
database (a ``dag.test()`` run costs ~15 s; the matrix would not stay quick). Faults are aimed at
the endpoint that matters: the configure ``POST`` for the faults that make a request ambiguous,
the detail ``GET`` polled by the trigger for the faults of a wait.

For every case: the outcome (a transient fault: the run still succeeds; a permanent one: it fails
fast, with a message a person can act on and without a secret), the attempts the emulator saw at
the faulted endpoint (from the first faulted request through the first clean one), that exactly
the declared number of configure POSTs reached the API and none was sent after it (never a
duplicate configure), and that the run ended before its deadline. One row per case goes to the
``faults`` table of ``docs/reliability.md`` (``scripts/reliability_report.py``).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from huaweicloud_dcs_emulator.testing import EmulatorAdmin, EmulatorProcess
from huaweicloud_dcs_provider.api.retry import RetryPolicy
from huaweicloud_dcs_provider.hooks.dcs import DcsHook
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.triggers import migration as trigger_module
from reliability import figures

pytestmark = pytest.mark.integration
pytest_plugins = ["airflow_fixtures"]

#: Fast waits so that the matrix stays quick; enough attempts to ride out a burst of 3.
FAST_RETRY = RetryPolicy(max_attempts=5, initial_wait=0.05, max_wait=1.5, max_total_seconds=15)
#: The wait's deadline (the operator's ``timeout``): every run must end before it.
DEADLINE = 30.0
#: A permanent fault must end the run within this many seconds.
FAST_FAIL_SECONDS = 10.0
POLL_INTERVAL = 0.2
#: Read timeout of the connection (the read-timeout case delays the answer beyond it).
READ_TIMEOUT = 1.0
REDIS_PASSWORD = "matrix-Redis-pass-42"
CONFIGURE = r"/migration/[0-9a-f-]+/task$"
DETAIL = r"/migration-task/[0-9a-f-]+$"
ENDPOINTS = {"configure": ("POST", CONFIGURE), "detail": ("GET", DETAIL)}
GATEWAY_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass(frozen=True)
class FaultCase:
    """One row of the matrix.

    :param id: test id.
    :param fault: what goes wrong, in words.
    :param injected: how the emulator is made to do it.
    :param endpoint: ``configure`` (the POST; injected before the operator runs) or ``detail``
        (the GET the trigger polls; injected once the operator deferred).
    :param rules: fault rules (``EmulatorAdmin.add_fault`` keyword arguments, endpoint added;
        ``count`` 1 unless given).
    :param config: emulator config changes (``clock_skew_seconds``).
    :param force: ``EmulatorAdmin.force_status`` keyword arguments.
    :param outcome: ``succeeds`` or ``fails fast``.
    :param attempts: requests at the faulted endpoint, from the first faulted one through the
        first clean one (or the last one, when the run failed).
    :param configure_posts: configure POSTs the API handled (HTTP 200).
    :param message: a substring of the error (failures), or of the logs (successes).
    :param min_seconds: the run cannot be faster (a ``Retry-After`` was honoured).
    """

    id: str
    fault: str
    injected: str
    endpoint: str
    outcome: str
    attempts: int
    rules: tuple[dict[str, Any], ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    force: dict[str, Any] = field(default_factory=dict)
    configure_posts: int = 1
    message: str | None = None
    min_seconds: float = 0.0


SUCCEEDS = "succeeds"
FAILS_FAST = "fails fast"

FAULT_CASES: tuple[FaultCase, ...] = (
    # ---- the configure POST: transient faults, several of them ambiguous (processed or not?)
    FaultCase(
        "burst-503",
        "burst of 503s on configure",
        "3 x HTTP 503 before the API",
        "configure",
        SUCCEEDS,
        attempts=4,
        rules=({"status": 503, "count": 3},),
    ),
    FaultCase(
        "429-retry-after",
        "429 with Retry-After on configure",
        "HTTP 429 APIGW.0308, Retry-After: 1",
        "configure",
        SUCCEEDS,
        attempts=2,
        rules=({"status": 429, "retry_after": 1},),
        min_seconds=1.0,
    ),
    FaultCase(
        "429-no-retry-after",
        "429 without Retry-After on configure",
        "HTTP 429 APIGW.0308",
        "configure",
        SUCCEEDS,
        attempts=2,
        rules=({"status": 429},),
    ),
    FaultCase(
        "reset-mid-response",
        "connection reset mid-response to configure",
        "processed; headers + 10 bytes of the body, then the connection closes",
        "configure",
        SUCCEEDS,
        attempts=1,
        rules=({"action": "reset", "when": "after", "keep_bytes": 10},),
    ),
    FaultCase(
        "read-timeout",
        "read timeout on configure",
        f"processed; answer delayed 2 s (read timeout {READ_TIMEOUT:g} s)",
        "configure",
        SUCCEEDS,
        attempts=1,
        rules=({"action": "latency", "when": "after", "delay": 2.0},),
    ),
    FaultCase(
        "dropped-reply",
        "reply to configure dropped",
        "processed; connection closed without an answer",
        "configure",
        SUCCEEDS,
        attempts=1,
        rules=({"action": "drop", "when": "after"},),
    ),
    FaultCase(
        "gateway-html",
        "gateway HTML error page instead of JSON",
        "HTTP 502 text/html nginx page before the API",
        "configure",
        SUCCEEDS,
        attempts=2,
        rules=({"status": 502, "body": GATEWAY_PAGE},),
    ),
    FaultCase(
        "truncated-json",
        "truncated JSON answer to configure",
        "processed; HTTP 200 with the first 15 bytes of the JSON",
        "configure",
        SUCCEEDS,
        attempts=1,
        rules=({"action": "truncate", "when": "after", "keep_bytes": 15},),
    ),
    FaultCase(
        "empty-200",
        "empty 200 answer to configure",
        "HTTP 200, empty body, before the API",
        "configure",
        SUCCEEDS,
        attempts=2,
        rules=({"status": 200, "body": ""},),
    ),
    FaultCase(
        "wrong-content-type",
        "wrong Content-Type on a valid JSON answer",
        "processed; Content-Type: text/html",
        "configure",
        SUCCEEDS,
        attempts=1,
        rules=({"action": "content_type", "when": "after", "content_type": "text/html"},),
    ),
    FaultCase(
        "error-echoes-secret",
        "error message echoes the Redis password",
        "HTTP 400 DCS.4000 whose error_msg quotes the password sent",
        "configure",
        FAILS_FAST,
        attempts=1,
        rules=(
            {
                "status": 400,
                "error_code": "DCS.4000",
                "error_msg": f"Invalid source_instance.password {REDIS_PASSWORD}: too weak",
            },
        ),
        configure_posts=0,
        message="Invalid source_instance.password ***",
    ),
    # ---- the detail GET polled by the trigger
    FaultCase(
        "burst-503-wait",
        "burst of 503s while waiting",
        "3 x HTTP 503 on the polled detail",
        "detail",
        SUCCEEDS,
        attempts=4,
        rules=({"status": 503, "count": 3},),
    ),
    FaultCase(
        "reset-wait",
        "connection reset mid-response while waiting (async hook)",
        "processed; headers + 20 bytes of the detail, then the connection closes",
        "detail",
        SUCCEEDS,
        attempts=2,
        rules=({"action": "reset", "when": "after", "keep_bytes": 20},),
    ),
    FaultCase(
        "truncated-json-wait",
        "truncated JSON detail while waiting (async hook)",
        "HTTP 200 with the first 30 bytes of the detail",
        "detail",
        SUCCEEDS,
        attempts=2,
        rules=({"action": "truncate", "when": "after", "keep_bytes": 30},),
    ),
    FaultCase(
        "task-deleted",
        "HTTP 400 DCS.4133 during a wait (task deleted under us)",
        "every detail read answers HTTP 400 DCS.4133",
        "detail",
        FAILS_FAST,
        attempts=1,
        rules=(
            {
                "status": 400,
                "error_code": "DCS.4133",
                "error_msg": "The migration task does not exist",
                "count": None,
            },
        ),
        message="no longer exists",
    ),
    FaultCase(
        "status-backwards",
        "status going backwards",
        "FULLMIGRATING, then MIGRATING for 1 read, then FULLMIGRATING again",
        "detail",
        SUCCEEDS,
        attempts=2,
        force={"status": "MIGRATING", "reads": 1, "skip_reads": 1},
        message="went back from FULLMIGRATING to MIGRATING",
    ),
    FaultCase(
        "unknown-status",
        "unknown new status",
        "RESYNCING for 2 reads",
        "detail",
        SUCCEEDS,
        attempts=3,
        force={"status": "RESYNCING", "reads": 2},
        message="'RESYNCING', which this provider does not know",
    ),
    FaultCase(
        "clock-skew",
        "clock skewed: the gateway rejects the signature",
        "gateway clock 1200 s ahead (signature expired, HTTP 401)",
        "detail",
        FAILS_FAST,
        attempts=1,
        config={"clock_skew_seconds": 1200},
        message="clock",
    ),
)


def _conn_json(emulator: EmulatorProcess) -> str:
    document = emulator.conn_dict()
    document["extra"] = {**document["extra"], "timeout": READ_TIMEOUT}  # type: ignore[dict-item]
    return json.dumps(document)


def _ready_task(admin: EmulatorAdmin) -> str:
    created = DcsHook(retry_policy=FAST_RETRY).create_online_migration_task(
        name="fault-matrix",
        vpc_id="vpc-1",
        subnet_id="subnet-1",
        security_group_id="sg-1",
        poll_interval=0.05,
        timeout=10,
    )
    return str(created["task_id"])


def _inject(admin: EmulatorAdmin, case: FaultCase, task_id: str) -> None:
    method, path = ENDPOINTS[case.endpoint]
    for rule in case.rules:
        admin.add_fault(method=method, path=path, **rule)
    if case.config:
        admin.set_config(**case.config)
    if case.force:
        admin.force_status(task_id, **case.force)


def _run(admin: EmulatorAdmin, case: FaultCase, task_id: str) -> tuple[Any, BaseException | None]:
    """The configure step as a DAG run does it: execute, defer, the trigger, execute_complete."""
    from airflow_fixtures import make_context

    operator = DcsConfigureOnlineMigrationOperator(
        task_id="configure",
        migration_task_id=task_id,
        migration_method="full_amount_migration",
        resume_mode="manual",
        source_instance={"addrs": "127.0.0.1:6379", "password": REDIS_PASSWORD},
        target_instance={"addrs": "127.0.0.1:6380"},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=DEADLINE,
    )
    operator.hook.retry_policy = FAST_RETRY
    context = make_context()
    try:
        try:
            return operator.execute(context), None
        except TaskDeferred as deferred:
            if case.endpoint == "detail":
                _inject(admin, case, task_id)
            classpath, kwargs = deferred.trigger.serialize()
            module, _, name = classpath.rpartition(".")
            trigger = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))

            async def fire() -> list[Any]:
                return [event.payload async for event in trigger.run()]

            [event] = asyncio.run(fire())
            return operator.execute_complete(context, event=event, **(deferred.kwargs or {})), None
    except Exception as exc:
        return None, exc


def _attempts(entries: list[dict[str, Any]]) -> int:
    """Requests from the first faulted one through the first clean one after it (or the end)."""

    def faulted(entry: dict[str, Any]) -> bool:
        return bool(entry["faults"]) or entry["status"] != 200

    first = next((i for i, entry in enumerate(entries) if faulted(entry)), None)
    if first is None:
        return 0
    for i in range(first, len(entries)):
        if not faulted(entries[i]):
            return i - first + 1
    return len(entries) - first


@pytest.mark.parametrize("case", FAULT_CASES, ids=[case.id for case in FAULT_CASES])
def test_fault_matrix(
    case: FaultCase,
    emulator: EmulatorProcess,
    emulator_admin: EmulatorAdmin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = emulator_admin
    admin.set_config(create_seconds=0.05, full_seconds=1.5)
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", _conn_json(emulator))
    monkeypatch.setattr(trigger_module, "POLL_RETRY_POLICY", FAST_RETRY)
    task_id = _ready_task(admin)
    admin.clear_requests()
    if case.endpoint == "configure":
        _inject(admin, case, task_id)

    started = time.monotonic()
    try:
        result, error = _run(admin, case, task_id)
    finally:
        seconds = time.monotonic() - started
        admin.clear_faults()
        admin.set_config(clock_skew_seconds=0)
    output = capsys.readouterr()
    logs = output.out + output.err

    method, path = ENDPOINTS[case.endpoint]
    attempts = _attempts(admin.requests(method=method, path=path))
    posts = admin.requests(method="POST", path=CONFIGURE)
    handled = [i for i, post in enumerate(posts) if post["handled_status"] == 200]
    outcome = SUCCEEDS if error is None else FAILS_FAST
    figures.record(
        "faults",
        {
            "fault": case.fault,
            "injected": case.injected,
            "outcome": outcome if error is None or seconds < FAST_FAIL_SECONDS else "fails (slowly)",
            "attempts": attempts,
            "configure_posts": len(handled),
            "seconds": round(seconds, 1),
            "message": None if error is None else str(error)[:600],
        },
    )

    assert outcome == case.outcome, f"{case.id}: {error!r}\n{logs[-3000:]}"
    assert attempts == case.attempts, admin.requests(method=method, path=path)
    assert len(handled) == case.configure_posts, posts
    if handled:
        assert handled[-1] == len(posts) - 1, "a configure POST was sent after one took effect"
    assert all(post["handled_status"] in (None, 200) for post in posts) or case.configure_posts == 0
    assert seconds < DEADLINE, "the run outlived its deadline"
    assert seconds >= case.min_seconds
    if error is None:
        assert result["status"] == "SUCCESS"
        assert result["id"] == task_id
        if case.message:
            assert case.message in logs
    else:
        assert seconds < FAST_FAIL_SECONDS, f"a permanent fault must fail fast, took {seconds:.1f} s"
        text = f"{error}\n{error!r}"
        assert case.message is not None
        assert case.message in str(error), text
        assert REDIS_PASSWORD not in text
        assert emulator.secret_key not in text
    assert REDIS_PASSWORD not in logs
    assert emulator.secret_key not in logs


# ------------------------------------------------------------------------------------------------
# The same faults in a real ``dag.test()`` run (one run: it costs ~15 s)
# ------------------------------------------------------------------------------------------------

DAG_SCRIPT = """
import json
from airflow.providers.common.compat.sdk import DAG
from huaweicloud_dcs_provider.operators.migration import DcsConfigureOnlineMigrationOperator
from huaweicloud_dcs_provider.sensors.migration import DcsMigrationTaskSensor

with DAG(dag_id="dcs_fault_matrix", schedule=None, catchup=False) as dag:
    configure = DcsConfigureOnlineMigrationOperator(
        task_id="configure", migration_task_id=TASK_ID, migration_method="full_amount_migration",
        resume_mode="manual", source_instance={"addrs": "127.0.0.1:6379", "password": PASSWORD},
        target_instance={"addrs": "127.0.0.1:6380"}, deferrable=True, poll_interval=0.3,
        timeout=DEADLINE, wait_for_completion=False,
    )
    wait = DcsMigrationTaskSensor(
        task_id="wait", migration_task_id=TASK_ID, deferrable=True, poke_interval=0.3, timeout=DEADLINE,
    )
    configure >> wait

if __name__ == "__main__":
    MIGRATE_DB
    run = dag.test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print("RESULT " + json.dumps({"state": str(run.state), "tasks": states}))
"""


def test_faults_in_a_dag_run(
    emulator: EmulatorProcess,
    emulator_admin: EmulatorAdmin,
    airflow_db_home: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Configure's answer breaks mid-response, then the deferred sensor's polls get a 503 burst."""
    from airflow_fixtures import MIGRATE_DB, run_dag_file

    admin = emulator_admin
    admin.set_config(create_seconds=0.05, full_seconds=4.0)
    conn = _conn_json(emulator)
    monkeypatch.setenv("AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT", conn)
    task_id = _ready_task(admin)
    admin.clear_requests()
    admin.add_fault(method="POST", path=CONFIGURE, action="reset", when="after", keep_bytes=10)

    def burst_once_configured(stop: threading.Event) -> None:
        """Once the configure step is done (the sensor is running), the polls get 2 x 503."""
        while not stop.is_set():
            if admin.requests(method="GET", path=r"/migration-task/[0-9a-f-]+/stats$"):
                admin.add_fault(method="GET", path=DETAIL, status=503, count=2)
                return
            stop.wait(0.05)

    stop = threading.Event()
    injector = threading.Thread(target=burst_once_configured, args=(stop,), daemon=True)
    injector.start()
    source = (
        DAG_SCRIPT.replace("MIGRATE_DB", MIGRATE_DB)
        .replace("TASK_ID", repr(task_id))
        .replace("PASSWORD", repr(REDIS_PASSWORD))
        .replace("DEADLINE", repr(DEADLINE * 2))
    )
    started = time.monotonic()
    try:
        result = run_dag_file(
            "dcs_fault_matrix",
            source,
            {**airflow_db_home, "AIRFLOW_CONN_HUAWEICLOUD_DCS_DEFAULT": conn},
            timeout=120,
        )
    finally:
        stop.set()
        injector.join(5)
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no result:\n{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
    outcome = json.loads(lines[-1][len("RESULT ") :])
    posts = admin.requests(method="POST", path=CONFIGURE)
    detail = admin.requests(method="GET", path=DETAIL)
    figures.record(
        "faults",
        {
            "fault": "reset mid-response on configure, then a 503 burst while the sensor waits (dag.test)",
            "injected": "reset after configure (10 bytes); 2 x HTTP 503 on the deferred sensor's polls",
            "outcome": SUCCEEDS if outcome["state"] == "success" else "fails",
            "attempts": _attempts(detail),
            "configure_posts": len([p for p in posts if p["handled_status"] == 200]),
            "seconds": round(seconds, 1),
        },
    )
    assert outcome["state"] == "success", f"{outcome}\n{output[-8000:]}"
    assert set(outcome["tasks"].values()) == {"success"}
    assert [p["handled_status"] for p in posts] == [200], "one configure POST, never a second one"
    assert [p["faults"] for p in posts] == [["reset"]]
    assert _attempts(detail) == 3, detail
    assert "running trigger in line" in output, "the sensor really deferred"
    assert REDIS_PASSWORD not in output
    assert emulator.secret_key not in output
