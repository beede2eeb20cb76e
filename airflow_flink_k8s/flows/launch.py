"""The launch of one application cluster, start to end: read what exists under the cluster id, decide
(``core.launch_plan.decide``), then reattach, wait for a concurrent launch that won the cluster id, or (after
deleting the cluster being replaced) launch fresh: pick the job id, clean leftover HA data once the cluster id is
held, and run the chosen launcher. Returns what the operator pushes as its XCom.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_flink_k8s.core.errors import ClusterIdTakenError, FlinkSpecError
from airflow_flink_k8s.core.file_uris import local_path
from airflow_flink_k8s.core.ha_data import local_checkpoint_path
from airflow_flink_k8s.core.ha_storage import storage_dir_of
from airflow_flink_k8s.core.job_id import NONCE_BYTES, derive_job_id
from airflow_flink_k8s.core.jobmanager_options import check_native_options
from airflow_flink_k8s.core.launch_plan import (
    Action,
    RunIdentity,
    check_if_exists,
    decide,
    decide_after_lost_race,
    launch_annotations,
    launch_finished,
    launch_labels,
    launched_by_run,
)
from airflow_flink_k8s.core.names import (
    config_map_name,
    jobmanager_pods_selector,
    launch_lock_name,
    service_rest_url,
)
from airflow_flink_k8s.core.report_options import DEFAULT_RESTART_LIMIT
from airflow_flink_k8s.core.rest_endpoint import AccessMode, resolve_rest_endpoint
from airflow_flink_k8s.core.spec import FlinkApplicationSpec, spec_warnings
from airflow_flink_k8s.core.web_ui import CONNECTION_EXTRA, check_web_ui_url_template, web_ui_url
from airflow_flink_k8s.flows import TaskLog
from airflow_flink_k8s.flows.cli_launcher import CliLauncher
from airflow_flink_k8s.flows.cluster_deletion import delete_cluster
from airflow_flink_k8s.flows.ha_state import HaLocation, drop_job_graphs, latest_checkpoints, remove_ha_data
from airflow_flink_k8s.flows.ha_storage import remove_ha_storage
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
    #: Restarts in back-off after which a retry replaces its earlier try's crash-looping JobManager.
    jobmanager_restart_limit: int = DEFAULT_RESTART_LIMIT
    #: Airflow's sensitive field names: ``flink_conf`` keys matching them reach the cli launcher's client off argv.
    sensitive_fields: frozenset[str] = field(default_factory=frozenset)
    #: ``reuse``/``replace`` may also act on a native Flink cluster this provider did not launch (``core.ownership``).
    adopt_native_clusters: bool = False
    #: The Web UI link's URL template (``core.web_ui``); None: the connection's extra, else the service proxy.
    web_ui_url_template: str | None = None

    def __post_init__(self) -> None:
        check_if_exists(self.if_exists)
        if self.web_ui_url_template is not None:
            check_web_ui_url_template(self.web_ui_url_template)


@dataclass(frozen=True)
class LaunchResult:
    """What a launch did: ``spec`` with the job id the cluster runs, the uid of the Deployment this launch created
    (None when it reattached), and ``xcom`` (``cluster_id``, ``namespace``, ``job_id``, ``rest_url``,
    ``checkpoint_dir``, ``savepoint_dir``, ``flink_version``, ``web_ui_url``, ``launched``)."""

    spec: FlinkApplicationSpec
    created_uid: str | None
    xcom: dict[str, Any]

    @property
    def created(self) -> bool:
        return self.created_uid is not None


def launch(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity, settings: LaunchSettings,
           log: TaskLog) -> LaunchResult:
    """Launch ``spec`` for the task try ``run``, or reattach to the cluster it already runs (see the module)."""
    if settings.if_exists == "upgrade":
        raise ValueError("flows.launch does not upgrade: if_exists='upgrade' is flows.upgrade.upgrade")
    if settings.launcher == "native":
        check_native_options(spec)  # before anything is read, replaced or created
    for warning in spec_warnings(spec):
        log.warning("Flink cluster %s/%s: %s", spec.namespace, spec.cluster_id, warning)
    settings = with_web_ui_template(k8s, settings)
    existing = k8s.get("Deployment", spec.cluster_id, spec.namespace)
    retried = launched_by_run(existing, run)  # a retry: is the cluster its earlier try launched able to start?
    config = None if existing is None else k8s.get("ConfigMap", config_map_name(spec.cluster_id), spec.namespace)
    decision = decide(spec, run, existing, settings.if_exists, finished=existing is None or launch_finished(
        existing, config, k8s.get("ConfigMap", launch_lock_name(spec.cluster_id), spec.namespace) is not None),
        jobmanager_pods=k8s.list_pods(spec.namespace, jobmanager_pods_selector(spec.cluster_id)) if retried else None,
        restart_limit=settings.jobmanager_restart_limit, adopt_native_clusters=settings.adopt_native_clusters)
    log.info("Flink cluster %s/%s: %s %s", spec.namespace, spec.cluster_id, decision.action.value, decision.reason)
    if decision.action is Action.AWAIT:
        return after_lost_race(k8s, spec, run, settings, existing, log)
    if decision.action is Action.REATTACH:
        return launch_result(k8s, dataclasses.replace(spec, job_id=decision.job_id), settings, created_uid=None)
    if decision.action is Action.REPLACE:
        assert existing is not None
        replaced_storage = storage_dir_of(config)
        delete_cluster(k8s, spec.cluster_id, spec.namespace, timeout=settings.delete_timeout,
                       uid=existing["metadata"]["uid"])
        _remove_replaced_storage(replaced_storage, spec, log)
    spec = dataclasses.replace(spec, job_id=launch_job_id(k8s, spec, run, settings))
    return launch_fresh(k8s, spec, run, settings, log, replaced=decision.action is Action.REPLACE)


def launch_fresh(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity, settings: LaunchSettings,
                  log: TaskLog, *, replaced: bool = False) -> LaunchResult:
    """Create the cluster of ``spec`` (its job id set). ``replaced``: this task has just deleted the cluster under
    the id, whose JobManager's ephemeral ZooKeeper leader nodes may outlive it until its session ends: the HA
    clean-up waits for them up to ``delete_timeout`` instead of taking them for another cluster's."""
    assert spec.job_id is not None
    leader_grace = settings.delete_timeout if replaced else 0.0
    launcher = NativeLauncher(k8s) if settings.launcher == "native" else CliLauncher(
        k8s, settings.flink_bin, timeout=settings.cli_timeout, flink_conf_dir=settings.flink_conf_dir,
        on_line=log.info, sensitive_fields=settings.sensitive_fields)
    log.info("launching %s with job id %s (checkpoints under %s/%s)", spec.cluster_id, spec.job_id,
             spec.checkpoint_dir, spec.job_id)
    try:
        deployment = launcher.launch(spec, launch_labels(run), launch_annotations(spec, run, spec.job_id),
                                     before_owned=lambda: _prepare_ha(k8s, spec, settings, log, leader_grace))
    except ClusterIdTakenError as lost:
        return after_lost_race(k8s, spec, run, settings, lost.holder, log)
    return launch_result(k8s, spec, settings, created_uid=deployment["metadata"]["uid"])


