"""A real Airflow 3 deployment for end-to-end tests: four separate processes on a SQLite database.

:class:`AirflowStack` runs ``airflow db migrate``, then the api-server, scheduler (LocalExecutor),
dag-processor and triggerer, each as its own process (own session and process group, output in
its own file), on free ports, all sharing one configuration given through ``AIRFLOW__*``
environment variables. Runs are driven the way a user drives them, through the REST API with a
SimpleAuthManager token::

    with AirflowStack(tmp_path, dag_files=[dag_file], env={"AIRFLOW_CONN_X": "..."}) as stack:
        run_id = stack.trigger_dag("my_dag", {"param": 1})
        assert stack.wait_run("my_dag", run_id, timeout=120) == "success", stack.explain("my_dag", run_id)

Everything is stopped on exit, even when the test failed: SIGTERM to each component's own pid
(components stop cleanly on it in 2-5 s), SIGKILL to its whole process group after a grace period.
Every error this module raises is an :class:`AirflowStackError` (an ``AssertionError``) whose
message ends with the tail of each component's output.

The configuration follows the runtime notes for Airflow 3.3.2: a JWT secret of 64+ bytes shared
by all components, ``parallelism`` 4, the dag-processor looking for new files every 5 s, scheduled
(cron) runs off (only API-triggered runs happen) and ``[workers] min_heartbeat_interval = 1``, the
workaround for the deferral race in which a trigger firing within ~5 s of ``defer()`` gets the
resumed task failed by the scheduler (see docs/deployment.md).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from cryptography.fernet import Fernet

#: The four long-running components, in start order (stopped in reverse).
COMPONENTS: tuple[str, ...] = ("api-server", "scheduler", "dag-processor", "triggerer")
#: Health-endpoint keys of the components that report a heartbeat.
_HEALTH_KEYS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
_FINAL_RUN_STATES = frozenset({"success", "failed"})
USERNAME = "admin"


class AirflowStackError(AssertionError):
    """Something in the deployment went wrong; the message carries the components' log tails."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Component:
    """One running (or stopped) component process."""

    name: str
    generation: int
    process: subprocess.Popen[bytes]
    log_path: Path
    #: True once the process and its group were cleaned up (its pid may be reused afterwards,
    #: so nothing is ever sent to it again).
    reaped: bool = False

    @property
    def pid(self) -> int:
        """The component's main pid (also its process group id)."""
        return self.process.pid

    @property
    def alive(self) -> bool:
        """True while the main process runs."""
        return self.process.poll() is None


@dataclass(frozen=True)
class TriggerRow:
    """A row of the ``trigger`` table, with its kwargs decrypted (they are Fernet-encrypted)."""

    id: int
    classpath: str
    kwargs: dict[str, Any]
    triggerer_id: int | None
    created_date: str


@dataclass
class DatabaseDump:
    """Every cell of every table of the metadata DB, as text (blobs decoded, zlib inflated)."""

    text: str
    rows: dict[str, int] = field(default_factory=dict)
    cells: int = 0

    @property
    def tables(self) -> int:
        """How many tables were read."""
        return len(self.rows)

    @property
    def total_rows(self) -> int:
        """Rows read, all tables together."""
        return sum(self.rows.values())


