"""A cluster's files on the HA storage dir (pure): where each launch's result stores go, which files under
``<storageDir>/<cluster-id>/`` are Flink's, and which of them a launch or teardown may remove.

Flink keeps, under ``high-availability.storageDir`` + ``/<ha-cluster-id>`` (checked on 1.20.3 and 2.3.0 jars and
runs): ``blob/`` (``job_<jid>/``, ``application_<id>/``, ``no_job/`` holding ``blob_<key>`` files), and the
state handles ``submittedJobGraph…`` (≤1.20), ``submittedExecutionPlan…`` and ``submittedApplication…`` (2.x),
``completedCheckpoint…``: a prefix and 12 random hex digits (``FileUtils.getRandomFilename``). By default its job
result store (1.15+) and application result store (2.3+) live at ``<storageDir>/job-result-store/<cid>`` and
``<storageDir>/application-result-store/<cid>``, shared by every launch of a cluster id, so a ``_DIRTY`` entry of
an interrupted clean-up swallows the next fresh launch. The provider instead gives every launch its own stores at
``<storageDir>/<cid>/job-result-store/<job-id>`` and ``<storageDir>/<cid>/application-result-store/<job-id>``,
as the Flink Kubernetes Operator randomises ``job-result-store.storage-path`` per deploy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_flink_k8s.core.flink_keys import APPLICATION_RESULT_STORE_DIR, JOB_RESULT_STORE_DIR, RESULT_STORES
from airflow_flink_k8s.core.versions import FlinkVersion

HA_STORAGE_DIR_KEYS = ("high-availability.storageDir", "high-availability.zookeeper.storageDir",
                       "recovery.zookeeper.storageDir")

_HEX32 = "[0-9a-f]{32}"
_STATE_HANDLE = re.compile(r"(submittedJobGraph|submittedExecutionPlan|submittedApplication|completedCheckpoint)"
                           r"[0-9a-f]{12}")
_BLOB_OWNER = re.compile(rf"job_({_HEX32})|application_{_HEX32}|no_job")
_BLOB_FILE = re.compile(r"blob_[pt]-[0-9a-f]{40}-[0-9a-f]{32}")
_STORE_DIR = re.compile(_HEX32)
_STORE_ENTRY = re.compile(rf"{_HEX32}(_DIRTY)?\.json")


def cluster_storage_dir(storage_dir: str, cluster_id: str) -> str:
    """``<storageDir>/<cid>``: where Flink keeps the cluster's HA files (``high-availability.cluster-id`` is the
    cluster id in a native Kubernetes launch)."""
    return f"{storage_dir.rstrip('/')}/{cluster_id}"


def result_store_options(storage_dir: str, cluster_id: str, job_id: str, version: FlinkVersion) -> dict[str, str]:
    """The result-store paths of one launch, per Flink key: ``<storageDir>/<cid>/<store>/<job-id>``.

    Derived from the job id, so a reattach or a resume (same job id) uses the same stores and a fresh launch
    (new job id) an empty one that no earlier launch's entry can swallow."""
    base = cluster_storage_dir(storage_dir, cluster_id)
    return {key: f"{base}/{directory}/{job_id}" for (major, minor), key, directory in RESULT_STORES
            if version.at_least(major, minor)}




@dataclass(frozen=True)
class StoragePlan:
    """What to do with the entries under ``<storageDir>/<cid>/`` (paths relative to it, ``/``-separated):
    ``remove_files``, then ``remove_dirs`` (deepest first); ``keep`` (Flink's, needed to resume); ``foreign``
    (names Flink does not write: never removed, nor the directories holding them)."""

    remove_files: tuple[str, ...]
    remove_dirs: tuple[str, ...]
    keep: tuple[str, ...]
    foreign: tuple[str, ...]


