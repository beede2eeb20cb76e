"""``if_exists="upgrade"``: replace the running cluster with the new spec in one task, carrying its state over as
``upgrade_mode`` says (``core.upgrade_plan``).

Read the Deployment and the upgrade record, decide (``decide_upgrade``), then:

* ``savepoint``: record the upgrade, stop the job with a savepoint into the spec's savepoint dir (the trigger, then
  the path, recorded as soon as Flink gives them), delete the old cluster, launch the new spec restoring from the
  savepoint with a new job id;
* ``last-state``: check the running job has a completed checkpoint, record, delete the cluster keeping its HA data,
  resume from the latest checkpoint with the new spec (the stored job graph dropped, as ``restore="latest"``);
* ``stateless``: record, delete, launch empty;
* a recorded upgrade (an earlier try that died or failed half-way): finish it from the record, never taking a
  second savepoint and never starting empty where state was taken.

A savepoint that fails leaves the old job running and the record deleted. A relaunch that fails raises
``UpgradeRelaunchError`` naming the savepoint, and the record stays for the next try.
"""

from __future__ import annotations

import dataclasses
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_flink_k8s.core.errors import (
    ClusterExistsError,
    FlinkSpecError,
    KubernetesApiError,
    SavepointError,
    SavepointTimeoutError,
    UpgradeRelaunchError,
)
from airflow_flink_k8s.core.job_id import NONCE_BYTES, derive_job_id
from airflow_flink_k8s.core.jobmanager_options import check_native_options
from airflow_flink_k8s.core.launch_plan import RunIdentity, launch_finished, launched_by_run
from airflow_flink_k8s.core.names import config_map_name, launch_lock_name, upgrade_record_name
from airflow_flink_k8s.core.spec import FlinkApplicationSpec, spec_warnings
from airflow_flink_k8s.core.upgrade_plan import (
    UpgradeAction,
    UpgradeRecord,
    check_upgrade,
    decide_upgrade,
    parse_record,
    record_object,
    relaunch_spec,
    savepoint_uri,
)
from airflow_flink_k8s.flows import TaskLog
from airflow_flink_k8s.flows.cluster_deletion import delete_cluster
from airflow_flink_k8s.flows.ha_state import HaLocation, latest_checkpoints
from airflow_flink_k8s.flows.launch import (
    LaunchResult,
    LaunchSettings,
    after_lost_race,
    launch_fresh,
    launch_job_id,
    launch_result,
    with_web_ui_template,
)
from airflow_flink_k8s.flows.teardown import SavepointRequest, await_savepoint, stop_with_savepoint
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook


@dataclass(frozen=True)
class UpgradeSettings:
    """``upgrade_mode`` (``savepoint``, ``last-state``, ``stateless``) and how long a savepoint may take."""

    mode: str
    savepoint_timeout: float = 600


def upgrade(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity, settings: LaunchSettings,
            options: UpgradeSettings, log: TaskLog) -> LaunchResult:
    """Upgrade the cluster under ``spec.cluster_id`` to ``spec`` (see the module); the XCom gains ``upgrade``:
    ``action``, ``mode``, ``old_job_id`` and ``savepoint_path``."""
    check_upgrade(spec, options.mode)
    if settings.launcher == "native":
        check_native_options(spec)  # before anything is read, stopped, replaced or created
    for warning in spec_warnings(spec):
        log.warning("Flink cluster %s/%s: %s", spec.namespace, spec.cluster_id, warning)
    settings = with_web_ui_template(k8s, settings)
    cid, ns = spec.cluster_id, spec.namespace
    existing = k8s.get("Deployment", cid, ns)
    record = parse_record(k8s.get("ConfigMap", upgrade_record_name(cid), ns), cid)
    finished = existing is None or launch_finished(existing, k8s.get("ConfigMap", config_map_name(cid), ns),
                                                   k8s.get("ConfigMap", launch_lock_name(cid), ns) is not None)
    decision = decide_upgrade(spec, existing, record, finished=finished, ours=launched_by_run(existing, run),
                              adopt_native_clusters=settings.adopt_native_clusters)
    log.info("Flink cluster %s/%s: %s %s", ns, cid, decision.action.value, decision.reason)
    if decision.stale_record:
        _drop_record(k8s, spec)
    info: dict[str, Any] = {"action": decision.action.value, "mode": options.mode, "old_job_id": None,
                            "savepoint_path": None}
    if decision.action is UpgradeAction.AWAIT:
        return _with_info(after_lost_race(k8s, spec, run, settings, existing, log), info)
    if decision.action is UpgradeAction.REATTACH:
        if record is not None:
            _drop_record(k8s, spec)
        reattached = dataclasses.replace(spec, job_id=decision.job_id)
        return _with_info(launch_result(k8s, reattached, settings, created_uid=None), info)
    if decision.action in (UpgradeAction.CREATE, UpgradeAction.REPLACE):
        if existing is not None:
            delete_cluster(k8s, cid, ns, timeout=settings.delete_timeout, uid=existing["metadata"]["uid"])
        fresh = dataclasses.replace(spec, job_id=launch_job_id(k8s, spec, run, settings))
        return _with_info(launch_fresh(k8s, fresh, run, settings, log, replaced=existing is not None), info)
    if decision.action is UpgradeAction.UPGRADE:
        assert existing is not None and decision.job_id is not None
        record = _begin(k8s, spec, run, settings, existing, decision.job_id, options, log)
    assert record is not None
    return _finish(k8s, spec, run, settings, options, record, existing, log)


