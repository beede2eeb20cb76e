"""Acceptance: the real Flink client and a real JobManager with Kubernetes HA, against the emulator + kubelet."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from airflow_flink_k8s_sandbox.flink_client import run_flink_application
from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.flink import flink_versions

pytestmark = pytest.mark.flink
NAMESPACE = "flink"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
RESTSERVER_KEY = "org.apache.flink.k8s.leader.restserver"


def _launch_options(cluster_id: str, version: str, tmp_path: Path) -> dict[str, str]:
    return {
        "kubernetes.cluster-id": cluster_id,
        "kubernetes.namespace": NAMESPACE,
        "kubernetes.container.image.ref": f"flink:{version}",
        "high-availability.type": "kubernetes",
        "high-availability.storageDir": f"file://{tmp_path}/ha",
        "execution.checkpointing.dir": f"file://{tmp_path}/checkpoints/{cluster_id}",
        "execution.checkpointing.interval": "2 s",
        "jobmanager.memory.process.size": "1024m",
        "taskmanager.memory.process.size": "1024m",
    }


def _leader_configmap(k8s: LocalKubernetes, cluster_id: str) -> dict | None:
    cm = k8s.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps/{cluster_id}-cluster-config-map")
    if cm and RESTSERVER_KEY in (cm.get("data") or {}) and LEADER_ANNOTATION in cm["metadata"].get("annotations", {}):
        return cm
    return None


def _running_job(k8s: LocalKubernetes, cluster_id: str) -> dict | None:
    """The job RUNNING on the cluster, read through the API server's service proxy (as a user without pod routes);
    None while the REST endpoint answers 503 (Flink's leader election can still be settling after the ConfigMap)."""
    overview = k8s.flink_rest(NAMESPACE, cluster_id, "/jobs/overview")
    jobs = (overview or {}).get("jobs", [])
    return next((job for job in jobs if job["state"] == "RUNNING"), None)


def _deploy_and_wait_for_checkpoint(k8s: LocalKubernetes, version: str, cluster_id: str, tmp_path: Path) -> dict:
    result = run_flink_application(version, k8s.kubeconfig, tmp_path, _launch_options(cluster_id, version, tmp_path),
                              "local:///opt/flink/usrlib/checkpointing-job.jar")
    assert result.returncode == 0, result.output[-3000:]
    assert f"Create flink application cluster {cluster_id} successfully" in result.output
    cm = k8s.wait_for("the leader ConfigMap written by Flink", lambda: _leader_configmap(k8s, cluster_id), 150)
    job = k8s.wait_for("the job to be RUNNING", lambda: _running_job(k8s, cluster_id), 120)
    checkpoints = tmp_path / "checkpoints" / cluster_id / job["jid"]
    k8s.wait_for(f"a completed checkpoint under {checkpoints}", lambda: list(checkpoints.glob("chk-*")), 120)
    return {"configmap": cm, "job": job}


@flink_versions
def test_real_client_deploys_and_flink_elects_its_leader_on_the_emulator(
    flink_version: str, local_kubernetes: LocalKubernetes, tmp_path: Path
) -> None:
    cluster_id = "harness-" + flink_version.replace(".", "-")
    seen = _deploy_and_wait_for_checkpoint(local_kubernetes, flink_version, cluster_id, tmp_path)

    deployment = local_kubernetes.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{cluster_id}")
    assert deployment["spec"]["selector"]["matchLabels"] == {
        "app": cluster_id, "component": "jobmanager", "type": "flink-native-kubernetes"}
    for path in (f"/api/v1/namespaces/{NAMESPACE}/services/{cluster_id}-rest",
                 f"/api/v1/namespaces/{NAMESPACE}/configmaps/flink-config-{cluster_id}"):
        owned = local_kubernetes.get(path)
        assert owned is not None, path
        assert owned["metadata"]["ownerReferences"] == [{
            "apiVersion": "apps/v1", "kind": "Deployment", "name": cluster_id,
            "uid": deployment["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]

    cm = seen["configmap"]
    lock = json.loads(cm["metadata"]["annotations"][LEADER_ANNOTATION])
    assert lock["holderIdentity"]
    session, _, address = cm["data"][RESTSERVER_KEY].partition(",")
    assert len(session) == 36 and address.startswith("http://127.0.0.1:")
    # The address Flink published is the REST endpoint of the job that is running.
    with urllib.request.urlopen(f"{address}/jobs/{seen['job']['jid']}", timeout=10) as response:
        assert json.loads(response.read())["state"] == "RUNNING"
    taskmanagers = local_kubernetes.pods(NAMESPACE, f"app={cluster_id},component=taskmanager")
    assert taskmanagers and all(p["status"]["phase"] == "Running" for p in taskmanagers)
    # A container's /tmp is its own: each JVM unpacked its RPC system's jar into its pod's temp dir, not the host's.
    for pod in [*local_kubernetes.pods(NAMESPACE, f"app={cluster_id},component=jobmanager"), *taskmanagers]:
        pod_tmp = Path(_environ(pod)["TMPDIR"])
        assert pod_tmp.is_relative_to(local_kubernetes.workdir), pod_tmp
        assert list(pod_tmp.glob("flink-rpc-*.jar")), f"{pod['metadata']['name']}: {sorted(pod_tmp.iterdir())}"


def _environ(pod: dict) -> dict[str, str]:
    """The environment of the pod's process, as the kubelet started it."""
    pid = pod["metadata"]["annotations"][ANNOTATION_PID]
    return dict(item.decode().split("=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                if b"=" in item)


def test_leadership_holds_and_checkpoints_complete_with_a_409_on_every_third_configmap_write(
    local_kubernetes: LocalKubernetes, tmp_path: Path
) -> None:
    local_kubernetes.emulator.set_faults(
        {"status": 409, "methods": ["PUT", "PATCH"], "resource": "configmaps", "every": 3})
    cluster_id = "harness-conflicts"
    seen = _deploy_and_wait_for_checkpoint(local_kubernetes, "2.3.0", cluster_id, tmp_path)

    first = json.loads(seen["configmap"]["metadata"]["annotations"][LEADER_ANNOTATION])

    def renewed_for_a_while() -> dict | None:
        """The lock once the leader has kept renewing it for 8 s more (a renewal every ~5 s) under the conflicts."""
        cm = _leader_configmap(local_kubernetes, cluster_id)
        lock = json.loads(cm["metadata"]["annotations"][LEADER_ANNOTATION]) if cm else None
        if not lock:
            return None
        renewed = datetime.fromisoformat(lock["renewTime"]) - datetime.fromisoformat(first["renewTime"])
        return lock if renewed.total_seconds() >= 8 else None

    now = local_kubernetes.wait_for("more lease renewals under injected conflicts", renewed_for_a_while, 60)
    injected = local_kubernetes.emulator.fault_summary()[0]
    assert injected["fired"] >= 3, injected
    assert now["holderIdentity"] == first["holderIdentity"], "leadership moved"
    assert now["leaderTransitions"] == first["leaderTransitions"], "leadership was lost and regained"
