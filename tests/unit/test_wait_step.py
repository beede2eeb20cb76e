"""``flows.wait.step`` driven by scripted answers: the requests a wait makes, its pod-check cadence, the one
credential re-read on a 401, and the same sequence from the sync and the async driver (``core.sansio``)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_flink_k8s.core import sansio
from airflow_flink_k8s.core.failure_report import Answer, PodsRequest
from airflow_flink_k8s.core.leader import LeaderInfo
from airflow_flink_k8s.core.readiness import RestRequest, RestResponse
from airflow_flink_k8s.core.readiness_check import ReadinessCheck
from airflow_flink_k8s.core.rest_endpoint import ApiServer
from airflow_flink_k8s.flows.wait import (
    POD_CHECK_INTERVAL,
    SUSPENDED_GRACE_WITHOUT_LEASE,
    ApiServerRequest,
    LeaderRequest,
    UseEndpoint,
    WaitState,
    step,
)

LEADER = LeaderInfo(address="http://10.0.0.1:8081", session_id=uuid.UUID(int=1))
CHECK = ReadinessCheck(cluster_id="c", namespace="flink", target="rest", log_tail_lines=0)


class Script:
    """Answers a step's requests; REST answers come from ``rest`` in order; records what was asked."""

    def __init__(self, rest: list[RestResponse], leader: LeaderInfo | None = LEADER) -> None:
        self.rest, self.leader, self.asked = list(rest), leader, []

    def __call__(self, request: Any) -> Any:
        self.asked.append(type(request).__name__ if not isinstance(request, ApiServerRequest) else request)
        if isinstance(request, LeaderRequest):
            return self.leader
        if isinstance(request, ApiServerRequest):
            return ApiServer(url="https://api", headers={"Authorization": f"Bearer {request.fresh}"})
        if isinstance(request, UseEndpoint):
            return None
        if isinstance(request, RestRequest):
            return self.rest.pop(0)
        if isinstance(request, PodsRequest):
            return Answer([])
        raise AssertionError(request)

    async def async_call(self, request: Any) -> Any:
        return self(request)


def test_not_ready_looks_at_the_pods_on_the_first_step_then_every_interval() -> None:
    state, script = WaitState(), Script([RestResponse(503)] * 3)
    outcomes = [sansio.run(step(CHECK, state, now=now), script) for now in (100.0, 101.0, 100 + POD_CHECK_INTERVAL)]
    assert [o.status for o in outcomes] == ["waiting"] * 3
    assert script.asked.count("PodsRequest") == 2
    assert state.last_seen.reason.endswith("HTTP 503")


def test_a_401_through_the_api_server_reads_the_credentials_again_once() -> None:
    script = Script([RestResponse(401), RestResponse(200, {"flink-version": "2.3.0"})])
    outcome = sansio.run(step(CHECK, WaitState(), now=0.0), script)
    assert outcome.status == "success"
    assert [r for r in script.asked if isinstance(r, ApiServerRequest)] == [ApiServerRequest(False),
                                                                          ApiServerRequest(True)]
    refused_twice = sansio.run(step(CHECK, WaitState(), now=0.0), Script([RestResponse(401), RestResponse(401)]))
    assert refused_twice.status == "error" and "refused" in refused_twice.message


def test_the_deadline_ends_the_wait_with_a_report() -> None:
    outcome = sansio.run(step(CHECK, WaitState(), now=10.0, deadline=5.0), Script([], leader=None))
    assert outcome.status == "timeout"
    assert outcome.report is not None and outcome.report.startswith("Flink cluster flink/c: the JobManager did not ")


def test_the_sync_and_async_drivers_make_the_same_requests() -> None:
    answers = [RestResponse(503), RestResponse(200, {"flink-version": "2.3.0"})]
    sync, asynchronous = Script(list(answers)), Script(list(answers))
    sync_state, async_state = WaitState(), WaitState()
    for now in (0.0, 1.0):
        sansio.run(step(CHECK, sync_state, now=now), sync)
        asyncio.run(sansio.arun(step(CHECK, async_state, now=now), asynchronous.async_call))
    assert sync.asked == asynchronous.asked
    assert sync_state == async_state


# ----------------------------------------------------------------------------------------------- the two clocks
JOB = "00000000065fc7b00000000000000000"
JOB_PATH = f"/jobs/{JOB}"
RUNNING_CHECK = ReadinessCheck(cluster_id="c", namespace="flink", target="checkpointed", job_id=JOB,
                               log_tail_lines=0, unscheduled_timeout=60)


def _job(state: str, **tasks: int) -> RestResponse:
    status = "RUNNING" if tasks.get("RUNNING") else "CREATED"
    return RestResponse(200, {"jid": JOB, "name": "job", "state": state, "vertices": [
        {"name": "Source", "status": status, "tasks": tasks}]})


SCHEDULED = _job("RUNNING", SCHEDULED=2)


