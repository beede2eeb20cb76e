"""The readiness evaluator (``core/readiness.py``) level by level on REST answers recorded from real Flink 1.20.3 and
2.3.0 (``tests/data/rest/<version>/``, written by ``scripts/record_rest_bodies.py``): what each level asks the
JobManager, when it is ready, and what the XCom details then say."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_flink_k8s.core.leader import LeaderInfo
from airflow_flink_k8s.core.readiness import (
    JobTerminalError,
    Readiness,
    RestRequest,
    RestResponse,
    evaluate_readiness,
    run_evaluation,
)
from tests.paths import DATA_DIR

VERSIONS = ["1.20.3", "2.3.0"]
LEADER = LeaderInfo(address="http://10.244.0.17:8081", session_id=uuid.UUID("1f0e6b5a-3c2d-4e8f-9a1b-2c3d4e5f6a7b"))
ELECTION = RestResponse(
    503, {"errors": ["Service temporarily unavailable due to an ongoing leader election. Please refresh."]})


def recorded(version: str, name: str) -> Any:
    return json.loads((DATA_DIR / "rest" / version / f"{name}.json").read_text())


def job_id(version: str) -> str:
    return recorded(version, "meta")["job_id"]


def answers(version: str, *, job: str = "running", checkpoints: str = "completed",
            details: str | None = None) -> dict[str, RestResponse]:
    """The recorded cluster of ``version``, its job ``running`` (``/jobs/<id>`` once every task runs, or ``details``)
    or ``canceled``."""
    jid = job_id(version)
    details = details or ("job-tasks-running" if job == "running" else f"job-{job}")
    return {"/config": RestResponse(200, recorded(version, "config")),
            "/overview": RestResponse(200, recorded(version, "overview-running")),
            "/jobs/overview": RestResponse(200, recorded(version, f"jobs-overview-{job}")),
            f"/jobs/{jid}": RestResponse(200, recorded(version, details)),
            f"/jobs/{jid}/checkpoints": RestResponse(200, recorded(version, f"checkpoints-{checkpoints}")),
            f"/jobs/{jid}/exceptions": RestResponse(200, recorded(version, "exceptions-canceled"))}


def drive(responses: dict[str, RestResponse], target: str, **kwargs: Any) -> tuple[Readiness, list[str]]:
    asked: list[str] = []

    def fetch(request: RestRequest) -> RestResponse:
        asked.append(request.path)
        return responses.get(request.path, RestResponse(404, {"errors": ["Not found: " + request.path]}))

    return run_evaluation(evaluate_readiness(LEADER, target, **kwargs), fetch), asked


def test_without_a_leader_no_level_is_ready_and_nothing_is_asked() -> None:
    for target in ("leader", "rest", "running", "checkpointed"):
        readiness = run_evaluation(evaluate_readiness(None, target), lambda request: pytest.fail(request.path))
        assert not readiness.ready
        assert readiness.reason.startswith("no live JobManager leader in the HA data")


def test_leader_is_ready_from_the_ha_data_alone() -> None:
    readiness, asked = drive({}, "leader")
    assert (readiness.ready, asked) == (True, [])
    assert readiness.details() == {"leader_address": "http://10.244.0.17:8081",
                                   "session_id": "1f0e6b5a-3c2d-4e8f-9a1b-2c3d4e5f6a7b",
                                   "rest_url": "http://10.244.0.17:8081", "flink_version": None, "job_id": None,
                                   "job_state": None, "checkpoint_path": None, "checkpoint_id": None,
                                   "restored_from": None, "checkpoint_time": None}


@pytest.mark.parametrize("version", VERSIONS)
def test_rest_is_ready_when_config_answers_and_reports_the_flink_version(version: str) -> None:
    readiness, asked = drive(answers(version), "rest")
    assert (readiness.ready, readiness.flink_version, asked) == (True, version, ["/config"])


def test_rest_is_not_ready_during_a_leader_election() -> None:
    readiness, _ = drive({"/config": ELECTION}, "rest")
    assert not readiness.ready
    assert readiness.reason == ("http://10.244.0.17:8081/config: REST endpoint is waiting for a leader election "
                                "(HTTP 503)")


@pytest.mark.parametrize("version", VERSIONS)
def test_running_finds_the_only_job_in_the_overview(version: str) -> None:
    readiness, asked = drive(answers(version), "running")
    tasks = sum(vertex["parallelism"] for vertex in recorded(version, "job-tasks-running")["vertices"])
    assert readiness.ready
    assert (readiness.job_id, readiness.job_state) == (job_id(version), "RUNNING")
    assert readiness.reason == f"job {job_id(version)} is RUNNING with all {tasks} tasks running"
    assert asked == ["/config", "/jobs/overview", f"/jobs/{job_id(version)}"]


@pytest.mark.parametrize("version", VERSIONS)
def test_running_is_not_ready_at_the_first_running_answer_while_tasks_wait(version: str) -> None:
    """Flink answers RUNNING before a TaskManager took the tasks (as recorded at the first RUNNING answer)."""
    first = recorded(version, "job-running")
    waiting = {state: count for vertex in first["vertices"] for state, count in vertex["tasks"].items()
               if count and state not in ("RUNNING", "FINISHED")}
    readiness, asked = drive(answers(version, details="job-running"), "running")
    assert first["state"] == "RUNNING" and readiness.ready == (not waiting)
    if waiting:
        assert readiness.reason.startswith(f"job {job_id(version)} is RUNNING but only ")
        assert readiness.reason.endswith("; 1 TaskManager registered")  # /overview as recorded later
        assert asked[-1] == "/overview"


@pytest.mark.parametrize("version", VERSIONS)
def test_running_with_a_job_id_reads_that_job(version: str) -> None:
    readiness, asked = drive(answers(version), "running", job_id=job_id(version).upper())
    assert (readiness.ready, readiness.job_id) == (True, job_id(version))
    assert asked == ["/config", f"/jobs/{job_id(version)}"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_job_id_not_submitted_yet_is_waited_for(version: str) -> None:
    other = "a3f1c2d4e5f60718293a4b5c6d7e8f90"
    readiness, _ = drive(answers(version), "running", job_id=other)
    assert (readiness.ready, readiness.reason) == (False, f"job {other} is not submitted yet")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("with_job_id", [False, True], ids=["overview", "job-id"])
def test_a_canceled_job_fails_fast_at_running_and_checkpointed(version: str, with_job_id: bool) -> None:
    jid = job_id(version)
    for target in ("running", "checkpointed"):
        with pytest.raises(JobTerminalError) as failed:
            drive(answers(version, job="canceled"), target, **({"job_id": jid} if with_job_id else {}))
        assert (failed.value.job_id, failed.value.state.value) == (jid, "CANCELED")
        assert jid in str(failed.value) and "CANCELED" in str(failed.value)


@pytest.mark.parametrize("version", VERSIONS)
def test_checkpointed_waits_for_the_first_completed_checkpoint(version: str) -> None:
    readiness, asked = drive(answers(version, checkpoints="none"), "checkpointed")
    assert not readiness.ready
    assert readiness.reason == f"job {job_id(version)} has no completed checkpoint yet"
    assert asked[-1] == f"/jobs/{job_id(version)}/checkpoints"


@pytest.mark.parametrize("version", VERSIONS)
def test_checkpointed_is_ready_with_the_latest_checkpoint_in_the_details(version: str) -> None:
    latest = recorded(version, "checkpoints-completed")["latest"]["completed"]
    readiness, _ = drive(answers(version), "checkpointed")
    assert readiness.ready
    assert readiness.reason == f"job {job_id(version)} completed checkpoint {latest['id']}"
    assert readiness.checkpoint_path == latest["external_path"]
    assert readiness.checkpoint_path.endswith(f"/{job_id(version)}/chk-{latest['id']}")
    details = readiness.details()
    assert (details["flink_version"], details["job_id"], details["job_state"]) == (version, job_id(version), "RUNNING")
    assert details["checkpoint_time"] is not None and details["checkpoint_id"] == latest["id"]


@pytest.mark.parametrize("version", VERSIONS)
def test_checkpointed_after_a_time_needs_a_checkpoint_triggered_since(version: str) -> None:
    latest = recorded(version, "checkpoints-completed")["latest"]["completed"]
    triggered = datetime.fromtimestamp(latest["trigger_timestamp"] / 1000, UTC)
    ready, _ = drive(answers(version), "checkpointed", checkpointed_after=triggered)
    assert ready.ready
    later = triggered + timedelta(milliseconds=1)
    waiting, _ = drive(answers(version), "checkpointed", checkpointed_after=later)
    assert not waiting.ready
    assert f"latest completed checkpoint {latest['id']} of job {job_id(version)} was triggered at" in waiting.reason
    assert f"before {later.isoformat()}" in waiting.reason
