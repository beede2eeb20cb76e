"""The ``extra`` of the Asset events a launch, a wait or a teardown emits: what the task found Flink did.

Built from the task's XCom (its return value), whose values come from Flink where Flink was asked: the job id,
Flink version and state from REST, the latest completed checkpoint from ``/jobs/<id>/checkpoints``, a bounded job's
outcome from ``/jobs/<id>`` and its accumulators, the savepoint an upgrade restored from as Flink's savepoint status
named it. Nothing of the spec's configuration is copied (no ``flink_conf``: it may hold credentials). Every value is
plain JSON (strings, numbers, booleans, lists and dicts of them).

Keys: ``cluster_id``, ``namespace``, ``job_id``, ``flink_version`` and ``reached`` always (``None`` when not known,
e.g. the job id of a sensor waiting for ``leader``); the others only when known.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_flink_k8s.core.errors import FlinkSpecError

#: ``reached`` of a launch that did not wait: its objects were created (or reattached to); Flink confirmed nothing.
SUBMITTED = "submitted"
#: ``reached`` of a teardown that deleted the cluster, and of one that found it already gone.
DELETED = "deleted"
ALREADY_GONE = "already_gone"

#: Readiness details (``core.readiness.Readiness.details``) carried over as they are, when known.
_READINESS_KEYS = ("job_state", "checkpoint_id", "checkpoint_path", "checkpoint_time", "restored_from")


def check_dry_run_outlets(outlets: Sequence[object]) -> None:
    """A dry run creates nothing, yet Airflow emits an event for every outlet of a task that succeeds: refuse
    outlets on a dry run, whose events would tell consumers a stream started."""
    if outlets:
        raise FlinkSpecError("outlets", "must be empty with dry_run=True (a dry run creates nothing, and Airflow "
                             "emits an Asset event for every outlet of a task that succeeds)",
                             [str(outlet) for outlet in outlets])


def launch_extra(result: Mapping[str, Any], wait_until: str | None) -> dict[str, Any]:
    """The event of ``FlinkApplicationOperator``: its XCom ``result`` after launching and, with ``wait_until``,
    waiting (``ready``: Flink's job id, version, state, checkpoint; ``result``: a bounded job's outcome;
    ``teardown``), and ``upgrade`` (the savepoint or mode the new job restored from)."""
    ready: Mapping[str, Any] = result.get("ready") or {}
    extra = {"cluster_id": result["cluster_id"], "namespace": result["namespace"],
             "job_id": ready.get("job_id") or result["job_id"],
             "flink_version": ready.get("flink_version") or result["flink_version"],
             "reached": wait_until or SUBMITTED, "launched": bool(result["launched"]), **_readiness(ready)}
    upgrade: Mapping[str, Any] = result.get("upgrade") or {}
    if upgrade.get("action") == "upgrade":  # not for a reattach, or a first launch under if_exists="upgrade"
        extra |= {"upgrade_mode": upgrade["mode"], "previous_job_id": upgrade["old_job_id"]}
        if upgrade.get("savepoint_path"):  # Flink's own word (a wait for checkpointed read it) comes first
            extra.setdefault("restored_from", upgrade["savepoint_path"])
    if result.get("teardown") is not None:
        extra["cluster_deleted"] = bool(result["teardown"]["deleted"])
    return extra


def wait_extra(cluster_id: str, target: str, details: Mapping[str, Any]) -> dict[str, Any]:
    """The event of ``FlinkJobManagerReadySensor``: its XCom ``details`` once the cluster reached ``target``."""
    return {"cluster_id": cluster_id, "namespace": details.get("namespace"), "job_id": details.get("job_id"),
            "flink_version": details.get("flink_version"), "reached": target, **_readiness(details)}


def teardown_extra(result: Mapping[str, Any]) -> dict[str, Any]:
    """The event of ``FlinkApplicationTeardownOperator``: what it deleted, the savepoint the job stopped with and
    the HA data removed (or kept)."""
    extra = {"cluster_id": result["cluster_id"], "namespace": result["namespace"], "job_id": None,
             "flink_version": None, "reached": DELETED if result["deleted"] else ALREADY_GONE,
             "ha_data_removed": list(result["ha_data_removed"]), "ha_data_kept": bool(result["ha_data_kept"])}
    if result.get("savepoint_path"):
        extra["savepoint_path"] = result["savepoint_path"]
    return extra


def _readiness(ready: Mapping[str, Any]) -> dict[str, Any]:
    """The job state and latest checkpoint a wait read, and a FINISHED job's outcome (``core.job_result``)."""
    extra = {key: ready[key] for key in _READINESS_KEYS if ready.get(key) is not None}
    outcome: Mapping[str, Any] | None = ready.get("result")
    if outcome is not None:
        application = outcome.get("application") or {}
        extra |= {"final_state": outcome["state"], "start_time": outcome["start_time"],
                  "end_time": outcome["end_time"], "duration_ms": outcome["duration_ms"],
                  "accumulators": dict(outcome["accumulators"])}
        if application:
            extra["application_id"] = application["id"]
    return extra
