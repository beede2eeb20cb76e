"""Kubernetes RBAC for the API emulator (pure): request attributes → allow or deny, with the API server's 403.

It follows the real API server:

* request attributes as its ``RequestInfoFactory`` derives them from the method, path and query: GET on a
  collection is ``list`` (``watch`` when the ``watch`` parameter is present and not ``0``/``false``), GET on a
  name is ``get``, POST ``create``, PUT ``update``, PATCH ``patch``, DELETE on a name ``delete`` and on a
  collection ``deletecollection``; ``pods/log`` and ``services/proxy`` are subresources; a list or watch with a
  ``metadata.name=`` field selector names its object (so ``resourceNames`` can allow it), a create never does;
  paths outside ``/api`` and ``/apis`` resources (``/version``, ``/api``, ``/apis/apps/v1``) are non-resource
  requests whose verb is the lower-case HTTP method;
* rule matching as RBAC's ``RuleAllows``: ``*`` wildcards for verbs, API groups and resources, ``*/<sub>`` for a
  subresource of any resource, ``pods`` not matching ``pods/log``, ``resourceNames`` as an exact list, and
  ``nonResourceURLs`` with a trailing ``*`` prefix match;
* bindings: a RoleBinding grants its Role (or a ClusterRole) in its own namespace only, a ClusterRoleBinding grants a
  ClusterRole everywhere; subjects are Users, Groups and ServiceAccounts (``system:serviceaccount:<ns>:<name>``);
* the ``system:masters`` group is allowed everything (as the API server's privileged-group authorizer), and the
  bootstrap ``system:discovery`` / ``system:public-info-viewer`` bindings always hold: discovery paths for every
  authenticated user, ``/version`` and the health paths also for anonymous requests;
* the 403 ``Status`` body in the API server's wording, e.g. ``deployments.apps "orders" is forbidden: User
  "system:serviceaccount:airflow:worker" cannot delete resource "deployments" in API group "apps" in the namespace
  "flink"``, with ``: RBAC: role.rbac.authorization.k8s.io "x" not found`` appended when a binding names a
  missing role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SUPERUSER_GROUP = "system:masters"
AUTHENTICATED_GROUP = "system:authenticated"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
RBAC_GROUP = "rbac.authorization.k8s.io"
_METHOD_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")


class RbacPolicyError(ValueError):
    """An RBAC document that the API server would reject; the message names the document and field."""


@dataclass(frozen=True)
class UserInfo:
    """An authenticated (or anonymous) identity."""

    name: str
    groups: tuple[str, ...] = ()

    @classmethod
    def authenticated(cls, name: str, groups: Iterable[str] = ()) -> UserInfo:
        """The identity a token stands for: ``groups`` plus ``system:authenticated`` (and, for a service account,
        ``system:serviceaccounts`` and ``system:serviceaccounts:<ns>``, as the token authenticator adds them)."""
        extra = [AUTHENTICATED_GROUP]
        if name.startswith(SERVICE_ACCOUNT_PREFIX):
            namespace = name[len(SERVICE_ACCOUNT_PREFIX):].partition(":")[0]
            extra += ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
        return cls(name, tuple(dict.fromkeys([*groups, *extra])))


ANONYMOUS = UserInfo("system:anonymous", (UNAUTHENTICATED_GROUP,))


def service_account_user(namespace: str, name: str) -> str:
    """The user name of a service account: ``system:serviceaccount:<namespace>:<name>``."""
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


@dataclass(frozen=True)
class RequestAttributes:
    """What the authorizer decides on, as the API server derives it from a request."""

    user: UserInfo
    verb: str
    path: str
    resource_request: bool = False
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    @property
    def combined_resource(self) -> str:
        """``resource`` or ``resource/subresource`` (what RBAC rules and the 403 message name)."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def watch_requested(query: Mapping[str, str]) -> bool:
    """Whether a list asks to watch: the ``watch`` parameter is present and not ``0`` or ``false``."""
    if "watch" not in query:
        return False
    return query["watch"] != "0" and query["watch"].lower() != "false"


def request_attributes(user: UserInfo, method: str, path: str, query: Mapping[str, str]) -> RequestAttributes:
    """The attributes of ``method path?query`` for ``user`` (see the module docstring for the rules)."""
    parts = [p for p in path.split("/") if p]
    verb = _METHOD_VERBS.get(method.upper(), "")
    non_resource = RequestAttributes(user, method.lower(), path)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return non_resource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(parts) < 3:
            return non_resource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if watch_requested(query) else "list"
        selected = _exact_name(query.get("fieldSelector", ""))
        if selected:
            name = selected
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestAttributes(user, verb, path, True, group, version, namespace, resource, subresource, name)


