"""``kubernetes.jobmanager.owner.reference`` on the API emulator: what a user notices when the owners go.

The native launcher creates a cluster owned by two objects of the user's (ConfigMaps standing for, e.g., a pipeline
resource). Deleting one owner leaves the cluster running; deleting the last one garbage-collects the Deployment and,
through it, the Services and ConfigMaps it owns, as the Kubernetes garbage collector does.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION, EmulatorProcess
from tests.spec_support import minimal_spec
from tests.waiting import wait_until


def _exists(emulator: EmulatorProcess, path: str) -> bool:
    try:
        emulator.api_get(path)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise
    return True


def _call(emulator: EmulatorProcess, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"{emulator.url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **ADMIN_AUTHORIZATION})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_the_cluster_lives_as_long_as_one_of_its_owners(
    k8s_emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}))
    base = "/api/v1/namespaces/flink/configmaps"
    uids = [_call(k8s_emulator, "POST", base, {"metadata": {"name": name}})["metadata"]["uid"]
            for name in ("pipeline-a", "pipeline-b")]
    owners = ";".join(f"apiVersion:v1,kind:ConfigMap,name:pipeline-{name},uid:{uid}"
                      for name, uid in zip("ab", uids, strict=True))
    spec = minimal_spec("2.3.0", namespace="flink", flink_conf={"kubernetes.jobmanager.owner.reference": owners})

    from airflow_flink_k8s.flows.native_launcher import NativeLauncher
    from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

    NativeLauncher(FlinkKubernetesHook()).launch(spec, {}, {}, before_owned=lambda: None)
    cluster = ["/apis/apps/v1/namespaces/flink/deployments/probe", "/api/v1/namespaces/flink/services/probe",
               "/api/v1/namespaces/flink/services/probe-rest", f"{base}/flink-config-probe"]
    deployment = k8s_emulator.api_get(cluster[0])
    assert [ref["uid"] for ref in deployment["metadata"]["ownerReferences"]] == uids

    _call(k8s_emulator, "DELETE", f"{base}/pipeline-a")
    wait_until("the Deployment loses its reference to the deleted owner", lambda: [
        ref["uid"] for ref in k8s_emulator.api_get(cluster[0])["metadata"]["ownerReferences"]] == uids[1:])
    assert all(_exists(k8s_emulator, path) for path in cluster)

    _call(k8s_emulator, "DELETE", f"{base}/pipeline-b")
    wait_until("the cluster is garbage-collected with its last owner",
               lambda: not any(_exists(k8s_emulator, path) for path in cluster))