def _prepare_ha(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, settings: LaunchSettings,
                log: TaskLog, leader_grace: float) -> None:
    """Remove leftover HA data, or when resuming only the stored job graphs: Flink would otherwise silently recover
    and run the old job instead of this spec's program. Leftover HA storage files go too (a resume keeps its
    job's)."""
    where = HaLocation.of_spec(spec, settings.zookeeper_conn_id)
    if spec.restore == "latest":
        drop_job_graphs(k8s, where, log)
    else:
        remove_ha_data(k8s, where, log, leader_grace=leader_grace)
    remove_ha_storage(spec.ha_storage_dir if spec.ha != "none" else None, spec.cluster_id, log,
                      resume_job_id=spec.job_id if spec.restore == "latest" else None)


def _remove_replaced_storage(replaced: str | None, spec: FlinkApplicationSpec, log: TaskLog) -> None:
    """The replaced cluster's HA storage files, when the new spec names another dir (``_prepare_ha`` cleans the
    new one): they go too, except for a resume, whose HA metadata still names the files there."""
    new = spec.ha_storage_dir if spec.ha != "none" else None
    if replaced is None or (new is not None and replaced.rstrip("/") == new.rstrip("/")):
        return
    if spec.restore == "latest":
        log.warning("Flink cluster %s/%s: the replaced cluster's HA storage files under %s are kept: the resumed "
                    "job's HA metadata names them", spec.namespace, spec.cluster_id, replaced)
        return
    remove_ha_storage(replaced, spec.cluster_id, log)


