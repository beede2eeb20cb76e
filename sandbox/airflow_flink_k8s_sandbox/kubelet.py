"""A local "kubelet" for the emulator: it runs Deployment and Pod containers of Flink images as local processes.

It plays three Kubernetes parts on one machine, in a level-triggered loop woken by watches:

* the Deployment controller: every Deployment gets ``spec.replicas`` pods (owned by the Deployment directly;
  there is no ReplicaSet in between) and a status;
* the scheduler: unbound pods are bound to ``sandbox-node`` and marked ``PodScheduled=True`` (Flink's
  ResourceManager registers a TaskManager only after that watch event) when they fit it (:mod:`.scheduling`: node
  selector and affinity, cpu/memory requests within its allocatable, pod count); a pod that does not stays
  Pending with ``PodScheduled=False`` (``Unschedulable``, kube-scheduler's message) and a ``FailedScheduling``
  Warning event, counted up on each retry, as kube-scheduler reports it; a Deployment whose pod create is refused
  (a ResourceQuota) gets a ``ReplicaFailure`` condition and a ``FailedCreate`` event, and is retried;
* the kubelet: a pod's container runs as a local process built the way the Flink image's ``/docker-entrypoint.sh``
  would run it, with ``_POD_IP_ADDRESS=127.0.0.1``, env from Secret/ConfigMap keys (a missing one keeps the
  container Waiting with ``CreateContainerConfigError``, retried), the pod's ConfigMap/Secret volumes written to
  local dirs, one file per key (the one at the container's ``FLINK_CONF_DIR``, ``/opt/flink/conf`` unless its env
  says otherwise, becomes ``FLINK_CONF_DIR``; with none there the image's own conf dir, a copy of the
  distribution's), a PersistentVolumeClaim as one dir per claim shared by the pods and kept after them (its
  existence and ``readOnly`` are not checked), env values and args naming a mounted path mapped to its dir,
  ``/opt/flink/usrlib`` mapped to the local job jars, and
  free loopback ports instead of 8081/6123/6124/6122 so that many clusters fit on one host (a ``hostNetwork`` pod
  has no container ports: Flink binds its own, and a Service's targetPort is the local port). Only
  ``flink-main-container`` runs: init containers and sidecars are named, with their images, in the pod condition
  ``SandboxContainersNotRun``, never silently skipped; so are volumes of other kinds than ConfigMap, Secret,
  emptyDir and PVC (``SandboxVolumesNotHonoured``), which get an empty directory; so are a JobManager's mounted
  TaskManager pod template, which Flink reads by absolute path (``SandboxTaskManagerPodTemplateNotHonoured``), and
  required pod (anti-)affinity (``SandboxSchedulingNotHonoured``). Containers restart
  with back-off (``restartPolicy: Always``); deleted pods are stopped by PID (SIGTERM, then SIGKILL), and stay
  listed (Terminating, held by the ``sandbox.airflow-flink-k8s/process`` finalizer) until their process is gone.

The image ``sandbox/jobmanager-standin[:VERSION]`` runs the lightweight JobManager stand-in
(``sandbox.jobmanager_standin``) instead of Flink, for load tests. Otherwise the image decides the Flink version:
the first ``MAJOR.MINOR.PATCH`` (or ``MAJOR.MINOR``) in its tag, or an ``--image IMAGE=VERSION`` mapping. Each
pod's process PID and port map are published as pod annotations (``sandbox.airflow-flink-k8s/pid``, ``…/ports``)
so tests and ``sandbox status`` can see them.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException

from airflow_flink_k8s_sandbox import flink_dist
from airflow_flink_k8s_sandbox.flink_conf_file import read_flink_conf, write_flink_conf
from airflow_flink_k8s_sandbox.jobmanager_standin import is_standin_image, standin_version
from airflow_flink_k8s_sandbox.kubeconfig import write_kubeconfig
from airflow_flink_k8s_sandbox.processes import ManagedProcess, free_port
from airflow_flink_k8s_sandbox.scheduling import NODE_NAME, unhonoured_scheduling, unschedulable_reason

log = logging.getLogger("airflow_flink_k8s_sandbox.kubelet")

ANNOTATION_PID = "sandbox.airflow-flink-k8s/pid"
ANNOTATION_PORTS = "sandbox.airflow-flink-k8s/ports"
#: How often an unschedulable pod is tried again, and a repeated warning event counted up (kube-scheduler's back-off
#: ends at 10 s).
SCHEDULING_RETRY = 10.0
#: Held on every pod the kubelet runs until its process is stopped (graceful termination).
FINALIZER = "sandbox.airflow-flink-k8s/process"
POD_IP = "127.0.0.1"
CONF_MOUNT = "/opt/flink/conf"
USRLIB_MOUNT = "/opt/flink/usrlib"
MAIN_CONTAINER = "flink-main-container"
#: Pod condition naming the containers the sandbox does not run (init containers and sidecars, e.g. from a pod
#: template): only the Flink main container runs as a local process.
CONDITION_CONTAINERS_NOT_RUN = "SandboxContainersNotRun"

#: Flink options that carry the container ports, per well-known container port.
PORT_OPTIONS = {
    8081: ("rest.port", "rest.bind-port"),
    6123: ("jobmanager.rpc.port", "high-availability.jobmanager.port"),
    6124: ("blob.server.port",),
    6122: ("taskmanager.rpc.port",),
}
#: Everything binds to loopback only.
LOOPBACK_OPTIONS = {
    "jobmanager.bind-host": POD_IP,
    "rest.bind-address": POD_IP,
    "taskmanager.bind-host": POD_IP,
    "taskmanager.host": POD_IP,
}
#: A container's ``/tmp`` is its own: a pod's Flink temp files (the RPC system's jar, blob caches, working dirs,
#: JAAS files) and the scripts' pid file go to this dir of the pod's, where the image's defaults would put them.
POD_TMP_DIR = "tmp"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def image_flink_version(image: str, mapping: dict[str, str]) -> str | None:
    """The Flink version an image stands for, or None when it cannot be told."""
    if image in mapping:
        return mapping[image]
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    match = re.search(r"(\d+\.\d+(?:\.\d+)?)", tag)
    if not match:
        return None
    version = match.group(1)
    if version.count(".") == 1:
        known = [v for v in flink_dist.FLINK_VERSIONS_UNDER_TEST if v.startswith(version + ".")]
        return known[0] if known else None
    return version


def _api_message(exc: ApiException) -> str:
    """The message of the API's ``Status`` answer, or the HTTP reason."""
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except ValueError:
        return str(exc.reason)


