"""Ownership against real Flink 2.3.0 on the sandbox (emulator + kubelet): a cluster with the same id in another
namespace under the same ZooKeeper root keeps its live HA data, and a native cluster the real ``flink`` CLI launched
is replaced only when adoption is asked for."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from kazoo.client import KazooClient

from airflow_flink_k8s.core.errors import NotOwnedError
from airflow_flink_k8s.core.launch_plan import RunIdentity
from airflow_flink_k8s.core.names import ANNOTATION_JOB_ID
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.launch import LaunchSettings, launch
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.flink_client import run_flink_application
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.flink
VERSION = "2.3.0"
JAR = "local:///opt/flink/usrlib/checkpointing-job.jar"
LOG = logging.getLogger(__name__)


@pytest.fixture
def k8s(local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch) -> FlinkKubernetesHook:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(local_kubernetes.kubeconfig)}}))
    return FlinkKubernetesHook()


def spec(tmp_path: Path, namespace: str, **fields: Any) -> FlinkApplicationSpec:
    return FlinkApplicationSpec.from_dict({
        "cluster_id": "orders", "namespace": namespace, "image": f"flink:{VERSION}", "flink_version": VERSION,
        "jar_uri": JAR, "ha": "kubernetes", "ha_storage_dir": f"file://{tmp_path}/ha-{namespace}",
        "checkpoint_base_dir": f"file://{tmp_path}/checkpoints-{namespace}", "checkpoint_interval": "2 s",
        "jobmanager_memory": "1024m", "taskmanager_memory": "1024m", **fields})


def run(day: int) -> RunIdentity:
    return RunIdentity("etl", "launch", f"manual__2026-03-{day:02d}", 1)


@pytest.mark.zookeeper
def test_the_same_cluster_id_in_another_namespace_keeps_its_live_zookeeper_data(
        k8s: FlinkKubernetesHook, local_kubernetes: LocalKubernetes, zookeeper: ZooKeeperServer,
        tmp_path: Path) -> None:
    zk_ha = {"ha": "zookeeper", "zookeeper_quorum": zookeeper.hosts, "zookeeper_root": "/flink"}
    launch(k8s, spec(tmp_path, "default", **zk_ha), run(1), LaunchSettings(), LOG)
    zk = KazooClient(hosts=zookeeper.hosts)
    zk.start(timeout=20)
    try:
        node = "/flink/orders/leader/rest_server/connection_info"
        leader: bytes = local_kubernetes.wait_for(f"the leader of default/orders in {node}",
                                                  lambda: zk.exists(node) and zk.get(node)[0], 240)
        # AC ED 00 05, block data 77 <len>, then writeUTF(address): u16 length + bytes (FLINK_FACTS)
        address = leader[8:8 + int.from_bytes(leader[6:8], "big")].decode()
        leaders = zk.get_children("/flink/orders/leader")  # latch, rest_server, dispatcher, resource_manager, …
        with pytest.raises(NotOwnedError, match=(
                r"^ZooKeeper subtree /flink/orders is in use by another Flink cluster: live leader .*"
                rf"/flink/orders/leader/rest_server/connection_info -> {address}.* which is none of the JobManager "
                r"pods of 'orders' in namespace 'flink'\. .*zookeeper_root='/flink/flink'\. Nothing was deleted")):
            launch(k8s, spec(tmp_path, "flink", **zk_ha), run(2), LaunchSettings(), LOG)
        assert zk.get(node)[0] == leader, "the other namespace's live leader data was touched"
        assert set(zk.get_children("/flink/orders/leader")) >= set(leaders), leaders
        assert k8s.get("Deployment", "orders", "flink") is None, "the refused launch left its Deployment behind"
        # With a root per namespace, the second launch goes ahead and the first cluster's data stays.
        second = launch(k8s, spec(tmp_path, "flink", **{**zk_ha, "zookeeper_root": "/flink/flink"}), run(2),
                        LaunchSettings(), LOG)
        assert second.created and zk.get(node)[0] == leader
        # Its own cluster is no obstacle: a replace deletes it (the JobManager's SIGTERM ends its ZooKeeper
        # session, so its leader nodes go with it) and cleans its HA data.
        replaced = launch(k8s, spec(tmp_path, "default", **zk_ha), run(3),
                          LaunchSettings(if_exists="replace", delete_timeout=240), LOG)
        assert replaced.created
    finally:
        zk.stop()
        zk.close()


def test_a_native_cluster_of_the_flink_cli_is_replaced_only_when_adopted(
        k8s: FlinkKubernetesHook, local_kubernetes: LocalKubernetes, tmp_path: Path) -> None:
    options = {"kubernetes.cluster-id": "orders", "kubernetes.namespace": "flink",
               "kubernetes.container.image.ref": f"flink:{VERSION}", "high-availability.type": "kubernetes",
               "high-availability.storageDir": f"file://{tmp_path}/ha-cli",
               "jobmanager.memory.process.size": "1024m", "taskmanager.memory.process.size": "1024m"}
    client = run_flink_application(VERSION, local_kubernetes.kubeconfig, tmp_path, options, JAR)
    assert client.returncode == 0, client.output[-3000:]
    native = k8s.get("Deployment", "orders", "flink")
    assert native is not None
    wanted = spec(tmp_path, "flink")
    with pytest.raises(NotOwnedError, match=r"^if_exists='replace' refused for Flink cluster 'orders': found "
                                            r"Deployment flink/orders \(labels app=orders, component=jobmanager, "
                                            r"type=flink-native-kubernetes; owners none\), which is a native Flink "
                                            r"cluster not launched by airflow-flink-k8s: set adopt_native_clusters"):
        launch(k8s, wanted, run(1), LaunchSettings(if_exists="replace"), LOG)
    assert k8s.get("Deployment", "orders", "flink")["metadata"]["uid"] == native["metadata"]["uid"]

    adopted = launch(k8s, wanted, run(1), LaunchSettings(if_exists="replace", adopt_native_clusters=True,
                                                         delete_timeout=240), LOG)
    deployment = k8s.get("Deployment", "orders", "flink")
    assert adopted.created and deployment["metadata"]["uid"] != native["metadata"]["uid"]
    assert deployment["metadata"]["annotations"][ANNOTATION_JOB_ID] == adopted.spec.job_id
    # Flink runs the new job: its checkpoints land under <base>/orders/<the new job id>/chk-N.
    job_dir = tmp_path / "checkpoints-flink" / "orders" / str(adopted.spec.job_id)
    local_kubernetes.wait_for(f"a checkpoint of the adopted cluster's new job in {job_dir}",
                              lambda: sorted(job_dir.glob("chk-*")), 300)
