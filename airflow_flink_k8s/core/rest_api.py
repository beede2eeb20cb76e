"""The Flink REST endpoints the readiness check reads: their paths and typed views of their JSON.

No HTTP here. Field names follow Flink's REST message classes, which are the same in 1.20 and 2.3 except
for ``/jobs/<id>/exceptions``: 1.x also sends the deprecated ``root-exception``/``all-exceptions``
fields, 2.x only ``exceptionHistory``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from airflow_flink_k8s.core.errors import RestDataError as RestDataError
from airflow_flink_k8s.core.errors import RestRefusedError as RestRefusedError
from airflow_flink_k8s.core.errors import summarize_stacktrace as summarize_stacktrace
from airflow_flink_k8s.core.log_redaction import redact_log

CONFIG_PATH = "/config"
OVERVIEW_PATH = "/overview"
JOBS_OVERVIEW_PATH = "/jobs/overview"
#: The applications a JobManager runs (2.3+; 404 before): ``{"applications": [{"id", "status", …}]}``.
APPLICATIONS_OVERVIEW_PATH = "/applications/overview"
#: The error Flink's REST handlers answer with (HTTP 503) until they know the leader.
LEADER_ELECTION_MESSAGE = "Service temporarily unavailable due to an ongoing leader election"

_JOB_ID = re.compile(r"[0-9a-f]{32}")  # fullmatch: ``$`` would let a trailing newline through
#: Flink's ``TriggerId`` (the ``request-id`` of an asynchronous operation) is an ``AbstractID``, serialised with
#: ``toString()`` = ``toHexString()``: 32 lower-case hex digits, like a job id (checked in the 2.3.0 jar).
_TRIGGER_ID = _JOB_ID
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JobState(StrEnum):
    """``org.apache.flink.api.common.JobStatus`` (identical in 1.13-2.3)."""

    INITIALIZING = "INITIALIZING"
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    FAILING = "FAILING"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELED = "CANCELED"
    FINISHED = "FINISHED"
    RESTARTING = "RESTARTING"
    SUSPENDED = "SUSPENDED"
    RECONCILING = "RECONCILING"

    @property
    def is_terminal(self) -> bool:
        """Globally terminal (FAILED, CANCELED, FINISHED) or locally terminal (SUSPENDED: this JobManager lost
        its leadership; with HA a new leader recovers the job, so a wait treats it as terminal only once the
        leader lease has passed)."""
        return self in (JobState.FAILED, JobState.CANCELED, JobState.FINISHED, JobState.SUSPENDED)


class ApplicationStatus(StrEnum):
    """``org.apache.flink.api.common.ApplicationState`` of 2.3 (``/applications/<id>`` ``status``)."""

    CREATED = "CREATED"
    RUNNING = "RUNNING"
    FAILING = "FAILING"
    FAILED = "FAILED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    FINISHED = "FINISHED"

    @property
    def is_terminal(self) -> bool:
        return self in (ApplicationStatus.FAILED, ApplicationStatus.CANCELED, ApplicationStatus.FINISHED)


class TaskState(StrEnum):
    """``org.apache.flink.runtime.execution.ExecutionState`` (1.13-2.3): a task's state, and a vertex's aggregate."""

    CREATED = "CREATED"
    SCHEDULED = "SCHEDULED"
    DEPLOYING = "DEPLOYING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    RECONCILING = "RECONCILING"
    INITIALIZING = "INITIALIZING"


#: Tasks that run: RUNNING, or FINISHED (a bounded source that has read all its input).
RUNNING_TASK_STATES = frozenset({TaskState.RUNNING, TaskState.FINISHED})
#: Tasks still waiting for a slot (no TaskManager has taken them yet).
WAITING_FOR_SLOT_STATES = frozenset({TaskState.CREATED, TaskState.SCHEDULED})


@dataclass(frozen=True)
class JobSummary:
    """One job as ``/jobs/overview`` or ``/jobs/<id>`` shows it."""

    job_id: str
    name: str
    state: JobState


@dataclass(frozen=True)
class VertexSummary:
    """One vertex of ``/jobs/<id>``: its aggregate ``status`` and its tasks counted per state (``tasks``)."""

    name: str
    status: TaskState
    tasks: dict[TaskState, int]


@dataclass(frozen=True)
class JobDetails(JobSummary):
    """``/jobs/<id>``: the job and its vertices."""

    vertices: tuple[VertexSummary, ...] = ()

    def task_counts(self) -> dict[TaskState, int]:
        """The job's tasks per state, summed over its vertices (states with no task left out)."""
        counts: dict[TaskState, int] = {}
        for vertex in self.vertices:
            for state, count in vertex.tasks.items():
                if count:
                    counts[state] = counts.get(state, 0) + count
        return counts

    @property
    def tasks_run(self) -> bool:
        """Every vertex RUNNING or FINISHED and every task too (a vertex is RUNNING once one of its tasks is)."""
        counts = self.task_counts()
        return bool(self.vertices) and bool(counts) and all(
            vertex.status in RUNNING_TASK_STATES for vertex in self.vertices) and set(counts) <= RUNNING_TASK_STATES


