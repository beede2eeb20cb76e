"""The two ways to create an application cluster: ``native`` (pure Python, objects through the API) and ``cli``
(the ``flink`` binary). Both leave nothing half-created: a failed launch deletes what it made, and when that
clean-up fails too (a Role without ``delete``, say) the error names what was left behind.

The native launcher creates the Deployment first. Its name is the cluster id, so the API's 409 on it is the lock
that makes two simultaneous launches of one cluster id safe. Leftover HA data is cleaned only after that (the
JobManager cannot start before its ``flink-config-<cid>`` ConfigMap exists, which comes last), then the owned
objects are created with ownerReferences to the Deployment's uid, in the order the Flink client uses.

The cli launcher cannot use the Deployment as its lock: the Flink client creates it, and a client whose create
fails (409 included) deletes the Deployment ``<cid>`` by name to clean up, which would be the winner's. So it first
creates the ConfigMap ``flink-launch-lock-<cid>`` (the launch's labels and annotations, and an expiry after which a
lock left by a dead worker is taken over); the loser of that 409 never runs the client. The lock is deleted when
the launch ends, either way. Both launchers delete only the Deployment whose uid they created or decided to
replace (a precondition), and wait only for that one's objects and pods: a cluster another launch created under
the same name meanwhile is never touched.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from airflow_flink_k8s.core.command import build_flink_command
from airflow_flink_k8s.core.errors import ClusterIdTakenError, LaunchRollbackError
from airflow_flink_k8s.core.kubernetes_objects import (
    DEFAULT_LOGGING_FILES,
    render_kubernetes_objects,
    with_owner_references,
)
from airflow_flink_k8s.core.launch_plan import launch_finished, mark
from airflow_flink_k8s.core.names import (
    ANNOTATION_JOB_ID,
    ANNOTATION_LOCK_EXPIRES,
    cluster_pods_selector,
    config_map_name,
    launch_lock_name,
    owned_object_names,
)
from airflow_flink_k8s.core.sensitive_keys import sensitive_options
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.hooks.flink_cli import client_conf_dir, conf_dir_with, run_flink_cli
from airflow_flink_k8s.hooks.kubernetes import (
    TRANSIENT_STATUSES,
    FlinkKubernetesHook,
    KubernetesApiError,
    object_path,
)

log = logging.getLogger(__name__)








def _with_retries(call: Callable[[], Any], what: str, attempts: int = 4) -> Any:
    """Retry API errors the server marks as transient (5xx, 429), with back-off."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except KubernetesApiError as exc:
            if exc.status not in TRANSIENT_STATUSES or attempt == attempts:
                raise
            log.warning("%s: %s; retrying (%d/%d)", what, exc, attempt, attempts - 1)
            time.sleep(0.5 * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def delete_cluster(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, *, timeout: float,
                   extra: tuple[tuple[str, str], ...] = (), uid: str | None = None) -> None:
    """Delete the Deployment and wait until it, the objects it owns (also the ``extra`` (kind, name) ones) and its
    pods are gone; owned objects go by the API server's garbage collection, so only the Deployment is deleted.

    With ``uid``, only the Deployment with that uid is deleted (a precondition) and waited for: once another launch
    has created a new Deployment of the same name, its objects and pods count as not ours.
    """
    _delete_deployment(k8s, cluster_id, namespace, uid)
    owned = [*owned_object_names(cluster_id), *extra]
    deadline = time.monotonic() + timeout
    while left := [(kind, name) for kind, name in owned if _still_there(k8s.get(kind, name, namespace), uid)]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"still present after {timeout:.0f} s: "
                               f"{', '.join(f'{kind} {namespace}/{name}' for kind, name in left)}")
        time.sleep(1.0)
    while pods := k8s.list_pods(namespace, cluster_pods_selector(cluster_id)):
        if uid is not None and k8s.get("Deployment", cluster_id, namespace) is not None:
            return  # a newer launch of this cluster id: the pods left may be its own
        if time.monotonic() > deadline:
            raise TimeoutError(f"pods of {cluster_id} still running after {timeout:.0f} s: "
                               f"{', '.join(p['metadata']['name'] for p in pods)}")
        time.sleep(1.0)


