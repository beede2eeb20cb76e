"""The emulator enforcing RBAC over HTTP for the real Kubernetes client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from tests.rbac_support import SA_WORKER, binding, role


def test_the_emulator_enforces_the_policy_for_the_kubernetes_client(k8s_emulator: EmulatorProcess,
                                                                    tmp_path: Path) -> None:
    from kubernetes import client, config, watch
    from kubernetes.client.exceptions import ApiException

    def core(kubeconfig: Path) -> Any:
        return client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))

    admin = core(k8s_emulator.write_kubeconfig(tmp_path / "admin"))
    worker = core(k8s_emulator.user_kubeconfig(tmp_path / "worker", "system:serviceaccount:airflow:worker"))
    admin.create_namespaced_config_map("flink", {"metadata": {"name": "a"}})
    assert worker.read_namespaced_config_map("a", "flink").metadata.name == "a", "RBAC is off until loaded"

    k8s_emulator.set_rbac([role("reader", {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}),
                           binding("reader", SA_WORKER)], namespace="flink")
    assert worker.read_namespaced_config_map("a", "flink").metadata.name == "a"
    with pytest.raises(ApiException) as refused:
        worker.delete_namespaced_config_map("a", "flink")
    status = json.loads(refused.value.body)
    assert (refused.value.status, status["kind"], status["status"], status["reason"], status["code"]) == (
        403, "Status", "Failure", "Forbidden", 403)
    assert status["message"] == ('configmaps "a" is forbidden: User "system:serviceaccount:airflow:worker" cannot '
                                 'delete resource "configmaps" in API group "" in the namespace "flink"')
    assert status["details"] == {"name": "a", "kind": "configmaps"}
    with pytest.raises(ApiException) as watch_refused:
        next(iter(watch.Watch().stream(worker.list_namespaced_config_map, "flink", timeout_seconds=1)))
    assert watch_refused.value.status == 403
    assert "cannot watch resource" in json.loads(watch_refused.value.body)["message"]
    assert admin.read_namespaced_config_map("a", "flink") is not None, "the sandbox admin is unrestricted"
    denied = [(r["user"], r["verb"], r["resource"]) for r in k8s_emulator.requests() if r.get("status") == 403]
    assert denied == [("system:serviceaccount:airflow:worker", "delete", "configmaps"),
                      ("system:serviceaccount:airflow:worker", "watch", "configmaps")]

    unknown_token = urllib.request.Request(f"{k8s_emulator.url}/api/v1/namespaces/flink/configmaps/a",
                                           headers={"Authorization": "Bearer nobody-gave-me-this"})
    with pytest.raises(urllib.error.HTTPError) as unknown:
        urllib.request.urlopen(unknown_token, timeout=10)
    assert (unknown.value.code, json.loads(unknown.value.read())["reason"]) == (401, "Unauthorized")

    with pytest.raises(ValueError, match="roleRef"):
        k8s_emulator.set_rbac("kind: RoleBinding\nmetadata: {name: b}\n")
    k8s_emulator.clear_rbac()
    worker.delete_namespaced_config_map("a", "flink")
