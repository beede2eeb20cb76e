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
from airflow_flink_k8s_sandbox.kubelet import (
    ANNOTATION_PID,
    CONDITION_CONTAINERS_NOT_RUN,
    CONDITION_POD_TEMPLATE_NOT_HONOURED,
    CONDITION_VOLUMES_NOT_HONOURED,
)
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


def _environ(pod: dict[str, Any]) -> dict[str, str]:
    pid = pod["metadata"]["annotations"][ANNOTATION_PID]
    return dict(item.decode().split("=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                if b"=" in item)


def test_volumes_the_conf_dir_and_claims_are_honoured_and_the_rest_reported(local_kubernetes: LocalKubernetes) -> None:
    """The conf dir is the volume at the container's ``FLINK_CONF_DIR`` (the image's own conf without one there),
    a claim is one directory shared by the pods that mount it, env values naming a mount name its directory, and a
    hostPath volume is named in ``SandboxVolumesNotHonoured``."""
    _post(local_kubernetes, f"/api/v1/namespaces/{NS}/configmaps",
          {"metadata": {"name": "conf"}, "data": {"config.yaml": "parallelism.default: 3\n"}})
    volumes = [{"name": "conf", "configMap": {"name": "conf"}},
               {"name": "data", "persistentVolumeClaim": {"claimName": "shared-data"}},
               {"name": "host", "hostPath": {"path": "/var/log"}}]
    mounts = [{"name": "conf", "mountPath": "/etc/flink"}, {"name": "data", "mountPath": "/data"},
              {"name": "host", "mountPath": "/host-logs"}]
    for name, env in (("moved-conf", [{"name": "FLINK_CONF_DIR", "value": "/etc/flink"}]), ("image-conf", [])):
        main = {"name": "flink-main-container", "image": "flink:2.3.0", "command": ["sleep", "605"],
                "env": [*env, {"name": "DATA_DIR", "value": "/data/in"}], "volumeMounts": mounts}
        body = _deployment(name, [main], [])
        body["spec"]["template"]["spec"]["volumes"] = volumes
        _post(local_kubernetes, f"/apis/apps/v1/namespaces/{NS}/deployments", body)
    moved, image = _running_pod(local_kubernetes, "moved-conf"), _running_pod(local_kubernetes, "image-conf")
    moved_env, image_env = _environ(moved), _environ(image)
    assert "parallelism.default: 3" in Path(moved_env["FLINK_CONF_DIR"], "config.yaml").read_text()
    assert "parallelism.default: 3" not in Path(image_env["FLINK_CONF_DIR"], "config.yaml").read_text()
    assert moved_env["DATA_DIR"] == image_env["DATA_DIR"]  # one directory for the claim, in both pods
    assert moved_env["DATA_DIR"].endswith("/persistent-volume-claims/flink/shared-data/in")
    report = {c["type"]: c for c in moved["status"]["conditions"]}[CONDITION_VOLUMES_NOT_HONOURED]
    assert (report["status"], report["reason"]) == ("True", "VolumeNotHonoured")
    assert "volume 'host' (hostPath)" in report["message"]


def test_a_jobmanager_mounting_a_taskmanager_pod_template_is_told_the_template_is_not_applied(
        local_kubernetes: LocalKubernetes) -> None:
    """Flink reads ``/opt/flink/pod-template/taskmanager-pod-template.yaml`` by absolute path: the sandbox cannot
    give a local process that file, so it says so on the JobManager pod instead of letting the template vanish."""
    _post(local_kubernetes, f"/api/v1/namespaces/{NS}/configmaps",
          {"metadata": {"name": "pod-template-tpl"}, "data": {"taskmanager-pod-template.yaml": "spec: {}"}})
    main = {"name": "flink-main-container", "image": "flink:2.3.0", "command": ["sleep", "605"],
            "volumeMounts": [{"name": "pod-template-volume", "mountPath": "/opt/flink/pod-template"}]}
    deployment = _deployment("tpl", [main], [])
    template = deployment["spec"]["template"]
    template["metadata"]["labels"]["component"] = "jobmanager"
    template["spec"]["volumes"] = [{"name": "pod-template-volume", "configMap": {"name": "pod-template-tpl"}}]
    _post(local_kubernetes, f"/apis/apps/v1/namespaces/{NS}/deployments", deployment)
    conditions = {c["type"]: c for c in _running_pod(local_kubernetes, "tpl")["status"]["conditions"]}
    report = conditions[CONDITION_POD_TEMPLATE_NOT_HONOURED]
    assert report["reason"] == "AbsolutePathNotHonoured"
    assert "/opt/flink/pod-template/taskmanager-pod-template.yaml" in report["message"]
    assert "created without the template" in report["message"]
