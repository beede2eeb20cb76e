"""Deleting one application cluster: its Deployment (owned objects go by the API server's garbage collection),
then waiting until it, its objects and its pods are gone; and rolling back a launch that failed half-way.

With the Deployment's uid, only that Deployment is deleted (a precondition) and waited for: a cluster another
launch created under the same name meanwhile is never touched.
"""

from __future__ import annotations

import time

from airflow_flink_k8s.core.errors import KubernetesApiError, LaunchRollbackError
from airflow_flink_k8s.core.names import cluster_pods_selector, owned_object_names
from airflow_flink_k8s.core.ownership import check_manageable
from airflow_flink_k8s.flows import TaskLog
from airflow_flink_k8s.flows.ownership import owned_by
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook, object_path
from airflow_flink_k8s.hooks.retry import retrying_call

#: How often a uid-preconditioned DELETE is tried again after a 409 while the Deployment still has that uid.
_CONFLICT_ATTEMPTS = 4
#: Seconds a roll-back waits for what the failed launch created to be gone.
ROLLBACK_TIMEOUT = 120.0


def delete_cluster(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, *, timeout: float,
                   extra: tuple[tuple[str, str], ...] = (), uid: str | None = None,
                   adopt_native_clusters: bool = False) -> None:
    """Delete the Deployment and wait until it, the objects it owns (also the ``extra`` (kind, name) ones) and its
    pods are gone; raise ``TimeoutError`` naming what is left after ``timeout`` seconds.

    With ``uid``, only the Deployment with that uid is deleted and waited for: once another launch has created a
    new Deployment of the same name, its objects and pods count as not ours. Without it, the Deployment found
    under the name must be one this provider may delete (``core.ownership.check_manageable``; a native Flink
    cluster only with ``adopt_native_clusters``), else ``NotOwnedError`` names it and nothing is deleted; none
    found: nothing to do.
    """
    if uid is None:
        found = k8s.get("Deployment", cluster_id, namespace)
        if found is None:
            return
        check_manageable(found, cluster_id, adopt_native_clusters=adopt_native_clusters, action="delete")
        uid = found["metadata"]["uid"]
    _delete_deployment(k8s, cluster_id, namespace, uid)
    owned = [*owned_object_names(cluster_id), *extra]
    deadline = time.monotonic() + timeout
    while left := [(kind, name) for kind, name in owned if owned_by(k8s.get(kind, name, namespace), uid)]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"still present after {timeout:.0f} s: "
                               f"{', '.join(f'{kind} {namespace}/{name}' for kind, name in left)}")
        time.sleep(1.0)
    while pods := k8s.list_pods(namespace, cluster_pods_selector(cluster_id)):
        if k8s.get("Deployment", cluster_id, namespace) is not None:
            return  # a newer launch of this cluster id: the pods left may be its own
        if time.monotonic() > deadline:
            raise TimeoutError(f"pods of {cluster_id} still running after {timeout:.0f} s: "
                               f"{', '.join(p['metadata']['name'] for p in pods)}")
        time.sleep(1.0)


def delete_created_cluster(k8s: FlinkKubernetesHook, namespace: str, cluster_id: str, uid: str, *,
                           log: TaskLog) -> None:
    """A task killed after its try created the cluster: delete that Deployment (its owned objects and pods follow
    in the background), without waiting; a cluster another launch created under the id since is left alone."""
    log.info("task killed: deleting Flink cluster %s/%s (the Deployment this try created, uid %s)", namespace,
             cluster_id, uid)
    if not _delete_deployment(k8s, cluster_id, namespace, uid, propagation="Background"):
        log.info("Flink cluster %s/%s: the Deployment this try created is already gone (or another launch has "
                 "replaced it, which is left alone)", namespace, cluster_id)


def _delete_deployment(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, uid: str, *,
                       propagation: str = "Foreground") -> bool:
    """DELETE the Deployment if it is still the one with ``uid``; False when it was replaced (or is gone)."""
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation,
            "preconditions": {"uid": uid}}
    for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
        try:
            answer = retrying_call(lambda: k8s.request(
                "DELETE", object_path("Deployment", namespace, cluster_id), body=body,
                what=f"delete Deployment {namespace}/{cluster_id} (uid {uid})"), f"delete Deployment {cluster_id}")
            return answer is not None
        except KubernetesApiError as exc:
            current = k8s.get("Deployment", cluster_id, namespace) if exc.status == 409 else None
            if exc.status == 409 and (current is None or current["metadata"]["uid"] != uid):
                return False  # already replaced by another launch: the one we meant is gone
            if exc.status != 409 or attempt == _CONFLICT_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def roll_back(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, failure: BaseException, *,
              extra: tuple[tuple[str, str], ...] = (), uid: str | None = None) -> None:
    """Delete what a failed launch created (``delete_cluster``); when that fails too, raise
    ``LaunchRollbackError`` naming the launch failure, the clean-up failure and what may be left behind."""
    try:
        delete_cluster(k8s, cluster_id, namespace, timeout=ROLLBACK_TIMEOUT, extra=extra, uid=uid)
    except Exception as cleanup:
        left = dict.fromkeys([*owned_object_names(cluster_id), *extra])
        raise LaunchRollbackError(
            f"launching Flink cluster {namespace}/{cluster_id} failed: {failure}\nDeleting what the launch created "
            f"failed too, so these objects may be left behind: {', '.join(f'{k} {namespace}/{n}' for k, n in left)} "
            f"(and the pods of the Deployment); delete them before launching again. The clean-up failed with: "
            f"{cleanup}") from failure
