"""``flows.wait.step`` driven by scripted answers: the requests a wait makes, its pod-check cadence, the one
credential re-read on a 401, and the same sequence from the sync and the async driver (``core.sansio``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from airflow_flink_k8s.core import sansio
from airflow_flink_k8s.core.failure_report import Answer, PodsRequest
from airflow_flink_k8s.core.leader import LeaderInfo
from airflow_flink_k8s.core.readiness import RestRequest, RestResponse
from airflow_flink_k8s.core.readiness_check import ReadinessCheck
from airflow_flink_k8s.core.rest_endpoint import ApiServer
from airflow_flink_k8s.flows.wait import (
    POD_CHECK_INTERVAL,
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
