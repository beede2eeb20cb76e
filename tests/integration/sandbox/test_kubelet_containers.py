"""The local kubelet with pods of more than one container, as a JobManager pod template makes them.

Flink appends ``flink-main-container`` after a template's sidecars; the kubelet must run that one, and name the init
containers and sidecars it cannot run (with their images) in the pod condition ``SandboxContainersNotRun``.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION
from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID, CONDITION_CONTAINERS_NOT_RUN
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes

NS = "flink"


def _post(cluster: LocalKubernetes, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(cluster.emulator.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={**ADMIN_AUTHORIZATION, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30):
        pass


def _deployment(name: str, containers: list[dict[str, Any]], init: list[dict[str, Any]]) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels}, "spec": {"initContainers": init, "containers": containers}}}}


def _running_pod(cluster: LocalKubernetes, name: str) -> dict[str, Any]:
    return cluster.wait_for(f"pod of {name} running", lambda: next(
        (p for p in cluster.pods(NS, f"app={name}") if (p["metadata"].get("annotations") or {}).get(ANNOTATION_PID)),
        None), 60)


def test_the_main_container_runs_and_the_others_are_reported(local_kubernetes: LocalKubernetes) -> None:
    sidecar = {"name": "log-shipper", "image": "registry.example/fluent-bit:3", "command": ["sleep", "601"]}
    init = {"name": "fetch-jar", "image": "registry.example/flink:2.3.0", "command": ["sleep", "602"]}
    main = {"name": "flink-main-container", "image": "flink:2.3.0", "command": ["sleep", "603"]}
    _post(local_kubernetes, f"/apis/apps/v1/namespaces/{NS}/deployments",
          _deployment("sidecars", [sidecar, main], [init]))
    pod = _running_pod(local_kubernetes, "sidecars")
    pid = int(pod["metadata"]["annotations"][ANNOTATION_PID])
    assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", b"603"]
    conditions = {c["type"]: c for c in pod["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "True"
    report = conditions[CONDITION_CONTAINERS_NOT_RUN]
    assert (report["status"], report["reason"]) == ("True", "ImageNotRunnable")
    assert "init container 'fetch-jar' (image 'registry.example/flink:2.3.0')" in report["message"]
    assert "container 'log-shipper' (image 'registry.example/fluent-bit:3')" in report["message"]


def test_a_pod_of_one_container_gets_no_report(local_kubernetes: LocalKubernetes) -> None:
    main = {"name": "flink-main-container", "image": "flink:2.3.0", "command": ["sleep", "604"]}
    _post(local_kubernetes, f"/apis/apps/v1/namespaces/{NS}/deployments", _deployment("single", [main], []))
    pod = _running_pod(local_kubernetes, "single")
    assert CONDITION_CONTAINERS_NOT_RUN not in {c["type"] for c in pod["status"]["conditions"]}
