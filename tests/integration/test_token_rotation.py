"""A wait outlives the API token it started with: service-account tokens and exec credentials (EKS, GKE) expire
and rotate, so the token the sensor read when it began is refused (401) later on. The sensor and the trigger read
the connection's credentials again once on a 401 (the REST proxy's headers, the shared ConfigMap watch's client),
and only a refusal of fresh credentials fails the task.

Real Airflow (``dag.test()``), the real ``kubernetes`` / ``kubernetes_asyncio`` clients with a kubeconfig whose
user is an exec credential plugin (a script printing the current token from a file), and the emulator, which
refuses a revoked token with the API server's 401. The cluster is the JobManager stand-in on the sandbox kubelet.
The token rotates after the wait has read it and before the cluster exists: the poking sensor's first REST call
through the API server proxy carries the revoked token, and the trigger's shared ConfigMap watch is refused when it
resumes; each reads the credentials again and carries on.
"""

from __future__ import annotations

import datetime
import itertools
import json
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_flink_k8s.flows.cluster_deletion import delete_cluster
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.concurrent_tasks import execute
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value

NS = "flink"
USER = "system:serviceaccount:airflow:rotating"
CONN_ID = "rotating_token"

SENSOR_DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkJobManagerReadySensor(task_id="wait", cluster_id={cluster_id!r}, namespace={namespace!r},
                               flink_version="2.3.0", kubernetes_conn_id={conn_id!r}, access_mode="proxy",
                               target="running", poke_interval=0.5, timeout=120, deferrable={deferrable!r})
