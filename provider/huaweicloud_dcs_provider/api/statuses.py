"""Every status of the DCS API and what it means, in one place (``dcs-api.md`` section 4).

Migration task statuses (:class:`TaskStatus`, classified by :func:`classify`), the statuses of an
asynchronous job (:class:`JobStatus`) and of an IP switch (:class:`IpSwitchStatus`). Every other
module asks this one what a status means. ``INCRMIGEATING`` (sic) is the spelling the
API really sends; the prose spelling ``INCRMIGRATING`` is accepted as the same status. A status this
module does not know is :attr:`StatusClass.UNKNOWN`: callers keep waiting and warn, they never crash
and never count it as success.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class TaskStatus(StrEnum):
    """Known values of a migration task's ``status`` field (canonical spellings)."""

    CREATING = "CREATING"
    RUNNING = "RUNNING"  # created, waiting to be configured
    MIGRATING = "MIGRATING"
    FULLMIGRATING = "FULLMIGRATING"
    INCRMIGEATING = "INCRMIGEATING"  # incremental sync live (the wire spelling)
    MIGRATION_SUCCESS = "MIGRATION_SUCCESS"  # succeeded, resources being cleaned up
    SUCCESS = "SUCCESS"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    FAILED = "FAILED"
    MIGRATION_FAILED = "MIGRATION_FAILED"
    ERROR = "ERROR"
    RELEASED = "RELEASED"
    DELETED = "DELETED"


#: Other spellings seen in Huawei's documents, mapped to the wire value.
ALIASES = {"INCRMIGRATING": TaskStatus.INCRMIGEATING.value}


class StatusClass(StrEnum):
    """What a status means to someone waiting on a task."""

    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILURE = "failure"
    #: Terminal, but only the caller knows whether it is what they wanted (e.g. TERMINATED,
    #: INCRMIGEATING for a cutover, RELEASED, DELETED). Default: failure.
    CALLER_DECIDES = "caller_decides"
    UNKNOWN = "unknown"


_CLASSES: dict[str, StatusClass] = {
    TaskStatus.CREATING: StatusClass.IN_PROGRESS,
    TaskStatus.RUNNING: StatusClass.IN_PROGRESS,
    TaskStatus.MIGRATING: StatusClass.IN_PROGRESS,
    TaskStatus.FULLMIGRATING: StatusClass.IN_PROGRESS,
    TaskStatus.TERMINATING: StatusClass.IN_PROGRESS,
    TaskStatus.MIGRATION_SUCCESS: StatusClass.IN_PROGRESS,
    TaskStatus.SUCCESS: StatusClass.SUCCESS,
    TaskStatus.FAILED: StatusClass.FAILURE,
    TaskStatus.MIGRATION_FAILED: StatusClass.FAILURE,
    TaskStatus.ERROR: StatusClass.FAILURE,
    # Incremental sync is live: it never ends on its own. Success for a cutover wait, in progress
    # for nobody: the caller says which (see ``is_success``).
    TaskStatus.INCRMIGEATING: StatusClass.CALLER_DECIDES,
    TaskStatus.TERMINATED: StatusClass.CALLER_DECIDES,
    TaskStatus.RELEASED: StatusClass.CALLER_DECIDES,
    TaskStatus.DELETED: StatusClass.CALLER_DECIDES,
}

#: Pseudo-status used when the API answers HTTP 400 ``DCS.4133`` (task does not exist).
NOT_FOUND = "NOT_FOUND"
#: Pseudo-status reported for a task whose batch restart was accepted, when nobody waits for it.
RESTART_ACCEPTED = "RESTARTING"

#: Statuses in which a task no longer changes by itself (stop, delete or nothing left to do).
TERMINAL_STATUSES = frozenset(s for s, c in _CLASSES.items() if c != StatusClass.IN_PROGRESS) | {NOT_FOUND}
FAILURE_STATUSES = frozenset(s for s, c in _CLASSES.items() if c == StatusClass.FAILURE)
IN_PROGRESS_STATUSES = frozenset(s for s, c in _CLASSES.items() if c == StatusClass.IN_PROGRESS)
#: Statuses in which the migration is actively moving data (a configure call already took effect).
MIGRATING_STATUSES = frozenset(
    {TaskStatus.MIGRATING, TaskStatus.FULLMIGRATING, TaskStatus.INCRMIGEATING, TaskStatus.MIGRATION_SUCCESS}
)
#: Statuses whose progress figures (``/stats``) are worth reading (``RELEASED``: the evidence of a
#: success that came before it).
STATS_STATUSES = MIGRATING_STATUSES | {TaskStatus.SUCCESS, TaskStatus.TERMINATING, TaskStatus.RELEASED}


