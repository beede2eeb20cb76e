"""Which ConfigMaps and ZooKeeper nodes are a cluster's Flink HA data, and which jobs in them have checkpoints (pure).

Kubernetes: Flink names the maps after the HA cluster id: ``<cid>-cluster-config-map`` and one
``<cid>-<job-id>-config-map`` per job (1.15+), or ``<cid>-{dispatcher,resourcemanager,restserver}-leader`` and
``<cid>-<job-id>-jobmanager-leader`` (1.13 to 1.14), and labels them ``app=<cid>, type=flink-native-kubernetes``,
plus ``configmap-type=high-availability`` up to 1.20 (gone in 2.x). A map is HA data only with such a name AND those
labels; a look-alike (same name, other labels) is someone else's and is left alone. ``flink-config-<cid>`` and
``pod-template-<cid>`` never match.

ZooKeeper: the namespace ``<root>/<cid>`` holds only nodes Flink creates (``ZOOKEEPER_HA_NODES``); a subtree with
anything else is not recognisably Flink HA data of that cluster. A live leader (the ephemeral ``connection_info``
node) whose address is not one of this cluster's JobManager pods belongs to another cluster sharing the root.

A resume (``restore="latest"``) must first drop the job graph Flink stored (``jobGraph-<jid>`` up to 1.20,
``executionPlan-<jid>`` in 2.x; ZooKeeper ``<root>/<cid>/jobgraphs/<jid>`` / ``…/execution-plans/<jid>``): Flink
would otherwise recover and run the OLD program, parallelism and arguments, dropping the new ones. Checkpoint
pointers (``checkpointID-%019d``), the checkpoint counter and leader data stay, as the Flink Kubernetes Operator
keeps them (``FlinkUtils.deleteJobGraphInKubernetesHA`` / ``…InZookeeperHA``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from airflow_flink_k8s.core.file_uris import local_path
from airflow_flink_k8s.core.names import NATIVE_TYPE
from airflow_flink_k8s.core.versions import FlinkVersion
from airflow_flink_k8s.core.zookeeper_paths import check_znode_path

_JOB = "[0-9a-f]{32}"
#: Key prefixes of the job graph entries in Kubernetes HA data (≤1.20, 2.x).
JOB_GRAPH_KEY_PREFIXES = ("jobGraph-", "executionPlan-")
#: ZooKeeper nodes under ``<root>/<cid>`` whose children are job graphs (≤1.20, 2.x).
JOB_GRAPH_ZNODES = ("jobgraphs", "execution-plans")
_CHECKPOINT_KEY = re.compile(r"^checkpointID-(\d+)$")
CONFIGMAP_TYPE_LABEL, CONFIGMAP_TYPE_HA = "configmap-type", "high-availability"
#: The nodes Flink (1.13 to 2.3) creates directly under ``<root>/<ha cluster id>``: the defaults of
#: ``HighAvailabilityOptions`` (``high-availability.zookeeper.path.*``: ``/leader``, ``/leaderlatch``, ``/jobgraphs``
#: up to 1.20, ``/execution-plans`` and ``/applications`` in 2.x, ``/checkpoints``, ``/checkpoint-counter``,
#: ``/running_job_registry/`` up to 1.14, ``/mesos-workers``) and ``ZooKeeperUtils``' ``/jobs`` (1.15+).
ZOOKEEPER_HA_NODES = frozenset({"leader", "leaderlatch", "jobs", "jobgraphs", "execution-plans", "applications",
                                "checkpoints", "checkpoint-counter", "running_job_registry", "mesos-workers"})
#: ``http(s)://host:port`` (rest server) or ``pekko.tcp://flink@host:port/…`` / ``akka.tcp://…`` (RPC endpoints).
_ADDRESS_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?(\[[0-9a-fA-F:.]+\]|[^:/\[\]]+)(?::\d+)?(?:/.*)?$")


def ha_label_selector(cluster_id: str) -> str:
    """The label selector that finds the candidates for a cluster's HA ConfigMaps in every Flink version (the
    ``app`` label only, so that look-alikes are seen too and can be named)."""
    return f"app={cluster_id}"


def ha_labels_match(cluster_id: str, labels: Mapping[str, str], flink_version: str | None = None) -> bool:
    """Whether ``labels`` are the ones Flink gives HA ConfigMaps of ``cluster_id``: ``app`` and ``type``, and up to
    1.20 ``configmap-type=high-availability``, which a 2.x map may still carry when a 1.x cluster left it. With
    no version, ``configmap-type`` may be absent or ``high-availability``."""
    if labels.get("app") != cluster_id or labels.get("type") != NATIVE_TYPE:
        return False
    kind = labels.get(CONFIGMAP_TYPE_LABEL)
    if flink_version is not None and not FlinkVersion.parse(flink_version).at_least(2, 0):
        return kind == CONFIGMAP_TYPE_HA
    return kind in (None, CONFIGMAP_TYPE_HA)


def _pattern(cluster_id: str) -> re.Pattern[str]:
    cid = re.escape(cluster_id)
    return re.compile(rf"^{cid}-(cluster-config-map|{_JOB}-config-map|(dispatcher|resourcemanager|restserver)-leader"
                      rf"|{_JOB}-jobmanager-leader)$")


def _labels(configmap: Mapping[str, Any]) -> Mapping[str, str]:
    return configmap["metadata"].get("labels") or {}


def ha_configmap_names(cluster_id: str, configmaps: Iterable[Mapping[str, Any]],
                       flink_version: str | None = None) -> list[str]:
    """The names among ``configmaps`` (API JSON) that are HA data of ``cluster_id`` (name and labels)."""
    pattern = _pattern(cluster_id)
    return sorted(name for cm in configmaps if pattern.match(name := cm["metadata"]["name"])
                  and ha_labels_match(cluster_id, _labels(cm), flink_version))


def lookalike_configmap_names(cluster_id: str, configmaps: Iterable[Mapping[str, Any]],
                              flink_version: str | None = None) -> list[str]:
    """The names among ``configmaps`` that have an HA data name of ``cluster_id`` but not Flink's labels."""
    pattern = _pattern(cluster_id)
    return sorted(name for cm in configmaps if pattern.match(name := cm["metadata"]["name"])
                  and not ha_labels_match(cluster_id, _labels(cm), flink_version))


