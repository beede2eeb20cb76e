"""The two ways to create an application cluster: ``native`` (pure Python, objects through the API) and ``cli``
(the ``flink`` binary). Both leave nothing half-created: a failed launch deletes what it made.

The native launcher creates the Deployment first. Its name is the cluster id, so the API's 409 on it is the lock
that makes two simultaneous launches of one cluster id safe. Leftover HA data is cleaned only after that (the
JobManager cannot start before its ``flink-config-<cid>`` ConfigMap exists, which comes last), then the owned
objects are created with ownerReferences to the Deployment's uid, in the order the Flink client uses.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from airflow_flink_k8s.command import build_flink_command
from airflow_flink_k8s.hooks.flink_cli import run_flink_cli
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook, KubernetesApiError
from airflow_flink_k8s.kubernetes_objects import (
    DEFAULT_LOGGING_FILES,
    render_kubernetes_objects,
    with_owner_references,
)
from airflow_flink_k8s.launch_plan import mark
from airflow_flink_k8s.spec import FlinkApplicationSpec

log = logging.getLogger(__name__)
_TRANSIENT = (429, 500, 502, 503, 504)


class ClusterIdTakenError(RuntimeError):
    """Another launch created the Deployment ``<cluster-id>`` first."""


def _with_retries(call: Callable[[], Any], what: str, attempts: int = 4) -> Any:
    """Retry API errors the server marks as transient (5xx, 429), with back-off."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except KubernetesApiError as exc:
            if exc.status not in _TRANSIENT or attempt == attempts:
                raise
            log.warning("%s: %s; retrying (%d/%d)", what, exc, attempt, attempts - 1)
            time.sleep(0.5 * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def delete_cluster(k8s: FlinkKubernetesHook, cluster_id: str, namespace: str, *, timeout: float,
                   extra: tuple[tuple[str, str], ...] = ()) -> None:
    """Delete the Deployment (owned objects and pods cascade) and wait until all of it is gone."""
    _with_retries(lambda: k8s.delete("Deployment", cluster_id, namespace, propagation="Foreground"),
                  f"delete Deployment {cluster_id}")
    for kind, name in extra:
        _with_retries(lambda k=kind, n=name: k8s.delete(k, n, namespace), f"delete {kind} {name}")
    owned = [("Deployment", cluster_id), ("Service", f"{cluster_id}-rest"), ("ConfigMap", f"flink-config-{cluster_id}"),
             *extra]
    k8s.wait_until_gone(owned, namespace, timeout=timeout)
    deadline = time.monotonic() + timeout
    while pods := k8s.list_pods(namespace, f"app={cluster_id},type=flink-native-kubernetes"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"pods of {cluster_id} still running after {timeout:.0f} s: "
                               f"{', '.join(p['metadata']['name'] for p in pods)}")
        time.sleep(1.0)


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
            if exc.status == 409:
                raise ClusterIdTakenError(str(exc)) from exc
            raise
        created: list[tuple[str, str]] = []
        try:
            before_owned()
            for obj in with_owner_references(objects, deployment["metadata"]["uid"])[1:]:
                _with_retries(lambda o=obj: self._create_owned(o, namespace, annotations),
                              f"create {obj['kind']} {obj['metadata']['name']}")
                created.append((obj["kind"], obj["metadata"]["name"]))
        except BaseException:
            log.error("launch of %s failed half-way; deleting the Deployment and %s", spec.cluster_id,
                      ", ".join(f"{k} {n}" for k, n in created) or "nothing else")
            delete_cluster(self.k8s, spec.cluster_id, namespace, timeout=120, extra=tuple(created))
            raise
        return deployment

    def _create_owned(self, obj: dict[str, Any], namespace: str, annotations: dict[str, str]) -> None:
        try:
            self.k8s.create(obj, namespace)
        except KubernetesApiError as exc:
            # A retried POST whose first attempt did land: it is ours when it carries this launch's annotations.
            existing = self.k8s.get(obj["kind"], obj["metadata"]["name"], namespace) if exc.status == 409 else None
            found = (existing or {}).get("metadata", {}).get("annotations") or {}
            if existing is None or any(found.get(key) != value for key, value in annotations.items()):
                raise


class CliLauncher:
    """Runs ``flink run-application``/``flink run`` with the spec's argv, then labels what the client created."""

    def __init__(self, k8s: FlinkKubernetesHook, flink_bin: str, *, timeout: float, flink_conf_dir: str | None,
                 on_line: Callable[[str], None]) -> None:
        self.k8s, self.flink_bin, self.timeout = k8s, flink_bin, timeout
        self.flink_conf_dir, self.on_line = flink_conf_dir, on_line

    def launch(self, spec: FlinkApplicationSpec, labels: dict[str, str], annotations: dict[str, str],
               before_owned: Callable[[], None]) -> dict[str, Any]:
        before_owned()
        with tempfile.TemporaryDirectory(prefix="flink-cli-") as tmp:
            template_file = None
            if spec.taskmanager_pod_template is not None:
                template_file = str(Path(tmp) / "taskmanager-pod-template.yaml")
                Path(template_file).write_text(yaml.safe_dump(dict(spec.taskmanager_pod_template)))
            argv = build_flink_command(spec, self.flink_bin, template_file)
            env = dict(os.environ)
            kubeconfig = self.k8s.kubeconfig_file(Path(tmp))
            if kubeconfig is not None:
                env["KUBECONFIG"] = str(kubeconfig)
            if self.flink_conf_dir:
                env["FLINK_CONF_DIR"] = self.flink_conf_dir
            try:
                run_flink_cli(argv, env=env, timeout=self.timeout, on_line=self.on_line)
            except BaseException:
                # The client fails after creating objects in some cases (NodePort without a node address, …).
                delete_cluster(self.k8s, spec.cluster_id, spec.namespace, timeout=120)
                raise
        deployment = self.k8s.get("Deployment", spec.cluster_id, spec.namespace)
        if deployment is None:
            raise RuntimeError(f"the Flink client reported success but Deployment {spec.cluster_id} does not exist")
        patch = {"metadata": {"labels": labels, "annotations": annotations}}
        for kind, name in (("Deployment", spec.cluster_id), ("Service", f"{spec.cluster_id}-rest"),
                           ("ConfigMap", f"flink-config-{spec.cluster_id}")):
            _with_retries(lambda k=kind, n=name: self.k8s.patch(k, n, spec.namespace, patch), f"label {kind} {name}")
        return deployment