def _delete_deployment(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, uid: str | None) -> None:
    if uid is None:
        _with_retries(lambda: k8s.delete("Deployment", cluster_id, namespace, propagation="Foreground"),
                      f"delete Deployment {cluster_id}")
        return
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground",
            "preconditions": {"uid": uid}}
    for attempt in range(1, 5):
        try:
            _with_retries(lambda: k8s.request("DELETE", object_path("Deployment", namespace, cluster_id), body=body,
                                              what=f"delete Deployment {namespace}/{cluster_id} (uid {uid})"),
                          f"delete Deployment {cluster_id}")
            return
        except KubernetesApiError as exc:
            current = k8s.get("Deployment", cluster_id, namespace) if exc.status == 409 else None
            if exc.status == 409 and (current is None or current["metadata"]["uid"] != uid):
                return  # already replaced by another launch: the one we meant is gone
            if exc.status != 409 or attempt == 4:
                raise


def _still_there(obj: dict[str, Any] | None, uid: str | None) -> bool:
    """Whether ``obj`` is (or is owned by) the Deployment being deleted; any object of that name without ``uid``."""
    if obj is None:
        return False
    meta = obj["metadata"]
    return uid is None or meta.get("uid") == uid or any(ref.get("uid") == uid for ref in
                                                         meta.get("ownerReferences") or [])


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


class NativeLauncher:
    """Creates the objects ``render_kubernetes_objects`` describes, as the Flink client would."""

    def __init__(self, k8s: FlinkKubernetesHook) -> None:
        self.k8s = k8s

    def launch(self, spec: FlinkApplicationSpec, labels: dict[str, str], annotations: dict[str, str],
               before_owned: Callable[[], None]) -> dict[str, Any]:
        """Create the cluster; ``before_owned`` runs once the Deployment holds the cluster id (HA clean-up)."""
        objects = [mark(obj, labels, annotations) for obj in render_kubernetes_objects(spec, DEFAULT_LOGGING_FILES)]
        namespace = spec.namespace
        try:
            deployment = _with_retries(lambda: self.k8s.create(objects[0], namespace),
                                       f"create Deployment {spec.cluster_id}")
        except KubernetesApiError as exc:
            if exc.status != 409:
                raise
            holder = self.k8s.get("Deployment", spec.cluster_id, namespace)
            if not _carries(holder, annotations):
                raise ClusterIdTakenError(str(exc), holder) from exc
            deployment = holder  # a retried POST whose first attempt did land: the Deployment is this launch's
        created: list[tuple[str, str]] = []
        try:
            before_owned()
            for obj in with_owner_references(objects, deployment["metadata"]["uid"])[1:]:
                _with_retries(lambda o=obj: self._create_owned(o, namespace, annotations),
                              f"create {obj['kind']} {obj['metadata']['name']}")
                created.append((obj["kind"], obj["metadata"]["name"]))
        except BaseException as failure:
            log.error("launch of %s failed half-way; deleting the Deployment and %s", spec.cluster_id,
                      ", ".join(f"{k} {n}" for k, n in created) or "nothing else")
            roll_back(self.k8s, spec.cluster_id, namespace, failure, extra=tuple(created),
                      uid=deployment["metadata"]["uid"])
            raise
        return deployment

    def _create_owned(self, obj: dict[str, Any], namespace: str, annotations: dict[str, str]) -> None:
        try:
            self.k8s.create(obj, namespace)
        except KubernetesApiError as exc:
            # A retried POST whose first attempt did land: it is ours when it carries this launch's annotations.
            existing = self.k8s.get(obj["kind"], obj["metadata"]["name"], namespace) if exc.status == 409 else None
            if not _carries(existing, annotations):
                raise


