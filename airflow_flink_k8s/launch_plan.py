"""What a launch does about an existing cluster, and how launches are marked (pure, no I/O).

Every object a launch creates carries Kubernetes-safe ``dag_id``/``task_id``/``run_id``/``try_number`` labels and
exact-value annotations: the job id, the spec fingerprint and the launching try. ``decide`` reads them back from an
existing Deployment:

* the same DAG run and task with the same spec → ``reattach`` (an Airflow retry never creates a second cluster);
* otherwise ``if_exists`` rules: ``fail`` names the cluster, ``reuse`` reattaches to an identical spec only,
  ``replace`` deletes and relaunches.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airflow_flink_k8s.spec import FlinkApplicationSpec, FlinkSpecError

ANNOTATION_PREFIX = "airflow-flink-k8s.apache.org"
ANNOTATION_JOB_ID = f"{ANNOTATION_PREFIX}/job-id"
ANNOTATION_SPEC_HASH = f"{ANNOTATION_PREFIX}/spec-hash"
ANNOTATION_RUN = f"{ANNOTATION_PREFIX}/run"
ANNOTATION_TRY = f"{ANNOTATION_PREFIX}/try-number"
IF_EXISTS = ("fail", "reuse", "replace")
#: Spec fields that differ between launches of the same application without making it a different spec.
_NOT_FINGERPRINTED = ("job_id", "restore")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class Action(StrEnum):
    CREATE = "create"
    REATTACH = "reattach"
    REPLACE = "replace"


class ClusterExistsError(RuntimeError):
    """The cluster id is taken and ``if_exists`` does not allow using or replacing it."""


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
    values = {k: v for k, v in spec.to_dict().items() if k not in _NOT_FINGERPRINTED}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def launch_labels(run: RunIdentity) -> dict[str, str]:
    return {"dag_id": safe_label_value(run.dag_id), "task_id": safe_label_value(run.task_id),
            "run_id": safe_label_value(run.run_id), "try_number": str(run.try_number)}


def launch_annotations(spec: FlinkApplicationSpec, run: RunIdentity, job_id: str) -> dict[str, str]:
    return {ANNOTATION_JOB_ID: job_id, ANNOTATION_SPEC_HASH: spec_fingerprint(spec),
            ANNOTATION_RUN: json.dumps({"dag_id": run.dag_id, "task_id": run.task_id, "run_id": run.run_id},
                                       sort_keys=True),
            ANNOTATION_TRY: str(run.try_number)}


def mark(obj: dict[str, Any], labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    """``obj`` with the launch labels and annotations added to its metadata (in place; returned for chaining)."""
    meta = obj.setdefault("metadata", {})
    if labels:
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
    if annotations:
        meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
    return obj


def check_if_exists(value: str) -> str:
    if value not in IF_EXISTS:
        raise FlinkSpecError("if_exists", f"must be one of {', '.join(IF_EXISTS)}", value)
    return value


def decide(spec: FlinkApplicationSpec, run: RunIdentity, existing: dict[str, Any] | None,
           if_exists: str) -> Decision:
    """What to do given the Deployment ``<cluster-id>`` as the API returned it (None when absent)."""
    check_if_exists(if_exists)
    if existing is None:
        return Decision(Action.CREATE)
    annotations = (existing.get("metadata") or {}).get("annotations") or {}
    same_spec = annotations.get(ANNOTATION_SPEC_HASH) == spec_fingerprint(spec)
    job_id = annotations.get(ANNOTATION_JOB_ID)
    deleting = bool((existing.get("metadata") or {}).get("deletionTimestamp"))
    try:
        owner_run = json.loads(annotations.get(ANNOTATION_RUN, "{}"))
    except ValueError:
        owner_run = {}
    ours = owner_run == {"dag_id": run.dag_id, "task_id": run.task_id, "run_id": run.run_id}
    where = f"Flink cluster {spec.cluster_id!r} in namespace {spec.namespace!r}"
    launched_by = (f"launched by {owner_run.get('dag_id')}.{owner_run.get('task_id')} run {owner_run.get('run_id')}"
                   if owner_run else "not launched by this provider")
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
