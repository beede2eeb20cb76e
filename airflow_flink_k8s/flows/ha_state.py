"""A cluster's Flink HA state: removing what a cluster left behind (its Kubernetes HA ConfigMaps or its ZooKeeper
znodes), finding the jobs in it that have a completed checkpoint, and dropping the stored job graphs before a resume
(``restore="latest"``). Used by the launch flow (before a fresh launch) and the teardown flow (unless kept)."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_flink_k8s.core.arguments import check_zookeeper_address
from airflow_flink_k8s.core.errors import FlinkSpecError, KubernetesApiError, NotOwnedError
from airflow_flink_k8s.core.ha_data import (
    ZOOKEEPER_HA_NODES,
    check_zookeeper_root,
    foreign_leaders,
    ha_configmap_names,
    ha_label_selector,
    job_graph_keys,
    latest_checkpoint_ids,
    lookalike_configmap_names,
    unknown_zookeeper_nodes,
    without_job_graphs,
)
from airflow_flink_k8s.core.names import HA_MODES, NATIVE_TYPE, jobmanager_pods_selector
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.core.zookeeper_paths import DEFAULT_ROOT
from airflow_flink_k8s.flows import TaskLog
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s.hooks.retry import retrying_call

if TYPE_CHECKING:
    from airflow_flink_k8s.hooks.zookeeper import FlinkZooKeeperHook


@dataclass(frozen=True)
class HaLocation:
    """Where the HA data of one cluster lives. For ZooKeeper, ``zookeeper_quorum`` is what Flink uses and
    ``zookeeper_conn_id`` a connection (with credentials) to it; given both, they must name the same hosts and
    chroot (``FlinkZooKeeperHook`` refuses a disagreement). ``flink_version``, when known, makes the HA labels
    of Kubernetes ConfigMaps exact (``core.ha_data.ha_labels_match``)."""

    ha: str
    cluster_id: str
    namespace: str
    zookeeper_conn_id: str | None = None
    zookeeper_quorum: str | None = None
    zookeeper_root: str = DEFAULT_ROOT
    flink_version: str | None = None

    def __post_init__(self) -> None:
        if self.ha not in HA_MODES:
            raise FlinkSpecError("ha", f"must be one of {', '.join(HA_MODES)}", self.ha)
        for name in ("cluster_id", "namespace"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise FlinkSpecError(name, "must not be empty", getattr(self, name))
        if self.ha == "zookeeper":
            try:
                check_zookeeper_root(self.zookeeper_root)
            except ValueError as error:
                raise FlinkSpecError("zookeeper_root", str(error)) from None
        check_zookeeper_address(self.ha, self.zookeeper_conn_id, self.zookeeper_quorum)

    @classmethod
    def of_spec(cls, spec: FlinkApplicationSpec, zookeeper_conn_id: str | None) -> HaLocation:
        """The spec's HA location: the spec's quorum (Flink's) and, when given, the connection to reach it."""
        return cls(spec.ha, spec.cluster_id, spec.namespace, zookeeper_conn_id, spec.zookeeper_quorum,
                   spec.zookeeper_root, str(spec.version))

    def zookeeper(self) -> FlinkZooKeeperHook:
        from airflow_flink_k8s.hooks.zookeeper import FlinkZooKeeperHook

        return FlinkZooKeeperHook(self.zookeeper_conn_id, quorum=self.zookeeper_quorum)


def remove_ha_data(k8s: FlinkKubernetesHook, where: HaLocation, log: TaskLog, *,
                   leader_grace: float = 0.0) -> list[str]:
    """Delete the cluster's HA data; what was removed (``configmap/<name>``, ``znode <root>/<cid>``).

    Only what is recognisably Flink's HA data of that cluster goes (``core.ha_data``): ConfigMaps with its names
    AND labels (look-alikes are named in the log and left alone); a ZooKeeper subtree holding only Flink's nodes and
    no live leader of another cluster (``remove_zookeeper_data``), else ``NotOwnedError`` and nothing is deleted.
    """
    if where.ha == "zookeeper":
        return remove_zookeeper_data(k8s, where, log, leader_grace=leader_grace)
    if where.ha == "none":
        return []
    found = k8s.list_configmaps(where.namespace, ha_label_selector(where.cluster_id))
    for name in lookalike_configmap_names(where.cluster_id, found, where.flink_version):
        log.warning("left ConfigMap %s/%s alone: it has an HA data name of %s but not Flink's HA labels (app=%s, "
                    "type=%s)", where.namespace, name, where.cluster_id, where.cluster_id, NATIVE_TYPE)
    removed = []
    for name in ha_configmap_names(where.cluster_id, found, where.flink_version):
        log.info("removing HA ConfigMap %s/%s", where.namespace, name)
        # A DELETE is idempotent (a second one finds nothing): a transient answer must not leave HA data behind
        # for a teardown retry that no longer finds the Deployment (and so keeps HA data unless told otherwise).
        retrying_call(functools.partial(k8s.delete, "ConfigMap", name, where.namespace),
                      f"delete ConfigMap {where.namespace}/{name}")
        removed.append(f"configmap/{name}")
    return removed


def latest_checkpoints(k8s: FlinkKubernetesHook, where: HaLocation) -> dict[str, int]:
    """The cluster's jobs with a completed checkpoint in its HA data, each with the highest checkpoint id there."""
    if where.ha == "zookeeper":
        with where.zookeeper() as zk:
            return zk.latest_checkpoint_ids(where.cluster_id, where.zookeeper_root)
    return latest_checkpoint_ids(where.cluster_id,
                                 k8s.list_configmaps(where.namespace, ha_label_selector(where.cluster_id)),
                                 where.flink_version)


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
        if configmap["metadata"]["name"] in ha_configmap_names(where.cluster_id, [configmap], where.flink_version):
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
        try:  # a transient answer is retried; one that was applied anyway then meets a 409 and is read anew
            retrying_call(functools.partial(k8s.replace, body, namespace), f"PUT ConfigMap {namespace}/{name}")
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


def remove_zookeeper_data(k8s: FlinkKubernetesHook, where: HaLocation, log: TaskLog, *,
                          leader_grace: float = 0.0) -> list[str]:
    """Delete ``<root>/<cid>`` when it is recognisably this cluster's Flink HA data: only Flink's nodes under it,
    and no live leader whose address is none of this cluster's JobManager pods in its namespace (the same cluster
    id in another namespace under the same root). Such a leader is waited for up to ``leader_grace`` seconds (a
    JobManager just deleted keeps its ephemeral nodes until its session ends), then ``NotOwnedError``."""
    subtree = f"{where.zookeeper_root.rstrip('/')}/{where.cluster_id}"
    with where.zookeeper() as zk:
        children = zk.cluster_children(where.cluster_id, where.zookeeper_root)
        if children is None:
            return []
        if unknown := unknown_zookeeper_nodes(children):
            raise NotOwnedError(
                f"ZooKeeper subtree {subtree} is not recognisably Flink HA data of cluster {where.cluster_id!r}: it "
                f"holds {', '.join(unknown)}, which Flink does not create (Flink's: "
                f"{', '.join(sorted(ZOOKEEPER_HA_NODES))}). Nothing was deleted; check zookeeper_root.")
        deadline = time.monotonic() + leader_grace
        while foreign := foreign_leaders(zk.live_leaders(where.cluster_id, where.zookeeper_root),
                                         own_jobmanager_ips(k8s, where)):
            if time.monotonic() >= deadline:
                leaders = ", ".join(f"{path} -> {address}" for path, address in foreign.items())
                raise NotOwnedError(
                    f"ZooKeeper subtree {subtree} is in use by another Flink cluster: live leader {leaders}, which "
                    f"is none of the JobManager pods of {where.cluster_id!r} in namespace {where.namespace!r}. Two "
                    f"clusters with one cluster id and one zookeeper_root (e.g. in two namespaces) share this "
                    f"subtree; give each namespace its own root, such as zookeeper_root='/flink/{where.namespace}'. "
                    "Nothing was deleted. (A JobManager killed moments ago keeps its ephemeral leader nodes until "
                    "its ZooKeeper session expires, 60 s by default: then retry.)")
            time.sleep(1.0)
        if not zk.delete_cluster_data(where.cluster_id, where.zookeeper_root):
            return []
    log.info("removed ZooKeeper HA data %s", subtree)
    return [f"znode {subtree}"]


def own_jobmanager_ips(k8s: FlinkKubernetesHook, where: HaLocation) -> set[str]:
    """The pod IPs of the cluster's JobManager pods in its own namespace."""
    ips: set[str] = set()
    for pod in k8s.list_pods(where.namespace, jobmanager_pods_selector(where.cluster_id)):
        status = pod.get("status") or {}
        ips.update(ip for ip in [status.get("podIP"), *(p.get("ip") for p in status.get("podIPs") or [])] if ip)
    return ips