class AirflowStack:
    """A real Airflow deployment in ``root`` (a context manager; see the module docstring).

    :param root: an empty directory; ``AIRFLOW_HOME`` is ``root/airflow-home`` and the components'
        output goes to ``root/components/<name>.<generation>.log``.
    :param dag_files: DAG files copied into the DAGs folder.
    :param env: extra environment for every component (``AIRFLOW_CONN_*``, DAG settings...);
        it wins over the stack's own settings.
    :param parallelism: ``[core] parallelism``, the number of LocalExecutor worker processes.
    :param startup_timeout: seconds for the components to report healthy.
    :param stop_grace: seconds a component gets to stop on SIGTERM before its group is killed.
    """

    def __init__(
        self,
        root: Path,
        *,
        dag_files: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        parallelism: int = 4,
        startup_timeout: float = 120.0,
        stop_grace: float = 20.0,
    ) -> None:
        self.root = Path(root)
        self.home = self.root / "airflow-home"
        self.dags_folder = self.home / "dags"
        self.logs_folder = self.home / "logs"
        self.component_dir = self.root / "components"
        self.db_path = self.home / "airflow.db"
        self.dag_files = [Path(path) for path in dag_files]
        self.extra_env = dict(env or {})
        self.parallelism = parallelism
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.api_port = free_port()
        self.worker_log_port = free_port()
        self.trigger_log_port = free_port()
        self.fernet_key = Fernet.generate_key().decode()
        self.startup_seconds: float | None = None
        self._password = secrets.token_urlsafe(18)
        self._jwt_secret = secrets.token_urlsafe(64)  # 86 characters: >= 64 bytes for HS512
        self._api_secret = secrets.token_urlsafe(32)
        self._components: dict[str, Component] = {}
        self._history: list[Component] = []
        self._generations: dict[str, int] = {}
        self._session = requests.Session()
        self._token: str | None = None
        self._started = False

    def __repr__(self) -> str:
        running = sorted(name for name, comp in self._components.items() if comp.alive)
        return f"AirflowStack(home={str(self.home)!r}, api={self.base_url!r}, running={running})"

    # ---------------------------------------------------------------- configuration

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the api-server."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def airflow_bin(self) -> Path:
        """The ``airflow`` console script of the running interpreter's environment."""
        return Path(sys.executable).with_name("airflow")

    def environment(self) -> dict[str, str]:
        """The environment every component (and ``airflow db migrate``) runs with.

        The caller's ``AIRFLOW*`` variables are dropped, so the stack never reads the developer's
        own Airflow configuration or connections.
        """
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "PYTEST_"))}
        bin_dir = str(self.airflow_bin.parent)
        env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
        env["PYTHONUNBUFFERED"] = "1"
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.home / "plugins"),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs_folder),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__SECRET_KEY": self._api_secret,
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                # Log servers of the scheduler (worker logs) and triggerer: free ports, so that
                # another local Airflow (the demo, a developer's) never collides with this one.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.worker_log_port),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.trigger_log_port),
                # New DAG files are seen within 5 s instead of 300 s.
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                # Only runs triggered through the API: no cron run appears when a DAG is unpaused.
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
                # The Airflow 3.3.2 deferral-race workaround (docs/deployment.md).
                "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
                # A killed triggerer's triggers are taken over after 10 s instead of 30 s.
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
            }
        )
        env.update(self.extra_env)
        return env

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> AirflowStack:
        """Migrate the DB, start the four components and wait until all report healthy."""
        if self._started:
            raise RuntimeError("stack already started")
        self._started = True
        atexit.register(self.stop)
        started = time.monotonic()
        try:
            for folder in (self.dags_folder, self.logs_folder, self.home / "plugins", self.component_dir):
                folder.mkdir(parents=True, exist_ok=True)
            for dag_file in self.dag_files:
                shutil.copy2(dag_file, self.dags_folder / dag_file.name)
            passwords = self.home / "passwords.json"
            passwords.write_text(json.dumps({USERNAME: self._password}))
            passwords.chmod(0o600)
            self.run_cli("db", "migrate", timeout=180)
            for name in COMPONENTS:
                self.start_component(name)
            self.wait_healthy(self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def run_cli(self, *args: str, timeout: float = 120.0) -> str:
        """Run ``airflow <args>`` with the stack's environment; its output, or an error."""
        result = subprocess.run(
            [str(self.airflow_bin), *args],
            env=self.environment(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = result.stdout + result.stderr
        with (self.component_dir / f"cli-{args[0]}.log").open("a") as log:
            log.write(output)
        if result.returncode != 0:
            raise AirflowStackError(f"airflow {' '.join(args)} exited {result.returncode}:\n{output[-4000:]}")
        return output

    def start_component(self, name: str) -> Component:
        """Start one component (``airflow <name>``) in its own session; its output goes to a file."""
        if name not in COMPONENTS:
            raise ValueError(f"unknown component {name!r}")
        current = self._components.get(name)
        if current is not None and current.alive:
            raise RuntimeError(f"{name} is already running (pid {current.pid})")
        generation = self._generations.get(name, 0) + 1
        self._generations[name] = generation
        log_path = self.component_dir / f"{name}.{generation}.log"
        with log_path.open("wb") as output:
            process = subprocess.Popen(
                [str(self.airflow_bin), name],
                env=self.environment(),
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: the group can be killed as a whole
            )
        component = Component(name, generation, process, log_path)
        self._components[name] = component
        self._history.append(component)
        return component

    def kill_component(self, name: str, sig: signal.Signals = signal.SIGKILL, *, grace: float = 20.0) -> None:
        """Stop one component with ``sig``: SIGKILL hits its whole process group (a crash), any
        other signal only its main pid, with SIGKILL to the group after ``grace`` seconds."""
        component = self._components[name]
        if sig == signal.SIGKILL:
            _killpg(component.pid)
        elif component.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(component.pid, sig)
        self._reap(component, grace)

    def _reap(self, component: Component, grace: float) -> None:
        """Wait for the main process (SIGKILL to its group after ``grace`` s), then SIGKILL the
        group once more for stragglers; afterwards the component is never signalled again."""
        if component.reaped:
            return
        try:
            component.process.wait(timeout=max(0.1, grace))
        except subprocess.TimeoutExpired:
            _killpg(component.pid)
            component.process.wait(timeout=10)
        _killpg(component.pid)  # children left behind, if any (the group is still ours: just reaped)
        component.reaped = True

    def restart_triggerer(self, sig: signal.Signals = signal.SIGKILL, *, timeout: float = 90.0) -> int:
        """Kill the triggerer with ``sig``, start a new one; returns the new triggerer's job id.

        Waits until the new triggerer has registered its job (a ``TriggererJob`` row that was not
        there before, still running).
        """
        known = {job_id for job_id, _ in self.triggerer_jobs()}
        self.kill_component("triggerer", sig)
        self.start_component("triggerer")
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            running = [job for job, state in self.triggerer_jobs() if job not in known and state == "running"]
            if running:
                return max(running)
            if time.monotonic() > deadline:
                raise AirflowStackError(
                    f"the restarted triggerer registered no job in {timeout:g} s{self.diagnostics()}"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop every component: SIGTERM to each main pid, SIGKILL to each group after the grace
        period (and to every group at the end, for stragglers). Idempotent."""
        components = [component for component in reversed(self._history) if not component.reaped]
        for component in components:
            if component.alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(component.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        for component in components:
            self._reap(component, deadline - time.monotonic())
        self._session.close()
        atexit.unregister(self.stop)

    @property
    def running(self) -> dict[str, bool]:
        """Which components' main processes are alive."""
        return {name: comp.alive for name, comp in self._components.items()}

    def _check_alive(self) -> None:
        dead = [comp for comp in self._components.values() if not comp.alive]
        if dead:
            names = ", ".join(f"{comp.name} (exit {comp.process.returncode})" for comp in dead)
            raise AirflowStackError(f"component(s) died: {names}{self.diagnostics()}")

    # ---------------------------------------------------------------- REST API

    def health(self) -> dict[str, Any]:
        """``GET /api/v2/monitor/health`` (no authentication needed)."""
        response = self._session.get(f"{self.base_url}/api/v2/monitor/health", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        """Wait until the metadata DB and every heartbeat-reporting component are healthy."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            self._check_alive()
            try:
                last = self.health()
                if all((last.get(key) or {}).get("status") == "healthy" for key in _HEALTH_KEYS):
                    return dict(last)
            except requests.RequestException as exc:
                last = exc
            if time.monotonic() > deadline:
                raise AirflowStackError(f"not healthy after {timeout:g} s: {last!r}{self.diagnostics()}")
            time.sleep(0.5)

    def token(self, *, refresh: bool = False) -> str:
        """A SimpleAuthManager access token (``POST /auth/token``), cached."""
        if self._token is None or refresh:
            response = self._session.post(
                f"{self.base_url}/auth/token",
                json={"username": USERNAME, "password": self._password},
                timeout=30,
            )
            if response.status_code not in (200, 201):
                raise AirflowStackError(
                    f"POST /auth/token: HTTP {response.status_code} {response.text[:500]}{self.diagnostics()}"
                )
            self._token = str(response.json()["access_token"])
        return self._token

    def api(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        expected: Iterable[int] = (200, 201),
    ) -> Any:
        """Call the REST API (``path`` like ``/api/v2/dags``) with a bearer token; the JSON answer.

        Raises :class:`AirflowStackError` for any status not in ``expected``.
        """
        url = f"{self.base_url}{path}"
        response = None
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self.token(refresh=attempt > 0)}"}
            response = self._session.request(
                method, url, json=json, params=params, headers=headers, timeout=30
            )
            if response.status_code != 401:
                break
        assert response is not None
        if response.status_code not in set(expected):
            raise AirflowStackError(
                f"{method} {path}: HTTP {response.status_code} {response.text[:2000]}{self.diagnostics()}"
            )
        return response.json() if response.content else None

    def wait_dag(self, dag_id: str, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id``; fails early on an import error."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            found = self.api("GET", f"/api/v2/dags/{dag_id}", expected=(200, 404))
            if found and found.get("dag_id") == dag_id:
                return dict(found)
            errors = self.api("GET", "/api/v2/importErrors").get("import_errors", [])
            if errors:
                details = "\n\n".join(f"{err.get('filename')}:\n{err.get('stack_trace')}" for err in errors)
                raise AirflowStackError(f"DAG import errors while waiting for {dag_id}:\n{details}")
            if time.monotonic() > deadline:
                raise AirflowStackError(f"DAG {dag_id} not parsed after {timeout:g} s{self.diagnostics()}")
            time.sleep(1.0)

    def unpause(self, dag_id: str) -> None:
        """``PATCH /api/v2/dags/{dag_id}`` with ``is_paused: false`` (new DAGs start paused)."""
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger_dag(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        note: str | None = None,
    ) -> str:
        """Wait for the DAG, unpause it and trigger a manual run; returns the run id."""
        self.wait_dag(dag_id)
        self.unpause(dag_id)
        run_id = run_id or f"e2e__{secrets.token_hex(6)}"
        body: dict[str, Any] = {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf or {})}
        if note is not None:
            body["note"] = note
        created = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)
        return str(created["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The run as the API shows it."""
        result: dict[str, Any] = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        return result

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 180.0) -> str:
        """Wait until the run is ``success`` or ``failed``; returns that state."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            state = str(self.dag_run(dag_id, run_id).get("state"))
            if state in _FINAL_RUN_STATES:
                return state
            if time.monotonic() > deadline:
                raise AirflowStackError(
                    f"run {dag_id}/{run_id} still {state} after {timeout:g} s{self.explain(dag_id, run_id)}"
                )
            time.sleep(1.0)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances as the API shows them."""
        result = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return list(result["task_instances"])

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """One task instance as the API shows it."""
        result: dict[str, Any] = self.api(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        )
        return result

    def wait_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: Iterable[str], *, timeout: float = 120.0
    ) -> dict[str, Any]:
        """Wait until a task instance is in one of ``states``; returns it."""
        wanted = set(states)
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            ti = self.task_instance(dag_id, run_id, task_id)
            if ti.get("state") in wanted:
                return ti
            if time.monotonic() > deadline:
                raise AirflowStackError(
                    f"{task_id} still {ti.get('state')} after {timeout:g} s (wanted {sorted(wanted)})"
                    f"{self.explain(dag_id, run_id)}"
                )
            time.sleep(0.3)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """An XCom value through the API (deserialized)."""
        entry = self.api(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            params={"deserialize": "true"},
        )
        return entry.get("value")

    # ---------------------------------------------------------------- logs

    @property
    def component_logs(self) -> dict[str, list[Path]]:
        """Output files of every component, by name, oldest generation first."""
        result: dict[str, list[Path]] = {}
        for component in self._history:
            result.setdefault(component.name, []).append(component.log_path)
        return result

    def log_files(self) -> list[Path]:
        """Every log file: the components' output, CLI output and everything under ``logs/``."""
        files = sorted(self.component_dir.glob("*.log"))
        files += sorted(path for path in self.logs_folder.rglob("*") if path.is_file())
        return files

    def task_log_dir(self, dag_id: str, run_id: str, task_id: str) -> Path:
        """Where a task instance's logs (task and trigger) are written."""
        return self.logs_folder / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"

    def task_log_files(self, dag_id: str, run_id: str, task_id: str) -> list[Path]:
        """The task's own log files (``attempt=N.log``)."""
        return sorted(self.task_log_dir(dag_id, run_id, task_id).glob("attempt=*.log"))

    def trigger_log_files(self, dag_id: str, run_id: str, task_id: str) -> dict[int, Path]:
        """The task's trigger logs (``attempt=N.log.trigger.<triggerer job id>.log``), by job id."""
        result: dict[int, Path] = {}
        for path in self.task_log_dir(dag_id, run_id, task_id).glob("attempt=*.log.trigger.*.log"):
            result[int(path.name.rsplit(".", 2)[-2])] = path
        return dict(sorted(result.items()))

    def diagnostics(self, lines: int = 40) -> str:
        """The tail of every component's output, for assertion messages."""
        parts = [f"\n\n=== Airflow stack in {self.root} ({self.running}) ==="]
        for component in self._history:
            state = "running" if component.alive else f"exited {component.process.returncode}"
            parts.append(
                f"--- {component.name} #{component.generation} (pid {component.pid}, {state}): "
                f"last {lines} lines of {component.log_path.name} ---\n{tail(component.log_path, lines)}"
            )
        return "\n".join(parts)

    def explain(self, dag_id: str, run_id: str, lines: int = 40) -> str:
        """Task states, log tails of unsuccessful tasks and the components' tails, for a failed run."""
        parts = [f"\n\n=== run {dag_id}/{run_id} ==="]
        try:
            for ti in self.task_instances(dag_id, run_id):
                parts.append(f"{ti['task_id']}: {ti.get('state')} (try {ti.get('try_number')})")
                if ti.get("state") != "success":
                    for path in self.task_log_files(dag_id, run_id, ti["task_id"]):
                        parts.append(f"--- {path.name} ---\n{tail(path, lines)}")
                    for path in self.trigger_log_files(dag_id, run_id, ti["task_id"]).values():
                        parts.append(f"--- {path.name} ---\n{tail(path, lines)}")
        except Exception as exc:  # the API may be what is broken
            parts.append(f"(task instances unavailable: {exc!r})")
        return "\n".join(parts) + self.diagnostics(lines)

    # ---------------------------------------------------------------- metadata DB

    @contextlib.contextmanager
    def database(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection to the metadata DB (safe while the components run)."""
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            yield connection
        finally:
            connection.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the metadata DB."""
        with self.database() as connection:
            return list(connection.execute(sql, params).fetchall())

    def triggerer_jobs(self) -> list[tuple[int, str]]:
        """``(job id, state)`` of every triggerer job, oldest first."""
        rows = self.query("SELECT id, state FROM job WHERE job_type = 'TriggererJob' ORDER BY id")
        return [(int(job_id), str(state)) for job_id, state in rows]

    def decrypt(self, value: str) -> str:
        """Decrypt a Fernet-encrypted DB value (trigger kwargs); plain JSON is returned as is."""
        if value.startswith("{"):
            return value
        return Fernet(self.fernet_key.encode()).decrypt(value.encode()).decode()

    def triggers(self) -> list[TriggerRow]:
        """The ``trigger`` table, kwargs decrypted."""
        rows = self.query("SELECT id, classpath, kwargs, triggerer_id, created_date FROM trigger ORDER BY id")
        return [
            TriggerRow(
                id=int(trigger_id),
                classpath=str(classpath),
                kwargs=json.loads(self.decrypt(str(kwargs))),
                triggerer_id=None if triggerer_id is None else int(triggerer_id),
                created_date=str(created_date),
            )
            for trigger_id, classpath, kwargs, triggerer_id, created_date in rows
        ]

    def db_task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """A task instance's row in the metadata DB (``trigger_id``, ``try_number``, ``state``...)."""
        with self.database() as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute(
                "SELECT * FROM task_instance "
                "WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = -1",
                (dag_id, run_id, task_id),
            ).fetchone()
        if row is None:
            raise AirflowStackError(f"no task instance {dag_id}/{run_id}/{task_id} in the metadata DB")
        return dict(row)

    def dump_database(self) -> DatabaseDump:
        """Every table, every row, every non-null cell as text (``.dump``-like, blobs decoded)."""
        lines: list[str] = []
        dump = DatabaseDump(text="")
        with self.database() as connection:
            tables = [
                str(name)
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            for table in tables:
                cursor = connection.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from sqlite_master
                columns = [description[0] for description in cursor.description]
                count = 0
                for row in cursor:
                    count += 1
                    for column, value in zip(columns, row, strict=True):
                        if value is None:
                            continue
                        dump.cells += 1
                        lines.append(f"{table}.{column}\t{_as_text(value)}")
                dump.rows[table] = count
        dump.text = "\n".join(lines)
        return dump

    def database_files(self) -> list[Path]:
        """The DB file and its journal / WAL files, if any (for a raw byte scan)."""
        names = (self.db_path.name + suffix for suffix in ("", "-journal", "-wal"))
        return [path for path in (self.db_path.with_name(name) for name in names) if path.exists()]


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
        with contextlib.suppress(zlib.error):
            text += "\n" + zlib.decompress(value).decode("utf-8", errors="replace")
        return text
    return str(value)


def _killpg(pgid: int) -> None:
    """SIGKILL a process group that this module created (ignores a group that is already gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
