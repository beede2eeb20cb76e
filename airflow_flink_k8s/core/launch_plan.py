"""What a launch does about an existing cluster, and how launches are marked (pure, no I/O).

Every object a launch creates carries Kubernetes-safe ``dag_id``/``task_id``/``run_id``/``try_number`` labels and
exact-value annotations: the job id, the spec fingerprint and the launching try. ``decide`` reads them back from an
existing Deployment:

* the same DAG run and task with the same spec → ``reattach`` (an Airflow retry never creates a second cluster),
  unless its JobManager cannot start (crash-looping, image not pullable, pod failed: ``failure_report``'s
  ``jobmanager_failure`` of the pods ``launched_by_run`` says to read): restart counts only grow, so a reattached
  retry would fail on the same pods forever; ``replace`` then relaunches (fresh, or resumed with
  ``restore="latest"``);
* otherwise ``if_exists`` rules: ``fail`` names the cluster, ``reuse`` reattaches to an identical spec only,
  ``replace`` deletes and relaunches. ``reuse`` and ``replace`` act only on a cluster this provider launched, or
  (opted in) a native Flink cluster no other controller owns: ``core.ownership``.

``decide_after_lost_race`` is the second decision of a launch whose create was refused because another task
instance took the cluster id after this one decided. ``fail`` fails naming the cluster and the winner. ``reuse`` and
``replace`` both reattach to the winner when it runs an identical spec, and otherwise fail naming the Flink options
that differ: ``replace`` replaces the cluster that existed when the task decided, never one launched concurrently
(two replaces would otherwise delete each other's fresh clusters in turn). So N launches racing for one cluster id
end with exactly one cluster, the winner's, untouched.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airflow_flink_k8s.core.arguments import IF_EXISTS as IF_EXISTS
from airflow_flink_k8s.core.errors import ClusterExistsError, NotOwnedError
from airflow_flink_k8s.core.failure_report import JobManagerFailure, jobmanager_failure
from airflow_flink_k8s.core.names import ANNOTATION_JOB_ID as ANNOTATION_JOB_ID
from airflow_flink_k8s.core.names import ANNOTATION_OWNER_UIDS, config_map_name
from airflow_flink_k8s.core.names import ANNOTATION_PREFIX as ANNOTATION_PREFIX
from airflow_flink_k8s.core.names import ANNOTATION_RUN as ANNOTATION_RUN
from airflow_flink_k8s.core.names import ANNOTATION_SPEC_HASH as ANNOTATION_SPEC_HASH
from airflow_flink_k8s.core.names import ANNOTATION_TRY as ANNOTATION_TRY
from airflow_flink_k8s.core.ownership import Origin, check_manageable, describe, origin
from airflow_flink_k8s.core.report_options import DEFAULT_RESTART_LIMIT
from airflow_flink_k8s.core.spec import FlinkApplicationSpec, FlinkSpecError

#: Spec fields that differ between launches of the same application without making it a different spec.
_NOT_FINGERPRINTED = ("job_id", "restore", "allow_non_restored_state")
#: Spec fields added after clusters were launched with fingerprints: hashed only when set, so the fingerprint of a
#: spec without them stays the one its cluster carries (``if_exists='reuse'`` still reattaches after an upgrade).
_FINGERPRINTED_WHEN_SET = ("jobmanager_pod_template", "logging_files", "pod_template")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class Action(StrEnum):
    CREATE = "create"
    REATTACH = "reattach"
    REPLACE = "replace"
    AWAIT = "await"  # another run's launch of this cluster id has not finished: wait for it, then reattach or fail



@dataclass(frozen=True)
class RunIdentity:
    """The task try that launches."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int

    @property
    def run_key(self) -> str:
        return f"{self.dag_id}/{self.run_id}"


@dataclass(frozen=True)
class Decision:
    action: Action
    job_id: str | None = None
    reason: str = ""