def plan_removal(files: Iterable[str], dirs: Iterable[str], *, resume_job_id: str | None) -> StoragePlan:
    """Decide what a launch or teardown removes, from a listing of ``<storageDir>/<cid>/``: every file and every
    directory, relative to it (symlinks count as files, and no file name of Flink's matches one).

    ``resume_job_id`` None (fresh launch, replace, teardown): everything named as Flink names it goes. Resuming that
    job (``restore="latest"``): only other jobs' blobs and result stores go; its own blobs and result stores, the
    application's blobs and every state handle (checkpoint pointers cannot be told apart by job from their names)
    stay.
    """
    verdicts: dict[str, list[str]] = {"remove": [], "keep": [], "foreign": []}
    for path in sorted(files):
        verdicts[_classify(path.split("/"), resume_job_id, directory=False)].append(path)
    dir_verdicts = {d: _classify(d.split("/"), resume_job_id, directory=True) for d in dirs}
    staying = [*verdicts["keep"], *verdicts["foreign"], *(d for d, v in dir_verdicts.items() if v != "remove")]
    held = {"/".join(p.split("/")[:i]) for p in staying for i in range(1, p.count("/") + 2)}
    remove_dirs = sorted((d for d, v in dir_verdicts.items() if v == "remove" and d not in held),
                         key=lambda d: (-d.count("/"), d))
    foreign_dirs = [d for d, v in dir_verdicts.items() if v == "foreign"]
    return StoragePlan(tuple(verdicts["remove"]), tuple(remove_dirs), tuple(verdicts["keep"]),
                       tuple(sorted([*verdicts["foreign"], *foreign_dirs])))


def _classify(parts: list[str], resume_job_id: str | None, *, directory: bool) -> str:
    """``remove``, ``keep`` or ``foreign`` for one entry under ``<storageDir>/<cid>/`` (its path split at ``/``)."""
    depth, top = len(parts), parts[0]
    if top == "blob":
        if depth == 1:
            return "remove" if directory else "foreign"
        owner = _BLOB_OWNER.fullmatch(parts[1])
        if owner is None or depth > 3 or directory != (depth == 2) or (
                depth == 3 and not _BLOB_FILE.fullmatch(parts[2])):
            return "foreign"
        return "keep" if resume_job_id and owner[1] in (None, resume_job_id) else "remove"
    if top in (JOB_RESULT_STORE_DIR, APPLICATION_RESULT_STORE_DIR):
        if depth == 1:
            return "remove" if directory else "foreign"
        if not _STORE_DIR.fullmatch(parts[1]) or depth > 3 or directory != (depth == 2) or (
                depth == 3 and not _STORE_ENTRY.fullmatch(parts[2])):
            return "foreign"
        return "keep" if parts[1] == resume_job_id else "remove"
    if depth == 1 and not directory and _STATE_HANDLE.fullmatch(top):
        return "keep" if resume_job_id else "remove"
    return "foreign"


def storage_dir_of(config_map: Mapping[str, Any] | None) -> str | None:
    """``high-availability.storageDir`` (or a deprecated spelling) from a ``flink-config-<cid>`` ConfigMap as
    the Flink client or this provider writes it (``config.yaml``, nested or flat, or ``flink-conf.yaml``)."""
    import yaml  # here: the operator module imports core modules while DAGs are parsed

    data = (config_map or {}).get("data") or {}
    for name in ("config.yaml", "flink-conf.yaml"):
        text = data.get(name)
        if not isinstance(text, str):
            continue
        if name == "flink-conf.yaml":
            pairs = (line.partition(": ") for line in text.splitlines() if not line.lstrip().startswith("#"))
            flat = {key.strip(): value.strip() for key, sep, value in pairs if sep}
        else:
            try:
                flat = _flatten(yaml.safe_load(text) or {})
            except yaml.YAMLError:
                return None
        for key in HA_STORAGE_DIR_KEYS:
            if isinstance(flat.get(key), str) and flat[key]:
                return str(flat[key])
    return None


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(node, dict):
        return {prefix: node}
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat
