"""``kubernetes_conn_id`` and ``zookeeper_conn_id`` are templated on the sensor and the teardown (and the launch
operator): a ``dag.test()`` whose connection ids come from the DAG's params reaches a real ZooKeeper (digest auth,
chroot) and the Kubernetes API emulator through the connections the rendered ids name, and a rendered id that
breaks the rule fails the task naming the argument, before any connection is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl

from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.integration.test_rbac import task_output
from tests.integration.test_zookeeper_hook import recorded

pytestmark = pytest.mark.zookeeper

DAG_SOURCE = '''
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor

with DAG("templated_conn_ids", schedule=None, start_date=datetime.datetime(2024, 1, 1),
         params={"zk": "zk_templated", "k8s": "k8s_templated"}) as dag:
    common = dict(cluster_id="t1", ha="zookeeper", flink_version="2.3", target="leader", poke_interval=1,
                  timeout=60, kubernetes_conn_id="{{ params.k8s }}", zookeeper_conn_id="{{ params.zk }}")
    FlinkJobManagerReadySensor(task_id="poke", **common)
    FlinkJobManagerReadySensor(task_id="deferred", deferrable=True, **common)
    FlinkJobManagerReadySensor(task_id="bad_id", **(common | {"zookeeper_conn_id": "{{ params.zk }} "}))
    FlinkApplicationTeardownOperator(task_id="teardown", cluster_id="gone", ha="none",
                                     kubernetes_conn_id="{{ params.k8s }}")
'''


def test_connection_ids_from_params_reach_zookeeper_and_kubernetes(
        run_dag: DagRunner, zookeeper: ZooKeeperServer, k8s_emulator: EmulatorProcess, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    data, (address, _) = recorded("2.3.0")
    admin = KazooClient(hosts=zookeeper.hosts, auth_data=[("digest", "flink:s3cret")])
    admin.start(timeout=10)
    try:  # readable only with the connection's credentials, under its chroot
        admin.create("/team/flink/t1/leader/rest_server/connection_info", data,
                     acl=[make_digest_acl("flink", "s3cret", all=True)], makepath=True)
    finally:
        admin.stop()
        admin.close()
    monkeypatch.setenv("AIRFLOW_CONN_ZK_TEMPLATED", json.dumps({
        "conn_type": "zookeeper", "host": zookeeper.hosts, "login": "flink", "password": "s3cret",
        "extra": {"chroot": "/team", "auth_scheme": "digest"}}))
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("AIRFLOW_CONN_K8S_TEMPLATED", json.dumps({
        "conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig), "namespace": "flink"}}))
    before = k8s_emulator.stats()["request_seq"]

    dag_run = run_dag(DAG_SOURCE)

    assert task_states(dag_run) == {"poke": "success", "deferred": "success", "bad_id": "failed",
                                    "teardown": "success"}
    for sensor in ("poke", "deferred"):  # the namespace came from the Kubernetes connection's extra
        assert {k: xcom_value(dag_run, sensor)[k] for k in ("namespace", "leader_address")} == {
            "namespace": "flink", "leader_address": address}, sensor
    assert xcom_value(dag_run, "teardown")["namespace"] == "flink"
    reads = [(r["method"], r["resource"], r["namespace"], r["name"]) for r in k8s_emulator.requests(before)]
    assert ("GET", "deployments", "flink", "gone") in reads
    assert "zookeeper_conn_id: must be a non-empty string without surrounding spaces, got 'zk_templated '" \
        in task_output(capfd, caplog)
