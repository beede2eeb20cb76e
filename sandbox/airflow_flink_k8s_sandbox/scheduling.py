"""The sandbox scheduler's decision: may a pod go on the one sandbox node, and if not, kube-scheduler's message.

The filters a single node can apply, as kube-scheduler runs them: ``NodeName`` (a pod bound to another node never
runs here), ``NodeAffinity`` (``spec.nodeSelector`` and the required node affinity terms against the node's labels)
and ``NodeResourcesFit`` (the pod's cpu and memory requests plus those of the pods already on the node within its
``status.allocatable``, and the pod count). The node has no taints, so tolerations change nothing. Required pod
(anti-)affinity is not evaluated: :func:`unhonoured_scheduling` names it so the kubelet can say so on the pod.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

NODE_NAME = "sandbox-node"
#: What the sandbox node offers (``status.allocatable``): far more than the tests start, like a large node.
NODE_ALLOCATABLE = {"cpu": "128", "memory": "512Gi", "pods": "250"}
COMPUTE_RESOURCES = ("cpu", "memory")
_SUFFIXES = {"": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6,
             "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
             "Pi": 2**50, "Ei": 2**60}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")


#: The node's labels: a kubelet's own, and the node pool the example DAGs (and ``make demo``) select their pods on.
NODE_LABELS = {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
               "kubernetes.io/role": "flink-node"}


def node_object() -> dict[str, Any]:
    """The sandbox node, as a kubelet registers it: its labels, addresses, capacity and a Ready condition."""
    return {"metadata": {"name": NODE_NAME, "labels": dict(NODE_LABELS)},
            "spec": {"podCIDR": "10.244.0.0/24"},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                                     {"type": "Hostname", "address": NODE_NAME}],
                       "capacity": dict(NODE_ALLOCATABLE), "allocatable": dict(NODE_ALLOCATABLE),
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def parse_quantity(value: Any) -> Decimal:
    """A Kubernetes quantity (``1728Mi``, ``500m``, ``1.5``, ``2e3``) as a number; ValueError names a bad one."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(f"quantities must match the regular expression "
                         f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {value!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2) or ""]
    except InvalidOperation as exc:
        raise ValueError(f"invalid quantity {value!r}") from exc


def container_amount(container: Mapping[str, Any], field: str, resource: str) -> Decimal | None:
    """``resources.<field>.<resource>`` of one container (``field`` "requests" or "limits"), None when unset; an
    unset request is the limit, as the API defaults it."""
    resources = container.get("resources") or {}
    value = (resources.get(field) or {}).get(resource)
    if value is None and field == "requests":
        value = (resources.get("limits") or {}).get(resource)
    return None if value is None else parse_quantity(value)


def pod_requests(pod: Mapping[str, Any]) -> dict[str, Decimal]:
    """The pod's effective cpu and memory requests: the sum over its containers, or the largest init container's
    when that is more."""
    spec = pod.get("spec") or {}

    def requested(container: Mapping[str, Any], resource: str) -> Decimal:
        return container_amount(container, "requests", resource) or Decimal(0)

    return {resource: max(sum((requested(c, resource) for c in spec.get("containers") or []), Decimal(0)),
                          max((requested(c, resource) for c in spec.get("initContainers") or []), default=Decimal(0)))
            for resource in COMPUTE_RESOURCES}


def _matches_expression(labels: Mapping[str, str], expression: Mapping[str, Any]) -> bool:
    key, operator, values = expression.get("key", ""), expression.get("operator"), expression.get("values") or []
    value = labels.get(key)
    if operator == "In":
        return value in values
    if operator == "NotIn":
        return value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and value is not None and value.lstrip("-").isdigit() and len(values) == 1:
        return int(value) > int(values[0]) if operator == "Gt" else int(value) < int(values[0])
    return False


def matches_node(pod: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """Whether the node's labels satisfy the pod's ``nodeSelector`` and its required node affinity (any term,
    every expression of it; ``matchFields`` only on ``metadata.name``)."""
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(key) != value for key, value in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    fields = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    return any(all(_matches_expression(labels, e) for e in term.get("matchExpressions") or [])
               and all(_matches_expression(fields, e) for e in term.get("matchFields") or [])
               for term in terms)


def unschedulable_reason(pod: Mapping[str, Any], node: Mapping[str, Any],
                         placed: Iterable[Mapping[str, Any]]) -> str | None:
    """kube-scheduler's message when ``pod`` cannot go on ``node`` beside the ``placed`` pods; None when it can."""
    name = (node.get("metadata") or {}).get("name")
    bound = (pod.get("spec") or {}).get("nodeName")
    if bound and bound != name:
        return f'spec.nodeName binds the pod to node "{bound}"; the sandbox has only node "{name}"'
    if not matches_node(pod, node):
        return ("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes "
                "are available: 1 Preemption is not helpful for scheduling.")
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    placed = list(placed)
    wanted = pod_requests(pod)
    short = []
    if len(placed) + 1 > int(allocatable.get("pods", 0)):
        short.append("Too many pods")
    for resource in COMPUTE_RESOURCES:
        used = sum((pod_requests(other)[resource] for other in placed), Decimal(0))
        if wanted[resource] and used + wanted[resource] > parse_quantity(allocatable.get(resource, "0")):
            short.append(f"Insufficient {resource}")
    if not short:
        return None
    return (f"0/1 nodes are available: {', '.join(f'1 {why}' for why in short)}. preemption: 0/1 nodes are "
            "available: 1 No preemption victims found for incoming pod.")


def unhonoured_scheduling(pod: Mapping[str, Any]) -> list[str]:
    """The required scheduling terms the sandbox does not evaluate (pod affinity and anti-affinity)."""
    affinity = (pod.get("spec") or {}).get("affinity") or {}
    return [kind for kind in ("podAffinity", "podAntiAffinity")
            if (affinity.get(kind) or {}).get("requiredDuringSchedulingIgnoredDuringExecution")]