class Verdict(StrEnum):
    """What a status means to someone waiting for some statuses (see :func:`judge`)."""

    REACHED = "reached"
    FAILED = "failed"
    #: Terminal, or on its way to an end, but not an awaited status (e.g. TERMINATED while waiting
    #: for SUCCESS): the awaited status cannot come any more.
    ENDED_ELSEWHERE = "ended_elsewhere"
    IN_PROGRESS = "in_progress"
    #: A status this provider does not know: keep waiting, warn, never count it as success.
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        """True when the wait is over (either way)."""
        return self in (Verdict.REACHED, Verdict.FAILED, Verdict.ENDED_ELSEWHERE)


def normalize(status: str | None) -> str:
    """Upper-cased, alias-resolved status text ('' for a missing status)."""
    text = (status or "").strip().upper()
    return ALIASES.get(text, text)


def classify(status: str | None) -> StatusClass:
    """The class of a status; :attr:`StatusClass.UNKNOWN` for anything this module does not know."""
    text = normalize(status)
    if text == NOT_FOUND:
        return StatusClass.CALLER_DECIDES
    return _CLASSES.get(text, StatusClass.UNKNOWN)


def normalize_targets(statuses: Iterable[str]) -> frozenset[str]:
    """Validate and normalize a set of statuses a caller waits for."""
    result = frozenset(normalize(s) for s in statuses)
    known = set(_CLASSES) | {NOT_FOUND}
    unknown = sorted(result - known)
    if unknown:
        raise ValueError(f"unknown status(es) {unknown}; allowed: {sorted(str(s) for s in known)}")
    if not result:
        raise ValueError("at least one status to wait for is required")
    return result


def stop_under_way(status: str | None, success_statuses: Iterable[str]) -> bool:
    """True when the task is being stopped (``TERMINATING``) and no stop status is awaited: what is
    awaited cannot come any more."""
    targets = set(success_statuses)
    return normalize(status) == TaskStatus.TERMINATING and not targets & {
        TaskStatus.TERMINATING,
        TaskStatus.TERMINATED,
    }


def needs_success_evidence(status: str | None, success_statuses: Iterable[str]) -> bool:
    """True for ``RELEASED`` while ``SUCCESS`` (and not ``RELEASED`` itself) is awaited.

    ``RELEASED`` says the task's migration VM was released, which happens after a success and
    possibly after other ends: it counts as the awaited ``SUCCESS`` only on evidence that the
    migration succeeded (the full copy complete in the progress figures), never by itself.
    """
    targets = set(success_statuses)
    return (
        normalize(status) == TaskStatus.RELEASED
        and TaskStatus.SUCCESS in targets
        and TaskStatus.RELEASED not in targets
    )


def judge(status: str | None, success_statuses: Iterable[str]) -> Verdict:
    """What ``status`` means to a caller waiting for ``success_statuses`` (already normalized).

    A caller waiting for ``TERMINATED`` (a stop) keeps waiting while the task still migrates,
    because a stop request takes a moment to show; anyone else waiting on a task that sits in
    ``INCRMIGEATING`` (incremental sync, which never ends by itself) is told it ended elsewhere,
    and so is anyone waiting for something else than a stop while the task is ``TERMINATING``.
    ``RELEASED`` while ``SUCCESS`` is awaited is ``ENDED_ELSEWHERE`` here: the caller decides on
    evidence (:func:`needs_success_evidence`).
    """
    targets = frozenset(success_statuses)
    text = normalize(status)
    if text in targets:
        return Verdict.REACHED
    if stop_under_way(text, targets):
        return Verdict.ENDED_ELSEWHERE
    cls = classify(text)
    if cls is StatusClass.FAILURE:
        return Verdict.FAILED
    if cls is StatusClass.IN_PROGRESS:
        return Verdict.IN_PROGRESS
    if cls is StatusClass.UNKNOWN:
        return Verdict.UNKNOWN
    if TaskStatus.TERMINATED in targets and text in MIGRATING_STATUSES:
        return Verdict.IN_PROGRESS
    return Verdict.ENDED_ELSEWHERE


