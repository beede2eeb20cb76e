"""The ``flink_conf`` options that move or add the JobManager's volumes, on real Flink in the sandbox.

One native launch (``dag.test()``) on the host network (``kubernetes.hostnetwork.enabled``: Flink binds free ports
itself and points the rest Service's targetPort at its own), with the configuration mounted at ``/etc/flink``
(``kubernetes.flink.conf.dir``, with ``FLINK_CONF_DIR`` pointing the image's scripts at it), the user artifacts at
another dir, an existing Hadoop configuration ConfigMap, and checkpoints and HA data on a PersistentVolumeClaim
mounted by the JobManager and the TaskManagers (``kubernetes.persistent-volume-claims``, Flink 2.3). The job must
run, answer through the rest Service, and checkpoint into the claim's volume, which the sandbox kubelet keeps as one
directory per claim; the JobManager must see the Hadoop files.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value

pytestmark = pytest.mark.flink
NS = "flink"
CORE_SITE = "<configuration><property><name>fs.example</name><value>1</value></property></configuration>\n"

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator

with DAG("jm_options", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationOperator(
        task_id="launch", cluster_id="jm-options", namespace="flink", image="flink:2.3.0",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="2.3.0",
        jobmanager_memory="1024m", taskmanager_memory="1024m", checkpoint_base_dir="file:///checkpoints",
        checkpoint_interval="2 s", ha="kubernetes", ha_storage_dir="file:///checkpoints/ha",
        wait_until="running", deferrable=False, retries=0,
        flink_conf={conf!r},
    )
"""
CONF = {
    "kubernetes.flink.conf.dir": "/etc/flink",
    "containerized.master.env.FLINK_CONF_DIR": "/etc/flink",
    "containerized.taskmanager.env.FLINK_CONF_DIR": "/etc/flink",
    "user.artifacts.base-dir": "/opt/flink/my-artifacts",
    "kubernetes.hadoop.conf.config-map.name": "hadoop-conf",
    "kubernetes.persistent-volume-claims": "flink-checkpoints:/checkpoints",
    "kubernetes.hostnetwork.enabled": "true",
}


@pytest.fixture
def sandbox(local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch) -> LocalKubernetes:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(local_kubernetes.kubeconfig)}}))
    return local_kubernetes


def _environ(pod: dict) -> dict[str, str]:
    pid = pod["metadata"]["annotations"][ANNOTATION_PID]
    return dict(item.decode().split("=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                if b"=" in item)


def test_host_network_and_moved_and_added_volumes_reach_the_flink_processes(
    run_dag: DagRunner, sandbox: LocalKubernetes
) -> None:
    from kubernetes import client, config

    core = client.CoreV1Api(config.new_client_from_config(str(sandbox.kubeconfig)))
    core.create_namespaced_config_map(NS, {"metadata": {"name": "hadoop-conf"}, "data": {"core-site.xml": CORE_SITE}})
    when = datetime(2026, 3, 1, tzinfo=UTC)
    dag_run = run_dag(DAG.format(conf=CONF), logical_date=when, run_after=when)
    assert task_states(dag_run) == {"launch": "success"}
    result = xcom_value(dag_run, "launch")
    assert result["ready"]["job_state"] == "RUNNING"

    (jobmanager,) = sandbox.pods(NS, "app=jm-options,component=jobmanager")
    assert jobmanager["spec"]["hostNetwork"] is True
    assert sandbox.get(f"/api/v1/namespaces/{NS}/services/jm-options-rest")["spec"]["ports"][0]["targetPort"] != 8081
    job = sandbox.get(f"/api/v1/namespaces/{NS}/services/jm-options-rest:rest/proxy/jobs/{result['job_id']}")
    assert job["state"] == "RUNNING"
    environ = _environ(jobmanager)
    assert Path(environ["FLINK_CONF_DIR"], "config.yaml").is_file()  # the configuration mounted at /etc/flink
    assert Path(environ["HADOOP_CONF_DIR"], "core-site.xml").read_text() == CORE_SITE
    # Checkpoints land in the claim's volume: the TaskManagers write the state, the JobManager the _metadata.
    volume = sandbox.workdir / "kubelet" / "persistent-volume-claims" / NS / "flink-checkpoints"
    claim = volume / "jm-options" / result["job_id"]
    sandbox.wait_for("a completed checkpoint in the claim's volume",
                     lambda: [p for p in claim.glob("chk-*") if (p / "_metadata").is_file()], 240)

