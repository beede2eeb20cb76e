"""The Kubernetes hook reading a crashed JobManager container's log through the API emulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.failure_report import (
    EventsRequest,
    ReportTarget,
    timeout_report,
)
from airflow_flink_k8s.core.readiness import Readiness
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook, KubernetesApiError
from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from tests.paths import DATA_DIR
from tests.report_driver import run_report

DATA = DATA_DIR / "failure"
TARGET = ReportTarget("crashloop", "flink", log_tail_lines=50)


def _pod(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"pod-{name}.json").read_text())


# ----------------------------------------------------------------------------------------------- hook + emulator
@pytest.fixture
def crashed_pod(k8s_emulator: EmulatorProcess, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> tuple[EmulatorProcess, str, Path]:
    """The recorded crash-looping JobManager pod in the emulator, with a current and a previous log file."""
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(k8s_emulator.write_kubeconfig(
            tmp_path / "kubeconfig"))}}))
    recorded = _pod("crashloop-waiting")
    name = recorded["metadata"]["name"]
    hook = FlinkKubernetesHook()
    hook.create({"apiVersion": "v1", "kind": "Pod", "spec": recorded["spec"], "metadata": {
        "name": name, "labels": recorded["metadata"]["labels"]}}, "flink")
    hook.request("PATCH", f"/api/v1/namespaces/flink/pods/{name}/status", body={"status": recorded["status"]},
                 content_type="application/merge-patch+json")
    current = tmp_path / "container.log"
    current.write_text("Starting kubernetes-application as a console application\n")
    k8s_emulator.admin("pod-logs", {"namespace": "flink", "pod": name, "path": str(current),
                                    "previous": str(DATA / "crashloop-previous.log")})
    return k8s_emulator, name, current


def test_the_hook_reads_the_crashed_containers_log_tail_sync_and_async(
        crashed_pod: tuple[EmulatorProcess, str, Path]) -> None:
    _, name, _ = crashed_pod
    hook = FlinkKubernetesHook()
    tail = hook.pod_log(name, "flink", container="flink-main-container", tail_lines=3, previous=True)
    assert tail.splitlines()[-3:] == tail.splitlines() and tail.splitlines()[-1].strip() == "... 7 more"
    assert asyncio.run(hook.apod_log(name, "flink", container="flink-main-container", tail_lines=3,
                                     previous=True)) == tail
    assert hook.pod_log(name, "flink", tail_lines=3) == tail, "a waiting container shows its crashed instance"
    assert len(hook.pod_log(name, "flink", previous=True, limit_bytes=100).encode()) == 100
    [pod] = asyncio.run(hook.alist_pods("flink", "app=crashloop,component=jobmanager"))
    assert pod["metadata"]["name"] == name


def test_the_log_of_a_pod_that_never_ran_is_unavailable_with_the_api_servers_reason(
        crashed_pod: tuple[EmulatorProcess, str, Path]) -> None:
    _, name, _ = crashed_pod
    hook = FlinkKubernetesHook()
    hook.request("PATCH", f"/api/v1/namespaces/flink/pods/{name}/status",
                 body={"status": {"containerStatuses": [{"name": "flink-main-container", "restartCount": 0,
                                                         "state": {"waiting": {"reason": "ContainerCreating"}},
                                                         "lastState": {}}]}},
                 content_type="application/merge-patch+json")
    with pytest.raises(KubernetesApiError) as refused:
        hook.pod_log(name, "flink", previous=True)
    assert refused.value.status == 400 and "previous terminated container" in str(refused.value)
    seen = Readiness(False, "no live JobManager leader in the HA data")
    report = run_report(timeout_report(seen, TARGET, "rest"), hook.list_pods, hook.pod_log)
    assert 'is waiting to start: ContainerCreating' in report
    assert "(JobManager log unavailable: Kubernetes API: GET log of pod flink/" in report
    assert f"JobManager pod {name}: Running, container waiting (ContainerCreating), 0 restarts" in report


def test_the_hook_lists_only_the_pods_own_events_sync_and_async(
        crashed_pod: tuple[EmulatorProcess, str, Path]) -> None:
    _, name, _ = crashed_pod
    hook = FlinkKubernetesHook()
    for about, reason in ((name, "BackOff"), (f"{name}-other", "FailedScheduling")):
        hook.request("POST", "/api/v1/namespaces/flink/events", body={
            "metadata": {"name": f"{about}.1"}, "involvedObject": {"kind": "Pod", "name": about, "namespace": "flink"},
            "reason": reason, "message": f"{reason} of {about}", "type": "Warning", "count": 1})
    selector = EventsRequest("flink", name).field_selector
    [event] = hook.list("Event", "flink", field_selector=selector)
    assert (event["reason"], event["message"]) == ("BackOff", f"BackOff of {name}")
    assert asyncio.run(hook.alist("Event", "flink", field_selector=selector)) == [event]