def _begin(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity, settings: LaunchSettings,
           existing: dict[str, Any], old_job_id: str, options: UpgradeSettings, log: TaskLog) -> UpgradeRecord:
    """Record the upgrade, then (``savepoint``) stop the job with a savepoint; the record as it then stands."""
    where = f"Flink cluster {spec.namespace}/{spec.cluster_id}"
    if options.mode == "last-state":
        found = latest_checkpoints(k8s, HaLocation.of_spec(spec, settings.zookeeper_conn_id))
        if old_job_id not in found:
            raise FlinkSpecError("upgrade_mode", f"'last-state' needs a completed checkpoint of the running job "
                                 f"{old_job_id} in the HA metadata of {where}; it has none yet (checkpointed jobs "
                                 f"there: {sorted(found) or 'none'}). Nothing was changed: wait for a checkpoint or "
                                 "use upgrade_mode='savepoint'.")
    job_id = old_job_id if options.mode == "last-state" else derive_job_id(
        spec.cluster_id, run.run_key, run.task_id, secrets.token_bytes(NONCE_BYTES))
    record = UpgradeRecord(mode=options.mode, old_uid=existing["metadata"]["uid"], old_job_id=old_job_id,
                           job_id=job_id, started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                           run={"dag_id": run.dag_id, "task_id": run.task_id, "run_id": run.run_id})
    try:
        k8s.create(record_object(spec.cluster_id, spec.namespace, record), spec.namespace)
    except KubernetesApiError as error:
        if error.status != 409:
            raise
        raise ClusterExistsError(f"{where}: another task began an upgrade of it after this one read it (ConfigMap "
                                 f"{upgrade_record_name(spec.cluster_id)} appeared); nothing was changed. Run the "
                                 "task again to finish or follow that upgrade.") from None
    log.info("%s: upgrade (%s) of job %s recorded in ConfigMap %s/%s", where, options.mode, old_job_id,
             spec.namespace, upgrade_record_name(spec.cluster_id))
    if options.mode != "savepoint":
        return record
    try:  # the savepoint's trigger and path are recorded by updates: one must be allowed before the job is stopped
        record = _update_record(k8s, spec, record)
    except KubernetesApiError:
        with suppress(KubernetesApiError):
            _drop_record(k8s, spec)
        raise
    return _take_savepoint(k8s, spec, existing, record, options, log)


def _take_savepoint(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, existing: dict[str, Any],
                    record: UpgradeRecord, options: UpgradeSettings, log: TaskLog) -> UpgradeRecord:
    """Stop the old job with a savepoint into the spec's savepoint dir, recording the trigger and then the path.
    A savepoint Flink refuses or fails leaves the job running: the record goes and the task fails."""
    current = [record]

    def on_trigger(trigger: str) -> None:
        current[0] = _update_record(k8s, spec, dataclasses.replace(current[0], trigger_id=trigger))

    request = SavepointRequest(spec.savepoint_dir, False, record.old_job_id, options.savepoint_timeout)
    try:
        path = stop_with_savepoint(k8s, spec.cluster_id, spec.namespace, existing, request, log, on_trigger)
    except SavepointTimeoutError as error:
        raise SavepointTimeoutError(f"{error}. The upgrade stays recorded: the next try reads this savepoint's "
                                    "outcome and finishes the upgrade (or, if it failed, takes a new one)") from None
    except SavepointError as error:
        _drop_record(k8s, spec)
        raise SavepointError(f"{error}. The upgrade was not done: the old cluster and its job {record.old_job_id} "
                             "were left as they were (Flink keeps a job running when its stop-with-savepoint "
                             "fails)") from None
    return _update_record(k8s, spec, dataclasses.replace(current[0], savepoint_path=savepoint_uri(path)))


