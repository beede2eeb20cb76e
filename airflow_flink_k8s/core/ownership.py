"""Whose a Deployment ``<cluster-id>`` is, and whether ``replace``, ``reuse`` or a teardown may act on it (pure).

A launch, a replace and a teardown act only on:

* a Deployment this provider launched: it carries a launch's annotations (``names.ANNOTATION_*``: job id, spec
  hash and the launching run);
* with ``adopt_native_clusters=True``, a native Flink cluster launched some other way (``flink run-application
  -t kubernetes-application``): its labels are the ones Flink's client gives the JobManager Deployment
  (``app=<cid>``, ``component=jobmanager``, ``type=flink-native-kubernetes``).

Either way no other controller may own it: an ownerReference with ``controller: true`` (the Flink Kubernetes
Operator's ``FlinkDeployment``, a Helm-less GitOps controller, …) means that controller would recreate or fight
over what this provider deletes, unless the launch set it itself (``kubernetes.jobmanager.owner.reference``; its
uids are in ``names.ANNOTATION_OWNER_UIDS``). Anything else is refused with ``NotOwnedError`` naming what was found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from airflow_flink_k8s.core.errors import NotOwnedError
from airflow_flink_k8s.core.names import (
    ANNOTATION_JOB_ID,
    ANNOTATION_OWNER_UIDS,
    ANNOTATION_RUN,
    ANNOTATION_SPEC_HASH,
    selector_labels,
)

#: The annotations every launch of this provider writes on the Deployment.
LAUNCH_ANNOTATIONS = (ANNOTATION_JOB_ID, ANNOTATION_SPEC_HASH, ANNOTATION_RUN)


class Origin(StrEnum):
    PROVIDER = "launched by airflow-flink-k8s"
    NATIVE = "a native Flink cluster not launched by airflow-flink-k8s"
    FOREIGN = "not a Flink cluster this provider may manage"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def controller_reference(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference with ``controller: true``, if another controller manages ``obj``: one the launch set
    itself (its uid listed in ``ANNOTATION_OWNER_UIDS``) is the user's, not another controller's."""
    try:
        own = json.loads((_meta(obj).get("annotations") or {}).get(ANNOTATION_OWNER_UIDS) or "[]")
    except ValueError:
        own = []
    own = own if isinstance(own, list) else []
    return next((ref for ref in _meta(obj).get("ownerReferences") or []
                 if ref.get("controller") is True and ref.get("uid") not in own), None)


def origin(deployment: Mapping[str, Any], cluster_id: str) -> Origin:
    """Who launched the Deployment ``cluster_id``, as far as this provider may act on it."""
    meta = _meta(deployment)
    if deployment.get("kind", "Deployment") != "Deployment" or meta.get("name") != cluster_id:
        return Origin.FOREIGN
    if controller_reference(deployment) is not None:
        return Origin.FOREIGN
    labels = meta.get("labels") or {}
    native = all(labels.get(key) == value for key, value in selector_labels(cluster_id).items())
    annotations = meta.get("annotations") or {}
    if native and all(annotations.get(key) for key in LAUNCH_ANNOTATIONS):
        return Origin.PROVIDER
    return Origin.NATIVE if native else Origin.FOREIGN


def describe(obj: Mapping[str, Any]) -> str:
    """``Deployment flink/orders (labels app=orders; controller FlinkDeployment orders)``: what a refusal names."""
    meta = _meta(obj)
    labels = ", ".join(f"{key}={value}" for key, value in sorted((meta.get("labels") or {}).items())) or "none"
    owner = controller_reference(obj)
    owners = ", ".join(f"{ref.get('kind')} {ref.get('name')}" for ref in meta.get("ownerReferences") or [])
    controlled = f"controller {owner.get('kind')} {owner.get('name')}" if owner else f"owners {owners or 'none'}"
    return (f"{obj.get('kind', 'Deployment')} {meta.get('namespace', '?')}/{meta.get('name')} "
            f"(labels {labels}; {controlled})")


def check_manageable(deployment: Mapping[str, Any], cluster_id: str, *, adopt_native_clusters: bool,
                     action: str) -> Origin:
    """The Deployment's origin when ``action`` (``replace``, ``reuse``, ``teardown``) may act on it, else raise
    ``NotOwnedError`` naming what was found and the rule."""
    found = origin(deployment, cluster_id)
    if found is Origin.PROVIDER or (found is Origin.NATIVE and adopt_native_clusters):
        return found
    if found is Origin.NATIVE:
        rule = f"set adopt_native_clusters=True to let {action} act on it"
    elif controller_reference(deployment) is not None:
        rule = "another controller owns it, which would fight over (or recreate) what this provider deletes"
    else:
        rule = ("it is not a native Flink JobManager Deployment (labels app=<cluster-id>, component=jobmanager, "
                "type=flink-native-kubernetes)")
    raise NotOwnedError(f"{action} refused for Flink cluster {cluster_id!r}: found {describe(deployment)}, which "
                        f"is {found.value}: {rule}. Nothing was changed; choose another cluster_id or remove that "
                        "object yourself.")
