"""A cluster's leftover files on the HA storage dir (``<storageDir>/<cluster-id>/``: HA blobs, submitted job
graphs / execution plans / applications, completed-checkpoint handles, earlier launches' result stores), which
Flink's Kubernetes/ZooKeeper HA clean-up leaves behind. Removed where this worker reaches them as files (a
``file://`` or plain local path); for remote filesystems the task log names the paths left for a lifecycle rule.
Only names Flink writes are removed (``core.ha_storage.plan_removal``), and nothing outside that directory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from airflow_flink_k8s.core.file_uris import local_path
from airflow_flink_k8s.core.ha_storage import cluster_storage_dir, plan_removal, storage_dir_of
from airflow_flink_k8s.core.names import config_map_name
from airflow_flink_k8s.flows import TaskLog
from airflow_flink_k8s.flows.ha_state import HaLocation
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook


def remove_ha_storage(storage_dir: str | None, cluster_id: str, log: TaskLog, *,
                      resume_job_id: str | None = None) -> list[str]:
    """Remove the cluster's leftover HA storage files (keeping what resuming ``resume_job_id`` needs); returns
    ``["ha-storage <uri>"]`` when something was removed. Foreign names are kept and logged; a remote
    ``storage_dir`` is only named in a warning."""
    if storage_dir is None:
        return []
    uri = cluster_storage_dir(storage_dir, cluster_id)
    local = local_path(uri)
    if local is None:
        log.warning("HA storage %s/ is not on a filesystem this worker can reach, so its leftovers were NOT "
                    "removed: %s/blob/, %s/submitted*, %s/completedCheckpoint*, %s/job-result-store/, "
                    "%s/application-result-store/ (and, from launches before per-launch result stores, "
                    "%s/job-result-store/%s/ and %s/application-result-store/%s/). Remove them, or add a "
                    "lifecycle rule for %s/", uri, uri, uri, uri, uri, uri, storage_dir.rstrip("/"), cluster_id,
                    storage_dir.rstrip("/"), cluster_id, uri)
        return []
    root = Path(local)
    if root.is_symlink() or not root.is_dir():
        if root.is_symlink():
            log.warning("HA storage %s is a symlink; not removing anything through it", uri)
        return []
    files, dirs = _listing(root)
    plan = plan_removal(files, dirs, resume_job_id=resume_job_id)
    if plan.foreign:
        log.warning("HA storage %s/ holds entries Flink does not write; left in place: %s", uri,
                    ", ".join(plan.foreign))
    for name in plan.remove_files:
        (root / name).unlink(missing_ok=True)
    for name in plan.remove_dirs:
        _rmdir_if_empty(root / name)
    if not plan.foreign and not plan.keep:
        _rmdir_if_empty(root)
    if not plan.remove_files and not plan.remove_dirs:
        return []
    log.info("removed HA storage leftovers of %s under %s/: %d files, %d directories%s", cluster_id, uri,
             len(plan.remove_files), len(plan.remove_dirs),
             f" (kept for resuming job {resume_job_id}: {len(plan.keep)})" if resume_job_id else "")
    return [f"ha-storage {uri}"]


def cluster_storage_dir_of(k8s: FlinkKubernetesHook, where: HaLocation, log: TaskLog) -> str | None:
    """The HA storage dir a cluster was launched with, read from its ``flink-config-<cid>`` ConfigMap (None, and
    a warning, when that is gone)."""
    config: dict[str, Any] | None = k8s.get("ConfigMap", config_map_name(where.cluster_id), where.namespace)
    found = storage_dir_of(config)
    if found is None:
        log.warning("no HA storage dir found for %s/%s (its %s ConfigMap is gone or names none): leftover files "
                    "under <high-availability.storageDir>/%s/ were not checked", where.namespace, where.cluster_id,
                    config_map_name(where.cluster_id), where.cluster_id)
    return found


def _listing(root: Path) -> tuple[list[str], list[str]]:
    """Every file (symlinks included, never followed) and directory under ``root``, relative, ``/``-separated."""
    files: list[str] = []
    dirs: list[str] = []
    for current, subdirs, names in os.walk(root, followlinks=False):
        rel = Path(current).relative_to(root).as_posix()
        prefix = "" if rel == "." else f"{rel}/"
        for sub in list(subdirs):
            if (Path(current) / sub).is_symlink():
                subdirs.remove(sub)
                files.append(prefix + sub)
            else:
                dirs.append(prefix + sub)
        files.extend(prefix + name for name in names)
    return files, dirs


def _rmdir_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):  # not empty (something appeared meanwhile) or already gone
        path.rmdir()