def is_terminal_for(status: str | None, success_statuses: Iterable[str]) -> bool:
    """True when waiting for ``success_statuses`` should stop at ``status`` (either way)."""
    text = normalize(status)
    return text in set(success_statuses) or text in TERMINAL_STATUSES


#: How far along the lifecycle of an online migration a status is (higher: later). Used only to
#: notice a status going backwards; statuses without a rank (stop, failure, unknown) never do.
_PROGRESS_RANK: dict[str, int] = {
    TaskStatus.CREATING: 0,
    TaskStatus.RUNNING: 1,
    TaskStatus.MIGRATING: 2,
    TaskStatus.FULLMIGRATING: 3,
    TaskStatus.INCRMIGEATING: 4,
    TaskStatus.MIGRATION_SUCCESS: 5,
    TaskStatus.SUCCESS: 6,
}


def went_backwards(previous: str | None, current: str | None) -> bool:
    """True when ``current`` is an earlier lifecycle step than ``previous`` (e.g. FULLMIGRATING ->
    MIGRATING)."""
    before = _PROGRESS_RANK.get(normalize(previous))
    now = _PROGRESS_RANK.get(normalize(current))
    return before is not None and now is not None and now < before


#: Statuses a task reaches from RUNNING only through a configure call (it ran, then ended).
_ENDED_AFTER_CONFIGURE = frozenset(
    {TaskStatus.SUCCESS, TaskStatus.MIGRATION_FAILED, TaskStatus.TERMINATING, TaskStatus.TERMINATED}
)


def configure_took_effect(before: str | None, after: str | None) -> bool:
    """Whether a configure call sent while the task was ``before`` has started a migration, judging
    by the status ``after`` it (read after a failed or ambiguous answer to that call)."""
    now = normalize(after)
    if now in MIGRATING_STATUSES:
        return True
    return normalize(before) == TaskStatus.RUNNING and now in _ENDED_AFTER_CONFIGURE


def configurable(status: str | None) -> bool:
    """Whether a configure can be sent: only while the task waits for one (``RUNNING``)."""
    return normalize(status) == TaskStatus.RUNNING


def already_configured(status: str | None, *, is_retry: bool) -> bool:
    """Whether a configure about to be sent would start a second migration on the task.

    A task that moves data was configured already (by an earlier try, or by someone else). A
    ``SUCCESS`` task counts only on a retry (the earlier try's migration finished): a new DAG run on
    a finished task starts a new migration.
    """
    now = normalize(status)
    return now in MIGRATING_STATUSES or (is_retry and now == TaskStatus.SUCCESS)


class JobStatus(StrEnum):
    """Statuses of an asynchronous DCS job (``GET /jobs/{job_id}``), e.g. provisioning a task's VM."""

    INIT = "INIT"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"

    @property
    def is_terminal(self) -> bool:
        """True once the job no longer changes."""
        return self in (JobStatus.SUCCESS, JobStatus.FAIL)

    @property
    def is_successful(self) -> bool:
        """True when the job did what it was for."""
        return self is JobStatus.SUCCESS


def job_status(status: str | None) -> JobStatus | None:
    """The :class:`JobStatus` of a job's status text; ``None`` for one this module does not know."""
    try:
        return JobStatus((status or "").strip().upper())
    except ValueError:
        return None


class IpSwitchStatus(StrEnum):
    """The ``task_status`` of a migration task during an IP switch (``exchange-ip`` / ``rollback-ip``)."""

    EXCHANGING = "EXCHANGING"  # a switch or a rollback is running (the API does not say which)
    EXCHANGE_SUCCESS = "EXCHANGE_SUCCESS"
    ROLLBACK_SUCCESS = "ROLLBACK_SUCCESS"


def ip_switch_failed(task_status: str | None) -> bool:
    """True for an IP-switch ``task_status`` that reads like a failure (values beyond the docs)."""
    text = (task_status or "").upper()
    return "FAIL" in text or "ERROR" in text