@dataclass(frozen=True)
class JobTimes:
    """``/jobs/<id>``: when the job started and ended (None while it runs) and how long it ran (ms)."""

    start: datetime | None
    end: datetime | None
    duration_ms: int


@dataclass(frozen=True)
class ApplicationSummary:
    """``/applications/<id>`` (2.3+): an application's status, its jobs and times (end None while it runs)."""

    application_id: str
    status: ApplicationStatus
    job_ids: tuple[str, ...]
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class ClusterOverview:
    """``/overview``: the TaskManagers registered with the ResourceManager and their slots."""

    taskmanagers: int
    slots_total: int
    slots_available: int


@dataclass(frozen=True)
class CheckpointSummary:
    """``/jobs/<id>/checkpoints``: how many checkpoints completed, the latest one, and the checkpoint or savepoint
    the job was restored from (``latest.restored``; None when it started empty)."""

    completed: int
    latest_id: int | None = None
    latest_path: str | None = None
    latest_triggered_at: datetime | None = None
    latest_completed_at: datetime | None = None
    restored_path: str | None = None


def normalize_job_id(job_id: str) -> str:
    """A Flink job id as the REST API writes it: 32 lower-case hex digits."""
    lowered = job_id.strip().lower() if isinstance(job_id, str) else ""
    if not _JOB_ID.fullmatch(lowered):
        raise ValueError(f"job_id: expected 32 hex digits, got {job_id!r}")
    return lowered


def normalize_trigger_id(trigger_id: str) -> str:
    """A savepoint trigger id as Flink issues it: 32 lower-case hex digits (anything else, e.g. ``../``, could
    turn the URL into another REST path)."""
    lowered = trigger_id.strip().lower() if isinstance(trigger_id, str) else ""
    if not _TRIGGER_ID.fullmatch(lowered):
        raise ValueError(f"trigger_id: expected 32 hex digits, got {trigger_id!r}")
    return lowered


def job_path(job_id: str) -> str:
    return f"/jobs/{normalize_job_id(job_id)}"


def job_checkpoints_path(job_id: str) -> str:
    return f"{job_path(job_id)}/checkpoints"


def job_exceptions_path(job_id: str) -> str:
    return f"{job_path(job_id)}/exceptions"


def job_accumulators_path(job_id: str) -> str:
    return f"{job_path(job_id)}/accumulators"


def application_path(application_id: str) -> str:
    """``/applications/<id>`` (2.3+): the application's ``status``, times and ``jobs``."""
    return f"/applications/{normalize_job_id(application_id)}"


def stop_with_savepoint_path(job_id: str) -> str:
    """``POST`` here with ``{"targetDirectory": dir or null, "drain": bool}``; answers ``{"request-id": …}``."""
    return f"{job_path(job_id)}/stop"


def savepoint_status_path(job_id: str, trigger_id: str) -> str:
    return f"{job_path(job_id)}/savepoints/{normalize_trigger_id(trigger_id)}"


def parse_trigger_id(body: Any) -> str:
    """The ``request-id`` of an asynchronous operation Flink accepted: 32 lower-case hex digits (Flink's
    ``TriggerId``); anything else is refused before it can reach a URL path."""
    trigger_id = _string(_object(body, "savepoint trigger"), "request-id", "savepoint trigger")
    if not _TRIGGER_ID.fullmatch(trigger_id):
        raise RestDataError("savepoint trigger: 'request-id' must be 32 lower-case hex digits, got "
                            f"{trigger_id[:80]!r}")
    return trigger_id


def parse_savepoint_status(body: Any) -> tuple[bool, str | None, str | None]:
    """(finished, savepoint location, failure text) of ``/jobs/<id>/savepoints/<trigger>``."""
    answer = _object(body, "savepoint status")
    state = _string(_object(answer.get("status"), "savepoint status.status"), "id", "savepoint status.status")
    if state != "COMPLETED":
        return False, None, None
    operation = _object(answer.get("operation") or {}, "savepoint status.operation")
    failure = operation.get("failure-cause")
    if failure:
        failure = _object(failure, "savepoint status.operation.failure-cause")
        cause = failure.get("stack-trace") or failure.get("serialized-throwable") or str(failure)
        return True, None, summarize_stacktrace(str(cause))
    return True, _string(operation, "location", "savepoint status.operation"), None


