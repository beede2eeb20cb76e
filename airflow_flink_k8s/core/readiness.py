"""The one readiness evaluator behind the sensor's ``poke`` and the trigger's ``run``.

It is sans-I/O: :func:`evaluate_readiness` returns a generator that yields each :class:`RestRequest` it
needs, is sent the :class:`RestResponse`, and finally returns a :class:`Readiness`. A job in a terminal
state raises :class:`JobTerminalError` out of the generator instead. Drivers:

* sync: ``run_evaluation(evaluation, fetch)`` with ``fetch(request) -> RestResponse``;
* async: ``await run_evaluation_async(evaluation, fetch)`` with ``async fetch(request)``;

both are the drivers of :mod:`airflow_flink_k8s.core.sansio` (the wait in :mod:`airflow_flink_k8s.flows.wait` runs an
evaluation inside its own step with them).

``fetch`` resolves ``request.path`` against the REST base URL the access mode picked (direct, service,
or API-server proxy), does the GET and never raises for HTTP or network failures: it reports them as a
response with the HTTP status (and the JSON body when there is one) or ``status=None`` and ``error``.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from airflow_flink_k8s.core import rest_api, sansio
from airflow_flink_k8s.core.errors import JobTerminalError
from airflow_flink_k8s.core.job_result import APPLICATIONS_SINCE, JobResult
from airflow_flink_k8s.core.leader import LeaderInfo
from airflow_flink_k8s.core.rest_api import (
    RUNNING_TASK_STATES,
    WAITING_FOR_SLOT_STATES,
    ApplicationStatus,
    ApplicationSummary,
    JobDetails,
    JobState,
    JobSummary,
)
from airflow_flink_k8s.core.versions import FlinkVersion


class ReadinessLevel(StrEnum):
    """How far up the JobManager must be; each level includes the ones before it."""

    LEADER = "leader"  # a live leader is published in the HA data
    REST = "rest"  # the REST endpoint answers (a 503 "leader election" does not count)
    RUNNING = "running"  # the job is RUNNING and so is every one of its tasks (or FINISHED: a bounded source)
    CHECKPOINTED = "checkpointed"  # ... and the job has completed a checkpoint (optionally after a time)
    #: Not above the others: the job ended FINISHED (a bounded job) and, on 2.3+, so did its application; its
    #: result (times, accumulators, application) is read. FAILED and CANCELED fail as for every level.
    FINISHED = "finished"

    @classmethod
    def parse(cls, value: str | ReadinessLevel) -> ReadinessLevel:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"target: expected one of {', '.join(level.value for level in cls)}, got {value!r}"
            ) from None


@dataclass(frozen=True)
class RestRequest:
    """A GET of ``path`` (e.g. ``/jobs/overview``) on the JobManager's REST endpoint."""

    path: str


@dataclass(frozen=True)
class RestResponse:
    """What a GET produced: an HTTP ``status`` and parsed JSON ``body``, or ``status=None`` and ``error``."""

    status: int | None
    body: Any = None
    error: str | None = None


@dataclass(frozen=True)
class Readiness:
    """The outcome of one evaluation, with what the sensor hands on through XCom."""

    ready: bool
    reason: str
    leader_address: str | None = None
    session_id: str | None = None
    rest_url: str | None = None
    flink_version: str | None = None
    job_id: str | None = None
    job_state: str | None = None
    checkpoint_path: str | None = None
    checkpoint_time: datetime | None = None
    #: The latest completed checkpoint's id (``/jobs/<id>/checkpoints``), in the XCom with its path and time.
    checkpoint_id: int | None = None
    #: The checkpoint or savepoint Flink restored the job from (``latest.restored``), read with the checkpoints.
    restored_from: str | None = None
    #: The job's tasks per state (``/jobs/<id>``, non-zero counts only) when the job was read; not in the XCom.
    tasks: dict[str, int] | None = None
    #: TaskManagers registered (``/overview``), read when some task does not run; not in the XCom.
    taskmanagers: int | None = None
    #: For ``finished``: tasks wait for a slot only while none of the job's tasks runs or has finished (a bounded
    #: job's later stages wait for its earlier ones, and its tasks may take turns on few slots).
    bounded: bool = False
    #: The FINISHED job's result (``finished``); in the XCom as ``result``.
    result: JobResult | None = None

    @property
    def tasks_waiting_for_slots(self) -> int:
        """Tasks of the job not yet given a slot (CREATED or SCHEDULED); 0 when the job was not read, and for a
        ``bounded`` wait while some task runs or has finished."""
        tasks = self.tasks or {}
        if self.bounded and any(state in RUNNING_TASK_STATES for state in tasks):
            return 0
        return sum(count for state, count in tasks.items() if state in WAITING_FOR_SLOT_STATES)

    def details(self) -> dict[str, Any]:
        """The XCom payload: leader, REST URL, job and latest checkpoint as plain strings, plus ``result`` (a
        FINISHED job's, see :meth:`JobResult.to_xcom`) when waiting for ``finished``."""
        return ({"result": self.result.to_xcom()} if self.result is not None else {}) | {
            "leader_address": self.leader_address,
            "session_id": self.session_id,
            "rest_url": self.rest_url,
            "flink_version": self.flink_version,
            "job_id": self.job_id,
            "job_state": self.job_state,
            "checkpoint_path": self.checkpoint_path,
            "checkpoint_id": self.checkpoint_id,
            "restored_from": self.restored_from,
            "checkpoint_time": self.checkpoint_time.isoformat() if self.checkpoint_time else None,
        }


