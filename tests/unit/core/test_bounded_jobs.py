"""Bounded jobs: the ``finished`` readiness level on REST answers recorded from the real 2.3.0 and 1.20.3 running the
bounded example job (``scripts/record_rest_bodies.py``), the option that keeps the cluster, and the report for a
cluster Flink deleted itself (end to end: ``tests/integration/test_bounded_jobs.py``)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError, JobTerminalError
from airflow_flink_k8s.core.failure_report import Answer, DeploymentRequest, PodsRequest, ReportTarget, gone_report
from airflow_flink_k8s.core.job_result import (
    SHUTDOWN_ON_APPLICATION_FINISH,
    SHUTDOWN_ON_APPLICATION_FINISH_SINCE,
    keep_cluster_after_finish,
)
from airflow_flink_k8s.core.leader import LeaderInfo
from airflow_flink_k8s.core.readiness import Readiness, RestRequest, RestResponse, evaluate_readiness, run_evaluation
from airflow_flink_k8s.core.sansio import run
from airflow_flink_k8s.core.versions import OLDEST_LAUNCHABLE
from airflow_flink_k8s.operators import FlinkApplicationOperator

REST = Path(__file__).resolve().parents[2] / "data" / "rest"
LEADER = LeaderInfo(address="http://10.244.0.17:8081", session_id=uuid.UUID("1f0e6b5a-3c2d-4e8f-9a1b-2c3d4e5f6a7b"))


def recorded(version: str) -> tuple[dict[str, Any], dict[str, RestResponse]]:
    """(meta, path → answer) of the bounded job's recorded run."""
    def body(name: str) -> Any:
        return json.loads((REST / version / f"{name}.json").read_text())

    meta = body("bounded-meta")
    jid, app = meta["job_id"], meta["application_id"]
    answers = {"/config": body("config"), f"/jobs/{jid}": body("bounded-job-finished"),
               f"/jobs/{jid}/accumulators": body("bounded-accumulators")}
    if app is not None:
        answers |= {"/applications/overview": body("bounded-applications-overview"),
                    f"/applications/{app}": body("bounded-application-finished")}
    return meta, {path: RestResponse(200, answer) for path, answer in answers.items()}


def drive(answers: dict[str, RestResponse], job_id: str) -> tuple[Readiness, list[str]]:
    asked: list[str] = []

    def fetch(request: RestRequest) -> RestResponse:
        asked.append(request.path)
        return answers.get(request.path, RestResponse(404, {"errors": ["Not found"]}))

    return run_evaluation(evaluate_readiness(LEADER, "finished", job_id=job_id), fetch), asked


@pytest.mark.parametrize("version", ["2.3.0", "1.20.3"])
def test_a_finished_job_is_ready_with_its_times_accumulators_and_application(version: str) -> None:
    meta, answers = recorded(version)
    jid, app = meta["job_id"], meta["application_id"]
    readiness, asked = drive(answers, jid)
    assert readiness.ready, readiness.reason
    job = answers[f"/jobs/{jid}"].body
    result = readiness.details()["result"]
    assert result["job_id"] == jid and result["state"] == "FINISHED" and result["duration_ms"] == job["duration"]
    assert result["accumulators"] == {"records": "1000", "next-offset": "1000"}
    if app is None:  # 1.20: no applications, and none asked for
        assert result["application"] is None and not any(path.startswith("/applications") for path in asked)
    else:
        assert result["application"]["id"] == app and result["application"]["status"] == "FINISHED"


def test_on_2_3_the_application_must_have_ended_too() -> None:
    meta, answers = recorded("2.3.0")
    app_path = f"/applications/{meta['application_id']}"
    running = copy.deepcopy(answers[app_path].body) | {"status": "RUNNING", "end-time": -1}
    readiness, _ = drive(answers | {app_path: RestResponse(200, running)}, meta["job_id"])
    assert not readiness.ready and "application" in readiness.reason and "RUNNING" in readiness.reason
    failed = copy.deepcopy(answers[app_path].body) | {"status": "FAILED"}
    with pytest.raises(JobTerminalError, match="ended FAILED"):
        drive(answers | {app_path: RestResponse(200, failed)}, meta["job_id"])


def test_a_failed_job_fails_fast_with_its_root_cause() -> None:
    meta, answers = recorded("1.20.3")
    jid = meta["job_id"]
    job = copy.deepcopy(answers[f"/jobs/{jid}"].body) | {"state": "FAILED"}
    exceptions = {"exceptionHistory": {"entries": [{"exceptionName": "java.lang.IllegalStateException",
                                                     "stacktrace": "java.lang.IllegalStateException: boom",
                                                     "timestamp": 1}], "truncated": False}}
    with pytest.raises(JobTerminalError, match="boom"):
        drive(answers | {f"/jobs/{jid}": RestResponse(200, job),
                         f"/jobs/{jid}/exceptions": RestResponse(200, exceptions)}, jid)