def _finish(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity, settings: LaunchSettings,
            options: UpgradeSettings, record: UpgradeRecord, existing: dict[str, Any] | None,
            log: TaskLog) -> LaunchResult:
    """Delete what runs under the id (the old cluster, or a half-created relaunch) and launch the new spec from the
    recorded state; drop the record once the new cluster is created."""
    where = f"Flink cluster {spec.namespace}/{spec.cluster_id}"
    if record.restore() is None:  # a savepoint was requested but its outcome was never recorded
        if existing is None or existing["metadata"]["uid"] != record.old_uid:
            raise SavepointError(
                f"{where}: the stop-with-savepoint of job {record.old_job_id} begun at {record.started_at} was "
                "interrupted before its outcome was recorded, and the cluster is gone. Its savepoint, if it "
                f"completed, is under {spec.savepoint_dir}/savepoint-{record.old_job_id[:6]}-*: launch with "
                f"restore=<that path> (or delete ConfigMap {upgrade_record_name(spec.cluster_id)} to upgrade "
                "afresh).")
        resolved = _resolve_savepoint(k8s, spec, record, options, log)
        if resolved is None:  # that savepoint failed and the job runs on: upgrade as if for the first time
            record = _begin(k8s, spec, run, settings, existing, record.old_job_id, options, log)
        else:
            record = resolved
    try:
        if existing is not None:
            delete_cluster(k8s, spec.cluster_id, spec.namespace, timeout=settings.delete_timeout,
                           uid=existing["metadata"]["uid"])
        relaunch = relaunch_spec(spec, record)
        log.info("%s: relaunching the new spec as job %s, restoring %s", where, record.job_id, relaunch.restore)
        relaunch = dataclasses.replace(relaunch, job_id=launch_job_id(k8s, relaunch, run, settings))
        launched = launch_fresh(k8s, relaunch, run, settings, log, replaced=existing is not None)
    except Exception as error:
        state = {"savepoint": f"its state is in savepoint {record.savepoint_path}",
                 "last-state": f"its state is the latest checkpoint of job {record.job_id} in the kept HA metadata",
                 "stateless": "it starts empty"}[record.mode]
        raise UpgradeRelaunchError(
            f"{where}: the upgrade ({record.mode}) took the old job's state, then replacing the cluster with the "
            f"new spec failed: {error}\nThe upgrade stays recorded in ConfigMap "
            f"{upgrade_record_name(spec.cluster_id)}; {state}. Retry the task (any try or run upgrading this "
            "cluster id) to finish it from there.", record.savepoint_path) from error
    _drop_record(k8s, spec)
    return _with_info(launched, {"action": "upgrade", "mode": record.mode, "old_job_id": record.old_job_id,
                                 "savepoint_path": record.savepoint_path})


def _resolve_savepoint(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, record: UpgradeRecord,
                       options: UpgradeSettings, log: TaskLog) -> UpgradeRecord | None:
    """The record with the path of the savepoint its trigger took, read from the old JobManager; None (and the
    record dropped) when no stop was accepted or that savepoint failed, so the job runs on."""
    if record.trigger_id is None:
        _drop_record(k8s, spec)
        return None
    try:
        path = await_savepoint(k8s, spec.cluster_id, spec.namespace, record.old_job_id, record.trigger_id,
                               timeout=options.savepoint_timeout, log=log)
    except SavepointTimeoutError:
        raise
    except SavepointError as error:
        log.warning("the recorded savepoint of job %s did not complete (%s); taking a new one", record.old_job_id,
                    error)
        _drop_record(k8s, spec)
        return None
    return _update_record(k8s, spec, dataclasses.replace(record, savepoint_path=savepoint_uri(path)))


def _update_record(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, record: UpgradeRecord) -> UpgradeRecord:
    """Write ``record`` over the stored one (compare-and-swap on the one this task wrote or read)."""
    current = k8s.get("ConfigMap", upgrade_record_name(spec.cluster_id), spec.namespace)
    stored = parse_record(current, spec.cluster_id)
    if current is None or stored is None or (stored.old_uid, stored.job_id) != (record.old_uid, record.job_id):
        raise ClusterExistsError(f"Flink cluster {spec.namespace}/{spec.cluster_id}: the upgrade record "
                                 f"{upgrade_record_name(spec.cluster_id)} was removed or changed by another task "
                                 "during this upgrade; stopping here.")
    k8s.replace(record_object(spec.cluster_id, spec.namespace, record, current["metadata"]["resourceVersion"]),
                spec.namespace)
    return record


def _drop_record(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec) -> None:
    k8s.delete("ConfigMap", upgrade_record_name(spec.cluster_id), spec.namespace)


def _with_info(result: LaunchResult, info: dict[str, Any]) -> LaunchResult:
    return dataclasses.replace(result, xcom={**result.xcom, "upgrade": info})
