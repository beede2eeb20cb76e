"""Failure classification of JobManager pods (``pod_failure`` / ``jobmanager_failure`` in ``core/failure_report.py``):
crash loop, image pull, container config error, failed pod and healthy, on the pods recorded from the sandbox
(``tests/data/failure/pod-*.json``) and on copies of them with only the container status changed."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from airflow_flink_k8s.core.failure_report import jobmanager_failure, pod_failure
from tests.paths import DATA_DIR

CRASHLOOP = "crashloop-ab9c21fa-0a4f8"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((DATA_DIR / "failure" / f"pod-{name}.json").read_text())


def with_status(name: str, *, phase: str | None = None, restarts: int | None = None, state: dict | None = None,
                **pod_status: Any) -> dict[str, Any]:
    pod = copy.deepcopy(recorded(name))
    container = pod["status"]["containerStatuses"][0]
    if restarts is not None:
        container["restartCount"] = restarts
    if state is not None:
        container["state"] = state
    if phase is not None:
        pod["status"]["phase"] = phase
    pod["status"].update(pod_status)
    return pod


def test_a_crash_loop_at_the_restart_limit_is_a_failure_with_the_last_exit() -> None:
    failure = pod_failure(recorded("crashloop-waiting"), restart_limit=3)
    assert failure is not None
    assert (failure.pod, failure.reason, failure.restarts, failure.previous_log) == (
        CRASHLOOP, "CrashLoopBackOff", 3, True)
    assert failure.summary() == (f"JobManager pod {CRASHLOOP} is in CrashLoopBackOff after 3 restarts (exit code 1 "
                                 "(Error) at 2026-11-24T05:32:06Z; back-off 4s restarting failed container)")


def test_a_crash_loop_below_the_restart_limit_is_waited_for() -> None:
    assert pod_failure(recorded("crashloop-waiting"), restart_limit=4) is None


def test_a_crash_looping_container_running_again_is_waited_for() -> None:
    assert pod_failure(recorded("crashloop-running"), restart_limit=1) is None


def test_an_image_pull_error_fails_at_once_with_the_kubelets_message() -> None:
    failure = pod_failure(recorded("image-unknown"))
    assert failure is not None
    assert (failure.reason, failure.restarts, failure.previous_log) == ("ErrImagePull", 0, False)
    assert "cannot tell the Flink version of image 'registry.example/flink:latest'" in failure.detail
    assert failure.summary().startswith("JobManager pod unknown-image-17e763358-21ef2 is in ErrImagePull (")


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                                    "CreateContainerConfigError"])
def test_containers_that_cannot_start_fail_at_once(reason: str) -> None:
    pod = with_status("image-unknown", state={"waiting": {"reason": reason, "message": 'secret "s3" not found'}})
    failure = pod_failure(pod)
    assert failure is not None and failure.reason == reason
    assert failure.detail == 'secret "s3" not found'


@pytest.mark.parametrize("reason", ["ContainerCreating", "PodInitializing"])
def test_a_container_still_starting_is_waited_for(reason: str) -> None:
    assert pod_failure(with_status("image-unknown", state={"waiting": {"reason": reason}})) is None


def test_a_failed_pod_fails_with_its_reason_and_message() -> None:
    pod = with_status("running", phase="Failed", reason="Evicted", message="The node was low on resource: memory.")
    failure = pod_failure(pod)
    assert failure is not None
    assert (failure.pod, failure.reason, failure.detail) == (
        "failing-13b4ceaae-9393f", "phase Failed (Evicted)", "The node was low on resource: memory.")


def test_a_failed_pod_without_a_message_reports_the_containers_exit() -> None:
    terminated = {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-11-24T05:40:00Z"}}
    failure = pod_failure(with_status("running", phase="Failed", state=terminated))
    assert failure is not None
    assert (failure.reason, failure.detail) == ("phase Failed (Failed)",
                                                "exit code 137 (OOMKilled) at 2026-11-24T05:40:00Z")


def test_a_healthy_jobmanager_is_no_failure() -> None:
    assert pod_failure(recorded("running")) is None
    assert jobmanager_failure([recorded("running")]) is None


def test_no_jobmanager_pod_yet_is_no_failure() -> None:
    assert jobmanager_failure([]) is None


def test_one_healthy_standby_keeps_the_wait_going() -> None:
    assert jobmanager_failure([recorded("crashloop-waiting"), recorded("running")], restart_limit=1) is None


def test_when_every_jobmanager_failed_the_one_with_most_restarts_is_reported() -> None:
    image = recorded("image-unknown")
    crashloop = with_status("crashloop-waiting", restarts=7)
    failure = jobmanager_failure([image, crashloop], restart_limit=3)
    assert failure is not None and (failure.pod, failure.restarts) == (CRASHLOOP, 7)