"""


@pytest.fixture(scope="module")
def sandbox(module_sandbox: LocalKubernetes) -> LocalKubernetes:
    return module_sandbox


class RotatingToken:
    """A kubeconfig whose exec plugin prints the token in ``token_file``, valid for an hour (so clients keep it until
    the API server refuses it); ``rotate`` issues a new one and revokes the old one, as a revocation or an early
    expiry does."""

    def __init__(self, sandbox: LocalKubernetes, directory: Path) -> None:
        self.sandbox, self.token_file, self.serial = sandbox, directory / "token", 0
        plugin = directory / "token-plugin.sh"
        plugin.write_text(
            "#!/bin/sh\n"
            "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
            "\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"%s\"}}' "
            f"\"$(cat {self.token_file})\" \"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\"\n")
        plugin.chmod(0o755)
        self.kubeconfig = directory / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "rotating",
            "clusters": [{"name": "sandbox", "cluster": {"server": sandbox.url}}],
            "users": [{"name": "rotating", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
                "interactiveMode": "Never"}}}],
            "contexts": [{"name": "rotating", "context": {"cluster": "sandbox", "user": "rotating",
                                                          "namespace": NS}}]}))
        self.current = self._issue()

    def _issue(self) -> str:
        self.serial += 1
        token = f"rotating-token-{self.serial}-{secrets.token_hex(8)}"
        self.sandbox.emulator.add_token(token, USER)
        self.token_file.write_text(token)
        return token

    def rotate(self) -> None:
        old, self.current = self.current, self._issue()
        self.sandbox.emulator.revoke_token(old)

    def revoke(self) -> None:
        """Revoke the token and issue none: the plugin keeps printing a token the API server refuses."""
        self.sandbox.emulator.revoke_token(self.current)


def _launch_operator(cluster_id: str, tmp_path: Path) -> Any:
    from airflow.sdk import DAG

    from airflow_flink_k8s.operators import FlinkApplicationOperator

    with DAG(f"launch_{cluster_id}", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
        return FlinkApplicationOperator(
            task_id="launch", cluster_id=cluster_id, namespace=NS, image="sandbox/jobmanager-standin:2.3.0",
            flink_version="2.3.0", jar_uri="local:///opt/flink/usrlib/job.jar", ha="kubernetes",
            ha_storage_dir=f"file://{tmp_path}/ha", checkpoint_base_dir=f"file://{tmp_path}/checkpoints",
            retries=0)


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferred"])
def test_a_wait_outlives_the_token_it_began_with(sandbox: LocalKubernetes, run_dag: DagRunner, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, deferrable: bool) -> None:
    cluster_id = f"rotating-{'deferred' if deferrable else 'poke'}"
    token = RotatingToken(sandbox, tmp_path)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(token.kubeconfig)}}))
    emulator = sandbox.emulator
    since = emulator.stats()["request_seq"]
    # Watches end every second, so the trigger's shared watch opens again after the rotation.
    emulator.set_faults(watch_max_seconds=1)
    launched: dict[str, Any] = {}

    def waiting() -> bool:
        """Whether the wait has read its token: its trigger opened its watch, or the sensor poked twice."""
        mine = [r for r in emulator.requests(since) if r["user"] == USER]
        return any(r["watch"] for r in mine) if deferrable else len(mine) >= 2

    def refused_then_resumed(seq: int) -> Callable[[], bool]:
        """Whether the trigger's shared ConfigMap watch, resumed after ``seq`` with the client that holds the old
        token, was refused (a 401, which names no user) and then listed again with the new token."""
        def seen() -> bool:
            calls = [(r["user"], r.get("status")) for r in emulator.requests(seq) if r["resource"] == "configmaps"]
            refused = next((i for i, (_, status) in enumerate(calls) if status == 401), None)
            return refused is not None and any(user == USER for user, _ in calls[refused + 1:])
        return seen

    def rotate_then_launch() -> None:
        sandbox.wait_for("the wait to have read its token", waiting, timeout=60)
        rotated_after = emulator.stats()["request_seq"]
        token.rotate()
        if deferrable:
            # The watch opened with the old token streams on until the server ends it (a second here); the leader
            # ConfigMap is created only once the watch was refused and resumed, so it reaches the wait that way.
            sandbox.wait_for("the ConfigMap watch to be refused, then to resume with the new token",
                             refused_then_resumed(rotated_after), timeout=60)
        launched["result"] = execute(_launch_operator(cluster_id, tmp_path), f"launch_{cluster_id}")

    launcher = threading.Thread(target=rotate_then_launch)
    launcher.start()
    try:
        dag_run = run_dag(SENSOR_DAG.format(dag_id=f"rotating_{int(deferrable)}", cluster_id=cluster_id,
                                            namespace=NS, conn_id=CONN_ID, deferrable=deferrable))
    finally:
        launcher.join(timeout=120)
        emulator.clear_faults()

    assert task_states(dag_run) == {"wait": "success"}
    assert xcom_value(dag_run, "wait")["job_id"] == launched["result"]["job_id"]
    answers = [(r["resource"], r["subresource"], r.get("status")) for r in emulator.requests(since)
               if r["user"] in (USER, None) and r["resource"] in ("services", "configmaps")]
    proxied = [status for resource, subresource, status in answers if subresource == "proxy"]
    if not deferrable:  # the trigger reads the proxy's credentials at its first step, which may follow the rotation
        assert proxied[0] == 401, "the first REST call through the API server carried the token the wait began with"
    assert proxied[-1] == 200 and all(after == 200 for before, after in itertools.pairwise(proxied) if before == 401)
    delete_cluster(FlinkKubernetesHook("kubernetes_default"), cluster_id, NS, timeout=60)


def test_credentials_refused_when_fresh_fail_the_wait_after_one_more_try(
        sandbox: LocalKubernetes, run_dag: DagRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    token = RotatingToken(sandbox, tmp_path)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(token.kubeconfig)}}))
    token.revoke()
    since = sandbox.emulator.stats()["request_seq"]
    dag_run = run_dag(SENSOR_DAG.format(dag_id="revoked", cluster_id="revoked", namespace=NS, conn_id=CONN_ID,
                                        deferrable=True))
    assert task_states(dag_run) == {"wait": "failed"}
    assert "ConfigMaps in flink (type=flink-native-kubernetes) failed with 401 Unauthorized" in capfd.readouterr().out
    lists = [r.get("status") for r in sandbox.emulator.requests(since) if r["resource"] == "configmaps"]
    assert lists == [401, 401], "the credentials are loaded again once, then the refusal counts"
