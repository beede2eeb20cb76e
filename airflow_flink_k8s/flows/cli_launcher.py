"""The ``cli`` launcher: runs ``flink run-application`` (or ``flink run``) with the spec's argv, then labels what
the client created.

It cannot use the Deployment as its lock: the Flink client creates it, and a client whose create fails (409
included) deletes the Deployment ``<cid>`` by name to clean up, which would be the winner's. So it first creates the
ConfigMap ``flink-launch-lock-<cid>`` (the launch's labels and annotations, and an expiry after which a lock left by
a dead worker is taken over); the loser of that 409 never runs the client. The lock is deleted when the launch ends,
either way. A failed launch deletes the Deployment it created (``roll_back``), never another launch's.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import shlex
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from airflow_flink_k8s.core.command import build_flink_command, template_files
from airflow_flink_k8s.core.errors import ClusterIdTakenError, KubernetesApiError
from airflow_flink_k8s.core.log_redaction import redact_line
from airflow_flink_k8s.core.names import (
    ANNOTATION_JOB_ID,
    ANNOTATION_LOCK_EXPIRES,
    launch_lock_name,
    owned_object_names,
)
from airflow_flink_k8s.core.sensitive_keys import sensitive_options
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.cluster_deletion import roll_back
from airflow_flink_k8s.flows.ownership import carries
from airflow_flink_k8s.hooks.flink_cli import client_conf_dir, conf_dir_with, run_flink_cli
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook, object_path
from airflow_flink_k8s.hooks.retry import retrying_call

log = logging.getLogger(__name__)


class CliLauncher:
    """Runs ``flink run-application``/``flink run`` with the spec's argv, then labels what the client created.

    ``on_line`` gets the argv it runs and each line the client prints, redacted by key. Options ``sensitive_keys``
    finds in ``flink_conf`` (with Airflow's ``sensitive_fields``) reach the client through a copy of its conf dir
    instead; the client's own log file goes to a private temp dir that is removed when the client ends.
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
                return retrying_call(lambda: self.k8s.create(body, namespace), f"create ConfigMap {name}")
            except KubernetesApiError as exc:
                if exc.status != 409:
                    raise
                holder = self.k8s.get("ConfigMap", name, namespace)
                if carries(holder, annotations):  # a retried POST whose first attempt did land: the lock is ours
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
            retrying_call(lambda: self.k8s.request("DELETE", object_path("ConfigMap", meta["namespace"], meta["name"]),
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

    def _reach_kubernetes_as_the_connection(self, env: dict[str, str], tmp: Path) -> dict[str, str]:
        """Point the client's Kubernetes client (fabric8) at the API server, credentials and TLS settings the
        connection gives the native launcher, the sensor and the roll-back; returns the ``-D`` options that need.

        Flink reads ``kubernetes.context``; without ``kubernetes.config.file`` fabric8 auto-configures from
        ``$KUBECONFIG`` (or ``~/.kube/config``), else the pod's service account, then applies its
        ``KUBERNETES_*`` environment variables over that (``Config.postAutoConfigure``): ``kubernetes.auth
        .tryKubeConfig=false`` forces the service account, ``kubernetes.trust.certificates`` and
        ``kubernetes.disable.hostname.verification`` turn TLS verification off, as ``disable_verify_ssl`` does.
        """
        options: dict[str, str] = {}
        if self.k8s.uses_in_cluster_config():
            env.pop("KUBECONFIG", None)
            env["KUBERNETES_AUTH_TRYKUBECONFIG"] = "false"
            self.on_line("the Flink client uses the in-cluster service account, as the connection does")
        else:
            kubeconfig = self.k8s.kubeconfig_file(tmp)
            if kubeconfig is not None:
                env["KUBECONFIG"] = str(kubeconfig)
            context = self.k8s.cluster_context()
            if context is not None:
                options["kubernetes.context"] = context
            self.on_line(f"the Flink client uses kubeconfig {env.get('KUBECONFIG', '~/.kube/config')}, context "
                         f"{context or '(its current context)'}, as the connection does")
        if self.k8s.verify_ssl_disabled():
            env["KUBERNETES_TRUST_CERTIFICATES"] = env["KUBERNETES_DISABLE_HOSTNAME_VERIFICATION"] = "true"
            self.on_line("the Flink client does not verify the API server's certificate (disable_verify_ssl)")
        return options

    def _run_client(self, spec: FlinkApplicationSpec, labels: dict[str, str], annotations: dict[str, str],
                    before_owned: Callable[[], None]) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="flink-cli-") as tmp:
            env = dict(os.environ)
            # Credentials go into a copy of the client's conf dir, not onto its argv (``ps`` shows argv).
            hidden = sensitive_options(spec.flink_conf, self.sensitive_fields)
            conf_dir = self.flink_conf_dir
            if hidden or spec.logging_files:
                # The client ships the logging files of its conf dir (FlinkConfMountDecorator): the spec's go there.
                source = client_conf_dir(self.flink_bin, self.flink_conf_dir, env)
                conf_dir = str(conf_dir_with(source, Path(tmp) / "conf", hidden, spec.logging_files))
                spec = dataclasses.replace(spec, flink_conf={k: v for k, v in spec.flink_conf.items()
                                                             if k not in hidden})
            if hidden:
                self.on_line(f"passing {', '.join(hidden)} through a copy of the client conf dir {source}, not its "
                             "argv")
            if spec.logging_files:
                self.on_line(f"shipping {', '.join(sorted(spec.logging_files))} from a copy of the client conf dir "
                             f"{source}")
            before_owned()
            files: list[str | None] = []
            for name, template in template_files(spec).items():  # taskmanager, jobmanager, default
                files.append(None if template is None else str(Path(tmp) / f"{name}-pod-template.yaml"))
                if template is not None:
                    Path(tmp, f"{name}-pod-template.yaml").write_text(yaml.safe_dump(dict(template)))
            argv = build_flink_command(spec, self.flink_bin, *files)
            options = self._reach_kubernetes_as_the_connection(env, Path(tmp))
            at = argv.index("kubernetes-application") + 1
            argv[at:at] = [f"-D{key}={value}" for key, value in options.items()]
            if conf_dir:
                env["FLINK_CONF_DIR"] = conf_dir
            # bin/config.sh takes FLINK_LOG_DIR over env.log.dir and <flink home>/log: the client log, which echoes
            # every option it loads, lands in this private dir and is removed with it.
            env["FLINK_LOG_DIR"] = str(Path(tmp) / "log")
            self.on_line(f"running the Flink client: {shlex.join(argv)}")
            try:
                run_flink_cli(argv, env=env, timeout=self.timeout,
                              on_line=lambda line: self.on_line(redact_line(line, self.sensitive_fields)))
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
                retrying_call(functools.partial(self.k8s.patch, kind, name, spec.namespace, patch),
                              f"label {kind} {name}")
        except BaseException as failure:
            self._roll_back(spec, annotations, failure)
            raise
        return deployment