def main_container(pod: dict[str, Any]) -> dict[str, Any]:
    """The container the kubelet runs: ``flink-main-container`` (Flink puts it after a template's sidecars)."""
    containers = pod["spec"]["containers"]
    return next((c for c in containers if c.get("name") == MAIN_CONTAINER), containers[0])


def containers_not_run(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``SandboxContainersNotRun`` condition naming each init container and sidecar with its image, or none."""
    main = main_container(pod)
    others = [("init container", c) for c in pod["spec"].get("initContainers") or []]
    others += [("container", c) for c in pod["spec"]["containers"] if c is not main]
    if not others:
        return []
    listed = "; ".join(f"{kind} {c.get('name')!r} (image {c.get('image')!r})" for kind, c in others)
    return [{"type": CONDITION_CONTAINERS_NOT_RUN, "status": "True", "reason": "ImageNotRunnable",
             "lastTransitionTime": _now(),
             "message": f"the sandbox runs only {MAIN_CONTAINER} as a local Flink process; not run: {listed}"}]


#: Pod condition naming the required scheduling terms the sandbox scheduler does not evaluate (pod affinity and
#: anti-affinity): the pod runs as if they held.
CONDITION_SCHEDULING_NOT_HONOURED = "SandboxSchedulingNotHonoured"


def scheduling_not_honoured(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``SandboxSchedulingNotHonoured`` condition naming the pod's required pod (anti-)affinity, or none."""
    kinds = unhonoured_scheduling(pod)
    if not kinds:
        return []
    return [{"type": CONDITION_SCHEDULING_NOT_HONOURED, "status": "True", "reason": "SchedulingNotHonoured",
             "lastTransitionTime": _now(),
             "message": f"the sandbox has one node and does not evaluate required {' or '.join(kinds)}"}]


#: Pod condition naming the main container's volumes the sandbox cannot give their content (a hostPath, NFS, CSI…
#: volume): it mounts an empty directory there instead.
CONDITION_VOLUMES_NOT_HONOURED = "SandboxVolumesNotHonoured"
#: Volume kinds the kubelet gives their content: files of the object's keys, or a directory of its own.
HONOURED_VOLUMES = ("configMap", "secret", "emptyDir", "persistentVolumeClaim")


def volumes_not_honoured(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``SandboxVolumesNotHonoured`` condition naming each volume of the main container of another kind, or none."""
    mounted = {m["name"] for m in main_container(pod).get("volumeMounts") or []}
    others = [(v["name"], next(iter(set(v) - {"name"}), "?")) for v in pod["spec"].get("volumes") or []
              if v["name"] in mounted and not set(v) & set(HONOURED_VOLUMES)]
    if not others:
        return []
    listed = "; ".join(f"volume {name!r} ({kind})" for name, kind in others)
    return [{"type": CONDITION_VOLUMES_NOT_HONOURED, "status": "True", "reason": "VolumeNotHonoured",
             "lastTransitionTime": _now(),
             "message": f"the sandbox mounts an empty directory for: {listed}; it honours only "
                        f"{', '.join(HONOURED_VOLUMES)} volumes"}]


#: Pod condition on a JobManager pod that mounts a TaskManager pod template: Flink's ResourceManager reads it at
#: :data:`TASKMANAGER_POD_TEMPLATE` by absolute path, where a local process cannot be given a pod's file.
CONDITION_POD_TEMPLATE_NOT_HONOURED = "SandboxTaskManagerPodTemplateNotHonoured"
TASKMANAGER_POD_TEMPLATE = "/opt/flink/pod-template/taskmanager-pod-template.yaml"


def pod_template_not_honoured(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``SandboxTaskManagerPodTemplateNotHonoured`` condition when the JobManager pod mounts the TaskManager pod
    template's dir, or none."""
    directory = TASKMANAGER_POD_TEMPLATE.rsplit("/", 1)[0]
    if (pod["metadata"].get("labels") or {}).get("component") != "jobmanager" or not any(
            m.get("mountPath", "").rstrip("/") == directory for m in main_container(pod).get("volumeMounts") or []):
        return []
    return [{"type": CONDITION_POD_TEMPLATE_NOT_HONOURED, "status": "True", "reason": "AbsolutePathNotHonoured",
             "lastTransitionTime": _now(),
             "message": f"Flink reads the TaskManager pod template at {TASKMANAGER_POD_TEMPLATE} by absolute path, "
                        "which the sandbox cannot give a local process: its TaskManager pods are created without the "
                        "template (the kubernetes.taskmanager.* options still apply)"}]


def not_honoured(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``Sandbox…`` conditions naming what of the pod's spec the kubelet does not honour, or none."""
    return [*containers_not_run(pod), *volumes_not_honoured(pod), *scheduling_not_honoured(pod),
            *pod_template_not_honoured(pod)]


def map_paths(value: Any, mounts: dict[str, Path]) -> Any:
    """Rewrite container paths (also inside ``local://`` URIs) to their local directories."""
    if isinstance(value, list):
        return [map_paths(v, mounts) for v in value]
    if not isinstance(value, str):
        return value
    for mount, local in sorted(mounts.items(), key=lambda m: -len(m[0])):
        value = re.sub(rf"(^|(?<=[\s,=:])|(?<=://)){re.escape(mount)}(?=/|$)", str(local), value)
    return value


class ContainerConfigError(Exception):
    """A container's env names a Secret/ConfigMap (or key) that does not exist: ``CreateContainerConfigError``."""


@dataclass
class LocalPod:
    """What the kubelet runs for one pod."""

    namespace: str
    name: str
    uid: str
    directory: Path
    labels: dict[str, str]
    restart_policy: str
    process: ManagedProcess | None = None
    ports: dict[int, int] = field(default_factory=dict)
    restarts: int = 0
    next_start: float = 0.0
    failed_reason: str | None = None
    finished: bool = False
    last_state: dict[str, Any] = field(default_factory=dict)  # the last terminated container, as the API shows it
    service_account: str = "default"
    host_network: bool = False  # the pod's ports are the host's: a Service's targetPort is the local port
    spec: dict[str, Any] = field(default_factory=dict)  # what the scheduler counts against the node


@dataclass
class ReportedEvent:
    """A Warning event the kubelet reported about one object, counted up while the same thing recurs."""

    event: str
    message: str
    count: int
    last: float


class LocalKubelet:
    """Reconciles Deployments and Pods of the emulator into local processes."""

    def __init__(self, api_url: str, workdir: Path, *, images: dict[str, str] | None = None,
                 usrlib: Path | None = None, restart_backoff: float = 2.0, resync: float = 5.0) -> None:
        from kubernetes import client as k8s

        self.api_url, self.workdir = api_url.rstrip("/"), workdir
        self.images, self.usrlib = images or {}, usrlib
        self.restart_backoff, self.resync = restart_backoff, resync
        configuration = k8s.Configuration()
        configuration.host = self.api_url
        configuration.api_key = {"authorization": "Bearer sandbox-kubelet-token"}
        self._api = k8s.ApiClient(configuration)
        self.core = k8s.CoreV1Api(self._api)
        self.apps = k8s.AppsV1Api(self._api)
        self.pods: dict[tuple[str, str], LocalPod] = {}
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._proxies: dict[tuple[str, str, str], str] = {}  # what the emulator was last told, to tell changes only
        self._node: dict[str, Any] = {}
        self._warnings: dict[tuple[str, str, str, str], ReportedEvent] = {}  # (namespace, kind, uid, reason)
        self._unschedulable: dict[tuple[str, str], tuple[str, str]] = {}  # pod → (uid, why), as last reported
        self._create_failures: dict[tuple[str, str], str] = {}  # Deployment → why its pod create was refused

    # ----------------------------------------------------------------- main loop
    def run(self) -> None:
        """Reconcile until ``stop()``; watches wake the loop, a periodic resync covers dropped watches."""
        for lister in (self.core.list_pod_for_all_namespaces, self.apps.list_deployment_for_all_namespaces,
                       self.core.list_service_for_all_namespaces):
            threading.Thread(target=self._watch_loop, args=(lister,), daemon=True).start()
        while not self.stopping.is_set():
            self.wake.wait(self.resync)
            self.wake.clear()
            try:
                self.reconcile()
            except Exception:
                log.exception("reconcile failed; retrying")
                time.sleep(0.5)
        for pod in list(self.pods.values()):
            self._stop_pod(pod)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def _watch_loop(self, lister: Any) -> None:
        from kubernetes import watch

        while not self.stopping.is_set():
            try:
                for _ in watch.Watch().stream(lister, timeout_seconds=30):
                    self.wake.set()
                    if self.stopping.is_set():
                        return
            except Exception:
                self.wake.set()
                time.sleep(0.5)

    def reconcile(self) -> None:
        """One full pass: deployments → pods → processes → statuses → service proxies."""
        self._node = self._api.sanitize_for_serialization(self.core.read_node(NODE_NAME))
        deployments = self._api.sanitize_for_serialization(self.apps.list_deployment_for_all_namespaces())["items"]
        pods = self._api.sanitize_for_serialization(self.core.list_pod_for_all_namespaces())["items"]
        for deployment in deployments:
            self._reconcile_deployment(deployment, pods)
        pods = self._api.sanitize_for_serialization(self.core.list_pod_for_all_namespaces())["items"]
        services = self._services()
        seen = set()
        for pod in pods:
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            seen.add(key)
            self._reconcile_pod(pod)
            # As endpoints in a real cluster: a started pod serves its Service now, not once every other pod of
            # this pass has started (under API latency a pass over 50 pods took 30 s).
            self._register_proxies(services)
        for key in list(self.pods):
            if key not in seen:
                self._stop_pod(self.pods.pop(key))
        for key in list(self._unschedulable):
            if key not in seen:
                del self._unschedulable[key]
        live = {p["metadata"]["uid"] for p in pods} | {d["metadata"]["uid"] for d in deployments}
        self._warnings = {key: event for key, event in self._warnings.items() if key[2] in live}
        self._update_deployment_statuses(deployments)
        self._register_proxies(self._services())

    # ----------------------------------------------------------------- deployments
    def _reconcile_deployment(self, deployment: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        if meta.get("deletionTimestamp"):
            return
        owned = [p for p in pods if any(ref.get("uid") == meta["uid"] and ref.get("kind") == "Deployment"
                                        and (p["metadata"].get("labels") or {}).get("component") != "taskmanager"
                                        for ref in p["metadata"].get("ownerReferences") or [])
                 and not p["metadata"].get("deletionTimestamp")]
        template = spec["template"]
        for _ in range(int(spec.get("replicas") or 0) - len(owned)):
            pod_hash = f"{abs(hash(json.dumps(template, sort_keys=True))) % 10**10:x}"[:10]
            body = {
                "metadata": {
                    "generateName": f"{meta['name']}-{pod_hash}-",
                    "labels": {**(template["metadata"].get("labels") or {}), "pod-template-hash": pod_hash},
                    "annotations": template["metadata"].get("annotations") or {},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                                         "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}],
                },
                "spec": template["spec"],
            }
            try:
                self.core.create_namespaced_pod(meta["namespace"], body)
            except ApiException as exc:
                if exc.status not in (403, 422):
                    raise
                # As the ReplicaSet controller: the refusal (e.g. an exceeded ResourceQuota) is an event and a
                # ReplicaFailure condition, and the create is tried again on the next pass.
                message = f"Error creating: {_api_message(exc)}"
                self._create_failures[(meta["namespace"], meta["name"])] = message
                self._warn(deployment, ("apps/v1", "Deployment"), "FailedCreate", message, "replicaset-controller")
                return
            self._create_failures.pop((meta["namespace"], meta["name"]), None)

    def _update_deployment_statuses(self, deployments: list[dict[str, Any]]) -> None:
        for deployment in deployments:
            meta = deployment["metadata"]
            local = [p for p in self.pods.values() if p.namespace == meta["namespace"]
                     and all(p.labels.get(k) == v for k, v in
                             ((deployment["spec"].get("selector") or {}).get("matchLabels") or {}).items())
                     and p.labels.get("component") != "taskmanager"]
            ready = sum(1 for p in local if p.process is not None and p.process.alive)
            failure = self._create_failures.get((meta["namespace"], meta["name"]))
            status = {"observedGeneration": meta.get("generation"), "replicas": len(local),
                      "updatedReplicas": len(local), "readyReplicas": ready, "availableReplicas": ready,
                      "conditions": [{"type": "Available", "status": "True" if ready else "False",
                                      "reason": "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                                      "lastUpdateTime": _now(), "lastTransitionTime": _now()}]
                      + ([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": failure,
                           "lastUpdateTime": _now(), "lastTransitionTime": _now()}] if failure else [])}
            old = deployment.get("status") or {}
            reported = next((c.get("message") for c in old.get("conditions") or []
                             if c.get("type") == "ReplicaFailure"), None)
            if (old.get("readyReplicas") or 0) == ready and (old.get("replicas") or 0) == len(local) \
                    and old.get("observedGeneration") == meta.get("generation") and reported == failure:
                continue
            try:
                self.apps.patch_namespaced_deployment_status(meta["name"], meta["namespace"], {"status": status})
            except Exception:
                log.debug("deployment status update failed", exc_info=True)

    # ----------------------------------------------------------------- pods
    def _reconcile_pod(self, pod: dict[str, Any]) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        key = (meta["namespace"], meta["name"])
        local = self.pods.get(key)
        if local is not None and local.uid != meta["uid"]:
            self._stop_pod(self.pods.pop(key))
            local = None
        if meta.get("deletionTimestamp"):
            if local is not None:
                self._stop_pod(self.pods.pop(key))
            if FINALIZER in (meta.get("finalizers") or []):  # the container is stopped: let the pod go
                self._set_finalizers(meta, [f for f in meta["finalizers"] if f != FINALIZER])
            return
        if FINALIZER not in (meta.get("finalizers") or []):
            # As a real kubelet's graceful termination: a deleted pod stays (Terminating) until its process is
            # stopped, so whoever waits for the pods of a cluster to be gone also waits for the processes.
            self._set_finalizers(meta, [*(meta.get("finalizers") or []), FINALIZER])
            return
        if local is None:
            placed = [{"spec": p.spec} for p in self.pods.values() if not p.finished]
            why = unschedulable_reason(pod, self._node, placed)
            if why is not None:
                self._report_unschedulable(pod, why)
                return
            self._unschedulable.pop(key, None)
            local = LocalPod(meta["namespace"], meta["name"], meta["uid"],
                             self.workdir / "pods" / meta["namespace"] / f"{meta['name']}-{meta['uid'][:8]}",
                             meta.get("labels") or {}, spec.get("restartPolicy", "Always"),
                             service_account=spec.get("serviceAccountName") or spec.get("serviceAccount") or "default",
                             host_network=bool(spec.get("hostNetwork")), spec=spec)
            self.pods[key] = local
            self._patch_status(local, {"conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": _now()}, *not_honoured(pod)]},
                node_name=NODE_NAME)
        if local.finished or local.failed_reason:
            return
        if local.process is not None and local.process.alive:
            return
        if local.process is not None:
            self._container_exited(local)
            return
        if time.monotonic() >= local.next_start:
            self._start_container(local, pod)

    def _report_unschedulable(self, pod: dict[str, Any], why: str) -> None:
        """As kube-scheduler: the pod stays Pending with ``PodScheduled=False`` and a ``FailedScheduling`` event;
        it is tried again on later passes (a resync at least), the event counted up."""
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        if self._unschedulable.get(key) != (meta["uid"], why):
            try:
                self.core.patch_namespaced_pod_status(meta["name"], meta["namespace"], {"status": {
                    "phase": "Pending", "conditions": [
                        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why,
                         "lastProbeTime": None, "lastTransitionTime": _now()}]}})
            except ApiException:
                log.debug("pod status update failed for %s/%s", *key, exc_info=True)
                return
            self._unschedulable[key] = (meta["uid"], why)
        self._warn(pod, ("v1", "Pod"), "FailedScheduling", why, "default-scheduler")

    def _warn(self, obj: dict[str, Any], kind: tuple[str, str], reason: str, message: str, component: str) -> None:
        """Report a Warning event about ``obj`` (of ``kind``: apiVersion, kind): a new one, or the same one counted
        up (at most every :data:`SCHEDULING_RETRY` seconds, as a recurring failure is retried)."""
        meta = obj["metadata"]
        key = (meta["namespace"], kind[1], meta["uid"], reason)
        seen, now = self._warnings.get(key), time.monotonic()
        try:
            if seen is not None and seen.message == message:
                if now - seen.last < SCHEDULING_RETRY:
                    return
                seen.count, seen.last = seen.count + 1, now
                self.core.patch_namespaced_event(seen.event, meta["namespace"], {
                    "count": seen.count, "lastTimestamp": _now()})
                return
            name = f"{meta['name']}.{os.urandom(8).hex()}"
            self.core.create_namespaced_event(meta["namespace"], {
                "metadata": {"name": name, "namespace": meta["namespace"]},
                "involvedObject": {"kind": kind[1], "apiVersion": kind[0],
                                   "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"]},
                "reason": reason, "message": message, "type": "Warning", "count": 1,
                "firstTimestamp": _now(), "lastTimestamp": _now(), "source": {"component": component},
                "reportingComponent": component, "reportingInstance": f"{component}-{NODE_NAME}"})
            self._warnings[key] = ReportedEvent(name, message, 1, now)
        except ApiException:
            log.debug("event %s about %s/%s not written", reason, meta["namespace"], meta["name"], exc_info=True)

    def _container_exited(self, local: LocalPod) -> None:
        assert local.process is not None
        code = local.process.returncode or 0
        code = 128 - code if code < 0 else code  # killed by a signal: 128 + its number, as container runtimes say
        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error", "finishedAt": _now()}
        if local.restart_policy == "Never" or (local.restart_policy == "OnFailure" and code == 0):
            local.finished = True
            self._patch_status(local, {"phase": "Succeeded" if code == 0 else "Failed",
                                       "containerStatuses": [self._container_status(local, {"terminated":
                                                                                            terminated})]})
            return
        local.restarts += 1
        delay = min(self.restart_backoff * 2 ** (local.restarts - 1), 60.0)
        local.next_start = time.monotonic() + delay
        # The crashed container's log becomes the "previous" one (``GET pods/<name>/log?previous=true``).
        local.process.log_path.replace(local.directory / "container.previous.log")
        local.last_state = {"terminated": terminated}
        self._register_pod_log(local)
        local.process = None
        self._patch_status(local, {"phase": "Running", "containerStatuses": [self._container_status(
            local, {"waiting": {"reason": "CrashLoopBackOff",
                                "message": f"back-off {delay:.0f}s restarting failed container"}})]})
        threading.Timer(delay, self.wake.set).start()

    def _start_container(self, local: LocalPod, pod: dict[str, Any]) -> None:
        container = main_container(pod)
        image = container.get("image", "")
        standin = is_standin_image(image)
        version = standin_version(image) if standin else image_flink_version(image, self.images)
        if version is None:
            local.failed_reason = "ErrImagePull"
            self._patch_status(local, {"phase": "Pending", "containerStatuses": [self._container_status(
                local, {"waiting": {"reason": "ErrImagePull", "message":
                                    f"the sandbox cannot tell the Flink version of image "
                                    f"{container.get('image')!r}; map it with --image IMAGE=VERSION"}})]})
            return
        # The JobManager stand-in needs no Flink distribution: it is this package run by this interpreter.
        flink_home = local.directory / "flink-home" if standin else flink_dist.ensure_flink_home(version)
        usrlib = self.usrlib or (local.directory / "usrlib" if standin
                                 else flink_dist.ensure_example_job(version).parent)
        if local.directory.exists() and local.process is None and local.restarts == 0:
            shutil.rmtree(local.directory)
        try:
            mounts = self._materialise_volumes(local, pod, container, usrlib)
        except ApiException as exc:
            if exc.status != 404:
                raise
            # As a real kubelet: the volume's ConfigMap/Secret may be created after the pod; wait for it.
            self._patch_status(local, {"containerStatuses": [self._container_status(local, {"waiting": {
                "reason": "ContainerCreating", "message": f"MountVolume.SetUp failed: {exc.reason}"}})]})
            local.next_start = time.monotonic() + 1.0
            threading.Timer(1.0, self.wake.set).start()
            return
        conf_dir = self._conf_dir(local, container, mounts, flink_home)
        (local.directory / POD_TMP_DIR).mkdir(parents=True, exist_ok=True)
        try:
            env = self._environment(local, container, flink_home, conf_dir, mounts)
        except ContainerConfigError as exc:
            # As a real kubelet: the container waits (and is retried) until the Secret or ConfigMap is there.
            self._patch_status(local, {"phase": "Pending", "containerStatuses": [self._container_status(
                local, {"waiting": {"reason": "CreateContainerConfigError", "message": str(exc)}})]})
            local.next_start = time.monotonic() + self.restart_backoff
            threading.Timer(self.restart_backoff, self.wake.set).start()
            return
        if not local.ports:
            local.ports = {int(p["containerPort"]): free_port() for p in container.get("ports") or []}
            if local.labels.get("component") == "taskmanager" and 6122 not in local.ports:
                local.ports[6122] = free_port()
        self._rewrite_conf(local, conf_dir, mounts)
        argv = ([sys.executable, "-m", "airflow_flink_k8s_sandbox.jobmanager_standin", "--flink-version", version]
                if standin else self._argv(container, mounts))
        local.process = ManagedProcess.start(argv, log_path=local.directory / "container.log", env=env,
                                             cwd=local.directory, name=f"{local.namespace}/{local.name}")
        self._register_pod_log(local)
        self._patch_status(local, {
            "phase": "Running", "podIP": POD_IP, "podIPs": [{"ip": POD_IP}], "hostIP": POD_IP,
            "startTime": _now(),
            "conditions": [*({"type": t, "status": "True", "lastTransitionTime": _now()}
                             for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")),
                           *not_honoured(pod)],
            "containerStatuses": [self._container_status(local, {"running": {"startedAt": _now()}})],
        }, annotations={ANNOTATION_PID: str(local.process.pid),
                        ANNOTATION_PORTS: json.dumps({str(k): v for k, v in local.ports.items()})})

    def _materialise_volumes(self, local: LocalPod, pod: dict[str, Any], container: dict[str, Any],
                             usrlib: Path) -> dict[str, Path]:
        """Write ConfigMap/Secret/emptyDir volumes to local dirs; return container path → local dir."""
        namespace = local.namespace
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        mounts: dict[str, Path] = {USRLIB_MOUNT: usrlib}
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"], {})
            target = local.directory / "volumes" / mount["name"]
            target.mkdir(parents=True, exist_ok=True)
            files: dict[str, bytes] = {}
            if "configMap" in volume:
                data = self.core.read_namespaced_config_map(volume["configMap"]["name"], namespace).data or {}
                files = {k: v.encode() for k, v in data.items()}
                items = volume["configMap"].get("items")
            elif "secret" in volume:
                data = self.core.read_namespaced_secret(volume["secret"]["secretName"], namespace).data or {}
                files = {k: base64.b64decode(v) for k, v in data.items()}
                items = volume["secret"].get("items")
            elif "persistentVolumeClaim" in volume:
                # One dir per claim, shared by every pod that mounts it and kept after them, as a volume would be.
                target = self.workdir / "persistent-volume-claims" / namespace / volume["persistentVolumeClaim"][
                    "claimName"]
                target.mkdir(parents=True, exist_ok=True)
                items = None
            else:
                items = None
            for item in items or [{"key": k, "path": k} for k in files]:
                if item["key"] in files:
                    path = target / item["path"]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(files[item["key"]])
            mounts[mount["mountPath"].rstrip("/")] = target
        return mounts

    def _rewrite_conf(self, local: LocalPod, conf_dir: Path, mounts: dict[str, Path]) -> None:
        name = "config.yaml" if (conf_dir / "config.yaml").exists() else "flink-conf.yaml"
        path = conf_dir / name
        conf = read_flink_conf(name, path.read_text()) if path.exists() else {}
        conf = {k: map_paths(v, mounts) for k, v in conf.items()}
        for container_port, host_port in local.ports.items():
            for option in PORT_OPTIONS.get(container_port, ()):
                conf[option] = str(host_port)
        conf.update(LOOPBACK_OPTIONS)
        conf.setdefault("io.tmp.dirs", str(local.directory / POD_TMP_DIR))  # the JVM's default: the container's /tmp
        if local.labels.get("component") == "taskmanager":
            jobmanager = self._jobmanager_of(local)
            if jobmanager is not None and 6123 in jobmanager.ports:
                conf["jobmanager.rpc.address"] = POD_IP
                conf["jobmanager.rpc.port"] = str(jobmanager.ports[6123])
        conf["kubernetes.config.file"] = str(self._service_account_kubeconfig(local))
        path.write_text(write_flink_conf(name, conf))

    def _jobmanager_of(self, local: LocalPod) -> LocalPod | None:
        return next((p for p in self.pods.values() if p.namespace == local.namespace
                     and p.labels.get("app") == local.labels.get("app")
                     and p.labels.get("component") == "jobmanager" and p.process is not None), None)

    def _environment(self, local: LocalPod, container: dict[str, Any], flink_home: Path, conf_dir: Path,
                     mounts: dict[str, Path]) -> dict[str, str]:
        """The container's env; a value naming a mounted container path names its local dir."""
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "JAVA_HOME", "TZ")}
        env.update({
            "PATH": f"{flink_home / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "FLINK_HOME": str(flink_home), "FLINK_CONF_DIR": str(conf_dir),
            "FLINK_LOG_DIR": str(local.directory / "log"), "FLINK_PLUGINS_DIR": str(flink_home / "plugins"),
            "HOSTNAME": local.name, "KUBECONFIG": str(local.directory / "kubeconfig"), "HOME": str(local.directory),
            "TMPDIR": str(local.directory / POD_TMP_DIR), "FLINK_PID_DIR": str(local.directory / POD_TMP_DIR),
        })
        field_values = {"status.podIP": POD_IP, "status.hostIP": POD_IP, "metadata.name": local.name,
                        "metadata.namespace": local.namespace, "spec.nodeName": NODE_NAME,
                        "metadata.uid": local.uid}
        for source in container.get("envFrom") or []:
            for kind, ref_name in (("configMap", "configMapRef"), ("secret", "secretRef")):
                if ref_name in source:
                    data = self._env_source(local, kind, source[ref_name]) or {}
                    env.update({(source.get("prefix") or "") + k: v for k, v in data.items()})
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = map_paths(str(item["value"]), mounts)
                continue
            ref = item.get("valueFrom") or {}
            if "fieldRef" in ref:
                env[item["name"]] = field_values.get(ref["fieldRef"]["fieldPath"], "")
            for kind, ref_name in (("configMap", "configMapKeyRef"), ("secret", "secretKeyRef")):
                if ref_name in ref:
                    key_ref = ref[ref_name]
                    data = self._env_source(local, kind, key_ref)
                    if data is not None and key_ref["key"] in data:
                        env[item["name"]] = data[key_ref["key"]]
                    elif data is not None and not key_ref.get("optional"):
                        raise ContainerConfigError(f"couldn't find key {key_ref['key']} in {kind.capitalize()} "
                                                   f"{local.namespace}/{key_ref['name']}")
        env["_POD_IP_ADDRESS"] = POD_IP
        env["FLINK_CONF_DIR"] = str(conf_dir)  # the container's conf dir (``_conf_dir``), as a local path
        return env

    @staticmethod
    def _conf_dir(local: LocalPod, container: dict[str, Any], mounts: dict[str, Path], flink_home: Path) -> Path:
        """The local dir of the conf dir the container reads: its env ``FLINK_CONF_DIR`` (the image's
        ``/opt/flink/conf`` when unset). Mounted there: the volume's dir; otherwise the image's own conf dir (a copy
        of the distribution's), as in a real container whose Flink configuration is mounted elsewhere
        (``kubernetes.flink.conf.dir`` without ``FLINK_CONF_DIR`` pointing at it)."""
        path = next((str(item.get("value")) for item in reversed(container.get("env") or [])
                     if item.get("name") == "FLINK_CONF_DIR" and "value" in item), CONF_MOUNT)
        mounted = mounts.get(path.rstrip("/"))
        if mounted is not None:
            return mounted
        image_conf = local.directory / "image-conf"
        if not image_conf.exists() and (flink_home / "conf").is_dir():
            shutil.copytree(flink_home / "conf", image_conf)
        image_conf.mkdir(parents=True, exist_ok=True)
        return image_conf

    def _env_source(self, local: LocalPod, kind: str, ref: dict[str, Any]) -> dict[str, str] | None:
        """The decoded data of the ConfigMap/Secret an env entry names; None when it is missing but optional."""
        try:
            if kind == "secret":
                data = self.core.read_namespaced_secret(ref["name"], local.namespace).data or {}
                return {k: base64.b64decode(v).decode() for k, v in data.items()}
            return self.core.read_namespaced_config_map(ref["name"], local.namespace).data or {}
        except ApiException as exc:
            if exc.status != 404:
                raise
            if ref.get("optional"):
                return None
            raise ContainerConfigError(f'{kind} "{ref["name"]}" not found') from None

    @staticmethod
    def _argv(container: dict[str, Any], mounts: dict[str, Path]) -> list[str]:
        command = list(container.get("command") or [])
        args = list(container.get("args") or [])
        if command[:1] == ["/docker-entrypoint.sh"]:
            command = []
        argv = [map_paths(a, mounts) for a in command + args]
        if not argv:
            raise ValueError("container has neither command nor args")
        return argv

    def _stop_pod(self, local: LocalPod) -> None:
        if local.process is not None:
            local.process.stop(grace_seconds=10)
            log.info("stopped %s/%s (pid %s)", local.namespace, local.name, local.process.pid)

    # ----------------------------------------------------------------- API writes
    def _container_status(self, local: LocalPod, state: dict[str, Any]) -> dict[str, Any]:
        return {"name": MAIN_CONTAINER, "state": state, "lastState": local.last_state,
                "ready": "running" in state, "restartCount": local.restarts, "image": "sandbox",
                "imageID": "sandbox", "started": "running" in state}

    def _patch_status(self, local: LocalPod, status: dict[str, Any], *, node_name: str | None = None,
                      annotations: dict[str, str] | None = None) -> None:
        try:
            if node_name or annotations:
                body: dict[str, Any] = {"metadata": {"annotations": annotations}} if annotations else {}
                if node_name:
                    body["spec"] = {"nodeName": node_name}
                self.core.patch_namespaced_pod(local.name, local.namespace, body)
            self.core.patch_namespaced_pod_status(local.name, local.namespace, {"status": status})
        except Exception:
            log.debug("pod status update failed for %s/%s", local.namespace, local.name, exc_info=True)

    def _set_finalizers(self, meta: dict[str, Any], finalizers: list[str]) -> None:
        try:
            self.core.patch_namespaced_pod(meta["name"], meta["namespace"], {"metadata": {
                "finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}})
        except Exception:  # a conflict or a failed request: the next pass sees the pod again
            log.debug("finalizer update failed for %s/%s", meta["namespace"], meta["name"], exc_info=True)
            threading.Timer(0.5, self.wake.set).start()

    def _admin(self, action: str, body: dict[str, Any]) -> None:
        import urllib.request

        request = urllib.request.Request(f"{self.api_url}/_emulator/{action}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except OSError:
            log.debug("emulator admin call %s failed", action, exc_info=True)

    def _service_account_kubeconfig(self, local: LocalPod) -> Path:
        """The pod's API credentials: a token of its service account (``system:serviceaccount:<ns>:<sa>``), as
        the projected token a real kubelet mounts; RBAC on the emulator then applies to the pod's own calls."""
        user = f"system:serviceaccount:{local.namespace}:{local.service_account}"
        token = f"sandbox-sa-{local.namespace}-{local.service_account}"
        self._admin("tokens", {"token": token, "user": user})
        return write_kubeconfig(local.directory / "kubeconfig", self.api_url, namespace=local.namespace,
                                user=user.replace(":", "-"), token=token)

    def _register_pod_log(self, local: LocalPod) -> None:
        previous = local.directory / "container.previous.log"
        self._admin("pod-logs", {"namespace": local.namespace, "pod": local.name,
                                 "path": str(local.directory / "container.log"),
                                 "previous": str(previous) if previous.exists() else None})

    def _services(self) -> list[dict[str, Any]]:
        return self._api.sanitize_for_serialization(self.core.list_service_for_all_namespaces())["items"]

    def _register_proxies(self, services: list[dict[str, Any]]) -> None:
        """Point each Service's proxy at the local ports of the running pods its selector matches."""
        for service in services:
            selector = (service.get("spec") or {}).get("selector") or {}
            if not selector:
                continue
            backend = next((p for p in self.pods.values() if p.namespace == service["metadata"]["namespace"]
                            and p.process is not None and p.process.alive
                            and all(p.labels.get(k) == v for k, v in selector.items())), None)
            if backend is None:
                continue
            for port in service["spec"].get("ports") or []:
                target = port.get("targetPort", port.get("port"))
                port_map = {int(target): int(target)} if backend.host_network and str(target).isdigit() \
                    else backend.ports
                host_port = port_map.get(int(target)) if str(target).isdigit() else None
                if host_port is None:
                    continue
                for alias in {str(port.get("port")), str(port.get("name") or port.get("port"))}:
                    key = (service["metadata"]["namespace"], service["metadata"]["name"], alias)
                    if self._proxies.get(key) == (target_url := f"http://{POD_IP}:{host_port}"):
                        continue
                    self._admin("proxy-targets", {"namespace": key[0], "service": key[1], "port": alias,
                                                  "target": target_url})
                    self._proxies[key] = target_url


def main(argv: list[str] | None = None) -> None:
    """``python -m airflow_flink_k8s_sandbox.kubelet --api URL --workdir DIR``."""
    parser = argparse.ArgumentParser(description="Run emulator pods of Flink images as local processes.")
    parser.add_argument("--api", required=True, help="the emulator's URL (http://127.0.0.1:PORT)")
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--image", action="append", default=[], help="IMAGE=FLINK_VERSION (repeatable)")
    parser.add_argument("--usrlib", type=Path, help="local dir for /opt/flink/usrlib (default: the example job)")
    parser.add_argument("--restart-backoff", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    images = dict(item.split("=", 1) for item in args.image)
    kubelet = LocalKubelet(args.api, args.workdir, images=images, usrlib=args.usrlib,
                           restart_backoff=args.restart_backoff)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: kubelet.stop())
    kubelet.run()


if __name__ == "__main__":
    main()