class Cluster(Script):
    """Answers REST by path: ``job`` is what ``/jobs/<id>`` says at the moment."""

    def __init__(self, job: RestResponse, leader: LeaderInfo | None = LEADER) -> None:
        super().__init__([], leader)
        self.job = job

    def __call__(self, request: Any) -> Any:
        if isinstance(request, RestRequest):
            self.asked.append(request.path)
            return {"/config": RestResponse(200, {"flink-version": "2.3.0"}), JOB_PATH: self.job,
                    "/overview": RestResponse(200, {"taskmanagers": 0, "slots-total": 0, "slots-available": 0}),
                    f"{JOB_PATH}/exceptions": RestResponse(200, {"exceptionHistory": {"entries": []}}),
                    f"{JOB_PATH}/checkpoints": RestResponse(200, {"counts": {"completed": 0}}),
                    }[request.path]
        if isinstance(request, PodsRequest):
            self.asked.append(request.label_selector)
        return super().__call__(request)


def _steps(check: ReadinessCheck, cluster: Cluster, moments: list[tuple[float, RestResponse]]) -> list[Any]:
    state, outcomes = WaitState(), []
    for now, job in moments:
        cluster.job = job
        outcomes.append(sansio.run(step(check, state, now=now), cluster))
    return outcomes


def test_tasks_waiting_for_a_slot_past_the_unscheduled_timeout_fail_the_wait_with_a_report() -> None:
    cluster = Cluster(SCHEDULED)
    outcomes = _steps(RUNNING_CHECK, cluster, [(100.0, SCHEDULED), (130.0, SCHEDULED), (160.0, SCHEDULED)])
    assert [o.status for o in outcomes] == ["waiting", "waiting", "failed"]
    assert outcomes[0].message == (f"job {JOB} is RUNNING but only 0 of 2 tasks running (SCHEDULED: 2); "
                                   "0 TaskManagers registered")
    report = outcomes[-1].report
    assert report is not None and report.startswith(
        f"Flink cluster flink/c: job {JOB} has had tasks waiting for a slot for 60 s (unscheduled_timeout 60 s): "
        f"job {JOB} is RUNNING but only 0 of 2 tasks running (SCHEDULED: 2); 0 TaskManagers registered")
    assert "Flink's newest exception (REST /jobs/<id>/exceptions): none recorded" in report
    assert "TaskManager pods: none" in report
    assert "app=c,type=flink-native-kubernetes,component=taskmanager" in cluster.asked
    assert f"{JOB_PATH}/exceptions" in cluster.asked
    assert (outcomes[-1].job_id, outcomes[-1].job_state) == (JOB, "RUNNING")


def test_the_unscheduled_clock_restarts_once_every_task_has_a_slot_and_survives_a_restart() -> None:
    deployed = _job("RUNNING", RUNNING=2)  # not checkpointed yet: the wait goes on
    restarting = _job("RESTARTING", CANCELED=2)  # Flink restarts a job whose slot requests timed out
    reset = _steps(RUNNING_CHECK, Cluster(SCHEDULED), [(100.0, SCHEDULED), (130.0, deployed), (170.0, SCHEDULED),
                                                       (220.0, SCHEDULED)])
    assert [o.status for o in reset] == ["waiting"] * 4
    kept = _steps(RUNNING_CHECK, Cluster(SCHEDULED), [(100.0, SCHEDULED), (130.0, restarting), (160.0, SCHEDULED)])
    assert [o.status for o in kept] == ["waiting", "waiting", "failed"]


def test_a_suspended_job_is_waited_for_until_the_leader_lease_has_run_out() -> None:
    leased = LeaderInfo(address=LEADER.address, session_id=LEADER.session_id, holder="jm-1",
                        renew_time=datetime.fromtimestamp(100, UTC), lease_duration=timedelta(seconds=15))
    suspended = _job("SUSPENDED", CANCELED=2)
    outcomes = _steps(RUNNING_CHECK, Cluster(suspended, leased), [(100.0, suspended), (116.0, suspended),
                                                                  (117.5, suspended)])
    assert [o.status for o in outcomes] == ["waiting", "waiting", "failed"]  # lease end 115 s + 2 s skew
    assert "is SUSPENDED (its JobManager lost the leadership" in outcomes[0].message
    assert outcomes[-1].job_state == "SUSPENDED" and f"Flink job {JOB} is SUSPENDED" in outcomes[-1].message
    recovered = _steps(RUNNING_CHECK, Cluster(suspended, leased), [(100.0, suspended), (110.0, SCHEDULED),
                                                                   (120.0, suspended)])
    assert [o.status for o in recovered] == ["waiting"] * 3  # the clock starts again at 120 s


def test_without_a_lease_zookeeper_a_suspended_job_gets_the_session_timeout() -> None:
    suspended = _job("SUSPENDED", CANCELED=2)
    outcomes = _steps(RUNNING_CHECK, Cluster(suspended), [(100.0, suspended), (161.0, suspended),
                                                          (162.0, suspended)])
    assert [o.status for o in outcomes] == ["waiting", "waiting", "failed"]
    assert SUSPENDED_GRACE_WITHOUT_LEASE == 60.0


def test_unscheduled_timeout_is_validated_with_the_check() -> None:
    for bad in (0, -1, float("inf"), True, "300"):
        with pytest.raises(ValueError, match="unscheduled_timeout: must be a number of seconds > 0"):
            ReadinessCheck(cluster_id="c", unscheduled_timeout=bad)