Evaluation = Generator[RestRequest, RestResponse, Readiness]

#: The drivers of an evaluation: :func:`airflow_flink_k8s.core.sansio.run` and ``arun``.
run_evaluation = sansio.run
run_evaluation_async = sansio.arun


def evaluate_readiness(
    leader: LeaderInfo | None,
    target: str | ReadinessLevel = ReadinessLevel.REST,
    *,
    job_id: str | None = None,
    rest_url: str | None = None,
    checkpointed_after: datetime | None = None,
    expect_finished: bool = False,
    suspended_is_terminal: bool = False,
) -> Evaluation:
    """Check the JobManager up to ``target``; see the module docstring for how to drive it.

    ``leader`` is the ``restserver`` leader from the HA data (``None``: absent, released or stale).
    ``job_id`` picks the job; without it the cluster must run exactly one. ``rest_url`` is the base
    URL reported (default: the leader's address). ``checkpointed_after`` requires the latest completed
    checkpoint to have been triggered at or after that time. ``expect_finished`` accepts a FINISHED job
    as ready instead of failing fast. A SUSPENDED job (its JobManager lost the leadership; a new leader
    recovers it from the HA data) is not ready, and fails fast only with ``suspended_is_terminal`` (the wait
    sets it once the leader lease seen at the suspension has run out).
    """
    level = ReadinessLevel.parse(target)
    if job_id is not None:
        job_id = rest_api.normalize_job_id(job_id)
    if checkpointed_after is not None and checkpointed_after.tzinfo is None:
        raise ValueError("checkpointed_after: must be timezone-aware")
    return _evaluate(leader, level, job_id, rest_url, checkpointed_after, expect_finished, suspended_is_terminal)


