"""A JobManager pod template merged as the Flink client merges ``kubernetes.pod-template-file.jobmanager``.

The client (``KubernetesUtils.loadPodFromTemplateFile``) splits the template's ``flink-main-container`` off (an
empty container when there is none), runs its step decorators over the pair, and appends the main container after
the template's other containers. Each decorator (``InitJobManagerDecorator``, ``EnvSecretsDecorator``,
``MountSecretsDecorator``, ``CmdJobManagerDecorator``, ``FlinkConfMountDecorator``, ``PodTemplateMountDecorator``;
read in the 1.20.3 and 2.3.0 jars) either overwrites a field or appends to it, so the pod Flink renders from no
template, laid over the user's template step by step, is what the client creates:

* overwritten: the main container's name, image, pull policy (both always set by the spec), command, args; the
  pod's ``hostNetwork``, ``dnsPolicy`` (the template's if set, else ``ClusterFirst``) and service account (the
  template's unless ``service_account`` is set);
* resources: the template's are kept except ``cpu`` and ``memory`` in requests and limits, which Flink sets;
* merged, Flink's entries winning on a key: pod labels, annotations, node selector;
* appended after the template's: image pull secrets, tolerations, volumes, and the main container's env, ports and
  volume mounts. On an env name both entries stay and Kubernetes uses the later one: Flink's;
* kept as the template has them: init containers, sidecars, every other pod and main container field.

The Deployment's own labels and annotations are Flink's only.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.names import CONTAINER_NAME

FIELD = "jobmanager_pod_template"
#: Container port names Flink gives the JobManager's main container (Kubernetes refuses a name twice).
FLINK_PORT_NAMES = ("rest", "jobmanager-rpc", "blobserver")


@dataclass
class FlinkPod:
    """Flink's ``FlinkPod``: the pod (metadata and spec) without its main container, and the main container."""

    pod: dict[str, Any]
    main: dict[str, Any]


def split_pod_template(template: Mapping[str, Any]) -> FlinkPod:
    """The template's pod without ``flink-main-container``, and that container (empty when absent)."""
    pod = {"metadata": copy.deepcopy(dict(template.get("metadata") or {})),
           "spec": copy.deepcopy(dict(template.get("spec") or {}))}
    containers = pod["spec"].get("containers") or []
    main: dict[str, Any] = next((c for c in containers if c.get("name") == CONTAINER_NAME), {})
    pod["spec"]["containers"] = [c for c in containers if c.get("name") != CONTAINER_NAME]
    return FlinkPod(pod, main)


def _merged_map(template: dict[str, Any], flink: Mapping[str, Any], key: str) -> None:
    if key in template or key in flink:
        template[key] = {**(template.get(key) or {}), **(flink.get(key) or {})}


def _appended(template: dict[str, Any], flink: Mapping[str, Any], key: str) -> None:
    if key in template or key in flink:
        template[key] = [*(template.get(key) or []), *(flink.get(key) or [])]


def _metadata(pod: FlinkPod, flink: Mapping[str, Any]) -> None:
    """InitJobManagerDecorator: Flink's labels and annotations added to the template's."""
    for key in ("labels", "annotations"):
        _merged_map(pod.pod["metadata"], flink["metadata"], key)


def _pod_fields(pod: FlinkPod, flink: Mapping[str, Any], service_account_set: bool) -> None:
    """InitJobManagerDecorator: service account, hostNetwork and dnsPolicy overwritten (``resolveUserDefinedValue``,
    ``resolveDNSPolicy``)."""
    spec, flink_spec = pod.pod["spec"], flink["spec"]
    account = spec.get("serviceAccount") or spec.get("serviceAccountName")
    if service_account_set or not account:
        account = flink_spec["serviceAccountName"]
    spec["serviceAccount"] = spec["serviceAccountName"] = account
    spec["hostNetwork"] = flink_spec["hostNetwork"]
    if flink_spec["hostNetwork"] or not str(spec.get("dnsPolicy") or "").strip():
        spec["dnsPolicy"] = flink_spec["dnsPolicy"]


def _scheduling(pod: FlinkPod, flink: Mapping[str, Any]) -> None:
    """InitJobManagerDecorator: pull secrets and tolerations appended, node selector merged."""
    _appended(pod.pod["spec"], flink["spec"], "imagePullSecrets")
    _merged_map(pod.pod["spec"], flink["spec"], "nodeSelector")
    _appended(pod.pod["spec"], flink["spec"], "tolerations")


