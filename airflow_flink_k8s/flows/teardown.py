"""The teardown of one application cluster: optionally stop its job with a savepoint, delete the Deployment (its
Services, ConfigMaps and pods cascade), wait until it is gone, then remove its HA data unless it is kept (to resume
later with ``restore="latest"``) and its leftover files on the HA storage dir (``flows.ha_storage``). A failed
savepoint fails the teardown before anything is deleted. It acts only on what it recognises as the cluster's
(``core.ownership``, ``core.ha_data``) and names anything else it refuses."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_flink_k8s.core import rest_api
from airflow_flink_k8s.core.errors import FlinkSpecError, SavepointError, SavepointTimeoutError
from airflow_flink_k8s.core.names import ANNOTATION_JOB_ID
from airflow_flink_k8s.core.ownership import check_manageable
from airflow_flink_k8s.core.readiness import RestResponse
from airflow_flink_k8s.core.rest_endpoint import AccessMode, RestEndpoint, resolve_rest_endpoint
from airflow_flink_k8s.flows import TaskLog
from airflow_flink_k8s.flows.cluster_deletion import delete_cluster
from airflow_flink_k8s.flows.ha_state import HaLocation, remove_ha_data
from airflow_flink_k8s.flows.ha_storage import cluster_storage_dir_of, remove_ha_storage
from airflow_flink_k8s.hooks.flink_rest import SyncFlinkRestClient
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

#: Seconds between two reads of a savepoint's status.
SAVEPOINT_POLL_INTERVAL = 1.0


@dataclass(frozen=True)
class SavepointRequest:
    """Stop the job with a savepoint into ``directory`` (the cluster's own savepoint dir when None); ``drain`` as
    Flink's ``--drain``; ``job_id`` defaults to the one the launch recorded on the Deployment."""

    directory: str | None = None
    drain: bool = False
    job_id: str | None = None
    timeout: float = 600


def teardown(k8s: FlinkKubernetesHook, where: HaLocation, *, keep_ha_data: bool, delete_timeout: float,
             savepoint: SavepointRequest | None, log: TaskLog, adopt_native_clusters: bool = False,
             remove_orphaned_ha_data: bool = False) -> dict[str, Any]:
    """Tear the cluster down (see the module); returns ``cluster_id``, ``namespace``, ``deleted`` (False when it
    was already gone), ``savepoint_path``, ``ha_data_removed`` and ``ha_data_kept``.

    Only a cluster this provider launched (or, with ``adopt_native_clusters``, a native Flink cluster no other
    controller owns) is stopped and deleted; anything else under the name raises ``NotOwnedError`` before any
    request that changes something. With no Deployment, HA data is removed only with ``remove_orphaned_ha_data``.
    """
    deployment = k8s.get("Deployment", where.cluster_id, where.namespace)
    existed = deployment is not None
    if deployment is not None:
        check_manageable(deployment, where.cluster_id, adopt_native_clusters=adopt_native_clusters,
                         action="teardown")
    savepoint_path = None
    if savepoint is not None and deployment is not None:
        savepoint_path = stop_with_savepoint(k8s, where.cluster_id, where.namespace, deployment, savepoint, log)
    kept = keep_ha_data or not (existed or remove_orphaned_ha_data)
    storage_dir = None if kept or where.ha == "none" else cluster_storage_dir_of(k8s, where, log)
    if deployment is not None:
        delete_cluster(k8s, where.cluster_id, where.namespace, timeout=delete_timeout,
                       uid=deployment["metadata"]["uid"])
    removed = [] if kept else remove_ha_data(k8s, where, log, leader_grace=delete_timeout if existed else 0.0)
    removed += remove_ha_storage(storage_dir, where.cluster_id, log)
    log.info("Flink cluster %s/%s %s; HA data %s", where.namespace, where.cluster_id,
             "deleted" if existed else "was already gone",
             "kept" if kept else (", ".join(removed) or "none found"))
    return {"cluster_id": where.cluster_id, "namespace": where.namespace, "deleted": existed,
            "savepoint_path": savepoint_path, "ha_data_removed": removed, "ha_data_kept": kept}


def stop_with_savepoint(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, deployment: dict[str, Any],
                        request: SavepointRequest, log: TaskLog,
                        on_trigger: Callable[[str], None] | None = None) -> str:
    """Stop the Deployment's job with a savepoint (through the API server's service proxy) and return its
    location; raise ``SavepointError`` with Flink's reason when it is refused, fails or does not finish in time.
    ``on_trigger`` gets the savepoint's trigger id as soon as Flink accepted the stop."""
    job_id = request.job_id or (deployment["metadata"].get("annotations") or {}).get(ANNOTATION_JOB_ID)
    if not job_id:
        raise FlinkSpecError("job_id", "is required for savepoint=True when the cluster was not launched by "
                             "FlinkApplicationOperator (no job id recorded on its Deployment)")
    where = f"Flink cluster {namespace}/{cluster_id}, job {job_id}"
    with SyncFlinkRestClient(_proxy(k8s, cluster_id, namespace)) as rest:
        answer = rest.trigger_stop_with_savepoint(job_id, request.directory, request.drain)
        if answer.status not in (200, 202):
            raise SavepointError(f"{where}: stop-with-savepoint was refused ({answer.status or answer.error}): "
                                 f"{_reason(answer)}")
        trigger = rest_api.parse_trigger_id(answer.body)
        if on_trigger is not None:
            on_trigger(trigger)
        return _await(rest, where, job_id, trigger, request.timeout, log)


def await_savepoint(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, job_id: str, trigger: str, *,
                    timeout: float, log: TaskLog) -> str:
    """The location of the savepoint a stop-with-savepoint ``trigger`` of ``job_id`` takes, once it is complete;
    ``SavepointError`` when it failed, is unknown to the JobManager or does not finish within ``timeout``."""
    with SyncFlinkRestClient(_proxy(k8s, cluster_id, namespace)) as rest:
        return _await(rest, f"Flink cluster {namespace}/{cluster_id}, job {job_id}", job_id, trigger, timeout, log)


def _proxy(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str) -> RestEndpoint:
    endpoint = resolve_rest_endpoint(AccessMode.PROXY, leader_address=None, cluster_id=cluster_id,
                                     namespace=namespace, api_server=k8s.api_server())
    assert endpoint is not None
    return endpoint


def _await(rest: SyncFlinkRestClient, where: str, job_id: str, trigger: str, timeout: float, log: TaskLog) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = rest.savepoint_status(job_id, trigger)
        if status.status in (401, 403):
            raise SavepointError(f"{where}: reading the savepoint status was refused ({status.status}): "
                                 f"{_reason(status)}")
        if status.status == 200:
            done, location, failure = rest_api.parse_savepoint_status(status.body)
            if done and failure:
                raise SavepointError(f"{where}: the savepoint failed: {failure}")
            if done and location:
                log.info("%s stopped with savepoint %s", where, location)
                return location
        time.sleep(SAVEPOINT_POLL_INTERVAL)
    raise SavepointTimeoutError(f"{where}: no savepoint within {timeout:.0f} s; nothing was deleted")


def _reason(answer: RestResponse) -> str:
    """Flink's (or the API server's) error messages of a refused request, else its body."""
    return "; ".join(rest_api.error_messages(answer.body)) or str(answer.body)
