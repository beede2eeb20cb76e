"""What ``if_exists="upgrade"`` does about the cluster under the id, and the durable record of an upgrade under way
(pure, no I/O).

An upgrade replaces the running cluster with the new spec and carries its state over as ``upgrade_mode`` says (the
Flink Kubernetes Operator's ``upgradeMode``): ``savepoint`` stops the job with a savepoint and restores the new job
from it (a new job id, so a new checkpoint subdir); ``last-state`` deletes the cluster keeping its HA data and resumes
from the latest checkpoint (the same job id; the stored job graph is dropped so the new program runs); ``stateless``
starts the new spec empty.

Before its first change an upgrade writes an :class:`UpgradeRecord` into ConfigMap ``flink-upgrade-<cid>``
(``names.upgrade_record_name``), owned by nothing so it outlives the old Deployment, and updates it as it goes (the
savepoint's trigger, then its path). Any later try, in any process, that finds it finishes that upgrade
(``decide_upgrade``'s ``RESUME``) instead of taking another savepoint or starting empty; the record is deleted once
the new cluster is created.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airflow_flink_k8s.core.arguments import UPGRADE_MODES
from airflow_flink_k8s.core.errors import ClusterExistsError, FlinkSpecError, NotOwnedError
from airflow_flink_k8s.core.launch_plan import spec_fingerprint
from airflow_flink_k8s.core.names import (
    ANNOTATION_JOB_ID,
    ANNOTATION_SPEC_HASH,
    ANNOTATION_UPGRADE_OF,
    UPGRADE_RECORD_KEY,
    upgrade_record_name,
)
from airflow_flink_k8s.core.ownership import check_manageable
from airflow_flink_k8s.core.spec import FlinkApplicationSpec


class UpgradeAction(StrEnum):
    CREATE = "create"  # nothing runs under the id and no upgrade is recorded: launch as a fresh launch would
    REATTACH = "reattach"  # the cluster already runs this spec (or a recorded upgrade's relaunch does)
    AWAIT = "await"  # another task's launch of this cluster id has not finished
    UPGRADE = "upgrade"  # take the running cluster's state as ``upgrade_mode`` says, then relaunch
    RESUME = "resume"  # finish the recorded upgrade: from its savepoint / the latest checkpoint / empty
    REPLACE = "replace"  # an earlier try of this task left its fresh launch half-created: delete it, launch again


@dataclass(frozen=True)
class UpgradeRecord:
    """One upgrade under way: the Deployment it replaces (``old_uid``, running ``old_job_id``), the job id the
    relaunch gets, and, for ``savepoint``, the stop-with-savepoint's ``trigger_id`` and then ``savepoint_path``."""

    mode: str
    old_uid: str
    old_job_id: str
    job_id: str
    started_at: str
    run: Mapping[str, str]
    trigger_id: str | None = None
    savepoint_path: str | None = None

    def restore(self) -> str | None:
        """What the relaunch restores from: the savepoint path, ``latest`` or ``none``; None while the savepoint
        is not known to be complete."""
        if self.mode == "savepoint":
            return self.savepoint_path
        return "latest" if self.mode == "last-state" else "none"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclass(frozen=True)
class UpgradeDecision:
    action: UpgradeAction
    reason: str
    job_id: str | None = None
    #: A record left by an upgrade of a cluster that is no longer there (another launch replaced it): dropped.
    stale_record: bool = False


def check_upgrade(spec: FlinkApplicationSpec, mode: str) -> None:
    """Raise ``FlinkSpecError`` when ``spec`` cannot be upgraded to with ``mode``: ``savepoint`` needs
    ``savepoint_base_dir`` (the savepoint goes to ``<base>/<cluster-id>``); ``last-state`` needs HA and
    ``checkpoint_base_dir`` (the HA metadata names the latest checkpoint). ``allow_non_restored_state`` applies
    to a savepoint restore only."""
    if mode not in UPGRADE_MODES:
        raise FlinkSpecError("upgrade_mode", f"must be one of {', '.join(UPGRADE_MODES)}", mode)
    if mode == "savepoint" and spec.savepoint_base_dir is None:
        raise FlinkSpecError("savepoint_base_dir", "is required with upgrade_mode='savepoint': the running job is "
                             "stopped with a savepoint into <savepoint_base_dir>/<cluster_id>")
    if mode == "last-state" and spec.ha == "none":
        raise FlinkSpecError("upgrade_mode", "'last-state' resumes from the checkpoint the HA metadata names, so it "
                             "needs ha='kubernetes' or 'zookeeper'", mode)
    if mode == "last-state" and spec.checkpoint_base_dir is None:
        raise FlinkSpecError("checkpoint_base_dir", "is required with upgrade_mode='last-state': the new job "
                             "resumes from the running job's latest checkpoint")
    if spec.allow_non_restored_state and mode != "savepoint" and spec.restore == "none":
        raise FlinkSpecError("allow_non_restored_state", f"applies to a savepoint restore; upgrade_mode={mode!r} "
                             "restores none")


def record_object(cluster_id: str, namespace: str, record: UpgradeRecord,
                  resource_version: str | None = None) -> dict[str, Any]:
    """The ConfigMap holding ``record`` (with ``resource_version``: a compare-and-swap update)."""
    metadata: dict[str, Any] = {"name": upgrade_record_name(cluster_id), "namespace": namespace,
                                "annotations": {ANNOTATION_UPGRADE_OF: cluster_id}}
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata,
            "data": {UPGRADE_RECORD_KEY: record.to_json()}}