def error_messages(body: Any) -> list[str]:
    """The ``errors`` list of Flink's error body, or the message of a Kubernetes ``Status`` (the API server's proxy
    answering for itself); empty for any other body."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [str(message) for message in body["errors"]]
    if isinstance(body, dict) and body.get("kind") == "Status" and body.get("message"):
        return [str(body["message"])]
    return []


def is_leader_election(status: int | None, body: Any) -> bool:
    """True for the 503 Flink answers while its REST endpoint has no leader."""
    return status == 503 and any(LEADER_ELECTION_MESSAGE in message for message in error_messages(body))


def parse_config(body: Any) -> str:
    """The ``flink-version`` from ``/config``."""
    obj = _object(body, CONFIG_PATH)
    return _string(obj, "flink-version", CONFIG_PATH)


def parse_jobs_overview(body: Any) -> list[JobSummary]:
    """The jobs listed by ``/jobs/overview``."""
    jobs = _object(body, JOBS_OVERVIEW_PATH).get("jobs")
    if not isinstance(jobs, list):
        raise RestDataError(f"{JOBS_OVERVIEW_PATH}: 'jobs' must be a list")
    return [_job(job, f"{JOBS_OVERVIEW_PATH} jobs[{index}]") for index, job in enumerate(jobs)]


def parse_job_details(body: Any) -> JobDetails:
    """Id, name, state and vertices (``status`` and ``tasks`` counts) from ``/jobs/<id>``."""
    where = "/jobs/<id>"
    job = _job(body, where)
    vertices = _object(body, where).get("vertices")
    if not isinstance(vertices, list):
        raise RestDataError(f"{where}: 'vertices' must be a list")
    return JobDetails(job.job_id, job.name, job.state,
                      tuple(_vertex(vertex, f"{where} vertices[{index}]") for index, vertex in enumerate(vertices)))


def parse_job_times(body: Any) -> JobTimes:
    """``start-time``, ``end-time`` (-1 while running: None) and ``duration`` (ms) from ``/jobs/<id>``."""
    where = "/jobs/<id>"
    obj = _object(body, where)
    end = obj.get("end-time")
    return JobTimes(_millis(obj, "start-time", where), None if end == -1 else _millis(obj, "end-time", where),
                    _integer(obj, "duration", where))


def parse_accumulators(body: Any) -> dict[str, str]:
    """``user-task-accumulators`` of ``/jobs/<id>/accumulators``: name → value as Flink prints it (a string:
    ``{"name": "records", "type": "LongCounter", "value": "1000"}`` in 1.20.3 and 2.3.0)."""
    where = "/jobs/<id>/accumulators"
    entries = _object(body, where).get("user-task-accumulators")
    if not isinstance(entries, list):
        raise RestDataError(f"{where}: 'user-task-accumulators' must be a list")
    found: dict[str, str] = {}
    for index, entry in enumerate(entries):
        item = _object(entry, f"{where} user-task-accumulators[{index}]")
        found[_string(item, "name", f"{where} user-task-accumulators[{index}]")] = str(item.get("value"))
    return found


def parse_application_ids(body: Any) -> list[str]:
    """The ``id`` of every application in ``/applications/overview`` (2.3+)."""
    apps = _object(body, APPLICATIONS_OVERVIEW_PATH).get("applications")
    if not isinstance(apps, list):
        raise RestDataError(f"{APPLICATIONS_OVERVIEW_PATH}: 'applications' must be a list")
    ids = [_string(_object(app, APPLICATIONS_OVERVIEW_PATH), "id", APPLICATIONS_OVERVIEW_PATH) for app in apps]
    for application_id in ids:
        if not _JOB_ID.fullmatch(application_id):
            raise RestDataError(f"{APPLICATIONS_OVERVIEW_PATH}: 'id' must be 32 lower-case hex digits, "
                                f"got {application_id!r}")
    return ids


def parse_application(body: Any) -> ApplicationSummary:
    """Id, ``status``, times and job ids of ``/applications/<id>`` (2.3+)."""
    where = "/applications/<id>"
    obj = _object(body, where)
    status = _string(obj, "status", where)
    if status not in ApplicationStatus.__members__:
        raise RestDataError(f"{where}: 'status' {status!r} is not a Flink application status")
    jobs = obj.get("jobs")
    if not isinstance(jobs, list):
        raise RestDataError(f"{where}: 'jobs' must be a list")
    end = obj.get("end-time")
    job_ids = tuple(_job(job, f"{where} jobs[]").job_id for job in jobs)
    return ApplicationSummary(_string(obj, "id", where), ApplicationStatus(status), job_ids,
                              _millis(obj, "start-time", where), None if end == -1 else _millis(obj, "end-time", where))


def parse_overview(body: Any) -> ClusterOverview:
    """``taskmanagers``, ``slots-total`` and ``slots-available`` from ``/overview``."""
    obj = _object(body, OVERVIEW_PATH)
    return ClusterOverview(_integer(obj, "taskmanagers", OVERVIEW_PATH), _integer(obj, "slots-total", OVERVIEW_PATH),
                           _integer(obj, "slots-available", OVERVIEW_PATH))


def parse_checkpoints(body: Any) -> CheckpointSummary:
    """``counts.completed``, ``latest.completed`` and ``latest.restored`` from ``/jobs/<id>/checkpoints``."""
    where = "/jobs/<id>/checkpoints"
    obj = _object(body, where)
    counts = _object(obj.get("counts"), f"{where} counts")
    completed = _integer(counts, "completed", f"{where} counts")
    latest = obj.get("latest")
    latest_obj = _object(latest, f"{where} latest") if latest is not None else {}
    restored = latest_obj.get("restored")
    restored_path = None if restored is None else _object(restored, f"{where} latest.restored").get("external_path")
    if restored_path is not None and not isinstance(restored_path, str):
        raise RestDataError(f"{where} latest.restored: 'external_path' must be a string")
    latest_completed = latest_obj.get("completed")
    if latest_completed is None:
        return CheckpointSummary(completed=completed, restored_path=restored_path)
    checkpoint = _object(latest_completed, f"{where} latest.completed")
    path = checkpoint.get("external_path")
    if path is not None and not isinstance(path, str):
        raise RestDataError(f"{where} latest.completed: 'external_path' must be a string")
    return CheckpointSummary(
        completed=completed,
        latest_id=_integer(checkpoint, "id", f"{where} latest.completed"),
        latest_path=path,
        latest_triggered_at=_millis(checkpoint, "trigger_timestamp", f"{where} latest.completed"),
        latest_completed_at=_millis(checkpoint, "latest_ack_timestamp", f"{where} latest.completed"),
        restored_path=restored_path,
    )


def parse_root_cause(body: Any) -> str | None:
    """The stack trace of the job's most recent failure from ``/jobs/<id>/exceptions``.

    Uses the newest ``exceptionHistory`` entry (1.13+, the only form in 2.x) and falls back to the
    deprecated ``root-exception`` (1.x). ``None`` when the job recorded no failure. Redacted
    (:func:`~airflow_flink_k8s.core.log_redaction.redact_log`): an exception message can quote a credential.
    """
    text = _root_cause(body)
    return None if text is None else redact_log(text)


def _root_cause(body: Any) -> str | None:
    where = "/jobs/<id>/exceptions"
    obj = _object(body, where)
    history = obj.get("exceptionHistory")
    entries = _object(history, f"{where} exceptionHistory").get("entries", []) if history is not None else []
    if not isinstance(entries, list):
        raise RestDataError(f"{where} exceptionHistory: 'entries' must be a list")
    if entries:
        newest = max(
            (_object(entry, f"{where} exceptionHistory.entries[]") for entry in entries),
            key=_timestamp_or_minus_one,
        )
        text = newest.get("stacktrace") or newest.get("exceptionName")
        if isinstance(text, str) and text:
            return text
    root = obj.get("root-exception")
    return root if isinstance(root, str) and root else None


def _timestamp_or_minus_one(entry: dict[str, Any]) -> int:
    """An exception history entry's ``timestamp``, or -1 when it is missing or not an integer (sorts first)."""
    timestamp = entry.get("timestamp")
    return timestamp if isinstance(timestamp, int) else -1


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RestDataError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _string(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise RestDataError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


def _integer(obj: dict[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RestDataError(f"{where}: '{key}' must be a non-negative integer, got {value!r}")
    return value


def _millis(obj: dict[str, Any], key: str, where: str) -> datetime | None:
    if obj.get(key) is None:
        return None
    millis = _integer(obj, key, where)
    try:
        return _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        raise RestDataError(f"{where}: '{key}' {millis} ms is past year 9999") from None


def _task_state(value: Any, where: str) -> TaskState:
    if not isinstance(value, str) or value not in TaskState.__members__:
        raise RestDataError(f"{where}: {value!r} is not a Flink task state")
    return TaskState(value)


def _vertex(value: Any, where: str) -> VertexSummary:
    obj = _object(value, where)
    status = _task_state(obj.get("status"), f"{where} status")
    tasks = _object(obj.get("tasks"), f"{where} tasks")
    counts = {_task_state(state, f"{where} tasks"): _integer(tasks, state, f"{where} tasks") for state in tasks}
    return VertexSummary(name=str(obj.get("name", "")), status=status, tasks=counts)


def _job(value: Any, where: str) -> JobSummary:
    obj = _object(value, where)
    job_id = _string(obj, "jid", where)
    state = _string(obj, "state", where)
    if not _JOB_ID.fullmatch(job_id):
        raise RestDataError(f"{where}: 'jid' must be 32 lower-case hex digits, got {job_id!r}")
    if state not in JobState.__members__:
        raise RestDataError(f"{where}: 'state' {state!r} is not a Flink job state")
    return JobSummary(job_id=job_id, name=str(obj.get("name", "")), state=JobState(state))
