"""RBAC decisions of the emulator's authorizer, as a user of a real cluster would see them (the emulator enforcing
them over HTTP is in ``tests/integration/sandbox/test_k8s_authorizer_on_emulator.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_flink_k8s_sandbox.authorizer import (
    ANONYMOUS,
    RbacPolicy,
    RbacPolicyError,
    UserInfo,
    forbidden_status,
    request_attributes,
)
from tests.rbac_support import SA_WORKER, binding, role

WORKER = UserInfo.authenticated("system:serviceaccount:airflow:worker")
ALICE = UserInfo.authenticated("alice", ("team-a",))


def allowed(policy: RbacPolicy, user: UserInfo, method: str, path: str, **query: str) -> bool:
    return policy.authorize(request_attributes(user, method, path, query)).allowed


def message(policy: RbacPolicy, user: UserInfo, method: str, path: str, **query: str) -> str:
    attributes = request_attributes(user, method, path, query)
    decision = policy.authorize(attributes)
    assert not decision.allowed
    return forbidden_status(attributes, decision)["message"]


CM = "/api/v1/namespaces/flink/configmaps"


def test_resource_names_allow_get_of_that_name_but_never_a_plain_list_watch_or_create() -> None:
    policy = RbacPolicy.from_documents([
        role("leader-reader", {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a-leader"],
                               "verbs": ["get", "list", "watch", "create"]}),
        binding("leader-reader", SA_WORKER)], namespace="flink")
    assert allowed(policy, WORKER, "GET", f"{CM}/a-leader")
    assert not allowed(policy, WORKER, "GET", f"{CM}/b-leader")
    assert not allowed(policy, WORKER, "GET", CM)
    assert not allowed(policy, WORKER, "GET", CM, watch="1")
    assert not allowed(policy, WORKER, "POST", CM), "create names no object at authorization: never matches"
    # A list or watch restricted to that one name by a field selector is allowed, as on a real API server.
    assert allowed(policy, WORKER, "GET", CM, fieldSelector="metadata.name=a-leader")
    assert allowed(policy, WORKER, "GET", CM, fieldSelector="metadata.name=a-leader", watch="true")
    assert not allowed(policy, WORKER, "GET", CM, fieldSelector="metadata.name!=a-leader")


def test_verbs_are_derived_from_method_name_and_watch_parameter() -> None:
    policy = RbacPolicy.from_documents([
        role("lister", {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "delete"]}),
        binding("lister", SA_WORKER)], namespace="flink")
    assert allowed(policy, WORKER, "GET", CM)
    assert allowed(policy, WORKER, "GET", CM, watch="false"), "watch=false is a list"
    assert allowed(policy, WORKER, "GET", CM, watch="0")
    for value in ("1", "true", "True"):
        assert not allowed(policy, WORKER, "GET", CM, watch=value), f"watch={value} needs the watch verb"
    assert not allowed(policy, WORKER, "GET", f"{CM}/x"), "GET on a name is get, not list"
    assert allowed(policy, WORKER, "DELETE", f"{CM}/x")
    assert not allowed(policy, WORKER, "DELETE", CM), "DELETE on the collection is deletecollection"
    assert "cannot deletecollection resource" in message(policy, WORKER, "DELETE", CM)
    for method, verb in (("POST", "create"), ("PUT", "update"), ("PATCH", "patch")):
        path = CM if method == "POST" else f"{CM}/x"
        assert f"cannot {verb} resource \"configmaps\"" in message(policy, WORKER, method, path)


def test_subresources_need_rules_of_their_own() -> None:
    policy = RbacPolicy.from_documents([
        role("pods", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
             {"apiGroups": [""], "resources": ["services/proxy"], "verbs": ["get"]},
             {"apiGroups": ["apps"], "resources": ["*/status"], "verbs": ["patch"]}),
        binding("pods", SA_WORKER)], namespace="flink")
    pods = "/api/v1/namespaces/flink/pods"
    assert allowed(policy, WORKER, "GET", f"{pods}/jm")
    assert not allowed(policy, WORKER, "GET", f"{pods}/jm/log"), "pods does not grant pods/log"
    assert 'cannot get resource "pods/log" in API group "" in the namespace "flink"' in message(
        policy, WORKER, "GET", f"{pods}/jm/log")
    assert not allowed(policy, WORKER, "PATCH", f"{pods}/jm/status")
    proxy = "/api/v1/namespaces/flink/services/orders-rest:rest/proxy/jobs/overview"
    assert allowed(policy, WORKER, "GET", proxy)
    assert not allowed(policy, WORKER, "GET", "/api/v1/namespaces/flink/services/orders-rest"), \
        "services/proxy does not grant services"
    assert 'cannot create resource "services/proxy"' in message(policy, WORKER, "POST", proxy)
    assert allowed(policy, WORKER, "PATCH", "/apis/apps/v1/namespaces/flink/deployments/x/status")
    assert not allowed(policy, WORKER, "PATCH", "/apis/apps/v1/namespaces/flink/deployments/x")


def test_api_groups_and_wildcards() -> None:
    policy = RbacPolicy.from_documents([
        role("core-deployments", {"apiGroups": [""], "resources": ["deployments"], "verbs": ["get"]}),
        binding("core-deployments", SA_WORKER),
        role("anything-in-apps", {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]}),
        binding("anything-in-apps", {"kind": "User", "name": "alice"})], namespace="flink")
    deployment = "/apis/apps/v1/namespaces/flink/deployments/orders"
    assert not allowed(policy, WORKER, "GET", deployment), 'apiGroups [""] is the core group only'
    assert message(policy, WORKER, "GET", deployment) == (
        'deployments.apps "orders" is forbidden: User "system:serviceaccount:airflow:worker" cannot get resource '
        '"deployments" in API group "apps" in the namespace "flink"')
    for method in ("GET", "DELETE", "PATCH"):
        assert allowed(policy, ALICE, method, deployment)
    assert allowed(policy, ALICE, "PATCH", f"{deployment}/status"), "resources * includes subresources"
    assert not allowed(policy, ALICE, "GET", "/api/v1/namespaces/flink/configmaps/x")


def test_bindings_grant_in_their_namespace_and_cluster_bindings_everywhere() -> None:
    policy = RbacPolicy.from_documents([
        role("reader", {"apiGroups": [""], "resources": ["configmaps", "nodes"], "verbs": ["get", "list"]},
             kind="ClusterRole"),
        binding("reader", {"kind": "ServiceAccount", "name": "worker"}, role_kind="ClusterRole",
                namespace="airflow"),
        binding("reader", {"kind": "Group", "name": "team-a"}, kind="ClusterRoleBinding",
                role_kind="ClusterRole")], namespace="flink")
    # A RoleBinding to a ClusterRole grants it in the binding's namespace only; its ServiceAccount subject
    # without a namespace means that namespace's account.
    assert allowed(policy, WORKER, "GET", "/api/v1/namespaces/airflow/configmaps/x")
    assert not allowed(policy, WORKER, "GET", "/api/v1/namespaces/flink/configmaps/x")
    assert not allowed(policy, WORKER, "GET", "/api/v1/nodes")
    assert message(policy, WORKER, "GET", "/api/v1/nodes") == (
        'nodes is forbidden: User "system:serviceaccount:airflow:worker" cannot list resource "nodes" in API group '
        '"" at the cluster scope')
    assert allowed(policy, ALICE, "GET", "/api/v1/nodes")
    assert allowed(policy, ALICE, "GET", "/api/v1/namespaces/anywhere/configmaps")
    other_sa = UserInfo.authenticated("system:serviceaccount:flink:worker")
    assert not allowed(policy, other_sa, "GET", "/api/v1/namespaces/airflow/configmaps/x")


def test_service_account_groups_and_superusers() -> None:
    policy = RbacPolicy.from_documents([
        role("all-sa", {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}),
        binding("all-sa", {"kind": "Group", "name": "system:serviceaccounts:airflow"})], namespace="flink")
    assert allowed(policy, WORKER, "GET", "/api/v1/namespaces/flink/pods")
    assert not allowed(policy, ALICE, "GET", "/api/v1/namespaces/flink/pods")
    admin = UserInfo.authenticated("admin", ("system:masters",))
    assert allowed(policy, admin, "DELETE", "/api/v1/namespaces/flink/pods")
    assert allowed(policy, admin, "GET", "/metrics")


def test_discovery_is_open_to_authenticated_users_and_version_to_everyone() -> None:
    policy = RbacPolicy.from_documents([])
    for path in ("/api", "/api/v1", "/apis", "/apis/apps/v1", "/version", "/healthz"):
        assert allowed(policy, ALICE, "GET", path), path
    assert allowed(policy, ANONYMOUS, "GET", "/version")
    assert allowed(policy, ANONYMOUS, "GET", "/readyz")
    assert not allowed(policy, ANONYMOUS, "GET", "/api")
    assert message(policy, ANONYMOUS, "GET", "/apis") == 'forbidden: User "system:anonymous" cannot get path "/apis"'
    assert not allowed(policy, ALICE, "POST", "/api"), "discovery is read-only"
    assert not allowed(policy, ALICE, "GET", "/api/v1/namespaces/flink/pods")


def test_a_binding_to_a_missing_role_says_so() -> None:
    policy = RbacPolicy.from_documents([binding("typo-role", SA_WORKER)], namespace="flink")
    assert message(policy, WORKER, "GET", f"{CM}/x").endswith(
        'in the namespace "flink": RBAC: role.rbac.authorization.k8s.io "typo-role" not found')


@pytest.mark.parametrize("document, field", [
    ({"kind": "Secret", "metadata": {"name": "x"}}, "kind"),
    (role("r", {"resources": ["pods"], "verbs": ["get"]}), "apiGroups"),
    (role("r", {"apiGroups": [""], "resources": ["pods"], "verbs": []}), "verbs"),
    (role("r", {"verbs": ["get"], "nonResourceURLs": ["/x"]}), "nonResourceURLs"),
    ({"kind": "RoleBinding", "metadata": {"name": "b"}, "subjects": []}, "roleRef"),
    (binding("r", {"kind": "ServiceAccount", "name": "x"}, kind="ClusterRoleBinding", role_kind="ClusterRole"),
     "namespace"),
])
def test_invalid_documents_are_refused_naming_the_field(document: dict[str, Any], field: str) -> None:
    with pytest.raises(RbacPolicyError, match=field):
        RbacPolicy.from_documents([document])


