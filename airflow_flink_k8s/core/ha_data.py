"""Which ConfigMaps are a cluster's Kubernetes HA data, and which jobs in them have checkpoints (pure).

Flink names them after the HA cluster id: ``<cid>-cluster-config-map`` and one ``<cid>-<job-id>-config-map`` per
job (1.15+), or ``<cid>-{dispatcher,resourcemanager,restserver}-leader`` and ``<cid>-<job-id>-jobmanager-leader``
(1.13 to 1.14). They carry ``app=<cid>`` in every version; ``configmap-type=high-availability`` only up to 1.20, so
selection is by the ``app`` label plus these names. ``flink-config-<cid>`` and ``pod-template-<cid>`` never match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_JOB = "[0-9a-f]{32}"


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
    pattern = re.compile(rf"^{re.escape(cluster_id)}-({_JOB})-(config-map|jobmanager-leader)$")
    found = []
    for cm in configmaps:
        match = pattern.match(cm["metadata"]["name"])
        if match and any(key.startswith("checkpointID-") for key in cm.get("data") or {}):
            found.append(match.group(1))
    return sorted(found)