def _evaluate(
    leader: LeaderInfo | None,
    level: ReadinessLevel,
    job_id: str | None,
    rest_url: str | None,
    checkpointed_after: datetime | None,
    expect_finished: bool,
    suspended_is_terminal: bool,
) -> Evaluation:
    if leader is None:
        return Readiness(
            False, "no live JobManager leader in the HA data (absent, released or lease expired)"
        )
    found = Readiness(
        True,
        "leader published",
        leader_address=leader.address,
        session_id=str(leader.session_id),
        rest_url=rest_url or leader.rest_url,
    )
    if level is ReadinessLevel.LEADER:
        return found

    response = yield RestRequest(rest_api.CONFIG_PATH)
    if response.status != 200:
        return _not_ready(found, _unavailable(rest_api.CONFIG_PATH, response, found.rest_url))
    found = replace(found, reason="REST endpoint answers", flink_version=rest_api.parse_config(response.body))
    if level is ReadinessLevel.REST:
        return found

    details: JobDetails | None = None
    if job_id is None:
        response = yield RestRequest(rest_api.JOBS_OVERVIEW_PATH)
        if response.status != 200:
            return _not_ready(found, _unavailable(rest_api.JOBS_OVERVIEW_PATH, response, found.rest_url))
        jobs = rest_api.parse_jobs_overview(response.body)
        if not jobs:
            return _not_ready(found, "no job submitted yet")
        if len(jobs) > 1:
            listed = ", ".join(f"{job.job_id} ({job.state.value})" for job in jobs)
            return _not_ready(
                found, f"{len(jobs)} jobs on the cluster and no job_id given to pick one: {listed}"
            )
        job: JobSummary = jobs[0]
    else:
        read = yield from _job_details(found, job_id)
        if isinstance(read, Readiness):
            return read
        job = details = read

    found = replace(found, job_id=job.job_id, job_state=job.state.value, bounded=level is ReadinessLevel.FINISHED)
    finished = job.state is JobState.FINISHED and (expect_finished or found.bounded)
    if job.state.is_terminal and not finished and (job.state is not JobState.SUSPENDED or suspended_is_terminal):
        yield from _fail_fast(job)
    if finished and found.bounded:
        return (yield from _finished(found, job.job_id))
    if finished:
        return replace(found, reason=f"job {job.job_id} is {job.state.value}")
    if details is None:
        fetched = yield from _job_details(found, job.job_id)
        if isinstance(fetched, Readiness):
            return fetched
        details = fetched
        found = replace(found, job_state=details.state.value)
    found = replace(found, tasks={state.value: count for state, count in details.task_counts().items()})
    if details.state is JobState.SUSPENDED:
        return _not_ready(found, f"job {job.job_id} is SUSPENDED (its JobManager lost the leadership; waiting for "
                                 "a new leader to recover it)")
    if details.state is not JobState.RUNNING:
        return _not_ready(found, f"job {job.job_id} is {details.state.value}")
    if found.bounded and found.tasks_waiting_for_slots == 0:
        return _not_ready(found, f"job {job.job_id} is RUNNING ({_task_summary(details)}); waiting for it to finish")
    if not details.tasks_run:
        overview = yield RestRequest(rest_api.OVERVIEW_PATH)
        if overview.status == 200:
            found = replace(found, taskmanagers=rest_api.parse_overview(overview.body).taskmanagers)
        return _not_ready(found, _tasks_not_running(details, found.taskmanagers))
    if level is ReadinessLevel.RUNNING:
        return replace(found, reason=f"job {job.job_id} is RUNNING with all {_total(details)} tasks running")

    path = rest_api.job_checkpoints_path(job.job_id)
    response = yield RestRequest(path)
    if response.status != 200:
        return _not_ready(found, _unavailable(path, response, found.rest_url))
    checkpoints = rest_api.parse_checkpoints(response.body)
    found = replace(
        found, checkpoint_path=checkpoints.latest_path, checkpoint_time=checkpoints.latest_completed_at,
        checkpoint_id=checkpoints.latest_id, restored_from=checkpoints.restored_path,
    )
    if checkpoints.completed == 0 or checkpoints.latest_id is None:
        return _not_ready(found, f"job {job.job_id} has no completed checkpoint yet")
    triggered = checkpoints.latest_triggered_at
    if checkpointed_after is not None and (triggered is None or triggered < checkpointed_after):
        return _not_ready(
            found,
            f"latest completed checkpoint {checkpoints.latest_id} of job {job.job_id} was triggered at "
            f"{triggered.isoformat() if triggered else 'an unknown time'}, "
            f"before {checkpointed_after.isoformat()}",
        )
    return replace(found, reason=f"job {job.job_id} completed checkpoint {checkpoints.latest_id}")


def _job_details(found: Readiness, job_id: str) -> Generator[RestRequest, RestResponse, JobDetails | Readiness]:
    """``/jobs/<id>``, or the not-ready outcome when it gives no answer."""
    path = rest_api.job_path(job_id)
    response = yield RestRequest(path)
    if response.status == 404:
        return _not_ready(found, f"job {job_id} is not submitted yet", job_id=job_id)
    if response.status != 200:
        return _not_ready(found, _unavailable(path, response, found.rest_url))
    details = rest_api.parse_job_details(response.body)
    if details.job_id != job_id:
        raise rest_api.RestDataError(f"{path}: answered for job {details.job_id}")
    return details


def _finished(found: Readiness, job_id: str) -> Generator[RestRequest, RestResponse, Readiness]:
    """The FINISHED job's result: ``/jobs/<id>`` (times), ``/jobs/<id>/accumulators`` and, on 2.3+, its application,
    which Flink ends a little after the job (about 0.7 s on the sandbox): ready only once that is terminal too."""
    path = rest_api.job_path(job_id)
    response = yield RestRequest(path)
    if response.status != 200:
        return _not_ready(found, _unavailable(path, response, found.rest_url))
    times = rest_api.parse_job_times(response.body)
    path = rest_api.job_accumulators_path(job_id)
    response = yield RestRequest(path)
    if response.status != 200:
        return _not_ready(found, _unavailable(path, response, found.rest_url))
    accumulators = rest_api.parse_accumulators(response.body)
    application = None
    if found.flink_version is not None and FlinkVersion.parse(found.flink_version).at_least(*APPLICATIONS_SINCE):
        read = yield from _application(found, job_id)
        if isinstance(read, Readiness):
            return read
        application = read
    result = JobResult(job_id, JobState.FINISHED.value, times.start, times.end, times.duration_ms, accumulators,
                       application)
    return replace(found, reason=f"job {job_id} is FINISHED" + (
        f" (application {application.application_id} FINISHED)" if application else ""), result=result)


