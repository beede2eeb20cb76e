"""The sandbox's scheduler and quota admission: a pod that fits no node stays Pending and says why, and a create over
a ResourceQuota is refused, with the messages and events a real cluster gives (kube-scheduler's ``FailedScheduling``,
the ReplicaSet controller's ``FailedCreate``, the quota plug-in's 403). The provider's failure report shows these,
so the sandbox must produce them rather than run every pod it is given.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION
from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.scheduling import NODE_NAME

SCHED, QUOTA = "sched", "quota"
SELECTOR_MISMATCH = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKubernetes]:
    k8s = LocalKubernetes.start(tmp_path_factory.mktemp("scheduling") / "k8s", namespaces=(SCHED, QUOTA))
    try:
        yield k8s
    finally:
        survivors = k8s.stop()
    assert not survivors, f"processes survived: {survivors}"


def _call(k8s: LocalKubernetes, method: str, path: str, body: Any = None,
          content_type: str = "application/json") -> Any:
    request = urllib.request.Request(k8s.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={**ADMIN_AUTHORIZATION, "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _refusal(k8s: LocalKubernetes, path: str, body: Any) -> tuple[int, str]:
    with pytest.raises(urllib.error.HTTPError) as refused:
        _call(k8s, "POST", path, body)
    return refused.value.code, json.loads(refused.value.read())["message"]


def _container(name: str, command: str, **resources: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "image": "flink:2.3.0", "command": ["sleep", command], "resources": resources}


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [_container("flink-main-container", "611")], **spec}}


def _deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels}, "spec": {"containers": [
                    _container("flink-main-container", "612")]}}}}


def _events(k8s: LocalKubernetes, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
    selector = urllib.parse.quote(f"involvedObject.kind={kind},involvedObject.name={name}")
    return _call(k8s, "GET", f"/api/v1/namespaces/{namespace}/events?fieldSelector={selector}")["items"]


def _scheduled_condition(k8s: LocalKubernetes, name: str) -> dict[str, Any] | None:
    pod = k8s.get(f"/api/v1/namespaces/{SCHED}/pods/{name}")
    return next((c for c in (pod.get("status") or {}).get("conditions") or [] if c["type"] == "PodScheduled"), None)


def _running(k8s: LocalKubernetes, namespace: str, selector: str) -> dict[str, Any] | None:
    return next((p for p in k8s.pods(namespace, selector)
                 if (p["metadata"].get("annotations") or {}).get(ANNOTATION_PID)), None)


def test_a_pod_whose_node_selector_matches_no_node_stays_pending_until_a_node_matches(cluster: LocalKubernetes) -> None:
    _call(cluster, "POST", f"/api/v1/namespaces/{SCHED}/pods", _pod("picky", nodeSelector={"pool": "highmem"}))
    condition = cluster.wait_for("the scheduler's verdict", lambda: _scheduled_condition(cluster, "picky"), 60)
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert condition["message"].startswith(SELECTOR_MISMATCH)
    [event] = cluster.wait_for("the FailedScheduling event", lambda: _events(cluster, SCHED, "Pod", "picky"), 60)
    assert (event["type"], event["reason"], event["source"]["component"]) == \
        ("Warning", "FailedScheduling", "default-scheduler")
    assert event["message"] == condition["message"]
    pod = cluster.get(f"/api/v1/namespaces/{SCHED}/pods/picky")
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    assert ANNOTATION_PID not in (pod["metadata"].get("annotations") or {}), "a process was started"

    # Labelling the node lets the next try place it: the scheduler retries, as kube-scheduler does.
    _call(cluster, "PATCH", f"/api/v1/nodes/{NODE_NAME}", {"metadata": {"labels": {"pool": "highmem"}}},
          "application/merge-patch+json")
    placed = cluster.wait_for("the pod to run once a node matches", lambda: _running(cluster, SCHED, "app=picky"), 60)
    assert placed["spec"]["nodeName"] == NODE_NAME
    assert _scheduled_condition(cluster, "picky")["status"] == "True"
    _call(cluster, "DELETE", f"/api/v1/namespaces/{SCHED}/pods/picky")


def test_a_pod_requesting_more_than_the_node_has_is_unschedulable_for_insufficient_memory(
        cluster: LocalKubernetes) -> None:
    huge = _pod("huge")
    huge["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1", "memory": "2Ti"}}
    _call(cluster, "POST", f"/api/v1/namespaces/{SCHED}/pods", huge)
    condition = cluster.wait_for("the scheduler's verdict", lambda: _scheduled_condition(cluster, "huge"), 60)
    assert condition["reason"] == "Unschedulable"
    assert condition["message"].startswith("0/1 nodes are available: 1 Insufficient memory.")
    assert cluster.wait_for("the event", lambda: _events(cluster, SCHED, "Pod", "huge"), 60)[0]["reason"] == \
        "FailedScheduling"
    _call(cluster, "DELETE", f"/api/v1/namespaces/{SCHED}/pods/huge")


def test_a_quota_refuses_the_pod_over_it_and_the_deployment_retries_once_there_is_room(
        cluster: LocalKubernetes) -> None:
    _call(cluster, "POST", f"/api/v1/namespaces/{QUOTA}/resourcequotas",
          {"metadata": {"name": "two-pods"}, "spec": {"hard": {"pods": "1"}}})
    _call(cluster, "POST", f"/apis/apps/v1/namespaces/{QUOTA}/deployments", _deployment("first"))
    cluster.wait_for("the first pod to run", lambda: _running(cluster, QUOTA, "app=first"), 60)

    status, message = _refusal(cluster, f"/api/v1/namespaces/{QUOTA}/pods", _pod("over"))
    assert (status, message) == (403, 'pods "over" is forbidden: exceeded quota: two-pods, requested: pods=1, '
                                      "used: pods=1, limited: pods=1")

    _call(cluster, "POST", f"/apis/apps/v1/namespaces/{QUOTA}/deployments", _deployment("second"))

    def replica_failure() -> dict[str, Any] | None:
        deployment = cluster.get(f"/apis/apps/v1/namespaces/{QUOTA}/deployments/second")
        return next((c for c in (deployment.get("status") or {}).get("conditions") or []
                     if c["type"] == "ReplicaFailure"), None)

    failure = cluster.wait_for("the ReplicaFailure condition", replica_failure, 60)
    assert failure["reason"] == "FailedCreate"
    assert "is forbidden: exceeded quota: two-pods, requested: pods=1, used: pods=1, limited: pods=1" in \
        failure["message"]
    [event] = _events(cluster, QUOTA, "Deployment", "second")
    assert (event["reason"], event["message"]) == ("FailedCreate", failure["message"])
    assert cluster.pods(QUOTA, "app=second") == []

    _call(cluster, "DELETE", f"/apis/apps/v1/namespaces/{QUOTA}/deployments/first")
    cluster.wait_for("the second Deployment's pod once the first is gone",
                     lambda: _running(cluster, QUOTA, "app=second"), 90)
    cluster.wait_for("the ReplicaFailure condition cleared", lambda: replica_failure() is None, 60)
    _call(cluster, "DELETE", f"/apis/apps/v1/namespaces/{QUOTA}/deployments/second")
    _call(cluster, "DELETE", f"/api/v1/namespaces/{QUOTA}/resourcequotas/two-pods")


def test_a_compute_quota_wants_every_container_to_say_its_limit_and_counts_them(cluster: LocalKubernetes) -> None:
    _call(cluster, "POST", f"/api/v1/namespaces/{QUOTA}/resourcequotas",
          {"metadata": {"name": "memory"}, "spec": {"hard": {"limits.memory": "3Gi"}}})
    try:
        status, message = _refusal(cluster, f"/api/v1/namespaces/{QUOTA}/pods", _pod("unlimited"))
        assert (status, message) == (403, 'pods "unlimited" is forbidden: failed quota: memory: must specify '
                                          "limits.memory for: flink-main-container")
        big = _pod("big")
        big["spec"]["containers"][0]["resources"] = {"limits": {"memory": "4Gi"}}
        assert _refusal(cluster, f"/api/v1/namespaces/{QUOTA}/pods", big) == (
            403, 'pods "big" is forbidden: exceeded quota: memory, requested: limits.memory=4Gi, '
                 "used: limits.memory=0, limited: limits.memory=3Gi")
    finally:
        _call(cluster, "DELETE", f"/api/v1/namespaces/{QUOTA}/resourcequotas/memory")


def test_a_quota_on_what_the_sandbox_does_not_enforce_is_refused_not_ignored(cluster: LocalKubernetes) -> None:
    status, message = _refusal(cluster, f"/api/v1/namespaces/{QUOTA}/resourcequotas",
                               {"metadata": {"name": "storage"}, "spec": {"hard": {"requests.storage": "10Gi"}}})
    assert status == 422 and "spec.hard[requests.storage]" in message and "enforces only" in message