def safe_label_value(value: str) -> str:
    """A Kubernetes label value for ``value``: unsafe runs become ``-``; over 63 chars is cut and hashed."""
    text = _LABEL_UNSAFE.sub("-", value).strip("-_.")
    if len(text) > 63:
        digest = hashlib.sha256(value.encode()).hexdigest()[:8]
        text = f"{text[:54].rstrip('-_.')}-{digest}"
    return text


def spec_fingerprint(spec: FlinkApplicationSpec) -> str:
    """A stable hash of everything that makes two specs the same application."""
    values = {k: v for k, v in spec.to_dict().items()
              if k not in _NOT_FINGERPRINTED and not (k in _FINGERPRINTED_WHEN_SET and not v)}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def launch_labels(run: RunIdentity) -> dict[str, str]:
    return {"dag_id": safe_label_value(run.dag_id), "task_id": safe_label_value(run.task_id),
            "run_id": safe_label_value(run.run_id), "try_number": str(run.try_number)}


def launch_annotations(spec: FlinkApplicationSpec, run: RunIdentity, job_id: str) -> dict[str, str]:
    """The annotations a launch writes on every object (the owner uids only when the spec sets owners)."""
    from airflow_flink_k8s.core.jobmanager_options import owner_references

    owners = [reference["uid"] for reference in owner_references(spec)]
    return {ANNOTATION_JOB_ID: job_id, ANNOTATION_SPEC_HASH: spec_fingerprint(spec),
            ANNOTATION_RUN: json.dumps({"dag_id": run.dag_id, "task_id": run.task_id, "run_id": run.run_id},
                                       sort_keys=True),
            ANNOTATION_TRY: str(run.try_number), **({ANNOTATION_OWNER_UIDS: json.dumps(owners)} if owners else {})}


