"""Which ConfigMaps are a cluster's Kubernetes HA data, and which jobs in them have checkpoints (pure).

Flink names them after the HA cluster id: ``<cid>-cluster-config-map`` and one ``<cid>-<job-id>-config-map`` per
job (1.15+), or ``<cid>-{dispatcher,resourcemanager,restserver}-leader`` and ``<cid>-<job-id>-jobmanager-leader``
(1.13 to 1.14). They carry ``app=<cid>`` in every version; ``configmap-type=high-availability`` only up to 1.20, so
selection is by the ``app`` label plus these names. ``flink-config-<cid>`` and ``pod-template-<cid>`` never match.

A resume (``restore="latest"``) must first drop the job graph Flink stored (``jobGraph-<jid>`` up to 1.20,
``executionPlan-<jid>`` in 2.x; ZooKeeper ``<root>/<cid>/jobgraphs/<jid>`` / ``…/execution-plans/<jid>``): Flink
would otherwise recover and run the OLD program, parallelism and arguments, dropping the new ones. Checkpoint
pointers (``checkpointID-%019d``), the checkpoint counter and leader data stay, as the Flink Kubernetes Operator
keeps them (``FlinkUtils.deleteJobGraphInKubernetesHA`` / ``…InZookeeperHA``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

_JOB = "[0-9a-f]{32}"
#: Key prefixes of the job graph entries in Kubernetes HA data (≤1.20, 2.x).
JOB_GRAPH_KEY_PREFIXES = ("jobGraph-", "executionPlan-")
#: ZooKeeper nodes under ``<root>/<cid>`` whose children are job graphs (≤1.20, 2.x).
JOB_GRAPH_ZNODES = ("jobgraphs", "execution-plans")
_CHECKPOINT_KEY = re.compile(r"^checkpointID-(\d+)$")


def ha_label_selector(cluster_id: str) -> str:
    """The label selector that finds a cluster's HA ConfigMaps in every Flink version."""
    return f"app={cluster_id}"


def _pattern(cluster_id: str) -> re.Pattern[str]:
    cid = re.escape(cluster_id)
    return re.compile(rf"^{cid}-(cluster-config-map|{_JOB}-config-map|(dispatcher|resourcemanager|restserver)-leader"
                      rf"|{_JOB}-jobmanager-leader)$")


def ha_configmap_names(cluster_id: str, configmaps: Iterable[Mapping[str, Any]]) -> list[str]:
    """The names among ``configmaps`` (API JSON) that are HA data of ``cluster_id``."""
    pattern = _pattern(cluster_id)
    return sorted(name for cm in configmaps if pattern.match(name := cm["metadata"]["name"]))


def checkpointed_job_ids(cluster_id: str, configmaps: Iterable[Mapping[str, Any]]) -> list[str]:
    """Job ids whose per-job HA ConfigMap records at least one completed checkpoint."""
    return sorted(latest_checkpoint_ids(cluster_id, configmaps))


def latest_checkpoint_ids(cluster_id: str, configmaps: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """For each job with a completed checkpoint in its per-job HA ConfigMap, the highest checkpoint id there (the
    one Flink restores: its ``checkpointID-%019d`` key names it)."""
    pattern = re.compile(rf"^{re.escape(cluster_id)}-({_JOB})-(config-map|jobmanager-leader)$")
    found: dict[str, int] = {}
    for cm in configmaps:
        match = pattern.match(cm["metadata"]["name"])
        ids = [int(m.group(1)) for key in cm.get("data") or {} if (m := _CHECKPOINT_KEY.match(key))]
        if match and ids:
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


def local_path(uri: str) -> str | None:
    """The absolute local path of a ``file:`` URI (``file:///x``, ``file:/x``, ``file://localhost/x``) or a plain
    absolute path; None for other schemes."""
    parts = urlsplit(uri)
    if parts.scheme == "" and uri.startswith("/"):
        return uri
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        return unquote(parts.path)
    return None
