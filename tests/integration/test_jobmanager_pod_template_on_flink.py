"""A JobManager pod template on real Flink: the ``cli`` launcher passes it to the real client as
``-Dkubernetes.pod-template-file.jobmanager=<temp file>``, the client merges it, and the sandbox runs the result.

``dag.test()`` launches onto the sandbox (emulator + kubelet); the job must reach RUNNING with the template's env in
the JobManager process, and the kubelet must name the sidecar and init container it does not run.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home
from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID, CONDITION_CONTAINERS_NOT_RUN
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value

pytestmark = pytest.mark.flink
NS = "flink"

TEMPLATE = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"labels": {"sidecar": "log-shipper"}},
    "spec": {
        "initContainers": [{"name": "warm-up", "image": "busybox:1", "command": ["true"]}],
        "containers": [
            {"name": "log-shipper", "image": "registry.example/fluent-bit:3"},
            {"name": "flink-main-container",
             "env": [{"name": "FROM_TEMPLATE", "value": "1"}, {"name": "_POD_IP_ADDRESS", "value": "template"}],
             "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]},
        ],
        "volumes": [{"name": "scratch", "emptyDir": {}}],
    },
}

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator

with DAG("jm_pod_template", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationOperator(
        task_id="launch", cluster_id={cid!r}, namespace="flink", image="flink:{version}",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="{version}",
        jobmanager_memory="1024m", taskmanager_memory="1024m", launcher="cli", flink_bin={flink_bin!r},
        flink_conf_dir={conf_dir!r}, jobmanager_pod_template={template!r}, ha="kubernetes",
        ha_storage_dir={ha!r}, wait_until="running",
        deferrable=False, retries=0,
    )
"""


@pytest.fixture
def sandbox(local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch) -> LocalKubernetes:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(local_kubernetes.kubeconfig)}}))
    return local_kubernetes


def test_cli_launch_with_a_jobmanager_pod_template_runs_the_job(
    run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path
) -> None:
    cid, version = "jm-template", "2.3.0"
    home = ensure_flink_home(version)
    conf_dir = tmp_path / "flink-conf"
    shutil.copytree(home / "conf", conf_dir)
    source = DAG.format(cid=cid, version=version, flink_bin=str(home / "bin" / "flink"), conf_dir=str(conf_dir),
                        template=TEMPLATE, ha=f"file://{tmp_path}/ha")
    when = datetime(2026, 3, 1, tzinfo=UTC)
    dag_run = run_dag(source, logical_date=when, run_after=when)
    assert task_states(dag_run) == {"launch": "success"}
    result = xcom_value(dag_run, "launch")
    assert (result["ready"]["job_id"], result["ready"]["job_state"]) == (result["job_id"], "RUNNING")

    deployment = sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}")
    pod_spec = deployment["spec"]["template"]["spec"]
    assert [c["name"] for c in pod_spec["containers"]] == ["log-shipper", "flink-main-container"]
    assert deployment["spec"]["template"]["metadata"]["labels"]["sidecar"] == "log-shipper"
    (pod,) = sandbox.pods(NS, f"app={cid},component=jobmanager")
    environ = dict(item.decode().split("=", 1) for item in Path(
        f"/proc/{pod['metadata']['annotations'][ANNOTATION_PID]}/environ").read_bytes().split(b"\0") if b"=" in item)
    # The template's env reaches the JobManager; on a name Flink also sets, Flink's later entry wins.
    assert (environ["FROM_TEMPLATE"], environ["_POD_IP_ADDRESS"]) == ("1", "127.0.0.1")
    report = {c["type"]: c for c in pod["status"]["conditions"]}[CONDITION_CONTAINERS_NOT_RUN]
    assert "init container 'warm-up' (image 'busybox:1')" in report["message"]
    assert "container 'log-shipper' (image 'registry.example/fluent-bit:3')" in report["message"]