def mark(obj: dict[str, Any], labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    """``obj`` with the launch labels and annotations added to its metadata (in place; returned for chaining)."""
    meta = obj.setdefault("metadata", {})
    if labels:
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
    if annotations:
        meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
    return obj


#: The ``if_exists`` values ``decide`` handles; ``upgrade`` has its own decision (``core.upgrade_plan``).
DECIDED_IF_EXISTS = ("fail", "reuse", "replace")


def check_if_exists(value: str, allowed: tuple[str, ...] = IF_EXISTS) -> str:
    if value not in allowed:
        raise FlinkSpecError("if_exists", f"must be one of {', '.join(allowed)}", value)
    return value


def launch_finished(deployment: Mapping[str, Any], config: Mapping[str, Any] | None, locked: bool) -> bool:
    """Whether the launch that created ``deployment`` got to its end: no launch lock is held and its job id is on
    ``config`` (``flink-config-<cid>``, the last object a launch writes), or it carries no job id at all (a
    cluster this provider did not launch)."""
    job_id = ((deployment.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_JOB_ID)
    if job_id is None:
        return not locked
    config_job_id = (((config or {}).get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_JOB_ID)
    return not locked and config_job_id == job_id


def launched_by_run(existing: Mapping[str, Any] | None, run: RunIdentity) -> bool:
    """Whether ``existing`` (a Deployment) was launched by an earlier try of this DAG run's task."""
    annotations = ((existing or {}).get("metadata") or {}).get("annotations") or {}
    return _owner_run(annotations) == {"dag_id": run.dag_id, "task_id": run.task_id, "run_id": run.run_id}


def decide(spec: FlinkApplicationSpec, run: RunIdentity, existing: dict[str, Any] | None,
           if_exists: str, *, finished: bool = True, jobmanager_pods: list[dict[str, Any]] | None = None,
           restart_limit: int = DEFAULT_RESTART_LIMIT, adopt_native_clusters: bool = False) -> Decision:
    """What to do given the Deployment ``<cluster-id>`` as the API returned it (None when absent); ``finished``
    says whether its launch got to the end (``launch_finished``); ``jobmanager_pods`` are its JobManager pods,
    read for a retry (``launched_by_run``), classified with ``restart_limit``. ``reuse`` and ``replace`` act only
    on a cluster this provider launched or, with ``adopt_native_clusters``, a native Flink cluster no other
    controller owns (``core.ownership``); anything else raises ``NotOwnedError`` naming it, before any write."""
    check_if_exists(if_exists, DECIDED_IF_EXISTS)
    if existing is None:
        return Decision(Action.CREATE)
    if if_exists != "fail":
        check_manageable(existing, spec.cluster_id, adopt_native_clusters=adopt_native_clusters,
                         action=f"if_exists={if_exists!r}")
    annotations = (existing.get("metadata") or {}).get("annotations") or {}
    same_spec = annotations.get(ANNOTATION_SPEC_HASH) == spec_fingerprint(spec)
    job_id = annotations.get(ANNOTATION_JOB_ID)
    deleting = bool((existing.get("metadata") or {}).get("deletionTimestamp"))
    owner_run = _owner_run(annotations)
    ours = owner_run == {"dag_id": run.dag_id, "task_id": run.task_id, "run_id": run.run_id}
    where = _where(spec)
    launched_by = _launched_by(owner_run)
    if not deleting and not finished:
        if ours:  # an earlier try of this task failed half-way and its roll-back failed too
            return Decision(Action.REPLACE, reason=f"{where} was left half-created by an earlier try of this task; "
                                                   "replacing it")
        if if_exists != "fail":
            return Decision(Action.AWAIT, reason=f"{where} is still being launched ({launched_by}); waiting for it")
    failure = jobmanager_failure(jobmanager_pods or [], restart_limit) if ours else None
    if not deleting and same_spec and job_id and ours and failure is not None:
        return Decision(Action.REPLACE, reason=_replacing_broken(where, failure, spec.restore))
    if not deleting and same_spec and job_id and (ours or if_exists == "reuse"):
        return Decision(Action.REATTACH, job_id, f"{where} is already running this spec ({launched_by})")
    if if_exists == "replace":
        return Decision(Action.REPLACE, reason=f"{where} exists ({launched_by}); replacing it")
    if if_exists == "reuse":
        why = "is being deleted" if deleting else "runs a different spec"
        raise ClusterExistsError(f"{where} already exists and {why} ({launched_by}); if_exists='reuse' reattaches "
                                 "only to an identical running spec. Use if_exists='replace' or another cluster_id.")
    raise ClusterExistsError(f"{where} already exists ({launched_by}). Set if_exists='reuse' to reattach to an "
                             "identical spec or if_exists='replace' to relaunch it, or choose another cluster_id.")


def _replacing_broken(where: str, failure: JobManagerFailure, restore: str) -> str:
    then = "resumed from its latest checkpoint" if restore == "latest" else "launched afresh"
    return (f"{where} was launched by an earlier try of this task, but its JobManager cannot start "
            f"({failure.summary()}); restart counts only grow, so reattaching would fail again: replacing it, {then}")


def _where(spec: FlinkApplicationSpec) -> str:
    return f"Flink cluster {spec.cluster_id!r} in namespace {spec.namespace!r}"


def _launched_by(owner_run: Mapping[str, Any]) -> str:
    if not owner_run:
        return "not launched by this provider"
    return f"launched by {owner_run.get('dag_id')}.{owner_run.get('task_id')} run {owner_run.get('run_id')}"


def _owner_run(annotations: Mapping[str, str]) -> dict[str, Any]:
    try:
        found = json.loads(annotations.get(ANNOTATION_RUN, "{}"))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def decide_after_lost_race(spec: FlinkApplicationSpec, run: RunIdentity, winner: dict[str, Any] | None,
                           if_exists: str, winner_config: Mapping[str, Any] | None = None) -> Decision:
    """Reattach to the launch that won the race for the cluster id, or raise ``ClusterExistsError`` saying why not.

    ``winner`` is the object that holds the id (the Deployment, once that launch finished; for ``fail`` also the
    CLI launch lock), None when that launch failed and let the id go; ``winner_config`` is its
    ``flink-config-<cid>`` ConfigMap, to name the options that differ.
    """
    check_if_exists(if_exists)
    where = _where(spec)
    if winner is None:
        raise ClusterExistsError(f"{where}: another task instance took the cluster id while this one was launching, "
                                 "then its launch failed and removed the cluster; nothing to reattach to. Retry the "
                                 "task to launch again.")
    annotations = (winner.get("metadata") or {}).get("annotations") or {}
    launched_by = _launched_by(_owner_run(annotations))
    if if_exists != "fail" and (found := origin(winner, spec.cluster_id)) is not Origin.PROVIDER:
        raise NotOwnedError(f"{where}: while this task was launching, the cluster id was taken by "
                            f"{describe(winner)}, which is {found.value}; if_exists={if_exists!r} reattaches only "
                            "to a launch of this provider and leaves it alone.")
    if if_exists == "fail":
        raise ClusterExistsError(f"{where} was launched concurrently by another task instance ({launched_by}), "
                                 "which created it first. Set if_exists='reuse' to reattach to an identical spec, or "
                                 "choose another cluster_id.")
    mine, theirs = spec_fingerprint(spec), annotations.get(ANNOTATION_SPEC_HASH)
    job_id = annotations.get(ANNOTATION_JOB_ID)
    if theirs == mine and job_id and not (winner.get("metadata") or {}).get("deletionTimestamp"):
        return Decision(Action.REATTACH, job_id, f"{where} was launched concurrently with this spec ({launched_by}); "
                                                 "reattaching to it")
    differing = differing_options(spec, winner_config)
    raise ClusterExistsError(
        f"{where} was launched concurrently by another task instance ({launched_by}) with a different spec: spec "
        f"hash {theirs or 'none'} there, {mine} here; Flink options that differ: "
        f"{', '.join(differing) if differing else 'none readable in ' + config_map_name(spec.cluster_id)}. This task "
        f"lost the race for the cluster id and leaves that cluster running (if_exists={if_exists!r} never deletes a "
        "cluster launched after this task decided). Use another cluster_id, or rerun to replace it.")


def differing_options(spec: FlinkApplicationSpec, config_map: Mapping[str, Any] | None) -> list[str]:
    """The Flink options of ``spec`` whose value in another launch's ``flink-config-<cid>`` ConfigMap differs.

    Only the keys are named (values may be credentials); the per-launch job id, result stores and restore path
    do not count.
    """
    import yaml  # here, not at module level: the operator module imports this one while DAGs are parsed

    from airflow_flink_k8s.core.configuration import (
        cluster_configuration,
        configuration_file_name,
        key_for,
        serialise_configuration,
    )

    name = configuration_file_name(spec.version)
    text = ((config_map or {}).get("data") or {}).get(name)
    if not isinstance(text, str):
        return []
    try:
        theirs = _flat_configuration(name, text)
    except yaml.YAMLError:
        return []
    mine = _flat_configuration(name, serialise_configuration(cluster_configuration(spec), spec.version))
    from airflow_flink_k8s.core.flink_keys import RESULT_STORES

    per_launch = {key_for("job_id", spec.version), key_for("restore_path", spec.version),
                  *(key for _, key, _ in RESULT_STORES)}
    return sorted(key for key in mine if key not in per_launch and mine.get(key) != theirs.get(key))


def _flat_configuration(name: str, text: str) -> dict[str, str]:
    """A configuration file's options as dotted keys with string values, for comparing two files."""
    import yaml

    if name == "flink-conf.yaml":
        pairs = (line.partition(":") for line in text.splitlines() if not line.lstrip().startswith("#"))
        return {key.strip(): value.strip() for key, sep, value in pairs if sep and key.strip()}
    flat: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        else:
            flat[prefix] = json.dumps(node, sort_keys=True, default=str)

    walk(yaml.safe_load(text) or {}, "")
    return flat