def _main_container(pod: FlinkPod, flink: Mapping[str, Any]) -> None:
    """InitJobManagerDecorator and CmdJobManagerDecorator: Flink's fields set, cpu and memory overwritten in the
    template's resources (``KubernetesUtils.getResourceRequirements``); the secret and config decorators' env,
    ports and mounts appended."""
    (flink_main,) = flink["spec"]["containers"]
    main = pod.main
    for key in ("name", "image", "imagePullPolicy", "command", "args"):
        main[key] = flink_main[key]
    resources = dict(main.get("resources") or {})
    for kind in ("limits", "requests"):
        # A quantity written as a number comes back as a string, as fabric8's Quantity writes it.
        template = {name: str(value) for name, value in (resources.get(kind) or {}).items()}
        resources[kind] = {**template, **flink_main["resources"][kind]}
    main["resources"] = resources
    for key in ("ports", "env", "volumeMounts"):
        _appended(main, flink_main, key)


def _volumes(pod: FlinkPod, flink: Mapping[str, Any]) -> None:
    """MountSecretsDecorator, FlinkConfMountDecorator, PodTemplateMountDecorator: volumes appended."""
    _appended(pod.pod["spec"], flink["spec"], "volumes")




def apply_pod_template(
    flink_pod: Mapping[str, Any], template: Mapping[str, Any], service_account_set: bool
) -> dict[str, Any]:
    """The Deployment's pod (``metadata``, ``spec``) for ``template``, given the pod Flink renders without one.

    ``service_account_set``: whether the launch sets the service account option (then it beats the template's).
    """
    pod = split_pod_template(template)
    decorators: tuple[Callable[[FlinkPod, Mapping[str, Any]], None], ...] = (
        _metadata, partial(_pod_fields, service_account_set=service_account_set), _scheduling, _main_container,
        _volumes,
    )
    for decorate in decorators:
        decorate(pod, flink_pod)
    pod.pod["spec"]["containers"].append(pod.main)
    return pod.pod


def check_pod_template(
    template: Any, flink_volume_names: Sequence[str], flink_mount_paths: Sequence[str], field: str = FIELD
) -> None:
    """Refuse a template the client would take but the API server refuses in the merged Deployment, or that is
    not a Pod manifest. ``flink_volume_names``/``flink_mount_paths``: what Flink adds to the pod/main container."""
    if not isinstance(template, Mapping) or template.get("kind", "Pod") != "Pod":
        raise FlinkSpecError(field, "must be a Pod manifest as a mapping", template)
    for key in ("metadata", "spec"):
        if not isinstance(template.get(key) or {}, Mapping):
            raise FlinkSpecError(f"{field}.{key}", "must be a mapping", template.get(key))
    spec = template.get("spec") or {}
    if spec.get("restartPolicy", "Always") != "Always":
        raise FlinkSpecError(f"{field}.spec.restartPolicy", "must be 'Always' or unset: the JobManager runs in a "
                             "Deployment, which accepts no other", spec.get("restartPolicy"))
    for key in ("containers", "initContainers", "volumes"):
        items = spec.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, Mapping) and isinstance(i.get("name"), str)
                                                  and i.get("name") for i in items):
            raise FlinkSpecError(f"{field}.spec.{key}", "must be a list of mappings, each with a name", items)
        names = [i["name"] for i in items]
        if len(set(names)) != len(names):
            raise FlinkSpecError(f"{field}.spec.{key}", "names must be unique", names)
    taken = sorted({v["name"] for v in spec.get("volumes") or []} & set(flink_volume_names))
    if taken:
        raise FlinkSpecError(f"{field}.spec.volumes", "must not use a volume name Flink adds to the JobManager "
                             f"pod ({', '.join(flink_volume_names)})", taken)
    main = split_pod_template(template).main
    for key in ("env", "ports", "volumeMounts"):
        if not isinstance(main.get(key) or [], list) or not all(isinstance(i, Mapping) for i in main.get(key) or []):
            raise FlinkSpecError(f"{field} {CONTAINER_NAME}.{key}", "must be a list of mappings", main.get(key))
    ports = sorted({p.get("name") for p in main.get("ports") or []} & set(FLINK_PORT_NAMES))
    if ports:
        raise FlinkSpecError(f"{field} {CONTAINER_NAME}.ports", "must not use a port name Flink adds "
                             f"({', '.join(FLINK_PORT_NAMES)})", ports)
    paths = sorted({m.get("mountPath") for m in main.get("volumeMounts") or []} & set(flink_mount_paths))
    if paths:
        raise FlinkSpecError(f"{field} {CONTAINER_NAME}.volumeMounts", "must not mount at a path Flink mounts "
                             f"({', '.join(flink_mount_paths)})", paths)
    resources = main.get("resources") or {}
    if not isinstance(resources, Mapping) or not all(
            isinstance(resources.get(k) or {}, Mapping) and all(
                isinstance(q, (str, int, float)) and not isinstance(q, bool) for q in (resources.get(k) or {}).values())
            for k in ("limits", "requests")):
        raise FlinkSpecError(f"{field} {CONTAINER_NAME}.resources", "must be a mapping of limits and requests, "
                             "each of resource names to quantities", resources)
