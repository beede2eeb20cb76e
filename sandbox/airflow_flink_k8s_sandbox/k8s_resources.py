"""The resource types the Kubernetes API emulator serves, and the API's error ``Status`` bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives in the URL space and how its names are validated."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    name_rule: str = "dns1123-subdomain"
    has_status: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "Namespace", namespaced=False, name_rule="dns1123-label", has_status=True),
    ResourceType("", "v1", "nodes", "Node", namespaced=False, has_status=True),
    ResourceType("", "v1", "configmaps", "ConfigMap"),
    ResourceType("", "v1", "secrets", "Secret"),
    ResourceType("", "v1", "services", "Service", name_rule="dns1035-label", has_status=True),
    ResourceType("", "v1", "endpoints", "Endpoints"),
    ResourceType("", "v1", "pods", "Pod", has_status=True),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount"),
    ResourceType("", "v1", "events", "Event"),
    ResourceType("", "v1", "resourcequotas", "ResourceQuota", has_status=True),
    ResourceType("apps", "v1", "deployments", "Deployment", has_status=True),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", has_status=True),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease"),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
)

BY_PATH: dict[tuple[str, str, str], ResourceType] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_PLURAL: dict[str, ResourceType] = {r.plural: r for r in RESOURCES}


class ApiError(Exception):
    """An error the API server answers with a ``Status`` body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict[str, Any]:
        """The ``v1.Status`` body the real API server sends."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{rtype.plural}{"." + rtype.group if rtype.group else ""} "{name}" not found',
        {"name": name, "group": rtype.group, "kind": rtype.plural},
    )


def conflict(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rtype.plural}{"." + rtype.group if rtype.group else ""} "{name}": '
        "the object has been modified; please apply your changes to the latest version and try again",
        {"name": name, "group": rtype.group, "kind": rtype.plural},
    )


def invalid(rtype: ResourceType, name: str, field: str, message: str) -> ApiError:
    return ApiError(
        422,
        "Invalid",
        f'{rtype.kind} "{name}" is invalid: {field}: {message}',
        {"name": name, "group": rtype.group, "kind": rtype.kind,
         "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]},
    )
