"""The ``native`` launcher: creates an application cluster's objects through the API, as the Flink client would,
with no JVM on the worker.

It creates the Deployment first. Its name is the cluster id, so the API's 409 on it is the lock that makes two
simultaneous launches of one cluster id safe. The step the flow supplies (leftover HA data clean-up) runs only after
that (the JobManager cannot start before its ``flink-config-<cid>`` ConfigMap exists, which comes last), then the
owned objects are created with ownerReferences to the Deployment's uid, in the order the Flink client uses. A failed
launch deletes what it made (``roll_back``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from airflow_flink_k8s.core.errors import ClusterIdTakenError, KubernetesApiError
from airflow_flink_k8s.core.kubernetes_objects import render_kubernetes_objects, with_owner_references
from airflow_flink_k8s.core.launch_plan import mark
from airflow_flink_k8s.core.logging_files import distribution_logging_files
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.cluster_deletion import roll_back
from airflow_flink_k8s.flows.ownership import carries
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s.hooks.retry import retrying_call

log = logging.getLogger(__name__)


class NativeLauncher:
    """Creates the objects ``render_kubernetes_objects`` describes, as the Flink client would."""

    def __init__(self, k8s: FlinkKubernetesHook) -> None:
        self.k8s = k8s

    def launch(self, spec: FlinkApplicationSpec, labels: dict[str, str], annotations: dict[str, str],
               before_owned: Callable[[], None]) -> dict[str, Any]:
        """Create the cluster; ``before_owned`` runs once the Deployment holds the cluster id (HA clean-up)."""
        # The image's conf dir as the client's: the distribution's logging files, replaced by the spec's.
        rendered = render_kubernetes_objects(spec, distribution_logging_files(spec.version))
        objects = [mark(obj, labels, annotations) for obj in rendered]
        namespace = spec.namespace
        try:
            deployment = retrying_call(lambda: self.k8s.create(objects[0], namespace),
                                       f"create Deployment {spec.cluster_id}")
        except KubernetesApiError as exc:
            if exc.status != 409:
                raise
            holder = self.k8s.get("Deployment", spec.cluster_id, namespace)
            if not carries(holder, annotations):
                raise ClusterIdTakenError(str(exc), holder) from exc
            deployment = holder  # a retried POST whose first attempt did land: the Deployment is this launch's
        created: list[tuple[str, str]] = []
        try:
            before_owned()
            for obj in with_owner_references(objects, deployment["metadata"]["uid"])[1:]:
                retrying_call(functools.partial(self._create_owned, obj, namespace, annotations),
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
            if not carries(existing, annotations):
                raise
