"""The shapes of the e2e tests' Airflow deployments (:mod:`e2e.airflow_stack` starts them)."""

from __future__ import annotations

from dataclasses import dataclass

#: The four long-running components every topology has, in start order (stopped in reverse).
COMPONENTS: tuple[str, ...] = ("api-server", "scheduler", "dag-processor", "triggerer")


@dataclass(frozen=True)
class Topology:
    """The shape of a deployment: its metadata DB, executor, triggerers and workers.

    :param name: how tests and reports call it (``sqlite-local``, ``postgres-celery``).
    :param database: ``sqlite`` or ``postgres`` (a throw-away cluster of its own).
    :param executor: ``LocalExecutor`` or ``CeleryExecutor`` (a ``redis-server`` broker of its own).
    :param triggerers: the extra arguments of each triggerer; the first is named ``triggerer``,
        the others ``triggerer-2``, ``triggerer-3``...
    :param workers: Celery workers (``worker-1``...), each with ``worker_concurrency`` processes,
        consuming ``worker_queues``.
    :param trigger_queues: ``[triggerer] queues_enabled`` (a trigger takes its task's ``queue``).
    """

    name: str
    database: str = "sqlite"
    executor: str = "LocalExecutor"
    triggerers: tuple[tuple[str, ...], ...] = ((),)
    workers: int = 0
    worker_concurrency: int = 4
    worker_queues: str = "default"
    trigger_queues: bool = False

    @property
    def celery(self) -> bool:
        """True when the executor is Celery (and a broker and workers run)."""
        return self.executor == "CeleryExecutor"

    def triggerer_names(self) -> list[str]:
        """Component names of the triggerers, in start order."""
        return [
            "triggerer" if index == 0 else f"triggerer-{index + 1}" for index in range(len(self.triggerers))
        ]

    def components(self) -> list[tuple[str, list[str]]]:
        """``(name, airflow arguments)`` of every long-running component, in start order."""
        result: list[tuple[str, list[str]]] = [(name, [name]) for name in COMPONENTS[:-1]]
        for name, extra in zip(self.triggerer_names(), self.triggerers, strict=True):
            result.append((name, ["triggerer", *extra]))
        for index in range(1, self.workers + 1):
            result.append(
                (
                    f"worker-{index}",
                    [
                        "celery", "worker",
                        f"--celery-hostname=worker-{index}@%h",
                        f"--concurrency={self.worker_concurrency}",
                        f"--queues={self.worker_queues}",
                        "--without-mingle", "--without-gossip",
                    ],
                )
            )  # fmt: skip
        return result


#: One machine: SQLite, the LocalExecutor, one triggerer.
SQLITE_LOCAL = Topology(name="sqlite-local")
#: Production: PostgreSQL, Celery with two workers, two triggerers, trigger queues on. Both
#: triggerers consume ``default``; the workers consume ``default`` and ``dcs`` (a triggerer for
#: ``dcs`` is started by the test that needs it).
POSTGRES_CELERY = Topology(
    name="postgres-celery",
    database="postgres",
    executor="CeleryExecutor",
    triggerers=(("--queues=default",), ("--queues=default",)),
    workers=2,
    worker_queues="default,dcs",
    trigger_queues=True,
)
