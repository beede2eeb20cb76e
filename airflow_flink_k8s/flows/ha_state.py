"""A cluster's Flink HA state: removing what a cluster left behind (its Kubernetes HA ConfigMaps or its ZooKeeper
znodes), finding the jobs in it that have a completed checkpoint, and dropping the stored job graphs before a resume
(``restore="latest"``). Used by the launch flow (before a fresh launch) and the teardown flow (unless kept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_flink_k8s.core.errors import FlinkSpecError, KubernetesApiError
from airflow_flink_k8s.core.ha_data import (
    ha_configmap_names,
    ha_label_selector,
    job_graph_keys,
    latest_checkpoint_ids,
    without_job_graphs,
)
from airflow_flink_k8s.core.names import HA_MODES
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.core.zookeeper_paths import DEFAULT_ROOT
from airflow_flink_k8s.flows import TaskLog
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

if TYPE_CHECKING:
    from airflow_flink_k8s.hooks.zookeeper import FlinkZooKeeperHook


@dataclass(frozen=True)
class HaLocation:
    """Where the HA data of one cluster lives. For ZooKeeper, exactly one of ``zookeeper_conn_id`` and
    ``zookeeper_quorum`` names the ensemble (``FlinkZooKeeperHook`` refuses both or neither)."""

    ha: str
    cluster_id: str
    namespace: str
    zookeeper_conn_id: str | None = None
    zookeeper_quorum: str | None = None
    zookeeper_root: str = DEFAULT_ROOT

    def __post_init__(self) -> None:
        if self.ha not in HA_MODES:
            raise FlinkSpecError("ha", f"must be one of {', '.join(HA_MODES)}", self.ha)

    @classmethod
    def of_spec(cls, spec: FlinkApplicationSpec, zookeeper_conn_id: str | None) -> HaLocation:
        """The spec's HA location; a ZooKeeper connection, when given, wins over the spec's quorum."""
        return cls(spec.ha, spec.cluster_id, spec.namespace, zookeeper_conn_id,
                   None if zookeeper_conn_id else spec.zookeeper_quorum, spec.zookeeper_root)

    def zookeeper(self) -> FlinkZooKeeperHook:
        from airflow_flink_k8s.hooks.zookeeper import FlinkZooKeeperHook

        return FlinkZooKeeperHook(self.zookeeper_conn_id, quorum=self.zookeeper_quorum)


def remove_ha_data(k8s: FlinkKubernetesHook, where: HaLocation, log: TaskLog) -> list[str]:
    """Delete the cluster's HA data; what was removed (``configmap/<name>``, ``znode <root>/<cid>``)."""
    if where.ha == "zookeeper":
        with where.zookeeper() as zk:
            if not zk.delete_cluster_data(where.cluster_id, where.zookeeper_root):
                return []
        log.info("removed ZooKeeper HA data %s/%s", where.zookeeper_root, where.cluster_id)
        return [f"znode {where.zookeeper_root}/{where.cluster_id}"]
    if where.ha == "none":
        return []
    removed = []
    for name in ha_configmap_names(where.cluster_id,
                                   k8s.list_configmaps(where.namespace, ha_label_selector(where.cluster_id))):
        log.info("removing HA ConfigMap %s/%s", where.namespace, name)
        k8s.delete("ConfigMap", name, where.namespace)
        removed.append(f"configmap/{name}")
    return removed


def latest_checkpoints(k8s: FlinkKubernetesHook, where: HaLocation) -> dict[str, int]:
    """The cluster's jobs with a completed checkpoint in its HA data, each with the highest checkpoint id there."""
    if where.ha == "zookeeper":
        with where.zookeeper() as zk:
            return zk.latest_checkpoint_ids(where.cluster_id, where.zookeeper_root)
    return latest_checkpoint_ids(where.cluster_id,
                                 k8s.list_configmaps(where.namespace, ha_label_selector(where.cluster_id)))


#: Compare-and-swap tries per ConfigMap before a conflicting writer is reported.
_CAS_ATTEMPTS = 5


def drop_job_graphs(k8s: FlinkKubernetesHook, where: HaLocation, log: TaskLog) -> list[str]:
    """Remove the stored job graphs from the cluster's HA data, so that a resumed cluster runs the new program
    (see ``core.ha_data``); what was removed (``configmap/<name>:<key>``, ``znode <path>``)."""
    if where.ha == "zookeeper":
        with where.zookeeper() as zk:
            paths = zk.delete_job_graphs(where.cluster_id, where.zookeeper_root)
        for path in paths:
            log.info("removed the stored job graph %s from ZooKeeper before resuming", path)
        return [f"znode {path}" for path in paths]
    if where.ha == "none":
        return []
    removed = []
    for configmap in k8s.list_configmaps(where.namespace, ha_label_selector(where.cluster_id)):
        if configmap["metadata"]["name"] in ha_configmap_names(where.cluster_id, [configmap]):
            removed += _drop_keys(k8s, configmap, where.namespace, log)
    return removed


def _drop_keys(k8s: FlinkKubernetesHook, configmap: dict[str, Any], namespace: str, log: TaskLog) -> list[str]:
    """Remove the job graph keys of one HA ConfigMap by compare-and-swap, reading it anew after a conflict."""
    name = configmap["metadata"]["name"]
    current: dict[str, Any] | None = configmap
    for _ in range(_CAS_ATTEMPTS):
        body = None if current is None else without_job_graphs(current)
        if current is None or body is None:
            return []
        keys = job_graph_keys(current)
        try:
            k8s.replace(body, namespace)
        except KubernetesApiError as exc:
            if exc.status != 409:
                raise
            current = k8s.get("ConfigMap", name, namespace)
            continue
        log.info("removed the stored job graph %s from HA ConfigMap %s/%s before resuming", ", ".join(keys),
                 namespace, name)
        return [f"configmap/{name}:{key}" for key in keys]
    raise KubernetesApiError(409, "Conflict", f"still changing after {_CAS_ATTEMPTS} compare-and-swap tries",
                             "remove job graph from", f"ConfigMap {namespace}/{name}")
