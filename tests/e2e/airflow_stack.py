"""A real Airflow 3 deployment for end-to-end tests, one process per component, in one of two topologies.

* :data:`SQLITE_LOCAL`: the one-machine deployment. A SQLite database, the scheduler with the
  LocalExecutor, one triggerer, a dag-processor and the api-server.
* :data:`POSTGRES_CELERY`: what production runs. A throw-away PostgreSQL cluster
  (:mod:`e2e.postgres`), a ``redis-server`` as the Celery broker, the scheduler with the
  CeleryExecutor, two Celery workers (``airflow celery worker``), two triggerers, a dag-processor
  and the api-server; trigger queues on (``[triggerer] queues_enabled``), every triggerer and
  worker consuming the ``default`` queue, and ``dcs`` on the workers, where a test can start a
  triggerer of its own for it (:meth:`AirflowStack.start_component` with ``argv``).

:class:`AirflowStack` starts the services of its topology, runs ``airflow db migrate``, then each
component as its own process (own session and process group, output in its own file), on free
ports, all sharing one configuration given through ``AIRFLOW__*`` environment variables. Runs are
driven the way a user drives them, through the REST API with a SimpleAuthManager token::

    with AirflowStack(tmp_path, dag_files=[dag_file], env={"AIRFLOW_CONN_X": "..."}) as stack:
        run_id = stack.trigger_dag("my_dag", {"param": 1})
        assert stack.wait_run("my_dag", run_id, timeout=120) == "success", stack.explain("my_dag", run_id)

Everything is stopped on exit, even when the test failed: SIGTERM to each component's own pid
(components stop cleanly on it in 2-5 s), SIGKILL to its whole process group after a grace period;
then the services. :meth:`AirflowStack.stop` stops the components only, so the metadata DB and the
broker can still be read afterwards. Every error this module raises is an
:class:`AirflowStackError` (an ``AssertionError``) whose message ends with the tail of each
component's output.

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
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from cryptography.fernet import Fernet

from e2e.broker import broker_dump
from e2e.metadata_db import DatabaseDump, MetadataDb, PostgresDb, SqliteDb
from e2e.postgres import PostgresServer
from e2e.processes import Component, free_port, killpg, tail
from e2e.rest_api import USERNAME, AirflowStackError, RestApiMixin
from e2e.topology import COMPONENTS, POSTGRES_CELERY, SQLITE_LOCAL, Topology
from huaweicloud_dcs_emulator.local_redis import RedisServer

__all__ = [
    "COMPONENTS",
    "POSTGRES_CELERY",
    "SQLITE_LOCAL",
    "USERNAME",
    "AirflowStack",
    "AirflowStackError",
    "DatabaseDump",
    "Topology",
    "free_port",
    "tail",
]


@dataclass(frozen=True)
class TriggerRow:
    """A row of the ``trigger`` table, with its kwargs decrypted (they are Fernet-encrypted)."""

    id: int
    classpath: str
    kwargs: dict[str, Any]
    triggerer_id: int | None
    created_date: str


class AirflowStack(RestApiMixin):
    """A real Airflow deployment in ``root`` (a context manager; see the module docstring).

    :param root: an empty directory; ``AIRFLOW_HOME`` is ``root/airflow-home`` and the components'
        output goes to ``root/components/<name>.<generation>.log``.
    :param dag_files: DAG files copied into the DAGs folder.
    :param env: extra environment for every component (``AIRFLOW_CONN_*``, DAG settings...);
        it wins over the stack's own settings.
    :param parallelism: ``[core] parallelism``: LocalExecutor worker processes, or task slots the
        scheduler fills with the CeleryExecutor.
    :param topology: :data:`SQLITE_LOCAL` (default) or :data:`POSTGRES_CELERY`.
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
        topology: Topology = SQLITE_LOCAL,
    ) -> None:
        self.root = Path(root)
        self.home = self.root / "airflow-home"
        self.dags_folder = self.home / "dags"
        self.logs_folder = self.home / "logs"
        self.component_dir = self.root / "components"
        self.topology = topology
        self.postgres: PostgresServer | None = PostgresServer() if topology.database == "postgres" else None
        self.db: MetadataDb = (
            SqliteDb(self.home / "airflow.db") if self.postgres is None else PostgresDb(self.postgres)
        )
        self.broker: RedisServer | None = (
            RedisServer(password=secrets.token_urlsafe(18)) if topology.celery else None
        )
        #: Extra environment per component name (its own log-server port...).
        self.component_env: dict[str, dict[str, str]] = {}
        self.dag_files = [Path(path) for path in dag_files]
        self.extra_env = dict(env or {})
        self.parallelism = parallelism
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.api_port = free_port()
        self.worker_log_port = free_port()
        self.trigger_log_port = free_port()
        for name in topology.triggerer_names()[1:]:
            self.component_env[name] = {"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port())}
        for index in range(1, topology.workers + 1):
            self.component_env[f"worker-{index}"] = {
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())
            }
        self.fernet_key = Fernet.generate_key().decode()
        self.startup_seconds: float | None = None
        self._password = secrets.token_urlsafe(18)
        self._jwt_secret = secrets.token_urlsafe(64)  # 86 characters: >= 64 bytes for HS512
        self._api_secret = secrets.token_urlsafe(32)
        self._components: dict[str, Component] = {}
        self._history: list[Component] = []
        self._generations: dict[str, int] = {}
        self._argv: dict[str, list[str]] = {}
        self._session = requests.Session()
        self._token: str | None = None
        self._started = False

    def __repr__(self) -> str:
        running = sorted(name for name, comp in self._components.items() if comp.alive)
        return (
            f"AirflowStack({self.topology.name}, home={str(self.home)!r}, api={self.base_url!r}, "
            f"running={running})"
        )

    # ---------------------------------------------------------------- configuration

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the api-server."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def airflow_bin(self) -> Path:
        """The ``airflow`` console script of the running interpreter's environment."""
        return Path(sys.executable).with_name("airflow")

    def environment(self, component: str | None = None) -> dict[str, str]:
        """The environment every component (and ``airflow db migrate``) runs with; ``component``
        adds that component's own settings.

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
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db.sqlalchemy_url,
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": self.topology.executor,
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
                "AIRFLOW__TRIGGERER__QUEUES_ENABLED": str(self.topology.trigger_queues),
            }
        )
        if self.broker is not None and self.postgres is not None:
            env.update(
                {
                    "AIRFLOW__CELERY__BROKER_URL": f"redis://:{self.broker.password}@{self.broker.addrs}/0",
                    "AIRFLOW__CELERY__RESULT_BACKEND": self.postgres.celery_result_backend,
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.topology.worker_concurrency),
                }
            )
        env.update(self.extra_env)
        env.update(self.component_env.get(component or "", {}))
        return env

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> AirflowStack:
        """Migrate the DB, start the four components and wait until all report healthy."""
        if self._started:
            raise RuntimeError("stack already started")
        self._started = True
        atexit.register(self.close)
        started = time.monotonic()
        try:
            for folder in (self.dags_folder, self.logs_folder, self.home / "plugins", self.component_dir):
                folder.mkdir(parents=True, exist_ok=True)
            if self.postgres is not None:
                self.postgres.start()
            if self.broker is not None:
                self.broker.start()
            for dag_file in self.dag_files:
                shutil.copy2(dag_file, self.dags_folder / dag_file.name)
            passwords = self.home / "passwords.json"
            passwords.write_text(json.dumps({USERNAME: self._password}))
            passwords.chmod(0o600)
            self.run_cli("db", "migrate", timeout=180)
            triggerers = self.topology.triggerer_names()
            for name, argv in self.topology.components():
                if name in triggerers:  # one at a time: its new job row tells which job is whose
                    self.start_triggerer(name, argv, timeout=self.startup_timeout)
                else:
                    self.start_component(name, argv)
            self.wait_healthy(self.startup_timeout)
            for index in range(1, self.topology.workers + 1):
                self.wait_log_line(f"worker-{index}", "ready.", self.startup_timeout)
        except BaseException:
            self.close()
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
        self.close()

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

    def start_component(self, name: str, argv: Sequence[str] | None = None) -> Component:
        """Start one component (``airflow <argv>``, by default the topology's arguments for
        ``name``) in its own session; its output goes to a file. A new ``name`` with ``argv`` adds
        a component (a triggerer of one queue, say)."""
        known = dict(self.topology.components())
        if argv is None:
            if name not in known and name not in self._argv:
                raise ValueError(f"unknown component {name!r} (give its argv to add it)")
            argv = self._argv.get(name) or known[name]
        self._argv[name] = list(argv)
        current = self._components.get(name)
        if current is not None and current.alive:
            raise RuntimeError(f"{name} is already running (pid {current.pid})")
        generation = self._generations.get(name, 0) + 1
        self._generations[name] = generation
        log_path = self.component_dir / f"{name}.{generation}.log"
        with log_path.open("wb") as output:
            process = subprocess.Popen(
                [str(self.airflow_bin), *argv],
                env=self.environment(name),
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
            killpg(component.pid)
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
            killpg(component.pid)
            component.process.wait(timeout=10)
        killpg(component.pid)  # children left behind, if any (the group is still ours: just reaped)
        component.reaped = True

    def restart_triggerer(
        self, sig: signal.Signals = signal.SIGKILL, *, name: str = "triggerer", timeout: float = 90.0
    ) -> int:
        """Kill the triggerer ``name`` with ``sig``, start a new one; returns its new job id.

        Waits until the new triggerer has registered its job (a ``TriggererJob`` row that was not
        there before, still running).
        """
        self.kill_component(name, sig)
        return self.start_triggerer(name, timeout=timeout)

    def start_triggerer(self, name: str, argv: Sequence[str] | None = None, *, timeout: float = 90.0) -> int:
        """Start the triggerer ``name`` (new with ``argv``); its job id once it has registered."""
        known = {job_id for job_id, _ in self.triggerer_jobs()}
        component = self.start_component(name, argv)
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            running = [job for job, state in self.triggerer_jobs() if job not in known and state == "running"]
            if running:
                component.job_id = max(running)
                return component.job_id
            if time.monotonic() > deadline:
                raise AirflowStackError(
                    f"triggerer {name} registered no job in {timeout:g} s{self.diagnostics()}"
                )
            time.sleep(0.5)

    def wait_log_line(self, name: str, text: str, timeout: float) -> None:
        """Wait until the output of component ``name`` contains ``text``."""
        deadline = time.monotonic() + timeout
        component = self._components[name]
        while text not in component.log_path.read_text(errors="replace"):
            self._check_alive()
            if time.monotonic() > deadline:
                raise AirflowStackError(f"{name} did not print {text!r} in {timeout:g} s{self.diagnostics()}")
            time.sleep(0.5)

    def triggerer_names(self) -> list[str]:
        """The triggerer components started so far (running or not)."""
        return [name for name, argv in self._argv.items() if argv[0] == "triggerer"]

    def triggerer_named(self, job_id: int | None) -> str:
        """The name of the triggerer component whose latest job is ``job_id``."""
        for name in self.triggerer_names():
            if self._components[name].job_id == job_id:
                return name
        raise AirflowStackError(f"no triggerer of this stack runs job {job_id}{self.diagnostics()}")

    def job_id_of(self, name: str) -> int:
        """The ``TriggererJob`` id of the running triggerer ``name``."""
        job_id = self._components[name].job_id
        if job_id is None:
            raise AirflowStackError(f"{name} has no known job id")
        return job_id

    def stop(self) -> None:
        """Stop every component: SIGTERM to each main pid, SIGKILL to each group after the grace
        period (and to every group at the end, for stragglers). Idempotent. The services (the
        PostgreSQL cluster, the broker) keep running until :meth:`close`."""
        components = [component for component in reversed(self._history) if not component.reaped]
        for component in components:
            if component.alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(component.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        for component in components:
            self._reap(component, deadline - time.monotonic())

    def close(self) -> None:
        """Stop the components, then the services. Idempotent."""
        self.stop()
        self._session.close()
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()
        atexit.unregister(self.close)

    @property
    def running(self) -> dict[str, bool]:
        """Which components' main processes are alive."""
        return {name: comp.alive for name, comp in self._components.items()}

    @property
    def component_names(self) -> list[str]:
        """Every component started so far, in start order."""
        return list(self._components)

    def _check_alive(self) -> None:
        dead = [
            comp for comp in self._components.values() if not comp.alive and not comp.reaped
        ]  # not stopped
        if dead:
            names = ", ".join(f"{comp.name} (exit {comp.process.returncode})" for comp in dead)
            raise AirflowStackError(f"component(s) died: {names}{self.diagnostics()}")

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

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the metadata DB (``?`` placeholders, either backend)."""
        return self.db.query(sql, params)

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
        row = self.db.row(
            "SELECT * FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = -1",
            (dag_id, run_id, task_id),
        )
        if row is None:
            raise AirflowStackError(f"no task instance {dag_id}/{run_id}/{task_id} in the metadata DB")
        return row

    def broker_dump(self) -> str:
        """Every key of the Celery broker with its contents, as text ('' without Celery)."""
        return "" if self.broker is None else broker_dump(self.broker)

    def dump_database(self) -> DatabaseDump:
        """Every table, every row, every non-null cell as text (blobs decoded)."""
        return self.db.dump()

    def database_files(self) -> list[Path]:
        """The files holding the metadata DB on disk (for a raw byte scan)."""
        return self.db.raw_files()
