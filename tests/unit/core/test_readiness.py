"""The readiness evaluator: table-driven on REST answers shaped like Flink 1.20's and 2.3's (end to end against a
real Flink application cluster: ``tests/integration/test_readiness_on_real_cluster.py``)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from airflow_flink_k8s.core.leader import LeaderInfo
from airflow_flink_k8s.core.readiness import (
    JobTerminalError,
    Readiness,
    RestRequest,
    RestResponse,
    evaluate_readiness,
    run_evaluation,
    run_evaluation_async,
)
from airflow_flink_k8s.core.rest_api import RestDataError

LEADER = LeaderInfo(address="http://10.244.0.17:8081", session_id=uuid.UUID("1f0e6b5a-3c2d-4e8f-9a1b-2c3d4e5f6a7b"))
JOB = "00000000065fc7b00000000000000000"
OTHER_JOB = "a3f1c2d4e5f60718293a4b5c6d7e8f90"
ELECTION = RestResponse(
    503, {"errors": ["Service temporarily unavailable due to an ongoing leader election. Please refresh."]}
)
CONFIG = RestResponse(200, {"refresh-interval": 3000, "timezone-name": "Coordinated Universal Time",
                            "timezone-offset": 0, "flink-version": "2.3.0", "flink-revision": "a1b2c3d @ 2026-06-14",
                            "features": {"web-submit": False, "web-cancel": False, "web-rescale": False}})
TRIGGERED_MS = 1795483425678  # 2026-11-24T01:23:45.678Z
TRIGGERED = datetime(2026, 11, 24, 1, 23, 45, 678000, tzinfo=UTC)
STACKTRACE = (
    "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy\n"
    "\tat org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler.handleFailure(...)\n"
    "Caused by: java.lang.IllegalStateException: sink table orders_v2 does not exist\n"
    "\tat com.example.OrdersJob.lambda$main$0(OrdersJob.java:42)\n"
)


def job_overview(*jobs: tuple[str, str]) -> RestResponse:
    return RestResponse(200, {"jobs": [
        {"jid": jid, "name": "checkpointing-job", "start-time": 1795483400000, "end-time": -1, "duration": 25678,
         "last-modification": 1795483401000, "state": state,
         "tasks": {"running": 2, "finished": 0, "canceled": 0, "failed": 0, "total": 2}}
        for jid, state in jobs
    ]})


TASK_STATES = ("CANCELED", "CANCELING", "CREATED", "DEPLOYING", "FAILED", "FINISHED", "INITIALIZING", "RECONCILING",
               "RUNNING", "SCHEDULED")


def vertex(name: str, status: str, **tasks: int) -> dict:
    """A vertex as ``/jobs/<id>`` shows it (1.20/2.3): every task state counted."""
    return {"id": "bc764cd8ddf7a0cff126f51c16239658", "name": name, "maxParallelism": 128,
            "parallelism": sum(tasks.values()), "status": status, "start-time": -1, "end-time": -1, "duration": -1,
            "tasks": {state: tasks.get(state, 0) for state in TASK_STATES}, "metrics": {}}


RUNNING_VERTICES = [vertex("Source: generator", "RUNNING", RUNNING=1), vertex("Reduce -> Sink", "RUNNING", RUNNING=1)]
#: What 2.3.0 showed with TaskManager pods refused: the job RUNNING, every task SCHEDULED, for good.
SCHEDULED_VERTICES = [vertex("Source: generator", "CREATED", SCHEDULED=1),
                      vertex("Reduce -> Sink", "CREATED", SCHEDULED=1)]


def job_details(state: str, jid: str = JOB, vertices: list | None = None) -> RestResponse:
    vertices = RUNNING_VERTICES if vertices is None else vertices
    return RestResponse(200, {"jid": jid, "name": "checkpointing-job", "isStoppable": False, "state": state,
                              "job-type": "STREAMING", "start-time": 1795483400000, "end-time": -1,
                              "duration": 25678, "maxParallelism": -1, "now": 1795483425678,
                              "timestamps": {state: 1795483401000}, "vertices": vertices, "status-counts": {},
                              "plan": {"jid": jid, "name": "checkpointing-job", "type": "STREAMING", "nodes": []}})


def overview(taskmanagers: int) -> RestResponse:
    return RestResponse(200, {"taskmanagers": taskmanagers, "slots-total": taskmanagers,
                              "slots-available": taskmanagers, "jobs-running": 1, "jobs-finished": 0,
                              "jobs-cancelled": 0, "jobs-failed": 0, "flink-version": "2.3.0",
                              "flink-commit": "a1b2c3d"})


def checkpoints(completed: int, path: str | None = None, triggered_ms: int = TRIGGERED_MS) -> RestResponse:
    latest = None
    if path is not None:
        latest = {"className": "completed", "id": completed, "status": "COMPLETED", "is_savepoint": False,
                  "savepointFormat": None, "trigger_timestamp": triggered_ms,
                  "latest_ack_timestamp": triggered_ms + 122, "checkpointed_size": 2105, "state_size": 2105,
                  "end_to_end_duration": 122, "alignment_buffered": 0, "processed_data": 0, "persisted_data": 0,
                  "num_subtasks": 2, "num_acknowledged_subtasks": 2, "checkpoint_type": "CHECKPOINT",
                  "tasks": {}, "external_path": path, "discarded": False}
    return RestResponse(200, {
        "counts": {"restored": 0, "total": completed, "in_progress": 0, "completed": completed, "failed": 0},
        "summary": {}, "latest": {"completed": latest, "savepoint": None, "failed": None, "restored": None},
        "history": [],
    })


def exceptions_2x(*entries: tuple[str, int]) -> RestResponse:
    """2.x: only ``exceptionHistory``."""
    return RestResponse(200, {"exceptionHistory": {"entries": [
        {"exceptionName": text.splitlines()[0], "stacktrace": text, "timestamp": at, "taskName": None,
         "endpoint": None, "taskManagerId": None, "failureLabels": {}, "concurrentExceptions": []}
        for text, at in entries
    ], "truncated": False}})


def exceptions_1x(root: str | None, *entries: tuple[str, int]) -> RestResponse:
    """1.x: the deprecated ``root-exception``/``all-exceptions`` beside ``exceptionHistory``."""
    body = exceptions_2x(*entries).body
    body["exceptionHistory"]["entries"] = [{**e, "location": None} for e in body["exceptionHistory"]["entries"]]
    return RestResponse(200, {"root-exception": root, "timestamp": 1795483425678 if root else None,
                              "all-exceptions": [], "truncated": False, **body})


def drive(responses: dict[str, RestResponse], **kwargs) -> tuple[Readiness, list[str]]:
    asked: list[str] = []

    def fetch(request: RestRequest) -> RestResponse:
        asked.append(request.path)
        return responses[request.path]

    return run_evaluation(evaluate_readiness(kwargs.pop("leader", LEADER), **kwargs), fetch), asked


J, CK, EX = f"/jobs/{JOB}", f"/jobs/{JOB}/checkpoints", f"/jobs/{JOB}/exceptions"
CHK = f"file:/data/checkpoints/probe/{JOB}/chk-3"

NOT_READY = {
    "no leader": ({"leader": None, "target": "checkpointed"}, {}, "no live JobManager leader"),
    "leader election": ({"target": "rest"}, {"/config": ELECTION}, "waiting for a leader election"),
    "no HTTP answer": ({"target": "rest"}, {"/config": RestResponse(None, error="Connection refused")},
                       "no HTTP answer \\(Connection refused\\)"),
    "proxy 502": ({"target": "rest"}, {"/config": RestResponse(502, "<html>Bad Gateway</html>")}, "HTTP 502"),
    "job not submitted": ({"target": "running", "job_id": JOB},
                          {"/config": CONFIG, J: RestResponse(404, {"errors": ["Job could not be found."]})},
                          f"job {JOB} is not submitted yet"),
    "job initializing": ({"target": "running", "job_id": JOB}, {"/config": CONFIG, J: job_details("INITIALIZING")},
                         "is INITIALIZING"),
    "job created": ({"target": "running", "job_id": JOB}, {"/config": CONFIG, J: job_details("CREATED")},
                    "is CREATED"),
    "job restarting": ({"target": "running", "job_id": JOB}, {"/config": CONFIG, J: job_details("RESTARTING")},
                       "is RESTARTING"),
    "job cancelling": ({"target": "running", "job_id": JOB}, {"/config": CONFIG, J: job_details("CANCELLING")},
                       "is CANCELLING"),
    "jobs election": ({"target": "running", "job_id": JOB}, {"/config": CONFIG, J: ELECTION}, "leader election"),
    "no job yet": ({"target": "running"}, {"/config": CONFIG, "/jobs/overview": job_overview()},
                   "no job submitted yet"),
    "two jobs, no job id": ({"target": "running"},
                            {"/config": CONFIG,
                             "/jobs/overview": job_overview((JOB, "RUNNING"), (OTHER_JOB, "CREATED"))},
                            f"2 jobs on the cluster and no job_id given to pick one: {JOB} \\(RUNNING\\), {OTHER_JOB}"),
    "no checkpoint yet": ({"target": "checkpointed", "job_id": JOB},
                          {"/config": CONFIG, J: job_details("RUNNING"), CK: checkpoints(0)},
                          "has no completed checkpoint yet"),
    "checkpoint too old": ({"target": "checkpointed", "job_id": JOB,
                            "checkpointed_after": TRIGGERED + timedelta(milliseconds=1)},
                           {"/config": CONFIG, J: job_details("RUNNING"), CK: checkpoints(3, CHK)},
                           "checkpoint 3 .* was triggered at 2026-11-24T01:23:45.678000\\+00:00, before"),
    "tasks scheduled, no TaskManager": (
        {"target": "running", "job_id": JOB},
        {"/config": CONFIG, J: job_details("RUNNING", vertices=SCHEDULED_VERTICES), "/overview": overview(0)},
        f"^job {JOB} is RUNNING but only 0 of 2 tasks running \\(SCHEDULED: 2\\); 0 TaskManagers registered$"),
    "one vertex RUNNING, one task still deploying": (
        {"target": "running", "job_id": JOB},
        {"/config": CONFIG, J: job_details("RUNNING", vertices=[vertex("Source", "RUNNING", RUNNING=1, DEPLOYING=1),
                                                                  vertex("Sink", "RUNNING", RUNNING=2)]),
         "/overview": overview(1)},
        "only 3 of 4 tasks running \\(DEPLOYING: 1\\); 1 TaskManager registered$"),
    "tasks scheduled, overview unavailable": (
        {"target": "running"},
        {"/config": CONFIG, "/jobs/overview": job_overview((JOB, "RUNNING")),
         J: job_details("RUNNING", vertices=SCHEDULED_VERTICES), "/overview": ELECTION},
        "TaskManagers unknown"),
    "no vertices yet": ({"target": "running", "job_id": JOB},
                        {"/config": CONFIG, J: job_details("RUNNING", vertices=[]), "/overview": overview(0)},
                        "only 0 of 0 tasks running"),
    "checkpointed with tasks scheduled": (
        {"target": "checkpointed", "job_id": JOB},
        {"/config": CONFIG, J: job_details("RUNNING", vertices=SCHEDULED_VERTICES), "/overview": overview(0)},
        "0 of 2 tasks running"),
    "suspended, a new leader may recover it": ({"target": "running", "job_id": JOB},
                                               {"/config": CONFIG, J: job_details("SUSPENDED")},
                                               "is SUSPENDED \\(its JobManager lost the leadership"),
    "checkpoints 404": ({"target": "checkpointed", "job_id": JOB},
                        {"/config": CONFIG, J: job_details("RUNNING"),
                         CK: RestResponse(404, {"errors": ["Checkpointing has not been enabled."]})},
                        "HTTP 404: Checkpointing has not been enabled."),
}


@pytest.mark.parametrize("case", NOT_READY, ids=list(NOT_READY))
def test_not_ready(case):
    kwargs, responses, reason = NOT_READY[case]
    readiness, asked = drive(responses, **kwargs)
    assert not readiness.ready
    assert re.search(reason, readiness.reason), readiness.reason
    assert set(asked) == set(responses)  # no request beyond what the answer depends on


READY = {
    "leader": ({"target": "leader"}, {}, {"rest_url": LEADER.address, "job_id": None}),
    "rest": ({"target": "rest"}, {"/config": CONFIG}, {"flink_version": "2.3.0"}),
    "running by job id": ({"target": "running", "job_id": JOB.upper()},
                          {"/config": CONFIG, J: job_details("RUNNING")}, {"job_id": JOB, "job_state": "RUNNING"}),
    "the single job": ({"target": "running"}, {"/config": CONFIG, "/jobs/overview": job_overview((JOB, "RUNNING")),
                                               J: job_details("RUNNING")},
                      {"job_id": JOB, "job_state": "RUNNING"}),
    "a bounded source finished": ({"target": "running", "job_id": JOB},
                                  {"/config": CONFIG, J: job_details("RUNNING", vertices=[
                                      vertex("Source", "FINISHED", FINISHED=2), vertex("Sink", "RUNNING", RUNNING=1)])},
                                  {"job_state": "RUNNING"}),
    "finished when expected": ({"target": "running", "job_id": JOB, "expect_finished": True},
                               {"/config": CONFIG, J: job_details("FINISHED")}, {"job_state": "FINISHED"}),
    "checkpointed": ({"target": "checkpointed", "job_id": JOB},
                     {"/config": CONFIG, J: job_details("RUNNING"), CK: checkpoints(3, CHK)},
                     {"checkpoint_path": CHK, "checkpoint_time": "2026-11-24T01:23:45.800000+00:00"}),
    "checkpointed exactly at the time": ({"target": "checkpointed", "job_id": JOB, "checkpointed_after": TRIGGERED},
                                         {"/config": CONFIG, J: job_details("RUNNING"), CK: checkpoints(3, CHK)},
                                         {"checkpoint_path": CHK}),
    "proxied REST URL": ({"target": "rest", "rest_url": "https://api:6443/api/v1/namespaces/ns/services/probe-rest:rest/proxy"},
                         {"/config": CONFIG},
                         {"rest_url": "https://api:6443/api/v1/namespaces/ns/services/probe-rest:rest/proxy",
                          "leader_address": LEADER.address}),
}


@pytest.mark.parametrize("case", READY, ids=list(READY))
def test_ready(case):
    kwargs, responses, expected = READY[case]
    readiness, asked = drive(responses, **kwargs)
    assert readiness.ready, readiness.reason
    details = readiness.details()
    assert details["session_id"] == str(LEADER.session_id)
    assert {key: details[key] for key in expected} == expected
    assert set(asked) == set(responses)


TERMINAL = {
    "failed, 2.x exceptions": ("FAILED", exceptions_2x(("java.lang.RuntimeException: old\n", 1), (STACKTRACE, 9)),
                               STACKTRACE, "Caused by: java.lang.IllegalStateException: sink table orders_v2"),
    "failed, 1.x exceptions": ("FAILED", exceptions_1x(STACKTRACE, (STACKTRACE, 9)), STACKTRACE,
                               "Recovery is suppressed .* Caused by: java.lang.IllegalStateException"),
    "failed, only root-exception": ("FAILED", exceptions_1x(STACKTRACE), STACKTRACE, "orders_v2 does not exist"),
    "canceled": ("CANCELED", exceptions_2x(), None, "is CANCELED: no exception recorded"),
    "suspended": ("SUSPENDED", exceptions_1x(None), None, "is SUSPENDED"),
    "finished unexpectedly": ("FINISHED", exceptions_2x(), None, "is FINISHED"),
    "exceptions unavailable": ("FAILED", ELECTION, None, "root cause unavailable \\(HTTP 503: Service temporarily"),
    "exceptions unreadable": ("FAILED", RestResponse(200, {"exceptionHistory": {"entries": "x"}}), None,
                              "root cause unreadable"),
}


@pytest.mark.parametrize("case", TERMINAL, ids=list(TERMINAL))
@pytest.mark.parametrize("via_overview", [False, True], ids=["job id", "single job"])
def test_terminal_job_fails_fast(case, via_overview):
    state, exceptions, root_cause, message = TERMINAL[case]
    responses = {"/config": CONFIG, EX: exceptions}
    if via_overview:
        responses["/jobs/overview"] = job_overview((JOB, state))
        kwargs = {"target": "checkpointed"}
    else:
        responses[J] = job_details(state)
        kwargs = {"target": "checkpointed", "job_id": JOB}
    with pytest.raises(JobTerminalError, match=message) as failure:
        drive(responses, **kwargs, suspended_is_terminal=state == "SUSPENDED")
    assert (failure.value.job_id, failure.value.state.value, failure.value.root_cause) == (JOB, state, root_cause)
    assert f"Flink job {JOB} is {state}" in str(failure.value)


@pytest.mark.parametrize(
    "responses, kwargs, message",
    [
        ({"/config": RestResponse(200, "<html>login</html>")}, {"target": "rest"}, "/config: expected a JSON object"),
        ({"/config": RestResponse(200, {})}, {"target": "rest"}, "'flink-version' must be a non-empty string"),
        ({"/config": CONFIG, J: job_details("RUNNING", OTHER_JOB)}, {"target": "running", "job_id": JOB},
         f"answered for job {OTHER_JOB}"),
        ({"/config": CONFIG, J: job_details("DEPLOYING")}, {"target": "running", "job_id": JOB},
         "'DEPLOYING' is not a Flink job state"),
        ({"/config": CONFIG, "/jobs/overview": RestResponse(200, {"jobs": None})}, {"target": "running"},
         "'jobs' must be a list"),
        ({"/config": CONFIG, J: job_details("RUNNING"), CK: RestResponse(200, {"counts": {"completed": -1}})},
         {"target": "checkpointed", "job_id": JOB}, "'completed' must be a non-negative integer"),
    ],
)
def test_answers_that_are_not_flinks_raise(responses, kwargs, message):
    with pytest.raises(RestDataError, match=message):
        drive(responses, **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target": "ready"}, "target: expected one of leader, rest, running, checkpointed"),
        ({"job_id": "abc"}, "job_id: expected 32 hex digits"),
        ({"checkpointed_after": datetime(2026, 1, 1)}, "checkpointed_after: must be timezone-aware"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluate_readiness(LEADER, **kwargs)


def test_async_driver_gives_the_same_answer():
    responses = {"/config": CONFIG, J: job_details("RUNNING"), CK: checkpoints(3, CHK)}

    async def fetch(request: RestRequest) -> RestResponse:
        await asyncio.sleep(0)
        return responses[request.path]

    evaluation = evaluate_readiness(LEADER, "checkpointed", job_id=JOB)
    assert asyncio.run(run_evaluation_async(evaluation, fetch)) == drive(responses, target="checkpointed",
                                                                          job_id=JOB)[0]


# --------------------------------------------------------------------------------------------------
# End to end: a real Flink application cluster with ZooKeeper HA


