"""A cluster's Flink HA state: removing what a cluster left behind (its Kubernetes HA ConfigMaps or its ZooKeeper
znodes), and finding the jobs in it that have a completed checkpoint (for ``restore="latest"``). Used by the launch
flow (before a fresh launch) and the teardown flow (unless the data is kept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.ha_data import checkpointed_job_ids, ha_configmap_names, ha_label_selector
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


def checkpointed_jobs(k8s: FlinkKubernetesHook, where: HaLocation) -> list[str]:
    """The cluster's jobs (sorted) with a completed checkpoint in its HA data."""
    if where.ha == "zookeeper":
        with where.zookeeper() as zk:
            return zk.checkpointed_job_ids(where.cluster_id, where.zookeeper_root)
    return checkpointed_job_ids(where.cluster_id,
                                k8s.list_configmaps(where.namespace, ha_label_selector(where.cluster_id)))