def checkpointed_job_ids(cluster_id: str, configmaps: Iterable[Mapping[str, Any]],
                         flink_version: str | None = None) -> list[str]:
    """Job ids whose per-job HA ConfigMap (name and labels) records at least one completed checkpoint."""
    return sorted(latest_checkpoint_ids(cluster_id, configmaps, flink_version))


def latest_checkpoint_ids(cluster_id: str, configmaps: Iterable[Mapping[str, Any]],
                          flink_version: str | None = None) -> dict[str, int]:
    """For each job with a completed checkpoint in its per-job HA ConfigMap (name and labels), the highest
    checkpoint id there (the one Flink restores: its ``checkpointID-%019d`` key names it)."""
    pattern = re.compile(rf"^{re.escape(cluster_id)}-({_JOB})-(config-map|jobmanager-leader)$")
    found: dict[str, int] = {}
    for cm in configmaps:
        match = pattern.match(cm["metadata"]["name"])
        ids = [int(m.group(1)) for key in cm.get("data") or {} if (m := _CHECKPOINT_KEY.match(key))]
        if match and ids and ha_labels_match(cluster_id, _labels(cm), flink_version):
            found[match.group(1)] = max(ids)
    return found


def latest_znode_checkpoint(children: Iterable[str]) -> int | None:
    """The highest checkpoint id among the children of ZooKeeper's ``…/jobs/<jid>/checkpoints`` (zero-padded
    decimal names), None when there is none."""
    ids = [int(child) for child in children if child.isdigit()]
    return max(ids) if ids else None


def job_graph_keys(configmap: Mapping[str, Any]) -> list[str]:
    """The job graph entries (``jobGraph-<jid>`` / ``executionPlan-<jid>``) of one HA ConfigMap, sorted."""
    return sorted(key for key in configmap.get("data") or {} if key.startswith(JOB_GRAPH_KEY_PREFIXES))


def without_job_graphs(configmap: Mapping[str, Any]) -> dict[str, Any] | None:
    """The body of a compare-and-swap PUT that removes the job graph entries from ``configmap``, or None when it
    has none. ``configmap`` is as the API returned it, alone or as a list item; its ``metadata.resourceVersion`` is
    kept, so a concurrent write makes the PUT fail with 409. Every other entry (leader data, checkpoint pointers,
    counter) is kept as it is."""
    drop = job_graph_keys(configmap)
    if not drop:
        return None
    body = {"apiVersion": "v1", "kind": "ConfigMap", **copy.deepcopy(dict(configmap))}  # list items lack both
    body["data"] = {key: value for key, value in body["data"].items() if key not in drop}
    return body


def local_checkpoint_path(checkpoint_dir: str, job_id: str, checkpoint_id: int) -> str | None:
    """The local file ``<checkpoint_dir>/<jid>/chk-N/_metadata`` when ``checkpoint_dir`` is a ``file:`` URI or a
    plain absolute path; None for any other file system (``s3://``, ``hdfs://``…), which a worker cannot check."""
    base = local_path(checkpoint_dir)
    return None if base is None else f"{base.rstrip('/')}/{job_id}/chk-{checkpoint_id}/_metadata"




# ----------------------------------------------------------------- ZooKeeper
def check_zookeeper_root(root: object) -> str:
    """``root`` when it is a znode path other than ``/``, else ``ValueError`` naming the rule. Flink keeps a
    cluster's data at ``<root>/<cid>``: under ``/`` that is a top-level node (``/zookeeper`` is ZooKeeper's own),
    shared by every application of the ensemble. Prefer one root per namespace, e.g. ``/flink/<namespace>``."""
    if not isinstance(root, str) or not root.strip("/ "):
        raise ValueError(f"must be a znode path below '/', such as /flink or /flink/<namespace>; got {root!r}")
    return check_znode_path(root)


def unknown_zookeeper_nodes(children: Iterable[str]) -> list[str]:
    """The children of ``<root>/<cid>`` that Flink does not create (so the subtree is not only Flink HA data)."""
    return sorted(set(children) - ZOOKEEPER_HA_NODES)


def leader_host(address: str) -> str | None:
    """The host of a published leader address (``http://10.1.2.3:8081``, ``pekko.tcp://flink@10.1.2.3:6123/…``)."""
    match = _ADDRESS_HOST.match(address)
    return match.group(1).strip("[]") if match else None


def foreign_leaders(leaders: Mapping[str, str], own_pod_ips: Collection[str]) -> dict[str, str]:
    """The live leaders (znode path → address) whose host is none of ``own_pod_ips``, the IPs of this cluster's
    JobManager pods in its own namespace: another cluster (e.g. the same id in another namespace) holds them."""
    return {path: address for path, address in sorted(leaders.items()) if leader_host(address) not in own_pod_ips}