def _application(found: Readiness, job_id: str) -> Generator[RestRequest, RestResponse,
                                                             ApplicationSummary | Readiness]:
    """The terminal application holding ``job_id`` (2.3+), or the not-ready outcome; raises
    :class:`JobTerminalError` when it ended FAILED or CANCELED (``main()`` failed after the job finished)."""
    response = yield RestRequest(rest_api.APPLICATIONS_OVERVIEW_PATH)
    if response.status != 200:
        return _not_ready(found, _unavailable(rest_api.APPLICATIONS_OVERVIEW_PATH, response, found.rest_url))
    for application_id in rest_api.parse_application_ids(response.body):
        path = rest_api.application_path(application_id)
        response = yield RestRequest(path)
        if response.status != 200:
            return _not_ready(found, _unavailable(path, response, found.rest_url))
        application = rest_api.parse_application(response.body)
        if job_id not in application.job_ids:
            continue
        if not application.status.is_terminal:
            return _not_ready(found, f"job {job_id} is FINISHED; its application {application_id} is "
                                     f"{application.status.value} (waiting for it to end)")
        if application.status is not ApplicationStatus.FINISHED:
            raise JobTerminalError(job_id, JobState.FINISHED, None, f"its application {application_id} ended "
                                   f"{application.status.value} (main() failed after the job finished)")
        return application
    return _not_ready(found, f"job {job_id} is FINISHED; no application lists it yet")


def _task_summary(details: JobDetails) -> str:
    """``RUNNING: 1, FINISHED: 2, CREATED: 1``."""
    return ", ".join(f"{state.value}: {count}" for state, count in sorted(details.task_counts().items()))


def _total(details: JobDetails) -> int:
    return sum(details.task_counts().values())


def _tasks_not_running(details: JobDetails, taskmanagers: int | None) -> str:
    """``job … is RUNNING but 2 of 2 tasks are not running (SCHEDULED: 2); 0 TaskManagers registered``."""
    counts = details.task_counts()
    running = sum(count for state, count in counts.items() if state in rest_api.RUNNING_TASK_STATES)
    others = ", ".join(f"{state.value}: {count}" for state, count in sorted(counts.items())
                       if state not in rest_api.RUNNING_TASK_STATES)
    registered = "TaskManagers unknown (/overview gave no answer)" if taskmanagers is None else (
        f"{taskmanagers} TaskManager{'s' if taskmanagers != 1 else ''} registered")
    return (f"job {details.job_id} is RUNNING but only {running} of {_total(details)} tasks running"
            f"{f' ({others})' if others else ''}; {registered}")


def _fail_fast(job: JobSummary) -> Generator[RestRequest, RestResponse, None]:
    """Fetch the root cause of a terminal job and raise :class:`JobTerminalError`."""
    path = rest_api.job_exceptions_path(job.job_id)
    response = yield RestRequest(path)
    if response.status != 200:
        raise JobTerminalError(job.job_id, job.state, None, f"root cause unavailable ({_describe(response)})")
    try:
        root_cause = rest_api.parse_root_cause(response.body)
    except rest_api.RestDataError as error:
        raise JobTerminalError(job.job_id, job.state, None, f"root cause unreadable ({error})") from None
    raise JobTerminalError(job.job_id, job.state, root_cause)


def _unavailable(path: str, response: RestResponse, rest_url: str | None) -> str:
    """Why ``path`` gave no usable answer; raises ``RestRefusedError`` for a 401/403, which no wait can fix."""
    where = f"{rest_url or ''}{path}"
    if response.status in (401, 403):
        raise rest_api.RestRefusedError(f"{where}: refused: {_describe(response)}", response.status)
    if rest_api.is_leader_election(response.status, response.body):
        return f"{where}: REST endpoint is waiting for a leader election (HTTP 503)"
    return f"{where}: {_describe(response)}"


def _describe(response: RestResponse) -> str:
    if response.status is None:
        return f"no HTTP answer ({response.error or 'unknown error'})"
    messages = rest_api.error_messages(response.body)
    return f"HTTP {response.status}" + (f": {'; '.join(messages)}" if messages else "")


def _not_ready(found: Readiness, reason: str, **changes: Any) -> Readiness:
    return replace(found, ready=False, reason=reason, **changes)