def _carries(obj: dict[str, Any] | None, annotations: dict[str, str]) -> bool:
    """Whether ``obj`` exists and carries all of a launch's annotations (so that launch created it)."""
    found = (obj or {}).get("metadata", {}).get("annotations") or {}
    return obj is not None and all(found.get(key) == value for key, value in annotations.items())


class CliLauncher:
    """Runs ``flink run-application``/``flink run`` with the spec's argv, then labels what the client created.

    ``on_line`` gets the argv it runs and each line the client prints. Options ``sensitive_keys`` finds in
    ``flink_conf`` (with Airflow's ``sensitive_fields``) reach the client through a copy of its conf dir instead.
    """

    def __init__(self, k8s: FlinkKubernetesHook, flink_bin: str, *, timeout: float, flink_conf_dir: str | None,
                 on_line: Callable[[str], None], sensitive_fields: Iterable[str] = ()) -> None:
        self.k8s, self.flink_bin, self.timeout = k8s, flink_bin, timeout
        self.flink_conf_dir, self.on_line = flink_conf_dir, on_line
        self.sensitive_fields = tuple(sensitive_fields)

    def launch(self, spec: FlinkApplicationSpec, labels: dict[str, str], annotations: dict[str, str],
               before_owned: Callable[[], None]) -> dict[str, Any]:
        """Take the launch lock, check that the cluster id is still free, run the client, label, release."""
        lock = self._take_lock(spec, labels, annotations)
        try:
            existing = self.k8s.get("Deployment", spec.cluster_id, spec.namespace)
            if existing is not None:  # created by a launch that takes no lock, after this task decided
                raise ClusterIdTakenError(f"Deployment {spec.namespace}/{spec.cluster_id} exists", existing)
            return self._run_client(spec, labels, annotations, before_owned)
        finally:
            self._release_lock(lock)

    def _take_lock(self, spec: FlinkApplicationSpec, labels: dict[str, str],
                   annotations: dict[str, str]) -> dict[str, Any]:
        """Create ``flink-launch-lock-<cid>``; a lock past its expiry (its launcher died) is taken over once."""
        name, namespace = launch_lock_name(spec.cluster_id), spec.namespace
        expires = str(int(time.time() + self.timeout + 120))
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": name, "labels": labels, "annotations": {**annotations, ANNOTATION_LOCK_EXPIRES: expires}}}
        for _ in range(2):
            try:
                return _with_retries(lambda: self.k8s.create(body, namespace), f"create ConfigMap {name}")
            except KubernetesApiError as exc:
                if exc.status != 409:
                    raise
                holder = self.k8s.get("ConfigMap", name, namespace)
                if _carries(holder, annotations):  # a retried POST whose first attempt did land: the lock is ours
                    return holder
                held_until = float(((holder or {}).get("metadata", {}).get("annotations") or {}).get(
                    ANNOTATION_LOCK_EXPIRES, "inf"))
                if holder is not None and held_until > time.time():
                    raise ClusterIdTakenError(f"another launch holds the launch lock ConfigMap {namespace}/{name}",
                                              holder) from exc
                if holder is not None:
                    log.warning("taking over the launch lock %s/%s: it expired at %s (its launcher died)",
                                namespace, name, time.ctime(held_until))
                    self._release_lock(holder)
        raise ClusterIdTakenError(f"the launch lock ConfigMap {namespace}/{name} keeps being taken",
                                  self.k8s.get("ConfigMap", name, namespace))

    def _release_lock(self, lock: dict[str, Any]) -> None:
        meta = lock["metadata"]
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": meta["uid"]}}
        try:
            _with_retries(lambda: self.k8s.request("DELETE", object_path("ConfigMap", meta["namespace"], meta["name"]),
                                                   body=body, what=f"delete ConfigMap {meta['name']}"),
                          f"release launch lock {meta['name']}")
        except KubernetesApiError as exc:
            if exc.status != 409:  # 409: the uid differs, someone took over an expired lock of ours
                raise

    def _roll_back(self, spec: FlinkApplicationSpec, annotations: dict[str, str], failure: BaseException) -> None:
        """Delete what the client created: the Deployment, unless it is another launch's (a different job id)."""
        current = self.k8s.get("Deployment", spec.cluster_id, spec.namespace)
        found = ((current or {}).get("metadata", {}).get("annotations") or {}).get(ANNOTATION_JOB_ID)
        if current is not None and found in (None, annotations.get(ANNOTATION_JOB_ID)):
            roll_back(self.k8s, spec.cluster_id, spec.namespace, failure, uid=current["metadata"]["uid"])

    def _run_client(self, spec: FlinkApplicationSpec, labels: dict[str, str], annotations: dict[str, str],
                    before_owned: Callable[[], None]) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="flink-cli-") as tmp:
            env = dict(os.environ)
            # Credentials go into a copy of the client's conf dir, not onto its argv (``ps`` shows argv).
            hidden = sensitive_options(spec.flink_conf, self.sensitive_fields)
            conf_dir = self.flink_conf_dir
            if hidden:
                source = client_conf_dir(self.flink_bin, self.flink_conf_dir, env)
                conf_dir = str(conf_dir_with(source, Path(tmp) / "conf", hidden))
                spec = dataclasses.replace(spec, flink_conf={k: v for k, v in spec.flink_conf.items()
                                                             if k not in hidden})
                self.on_line(f"passing {', '.join(hidden)} through a copy of the client conf dir {source}, not its "
                             "argv")
            before_owned()
            template_file = None
            if spec.taskmanager_pod_template is not None:
                template_file = str(Path(tmp) / "taskmanager-pod-template.yaml")
                Path(template_file).write_text(yaml.safe_dump(dict(spec.taskmanager_pod_template)))
            argv = build_flink_command(spec, self.flink_bin, template_file)
            kubeconfig = self.k8s.kubeconfig_file(Path(tmp))
            if kubeconfig is not None:
                env["KUBECONFIG"] = str(kubeconfig)
            if conf_dir:
                env["FLINK_CONF_DIR"] = conf_dir
            self.on_line(f"running the Flink client: {shlex.join(argv)}")
            try:
                run_flink_cli(argv, env=env, timeout=self.timeout, on_line=self.on_line)
            except BaseException as failure:
                # The client fails after creating objects in some cases (NodePort without a node address, …).
                self._roll_back(spec, annotations, failure)
                raise
        patch = {"metadata": {"labels": labels, "annotations": annotations}}
        try:
            deployment = self.k8s.get("Deployment", spec.cluster_id, spec.namespace)
            if deployment is None:
                raise RuntimeError(f"the Flink client reported success but Deployment {spec.cluster_id} does not "
                                   "exist")
            for kind, name in owned_object_names(spec.cluster_id):
                _with_retries(lambda k=kind, n=name: self.k8s.patch(k, n, spec.namespace, patch),
                              f"label {kind} {name}")
        except BaseException as failure:
            self._roll_back(spec, annotations, failure)
            raise
        return deployment


def roll_back(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, failure: BaseException, *,
              extra: tuple[tuple[str, str], ...] = (), uid: str | None = None) -> None:
    """Delete what a failed launch created (``delete_cluster``); when that fails too, raise
    ``LaunchRollbackError`` naming the launch failure, the clean-up failure and what may be left behind."""
    try:
        delete_cluster(k8s, cluster_id, namespace, timeout=120, extra=extra, uid=uid)
    except Exception as cleanup:
        left = dict.fromkeys([*owned_object_names(cluster_id), *extra])
        raise LaunchRollbackError(
            f"launching Flink cluster {namespace}/{cluster_id} failed: {failure}\nDeleting what the launch created "
            f"failed too, so these objects may be left behind: {', '.join(f'{k} {namespace}/{n}' for k, n in left)} "
            f"(and the pods of the Deployment); delete them before launching again. The clean-up failed with: "
            f"{cleanup}") from failure