def _exact_name(field_selector: str) -> str:
    """The name a ``metadata.name=<x>`` (or ``==``) term of a field selector requires, else ''."""
    for term in field_selector.split(","):
        key, op, value = term.partition("==") if "==" in term else term.partition("=")
        if op and not key.endswith("!") and key.strip() == "metadata.name" and value.strip():
            return value.strip()
    return ""


@dataclass(frozen=True)
class PolicyRule:
    """One ``rules[]`` entry of a Role or ClusterRole."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, rule: Mapping[str, Any], where: str) -> PolicyRule:
        def strings(key: str) -> tuple[str, ...]:
            value = rule.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise RbacPolicyError(f"{where}.{key}: must be a list of strings, got {value!r}")
            return tuple(value)

        parsed = cls(strings("verbs"), strings("apiGroups"), strings("resources"), strings("resourceNames"),
                     strings("nonResourceURLs"))
        if not parsed.verbs:
            raise RbacPolicyError(f"{where}.verbs: must list at least one verb")
        if parsed.resources and parsed.non_resource_urls:
            raise RbacPolicyError(f"{where}: a rule names resources or nonResourceURLs, not both")
        if parsed.resources and not parsed.api_groups:
            raise RbacPolicyError(f"{where}.apiGroups: required with resources (use [\"\"] for the core group)")
        return parsed

    def allows(self, request: RequestAttributes) -> bool:
        if "*" not in self.verbs and request.verb not in self.verbs:
            return False
        if not request.resource_request:
            return any(url == "*" or url == request.path or (url.endswith("*") and request.path.startswith(url[:-1]))
                       for url in self.non_resource_urls)
        return ("*" in self.api_groups or request.api_group in self.api_groups) \
            and self._resource_matches(request) \
            and (not self.resource_names or request.name in self.resource_names)

    def _resource_matches(self, request: RequestAttributes) -> bool:
        combined = request.combined_resource
        return any(r in ("*", combined) or (request.subresource and r == f"*/{request.subresource}")
                   for r in self.resources)


@dataclass(frozen=True)
class Subject:
    kind: str
    name: str
    namespace: str = ""

    def applies_to(self, user: UserInfo, binding_namespace: str) -> bool:
        if self.kind == "User":
            return user.name == self.name
        if self.kind == "Group":
            return self.name in user.groups
        namespace = self.namespace or binding_namespace
        return bool(namespace) and user.name == service_account_user(namespace, self.name)


@dataclass(frozen=True)
class Binding:
    """A RoleBinding (``namespace`` set) or ClusterRoleBinding (``namespace`` empty)."""

    name: str
    namespace: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]


@dataclass(frozen=True)
class Decision:
    """Allowed or not; ``reason`` carries RBAC's note (a binding naming a missing role), as the API server's."""

    allowed: bool
    reason: str = ""


@dataclass
class RbacPolicy:
    """Roles, ClusterRoles and their bindings; :meth:`authorize` decides one request."""

    roles: dict[tuple[str, str], tuple[PolicyRule, ...]] = field(default_factory=dict)
    cluster_roles: dict[str, tuple[PolicyRule, ...]] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)

    @classmethod
    def from_documents(cls, documents: Iterable[Mapping[str, Any] | None], namespace: str = "default"
                       ) -> RbacPolicy:
        """A policy from Role/ClusterRole/RoleBinding/ClusterRoleBinding documents (API JSON or parsed YAML), plus
        the bootstrap discovery roles; namespaced documents without ``metadata.namespace`` go to ``namespace``
        (as ``kubectl -n <namespace> apply`` would put them)."""
        policy = cls()
        for index, document in enumerate([*_BOOTSTRAP, *documents]):
            if document:
                policy._add(document, namespace, f"document {index - len(_BOOTSTRAP)}")
        return policy

    def _add(self, document: Mapping[str, Any], default_namespace: str, where: str) -> None:
        kind = document.get("kind")
        if kind not in _KINDS:
            raise RbacPolicyError(f"{where}.kind: must be one of {', '.join(_KINDS)}, got {kind!r}")
        metadata = document.get("metadata") or {}
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            raise RbacPolicyError(f"{where} ({kind}).metadata.name: required")
        where = f"{kind} {name!r}"
        namespace = "" if kind.startswith("Cluster") else str(metadata.get("namespace") or default_namespace)
        if kind in ("Role", "ClusterRole"):
            rules = tuple(PolicyRule.parse(rule, f"{where}.rules[{i}]")
                          for i, rule in enumerate(document.get("rules") or []))
            if kind == "Role":
                if any(rule.non_resource_urls for rule in rules):
                    raise RbacPolicyError(f"{where}.rules: nonResourceURLs are only valid in a ClusterRole")
                self.roles[(namespace, name)] = rules
            else:
                self.cluster_roles[name] = rules
            return
        ref = document.get("roleRef") or {}
        if ref.get("kind") not in ("Role", "ClusterRole") or not ref.get("name"):
            raise RbacPolicyError(f"{where}.roleRef: needs kind Role or ClusterRole and a name, got {dict(ref)!r}")
        if kind == "ClusterRoleBinding" and ref["kind"] != "ClusterRole":
            raise RbacPolicyError(f"{where}.roleRef.kind: a ClusterRoleBinding can only refer to a ClusterRole")
        subjects = []
        for i, subject in enumerate(document.get("subjects") or []):
            if subject.get("kind") not in ("User", "Group", "ServiceAccount") or not subject.get("name"):
                raise RbacPolicyError(f"{where}.subjects[{i}]: needs kind User, Group or ServiceAccount and a name")
            if kind == "ClusterRoleBinding" and subject["kind"] == "ServiceAccount" and not subject.get("namespace"):
                raise RbacPolicyError(f"{where}.subjects[{i}].namespace: required for a ServiceAccount")
            subjects.append(Subject(subject["kind"], subject["name"], subject.get("namespace") or ""))
        self.bindings.append(Binding(name, namespace, ref["kind"], ref["name"], tuple(subjects)))

    def authorize(self, request: RequestAttributes) -> Decision:
        """Allow when the user is a superuser or a binding that applies grants a rule that matches."""
        if SUPERUSER_GROUP in request.user.groups:
            return Decision(True)
        missing: list[str] = []
        for binding in self.bindings:
            if binding.namespace and binding.namespace != request.namespace:
                continue
            if not any(s.applies_to(request.user, binding.namespace) for s in binding.subjects):
                continue
            rules = self._rules(binding)
            if rules is None:
                missing.append(f'{binding.role_kind.lower()}.{RBAC_GROUP} "{binding.role_name}" not found')
            elif any(rule.allows(request) for rule in rules):
                return Decision(True)
        if not missing:
            return Decision(False)
        return Decision(False, "RBAC: " + (missing[0] if len(missing) == 1 else f"[{', '.join(missing)}]"))

    def _rules(self, binding: Binding) -> tuple[PolicyRule, ...] | None:
        if binding.role_kind == "ClusterRole":
            return self.cluster_roles.get(binding.role_name)
        return self.roles.get((binding.namespace, binding.role_name))


def forbidden_status(request: RequestAttributes, decision: Decision) -> dict[str, Any]:
    """The ``v1.Status`` body of the API server's 403 for a denied ``request``."""
    user = request.user.name
    if not request.resource_request:
        message = f'User "{user}" cannot {request.verb} path "{request.path}"'
    elif request.namespace:
        message = (f'User "{user}" cannot {request.verb} resource "{request.combined_resource}" in API group '
                   f'"{request.api_group}" in the namespace "{request.namespace}"')
    else:
        message = (f'User "{user}" cannot {request.verb} resource "{request.combined_resource}" in API group '
                   f'"{request.api_group}" at the cluster scope')
    if decision.reason:
        message = f"{message}: {decision.reason}"
    qualified = f"{request.resource}.{request.api_group}" if request.api_group else request.resource
    if not qualified:
        message = f"forbidden: {message}"
    elif request.name:
        message = f'{qualified} "{request.name}" is forbidden: {message}'
    else:
        message = f"{qualified} is forbidden: {message}"
    details = {k: v for k, v in (("name", request.name), ("group", request.api_group), ("kind", request.resource))
               if v}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": "Forbidden", "details": details, "code": 403}


def unauthorized_status() -> dict[str, Any]:
    """The ``v1.Status`` body of the API server's 401 for a bearer token it does not know."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
            "reason": "Unauthorized", "code": 401}


#: The bootstrap roles a fresh cluster has for discovery (Kubernetes ≥ 1.14).
_BOOTSTRAP: tuple[dict[str, Any], ...] = (
    {"kind": "ClusterRole", "metadata": {"name": "system:discovery"}, "rules": [
        {"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                               "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]}]},
    {"kind": "ClusterRoleBinding", "metadata": {"name": "system:discovery"},
     "roleRef": {"kind": "ClusterRole", "name": "system:discovery"},
     "subjects": [{"kind": "Group", "name": AUTHENTICATED_GROUP}]},
    {"kind": "ClusterRole", "metadata": {"name": "system:public-info-viewer"}, "rules": [
        {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]}]},
    {"kind": "ClusterRoleBinding", "metadata": {"name": "system:public-info-viewer"},
     "roleRef": {"kind": "ClusterRole", "name": "system:public-info-viewer"},
     "subjects": [{"kind": "Group", "name": AUTHENTICATED_GROUP}, {"kind": "Group", "name": UNAUTHENTICATED_GROUP}]},
)
