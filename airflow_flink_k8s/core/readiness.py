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
from airflow_flink_k8s.core.leader import LeaderInfo
from airflow_flink_k8s.core.rest_api import JobState, JobSummary


class ReadinessLevel(StrEnum):
    """How far up the JobManager must be; each level includes the ones before it."""

    LEADER = "leader"  # a live leader is published in the HA data
    REST = "rest"  # the REST endpoint answers (a 503 "leader election" does not count)
    RUNNING = "running"  # the job is RUNNING
    CHECKPOINTED = "checkpointed"  # the job has completed a checkpoint (optionally after a time)

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

    def details(self) -> dict[str, str | None]:
        """The XCom payload: leader, REST URL, job and latest checkpoint, as plain strings."""
        return {
            "leader_address": self.leader_address,
            "session_id": self.session_id,
            "rest_url": self.rest_url,
            "flink_version": self.flink_version,
            "job_id": self.job_id,
            "job_state": self.job_state,
            "checkpoint_path": self.checkpoint_path,
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
) -> Evaluation:
    """Check the JobManager up to ``target``; see the module docstring for how to drive it.

    ``leader`` is the ``restserver`` leader from the HA data (``None``: absent, released or stale).
    ``job_id`` picks the job; without it the cluster must run exactly one. ``rest_url`` is the base
    URL reported (default: the leader's address). ``checkpointed_after`` requires the latest completed
    checkpoint to have been triggered at or after that time. ``expect_finished`` accepts a FINISHED job
    as ready instead of failing fast.
    """
    level = ReadinessLevel.parse(target)
    if job_id is not None:
        job_id = rest_api.normalize_job_id(job_id)
    if checkpointed_after is not None and checkpointed_after.tzinfo is None:
        raise ValueError("checkpointed_after: must be timezone-aware")
    return _evaluate(leader, level, job_id, rest_url, checkpointed_after, expect_finished)


def _evaluate(
    leader: LeaderInfo | None,
    level: ReadinessLevel,
    job_id: str | None,
    rest_url: str | None,
    checkpointed_after: datetime | None,
    expect_finished: bool,
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
        job = jobs[0]
    else:
        response = yield RestRequest(rest_api.job_path(job_id))
        if response.status == 404:
            return _not_ready(found, f"job {job_id} is not submitted yet", job_id=job_id)
        if response.status != 200:
            return _not_ready(found, _unavailable(rest_api.job_path(job_id), response, found.rest_url))
        job = rest_api.parse_job_details(response.body)
        if job.job_id != job_id:
            raise rest_api.RestDataError(f"{rest_api.job_path(job_id)}: answered for job {job.job_id}")

    found = replace(found, job_id=job.job_id, job_state=job.state.value)
    accepted = job.state is JobState.RUNNING or (job.state is JobState.FINISHED and expect_finished)
    if job.state.is_terminal and not accepted:
        yield from _fail_fast(job)
    if not accepted:
        return _not_ready(found, f"job {job.job_id} is {job.state.value}")
    if level is ReadinessLevel.RUNNING:
        return replace(found, reason=f"job {job.job_id} is {job.state.value}")

    path = rest_api.job_checkpoints_path(job.job_id)
    response = yield RestRequest(path)
    if response.status != 200:
        return _not_ready(found, _unavailable(path, response, found.rest_url))
    checkpoints = rest_api.parse_checkpoints(response.body)
    found = replace(
        found, checkpoint_path=checkpoints.latest_path, checkpoint_time=checkpoints.latest_completed_at
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