def _vertex(status: str, **tasks: int) -> dict[str, Any]:
    return {"id": "bc764cd8ddf7a0cff126f51c16239658", "name": "v", "parallelism": sum(tasks.values()),
            "status": status, "tasks": tasks}


@pytest.mark.parametrize(("vertices", "waiting"), [
    # a later stage CREATED while an earlier one runs: progress, not a missing slot
    ([_vertex("RUNNING", RUNNING=1), _vertex("CREATED", CREATED=2)], 0),
    # tasks taking turns on few slots: SCHEDULED while others have finished
    ([_vertex("RUNNING", FINISHED=2, SCHEDULED=2)], 0),
    # nothing runs: the tasks wait for slots (the unscheduled_timeout clock runs)
    ([_vertex("CREATED", SCHEDULED=1), _vertex("CREATED", CREATED=1)], 2),
])
def test_a_running_bounded_job_waits_and_counts_tasks_waiting_for_slots_only_without_progress(
        vertices: list[dict[str, Any]], waiting: int) -> None:
    meta, answers = recorded("1.20.3")
    jid = meta["job_id"]
    job = copy.deepcopy(answers[f"/jobs/{jid}"].body) | {"state": "RUNNING", "end-time": -1, "vertices": vertices}
    overview = RestResponse(200, {"taskmanagers": 0, "slots-total": 0, "slots-available": 0})
    readiness, _ = drive(answers | {f"/jobs/{jid}": RestResponse(200, job), "/overview": overview}, jid)
    assert not readiness.ready and readiness.job_state == "RUNNING"
    assert readiness.tasks_waiting_for_slots == waiting
    if waiting == 0:
        assert readiness.reason.endswith("waiting for it to finish")


def test_the_launch_keeps_the_cluster_after_the_job_and_refuses_a_conflicting_option() -> None:
    assert keep_cluster_after_finish({"a": "1"}) == {"a": "1", SHUTDOWN_ON_APPLICATION_FINISH: "false"}
    assert keep_cluster_after_finish({SHUTDOWN_ON_APPLICATION_FINISH: " False "})[SHUTDOWN_ON_APPLICATION_FINISH] \
        == "false"
    with pytest.raises(FlinkSpecError, match="must be false or absent"):
        keep_cluster_after_finish({f" {SHUTDOWN_ON_APPLICATION_FINISH}": "true"})
    # Every release the provider launches has the option under this name.
    assert (OLDEST_LAUNCHABLE.major, OLDEST_LAUNCHABLE.minor) >= SHUTDOWN_ON_APPLICATION_FINISH_SINCE
    operator = FlinkApplicationOperator(
        task_id="batch", cluster_id="orders", image="flink:1.20.3", jar_uri="local:///opt/flink/usrlib/job.jar",
        flink_version="1.20.3", ha="kubernetes", ha_storage_dir="s3://b/ha", wait_until="finished")
    assert operator.build_spec("flink").flink_conf[SHUTDOWN_ON_APPLICATION_FINISH] == "false"
    operator.wait_until = "running"
    assert SHUTDOWN_ON_APPLICATION_FINISH not in operator.build_spec("flink").flink_conf


TARGET = ReportTarget("orders", "flink", 50, 3)
POD = {"metadata": {"name": "orders-1"}, "status": {"phase": "Running"}}


@pytest.mark.parametrize(("pods", "deployment", "gone"), [
    (Answer([]), Answer(None), True),
    (Answer([POD]), Answer(None), False),  # a JobManager pod still there (e.g. shutting down)
    (Answer([]), Answer({"metadata": {"name": "orders"}}), False),  # created, no pod yet
    (Answer(error="HTTP 500"), Answer(None), False),  # unknown: no verdict
    (Answer([]), Answer(error="HTTP 500"), False),
])
def test_a_cluster_is_reported_gone_only_without_pods_and_deployment(pods: Answer, deployment: Answer,
                                                                      gone: bool) -> None:
    def handle(request: Any) -> Answer:
        if isinstance(request, PodsRequest):
            return pods
        assert request == DeploymentRequest("flink", "orders")
        return deployment

    report = run(gone_report(TARGET, "ab" * 16), handle)
    assert (report is not None) == gone
    if gone:
        assert report.startswith("Flink cluster flink/orders is gone") and "wait_until='finished'" in report
