"""``failure_report`` on pods and REST answers recorded from the sandbox (``scripts/record_jobmanager_pods.py``).
The hook's pod-log reads against the API emulator are in ``tests/integration/test_pod_logs_on_emulator.py``."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from airflow_flink_k8s.core.failure_report import (
    MAX_EVENT_PODS,
    MAX_EVENTS_PER_POD,
    MAX_LOG_CHARS,
    PodLogRequest,
    ReportTarget,
    crash_report,
    job_failure_report,
    jobmanager_failure,
    log_request,
    timeout_report,
    trim_stacktrace,
    unscheduled_report,
)
from airflow_flink_k8s.core.readiness import JobTerminalError, Readiness
from airflow_flink_k8s.core.rest_api import JobState, parse_root_cause
from airflow_flink_k8s.hooks.kubernetes import KubernetesApiError
from tests.paths import DATA_DIR
from tests.report_driver import run_report

DATA = DATA_DIR / "failure"
TARGET = ReportTarget("crashloop", "flink", log_tail_lines=50)


def _pod(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"pod-{name}.json").read_text())


def _root_cause() -> str:
    root_cause = parse_root_cause(json.loads((DATA / "job-exceptions.json").read_text()))
    assert root_cause is not None
    return root_cause


# ----------------------------------------------------------------------------------------------- pure decisions
def test_a_jobmanager_in_crash_loop_back_off_fails_once_it_reached_the_restart_limit() -> None:
    waiting = _pod("crashloop-waiting")
    failure = jobmanager_failure([waiting], restart_limit=3)
    assert failure is not None and failure.reason == "CrashLoopBackOff" and failure.restarts == 3
    assert "exit code 1 (Error)" in failure.summary()
    assert failure.previous_log, "the container waits: the crashed instance has the log"
    assert jobmanager_failure([waiting], restart_limit=4) is None, "fewer restarts than the limit: keep waiting"


def test_a_jobmanager_running_again_or_healthy_is_not_a_failure_and_its_current_log_is_read() -> None:
    for pod in (_pod("crashloop-running"), _pod("running")):
        assert jobmanager_failure([pod], restart_limit=1) is None
        request = log_request([pod], TARGET)
        assert request == PodLogRequest(pod["metadata"]["name"], "flink", "flink-main-container", 50, previous=False)


def test_an_image_that_cannot_be_pulled_fails_at_once_with_the_kubelets_message() -> None:
    failure = jobmanager_failure([_pod("image-unknown")])
    assert failure is not None and failure.reason == "ErrImagePull" and failure.restarts == 0
    assert "cannot tell the Flink version of image 'registry.example/flink:latest'" in failure.summary()


def test_a_standby_jobmanager_that_may_still_take_over_means_keep_waiting() -> None:
    assert jobmanager_failure([_pod("crashloop-waiting"), _pod("running")], restart_limit=1) is None
    assert jobmanager_failure([], restart_limit=1) is None


def test_a_failed_jobmanager_pod_fails_with_its_reason() -> None:
    evicted = copy.deepcopy(_pod("running"))
    evicted["status"].update(phase="Failed", reason="Evicted", message="The node was low on resource: memory.")
    failure = jobmanager_failure([evicted])
    assert failure is not None and "Evicted" in failure.summary() and "low on resource: memory" in failure.summary()


def test_the_root_cause_keeps_the_caused_by_chain_and_drops_most_frames() -> None:
    root_cause = _root_cause()
    trimmed = trim_stacktrace(root_cause)
    assert "Caused by: java.lang.IllegalStateException: checkpointing-job: failing on purpose after 0 s" in trimmed
    assert trimmed.splitlines()[0] == root_cause.splitlines()[0]
    assert len(trimmed.splitlines()) <= 3 * 5 and len(root_cause.splitlines()) > 30


def test_a_long_cause_chain_keeps_the_outermost_and_innermost_exceptions() -> None:
    chain = "\n".join(["java.lang.RuntimeException: outer", *["\tat a.B.c(B.java:1)"] * 10]
                      + [line for n in range(40) for line in (f"Caused by: x.E{n}: cause {n}",
                                                               "\tat a.B.c(B.java:1)", f"\t... {n} more")])
    trimmed = trim_stacktrace(chain, max_lines=30)
    lines = trimmed.splitlines()
    assert len(lines) <= 31 and lines[0] == "java.lang.RuntimeException: outer"
    assert "Caused by: x.E39: cause 39" in trimmed and "more causes omitted" in trimmed


# ----------------------------------------------------------------------------------------------- reports
def _driver(pods: list[dict[str, Any]], log: str | Exception) -> tuple[Any, Any]:
    def list_pods(namespace: str, selector: str) -> list[dict[str, Any]]:
        return pods

    def pod_log(name: str, namespace: str, **options: Any) -> str:
        if isinstance(log, Exception):
            raise log
        return log

    return list_pods, pod_log


def test_the_crash_report_shows_the_jobmanagers_own_exception_from_the_crashed_container() -> None:
    crashed_log = (DATA / "crashloop-previous.log").read_text()
    report = run_report(crash_report(TARGET), *_driver([_pod("crashloop-waiting")], crashed_log))
    first, *rest = report.splitlines()
    assert first.startswith("Flink cluster flink/crashloop: the JobManager cannot start: JobManager pod "
                            "crashloop-") and "CrashLoopBackOff after 3 restarts" in first
    assert "previous (crashed) container flink-main-container" in report
    assert "Caused by: java.lang.ClassNotFoundException: com.example.DoesNotExist" in report
    assert "Class.forName0" in crashed_log and "Class.forName0" not in report, "long stack traces are shortened"
    assert rest[-1] == "----- end of JobManager log -----"


def test_a_refused_log_read_is_a_line_in_the_report_not_an_error() -> None:
    refused = KubernetesApiError(403, "Forbidden", 'pods "x" is forbidden: cannot get resource "pods/log"', "GET",
                                 "log of pod flink/x")
    report = run_report(crash_report(TARGET), *_driver([_pod("crashloop-waiting")], refused))
    assert "JobManager cannot start" in report.splitlines()[0]
    assert "(JobManager log unavailable: Kubernetes API: GET log of pod flink/x failed with 403 Forbidden" in report
    no_connection = run_report(crash_report(TARGET), None, None)
    assert no_connection is None, "without a Kubernetes connection nothing says the JobManager crashed"


def test_a_job_failure_report_has_summary_root_cause_and_log_and_a_disabled_log_is_absent() -> None:
    error = JobTerminalError("0" * 31 + "1", JobState.FAILED, _root_cause())
    log = "2026-11-24 INFO Job x switched from state FAILING to FAILED.\n"
    report = run_report(job_failure_report(
        error, TARGET), *_driver([_pod("running")], log))
    assert report.splitlines()[0].startswith(f"Flink cluster flink/crashloop: Flink job {'0' * 31}1 is FAILED: ")
    assert "Root cause reported by Flink" in report and "failing on purpose after 0 s" in report
    assert "switched from state FAILING to FAILED" in report
    quiet = run_report(job_failure_report(
        error, ReportTarget("crashloop", "flink", log_tail_lines=0)), None, None)
    assert "JobManager log" not in quiet and "failing on purpose" in quiet


def test_a_timeout_report_says_what_was_last_seen_and_stays_bounded_for_a_huge_log() -> None:
    seen = Readiness(False, "job 1 is RESTARTING", leader_address="http://10.0.0.5:8081", session_id="s",
                     rest_url="http://10.0.0.5:8081", flink_version="2.3.0", job_id="1" * 32, job_state="RESTARTING")
    huge = "\n".join(["x" * 1_000_000] + [f"line {n} " + "y" * 500 for n in range(1000)])
    report = run_report(timeout_report(seen, ReportTarget("c", "flink", log_tail_lines=1000), "running"),
                        *_driver([_pod("running")], huge))
    assert report.splitlines()[0] == ("Flink cluster flink/c: the JobManager did not reach 'running' before the "
                                      "timeout: job 1 is RESTARTING")
    assert "Last seen: leader http://10.0.0.5:8081 (session s); REST http://10.0.0.5:8081 answers (Flink 2.3.0); " \
           f"job {'1' * 32} RESTARTING" in report
    assert "line 999 " in report and len(report) < MAX_LOG_CHARS + 2000


@pytest.mark.parametrize("bad, rule", [({"log_tail_lines": -1}, "log_tail_lines"),
                                       ({"log_tail_lines": 1001}, "log_tail_lines"),
                                       ({"jobmanager_restart_limit": 0}, "jobmanager_restart_limit")])
def test_bad_report_options_name_the_argument(bad: dict[str, int], rule: str) -> None:
    from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor

    with pytest.raises(ValueError, match=rf"^{rule}: must be"):
        FlinkJobManagerReadySensor(task_id="wait", cluster_id="c", **bad)




# ----------------------------------------------------------------------------------------------- pending pods' events
UNSCHEDULABLE = ("0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No "
                 "preemption victims found for incoming pod.")


def _pending_pod(name: str) -> dict[str, Any]:
    """A pod the scheduler could not place, as the API shows it."""
    return {"metadata": {"name": name}, "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": UNSCHEDULABLE}]}}


def _event(pod: str, reason: str, when: str, count: int = 1, message: str = UNSCHEDULABLE) -> dict[str, Any]:
    return {"metadata": {"name": f"{pod}.{when}"}, "involvedObject": {"kind": "Pod", "name": pod}, "type": "Warning",
            "reason": reason, "message": message, "count": count, "firstTimestamp": when, "lastTimestamp": when}


def _unscheduled(pods: list[dict[str, Any]], list_events: Any) -> str:
    seen = Readiness(False, "0 of 2 tasks running", leader_address="http://10.0.0.5:8081", job_id="1" * 32,
                     job_state="RUNNING")
    return run_report(unscheduled_report(seen, ReportTarget("c", "flink", log_tail_lines=0), 31, 30, None),
                      lambda namespace, selector: pods if "taskmanager" in selector else [_pod("running")],
                      None, list_events)


def test_the_unscheduled_report_shows_why_the_scheduler_left_a_taskmanager_pod_pending() -> None:
    asked: list[tuple[str, str]] = []

    def list_events(namespace: str, field_selector: str) -> list[dict[str, Any]]:
        asked.append((namespace, field_selector))
        return [_event("c-taskmanager-1-1", "FailedScheduling", "2026-12-05T10:00:30Z", count=4),
                _event("c-taskmanager-1-1", "FailedScheduling", "2026-12-05T10:00:00Z")]

    running = {"metadata": {"name": "c-taskmanager-1-2"}, "status": {"phase": "Running"}}
    report = _unscheduled([_pending_pod("c-taskmanager-1-1"), running], list_events)
    assert asked == [("flink", "involvedObject.kind=Pod,involvedObject.name=c-taskmanager-1-1")], \
        "only the pending pod's events are read"
    assert f"c-taskmanager-1-1: Pending, PodScheduled False (Unschedulable; {UNSCHEDULABLE})" in report
    events = report.split("Events of pod c-taskmanager-1-1:\n", 1)[1].splitlines()
    assert events[:2] == [f"  Warning FailedScheduling at 2026-12-05T10:00:00Z: {UNSCHEDULABLE}",
                          f"  Warning FailedScheduling (x4) at 2026-12-05T10:00:30Z: {UNSCHEDULABLE}"]


def test_events_the_api_refuses_to_list_are_a_line_in_the_report_not_an_error() -> None:
    def refused(namespace: str, field_selector: str) -> list[dict[str, Any]]:
        raise KubernetesApiError(403, "Forbidden", 'events is forbidden: cannot list resource "events"', "GET",
                                 "list Event in flink")

    report = _unscheduled([_pending_pod("c-taskmanager-1-1")], refused)
    assert "Events of pod c-taskmanager-1-1: unavailable (" in report and "403" in report
    assert "has had tasks waiting for a slot for 31 s" in report


def test_events_are_read_for_a_few_pending_pods_and_only_the_newest_are_shown() -> None:
    asked: list[str] = []

    def list_events(namespace: str, field_selector: str) -> list[dict[str, Any]]:
        pod = field_selector.rsplit("=", 1)[1]
        asked.append(pod)
        return [_event(pod, f"Reason{n}", f"2026-12-05T10:00:{n:02d}Z") for n in range(20)]

    report = _unscheduled([_pending_pod(f"c-taskmanager-1-{n}") for n in range(10)], list_events)
    assert asked == [f"c-taskmanager-1-{n}" for n in range(MAX_EVENT_PODS)]
    shown = report.split("Events of pod c-taskmanager-1-0:\n", 1)[1].split("Events of pod", 1)[0]
    assert [line.split()[1] for line in shown.strip().splitlines()] == \
        [f"Reason{n}" for n in range(20 - MAX_EVENTS_PER_POD, 20)]


def test_a_timeout_report_shows_a_pending_jobmanager_pods_condition_and_events() -> None:
    seen = Readiness(False, "no leader in the HA data")
    report = run_report(timeout_report(seen, ReportTarget("c", "flink", log_tail_lines=0), "running"),
                        lambda namespace, selector: [_pending_pod("c-5d8f7-abcde")], None,
                        lambda namespace, selector: [_event("c-5d8f7-abcde", "FailedScheduling",
                                                            "2026-12-05T10:00:00Z", count=12)])
    assert f"JobManager pod c-5d8f7-abcde: Pending, PodScheduled False (Unschedulable; {UNSCHEDULABLE})" in report
    assert f"Warning FailedScheduling (x12) at 2026-12-05T10:00:00Z: {UNSCHEDULABLE}" in report
