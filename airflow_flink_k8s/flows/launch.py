"""The launch of one application cluster, start to end: read what exists under the cluster id, decide
(``core.launch_plan.decide``), then reattach, wait for a concurrent launch that won the cluster id, or (after
deleting the cluster being replaced) launch fresh: pick the job id, clean leftover HA data once the cluster id is
held, and run the chosen launcher. Returns what the operator pushes as its XCom.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_flink_k8s.core.errors import ClusterIdTakenError, FlinkSpecError
from airflow_flink_k8s.core.job_id import derive_job_id
from airflow_flink_k8s.core.launch_plan import (
    Action,
    RunIdentity,
    check_if_exists,
    decide,
    decide_after_lost_race,
    launch_annotations,
    launch_finished,
    launch_labels,
)
from airflow_flink_k8s.core.names import config_map_name, launch_lock_name, service_rest_url
from airflow_flink_k8s.core.rest_endpoint import AccessMode, resolve_rest_endpoint
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows import TaskLog
from airflow_flink_k8s.flows.cli_launcher import CliLauncher
from airflow_flink_k8s.flows.cluster_deletion import delete_cluster
from airflow_flink_k8s.flows.ha_state import HaLocation, checkpointed_jobs, remove_ha_data
from airflow_flink_k8s.flows.native_launcher import NativeLauncher
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

#: Seconds a launch that lost the cluster id waits for the winner's launch to finish (plus the cli timeout).
CONCURRENT_LAUNCH_TIMEOUT = 120.0


@dataclass(frozen=True)
class LaunchSettings:
    """How to launch, beside the spec (the operator's arguments that are not spec fields)."""

    if_exists: str = "fail"
    launcher: str = "native"
    delete_timeout: float = 300
    zookeeper_conn_id: str | None = None
    flink_bin: str = "flink"
    cli_timeout: float = 300
    flink_conf_dir: str | None = None
    #: Airflow's sensitive field names: ``flink_conf`` keys matching them reach the cli launcher's client off argv.
    sensitive_fields: frozenset[str] = field(default_factory=frozenset)
    #: ``reuse``/``replace`` may also act on a native Flink cluster this provider did not launch (``core.ownership``).
    adopt_native_clusters: bool = False

    def __post_init__(self) -> None:
        check_if_exists(self.if_exists)


@dataclass(frozen=True)
class LaunchResult:
    """What a launch did: ``spec`` with the job id the cluster runs, whether this launch created the cluster,
    and ``xcom`` (``cluster_id``, ``namespace``, ``job_id``, ``rest_url``, ``checkpoint_dir``, ``savepoint_dir``,
    ``flink_version``, ``web_ui_url``, ``launched``)."""

    spec: FlinkApplicationSpec
    created: bool
    xcom: dict[str, Any]


def launch(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity, settings: LaunchSettings,
           log: TaskLog) -> LaunchResult:
    """Launch ``spec`` for the task try ``run``, or reattach to the cluster it already runs (see the module)."""
    existing = k8s.get("Deployment", spec.cluster_id, spec.namespace)
    decision = decide(spec, run, existing, settings.if_exists, finished=existing is None or launch_finished(
        existing, k8s.get("ConfigMap", config_map_name(spec.cluster_id), spec.namespace),
        k8s.get("ConfigMap", launch_lock_name(spec.cluster_id), spec.namespace) is not None),
        adopt_native_clusters=settings.adopt_native_clusters)
    log.info("Flink cluster %s/%s: %s %s", spec.namespace, spec.cluster_id, decision.action.value, decision.reason)
    if decision.action is Action.AWAIT:
        return _after_lost_race(k8s, spec, run, settings, existing, log)
    if decision.action is Action.REATTACH:
        return _result(k8s, dataclasses.replace(spec, job_id=decision.job_id), created=False)
    if decision.action is Action.REPLACE:
        assert existing is not None
        delete_cluster(k8s, spec.cluster_id, spec.namespace, timeout=settings.delete_timeout,
                       uid=existing["metadata"]["uid"])
    spec = dataclasses.replace(spec, job_id=_job_id(k8s, spec, run, settings))
    return _launch_fresh(k8s, spec, run, settings, log)


def _launch_fresh(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity, settings: LaunchSettings,
                  log: TaskLog) -> LaunchResult:
    assert spec.job_id is not None
    launcher = NativeLauncher(k8s) if settings.launcher == "native" else CliLauncher(
        k8s, settings.flink_bin, timeout=settings.cli_timeout, flink_conf_dir=settings.flink_conf_dir,
        on_line=log.info, sensitive_fields=settings.sensitive_fields)
    log.info("launching %s with job id %s (checkpoints under %s/%s)", spec.cluster_id, spec.job_id,
             spec.checkpoint_dir, spec.job_id)
    try:
        launcher.launch(spec, launch_labels(run), launch_annotations(spec, run, spec.job_id),
                        before_owned=lambda: _prepare_ha(k8s, spec, settings, log))
    except ClusterIdTakenError as lost:
        return _after_lost_race(k8s, spec, run, settings, lost.holder, log)
    return _result(k8s, spec, created=True)


def _prepare_ha(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, settings: LaunchSettings,
                log: TaskLog) -> None:
    """Unless resuming, remove leftover HA data: Flink would otherwise silently recover the old job."""
    if spec.restore != "latest":
        remove_ha_data(k8s, HaLocation.of_spec(spec, settings.zookeeper_conn_id), log)


def _after_lost_race(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity,
                     settings: LaunchSettings, holder: dict[str, Any] | None, log: TaskLog) -> LaunchResult:
    """Another task instance took the cluster id after this one decided (see ``decide_after_lost_race``):
    ``fail`` fails at once; ``reuse``/``replace`` wait for that launch to finish, then reattach to an identical
    spec or fail naming the options that differ."""
    winner, config = holder, None
    if settings.if_exists != "fail":
        timeout = CONCURRENT_LAUNCH_TIMEOUT + (settings.cli_timeout if settings.launcher == "cli" else 0)
        winner = await_concurrent_launch(k8s, spec.cluster_id, spec.namespace, timeout=timeout)
        config = k8s.get("ConfigMap", config_map_name(spec.cluster_id), spec.namespace) if winner else None
    decision = decide_after_lost_race(spec, run, winner, settings.if_exists, config)
    log.info("Flink cluster %s/%s: %s", spec.namespace, spec.cluster_id, decision.reason)
    return _result(k8s, dataclasses.replace(spec, job_id=decision.job_id), created=False)


def await_concurrent_launch(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, *, timeout: float,
                            poll: float = 0.5) -> dict[str, Any] | None:
    """Wait until the launch holding ``cluster_id`` is over; return its Deployment, or None when it failed.

    A launch is over when no launch lock is held and the Deployment's job id is also on ``flink-config-<cid>``,
    the object a launch finishes with (or the Deployment carries no job id: not launched by this provider).
    """
    deadline = time.monotonic() + timeout
    while True:
        deployment = k8s.get("Deployment", cluster_id, namespace)
        locked = k8s.get("ConfigMap", launch_lock_name(cluster_id), namespace) is not None
        if deployment is not None and deployment["metadata"].get("deletionTimestamp"):
            return None
        if deployment is None and not locked:
            return None
        if deployment is not None and not locked:
            config = k8s.get("ConfigMap", config_map_name(cluster_id), namespace)
            if launch_finished(deployment, config, locked):
                return deployment
        if time.monotonic() > deadline:
            raise TimeoutError(f"Flink cluster {namespace}/{cluster_id}: the concurrent launch holding the cluster id "
                               f"did not finish within {timeout:.0f} s")
        time.sleep(poll)


def _job_id(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity,
            settings: LaunchSettings) -> str:
    """Resume: the checkpointed job in the HA data. Fresh: the given id, else one derived from this try."""
    if spec.restore != "latest":
        return spec.job_id or derive_job_id(spec.cluster_id, run.run_key, run.try_number)
    found = checkpointed_jobs(k8s, HaLocation.of_spec(spec, settings.zookeeper_conn_id))
    where = f"cluster {spec.cluster_id!r} ({spec.ha} HA, namespace {spec.namespace!r})"
    if spec.job_id is not None:
        if spec.job_id not in found:
            raise FlinkSpecError("restore", f"'latest' found no completed checkpoint of job {spec.job_id} in the "
                                 f"HA metadata of {where}; checkpointed jobs there: {found or 'none'}")
        return spec.job_id
    if len(found) != 1:
        detail = "none" if not found else f"several ({', '.join(found)}): set job_id to pick one"
        raise FlinkSpecError("restore", f"'latest' needs HA metadata with a completed checkpoint for {where}, "
                             f"as the Flink Kubernetes Operator does; found {detail}. Launch with "
                             "restore='none' or a savepoint path instead.")
    return found[0]


def _result(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, *, created: bool) -> LaunchResult:
    """The launch's XCom; ``launched`` is False when it reattached."""
    ui = resolve_rest_endpoint(AccessMode.PROXY, leader_address=None, cluster_id=spec.cluster_id,
                               namespace=spec.namespace, api_server=k8s.api_server())
    assert ui is not None
    return LaunchResult(spec, created, {
        "cluster_id": spec.cluster_id, "namespace": spec.namespace, "job_id": spec.job_id,
        "rest_url": service_rest_url(spec.cluster_id, spec.namespace),
        "checkpoint_dir": spec.checkpoint_dir, "savepoint_dir": spec.savepoint_dir,
        "flink_version": str(spec.version), "web_ui_url": ui.base_url + "/", "launched": created,
    })