def parse_record(configmap: Mapping[str, Any] | None, cluster_id: str) -> UpgradeRecord | None:
    """The record ``configmap`` holds (None when there is none); ``NotOwnedError`` when a ConfigMap of that name
    is not this provider's upgrade record of ``cluster_id`` (it is left alone)."""
    if configmap is None:
        return None
    meta = configmap.get("metadata") or {}
    text = (configmap.get("data") or {}).get(UPGRADE_RECORD_KEY)
    try:
        if (meta.get("annotations") or {}).get(ANNOTATION_UPGRADE_OF) != cluster_id or not isinstance(text, str):
            raise ValueError("not marked as an upgrade record of this cluster id")
        values = json.loads(text)
        record = UpgradeRecord(**values)
        if record.mode not in UPGRADE_MODES:
            raise ValueError(f"unknown mode {record.mode!r}")
    except (ValueError, TypeError) as error:
        raise NotOwnedError(f"ConfigMap {meta.get('namespace', '?')}/{meta.get('name')} is not an upgrade record of "
                            f"Flink cluster {cluster_id!r} written by airflow-flink-k8s ({error}); nothing was "
                            "changed. Remove it, or choose another cluster_id.") from None
    return record


def savepoint_uri(location: str) -> str:
    """A savepoint location as Flink reports it, as a URI ``restore`` accepts: Flink writes local paths as
    ``file:/path``, the spec wants ``file:///path``."""
    scheme, colon, rest = location.partition(":")
    if colon and rest.startswith("/") and not rest.startswith("//"):
        return f"{scheme}://{rest}"
    return location


def relaunch_spec(spec: FlinkApplicationSpec, record: UpgradeRecord) -> FlinkApplicationSpec:
    """``spec`` as the recorded upgrade relaunches it: the record's job id, restoring what its mode says."""
    restore = record.restore()
    if restore is None:
        raise ValueError("the savepoint of this upgrade is not known yet")
    return dataclasses.replace(spec, job_id=record.job_id, restore=restore,
                               allow_non_restored_state=spec.allow_non_restored_state and restore != "latest"
                               and restore != "none")


def decide_upgrade(spec: FlinkApplicationSpec, existing: Mapping[str, Any] | None, record: UpgradeRecord | None, *,
                   finished: bool = True, ours: bool = False, adopt_native_clusters: bool = False) -> UpgradeDecision:
    """What ``if_exists="upgrade"`` does given the Deployment ``<cluster-id>`` (None when absent), the recorded
    upgrade (None when none), whether the Deployment's launch got to its end (``launch_plan.launch_finished``)
    and whether an earlier try of this task launched it (``ours``).

    A Deployment this provider did not launch (or, with ``adopt_native_clusters``, a native Flink cluster no other
    controller owns) raises ``NotOwnedError`` before any write, whatever is recorded.
    """
    where = f"Flink cluster {spec.cluster_id!r} in namespace {spec.namespace!r}"
    if existing is not None:
        check_manageable(existing, spec.cluster_id, adopt_native_clusters=adopt_native_clusters,
                         action="if_exists='upgrade'")
    meta = (existing or {}).get("metadata") or {}
    annotations = meta.get("annotations") or {}
    job_id = annotations.get(ANNOTATION_JOB_ID)
    if record is not None:
        pending = f"an upgrade ({record.mode}) of job {record.old_job_id} begun at {record.started_at}"
        if existing is None or meta.get("uid") == record.old_uid or (job_id == record.job_id and not finished):
            return UpgradeDecision(UpgradeAction.RESUME, f"{where}: finishing {pending}", record.job_id)
        if job_id == record.job_id:
            return UpgradeDecision(UpgradeAction.REATTACH, f"{where} runs the relaunch of {pending}; only the "
                                   "record was left", record.job_id)
        stale = (f"{where}: dropping the record of {pending}, whose cluster was replaced by another launch since"
                 f"{f' (its savepoint {record.savepoint_path} is not used)' if record.savepoint_path else ''}; ")
    else:
        stale = ""
    if existing is None:
        return UpgradeDecision(UpgradeAction.CREATE, f"{stale}{where} does not exist: launching it", None,
                               stale_record=bool(stale))
    deleting = bool(meta.get("deletionTimestamp"))
    if deleting:
        raise ClusterExistsError(f"{stale}{where} is being deleted and holds no recorded upgrade: there is no "
                                 "running state to upgrade from. Run the task again once it is gone (it then "
                                 "launches afresh).")
    if not finished and ours:
        return UpgradeDecision(UpgradeAction.REPLACE, f"{stale}{where} was left half-created by an earlier try of "
                               "this task; replacing it", stale_record=bool(stale))
    if not finished:
        return UpgradeDecision(UpgradeAction.AWAIT, f"{stale}{where} is still being launched by another task; "
                               "waiting for it", stale_record=bool(stale))
    if job_id and annotations.get(ANNOTATION_SPEC_HASH) == spec_fingerprint(spec):
        return UpgradeDecision(UpgradeAction.REATTACH, f"{stale}{where} already runs this spec: nothing to upgrade",
                               job_id, stale_record=bool(stale))
    if not job_id:
        raise NotOwnedError(f"{where}: no job id is recorded on its Deployment (a native Flink cluster not launched "
                            "by airflow-flink-k8s); an upgrade needs the running job's id. Tear it down with "
                            "savepoint=True and launch with restore=<savepoint path> instead.")
    return UpgradeDecision(UpgradeAction.UPGRADE, f"{stale}{where} runs job {job_id} with another spec: upgrading it",
                           job_id, stale_record=bool(stale))
