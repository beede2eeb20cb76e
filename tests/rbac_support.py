"""RBAC documents (Role, RoleBinding, subjects) for the authorizer and RBAC tests."""

from __future__ import annotations

from typing import Any


def role(name: str, *rules: dict[str, Any], kind: str = "Role") -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "rules": list(rules)}


def binding(role_name: str, *subjects: dict[str, str], kind: str = "RoleBinding", role_kind: str = "Role",
            namespace: str | None = None) -> dict[str, Any]:
    metadata = {"name": f"bind-{role_name}", **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
            "subjects": list(subjects)}


SA_WORKER = {"kind": "ServiceAccount", "name": "worker", "namespace": "airflow"}