def after_lost_race(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity,
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
    return launch_result(k8s, dataclasses.replace(spec, job_id=decision.job_id), settings, created_uid=None)


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


def launch_job_id(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, run: RunIdentity,
                  settings: LaunchSettings) -> str:
    """Resume: the checkpointed job in the HA data, whose last checkpoint must still be there. Fresh: the given
    id, else a new one no other launch has (``derive_job_id`` with fresh random bytes)."""
    if spec.restore != "latest":
        return spec.job_id or derive_job_id(spec.cluster_id, run.run_key, run.task_id,
                                            secrets.token_bytes(NONCE_BYTES))
    latest = latest_checkpoints(k8s, HaLocation.of_spec(spec, settings.zookeeper_conn_id))
    found = sorted(latest)
    where = f"cluster {spec.cluster_id!r} ({spec.ha} HA, namespace {spec.namespace!r})"
    if spec.job_id is not None:
        if spec.job_id not in found:
            raise FlinkSpecError("restore", f"'latest' found no completed checkpoint of job {spec.job_id} in the "
                                 f"HA metadata of {where}; checkpointed jobs there: {found or 'none'}")
        job_id = spec.job_id
    elif len(found) != 1:
        detail = "none" if not found else f"several ({', '.join(found)}): set job_id to pick one"
        raise FlinkSpecError("restore", f"'latest' needs HA metadata with a completed checkpoint for {where}, "
                             f"as the Flink Kubernetes Operator does; found {detail}. Launch with "
                             "restore='none' or a savepoint path instead.")
    else:
        job_id = found[0]
    _check_checkpoint_files(spec, job_id, latest[job_id], where)
    return job_id


def _check_checkpoint_files(spec: FlinkApplicationSpec, job_id: str, checkpoint_id: int, where: str) -> None:
    """Refuse a resume whose last checkpoint's files are gone, when the worker can see them: a ``file:`` (or plain
    path) checkpoint base dir that exists here. Elsewhere (s3, hdfs, a volume only the pods mount) Flink finds out
    and the JobManager's failure surfaces through the failure report."""
    base = local_path(spec.checkpoint_base_dir or "")
    metadata = local_checkpoint_path(spec.checkpoint_dir or "", job_id, checkpoint_id)
    if base is None or metadata is None or not os.path.isdir(base) or os.path.isfile(metadata):
        return
    raise FlinkSpecError("restore", f"'latest' would resume job {job_id} of {where} from checkpoint "
                         f"{checkpoint_id}, the last one its HA metadata names, but {metadata} does not exist (the "
                         "checkpoint dir was moved or deleted); the JobManager would fail to restore it. Restore "
                         "from a savepoint/checkpoint path, or launch with restore='none'.")


def with_web_ui_template(k8s: FlinkKubernetesHook, settings: LaunchSettings) -> LaunchSettings:
    """``settings`` with the Web UI URL template to use: the argument, else the connection's extra (checked here,
    before anything is written), else none."""
    if settings.web_ui_url_template is not None:
        return settings
    extra = k8s.connection_extra(CONNECTION_EXTRA)
    if extra is None:
        return settings
    template = check_web_ui_url_template(extra, f"{CONNECTION_EXTRA} (extra of connection {k8s.kubernetes_conn_id!r})")
    return dataclasses.replace(settings, web_ui_url_template=template)


def launch_result(k8s: FlinkKubernetesHook, spec: FlinkApplicationSpec, settings: LaunchSettings, *,
                  created_uid: str | None) -> LaunchResult:
    """The launch's XCom; ``launched`` is False when it reattached. ``web_ui_url`` is the template's URL, else the
    API server's service-proxy URL."""
    url = None if settings.web_ui_url_template is None else web_ui_url(
        settings.web_ui_url_template, namespace=spec.namespace, cluster_id=spec.cluster_id, job_id=spec.job_id)
    if url is None:
        proxy = resolve_rest_endpoint(AccessMode.PROXY, leader_address=None, cluster_id=spec.cluster_id,
                                      namespace=spec.namespace, api_server=k8s.api_server())
        assert proxy is not None
        url = proxy.base_url + "/"
    return LaunchResult(spec, created_uid, {
        "cluster_id": spec.cluster_id, "namespace": spec.namespace, "job_id": spec.job_id,
        "rest_url": service_rest_url(spec.cluster_id, spec.namespace),
        "checkpoint_dir": spec.checkpoint_dir, "savepoint_dir": spec.savepoint_dir,
        "flink_version": str(spec.version), "web_ui_url": url, "launched": created_uid is not None,
    })
