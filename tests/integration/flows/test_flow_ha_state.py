"""``flows.ha_state``: HA data removal and the checkpointed-job lookup, on the emulator and a real ZooKeeper."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.ha_state import HaLocation, _drop_keys, drop_job_graphs, latest_checkpoints, remove_ha_data
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.integration.flows.conftest import NAMESPACE, RecordingLog, configmap, names

JOB = "a" * 32
OTHER_JOB = "b" * 32


def _ha_data(k8s: FlinkKubernetesHook, cid: str) -> None:
    """The HA ConfigMaps Flink 2.x leaves behind (one job checkpointed, one not), beside the cluster's own
    ``flink-config-<cid>`` and another cluster's HA data, which are not this cluster's HA data."""
    for obj in (configmap(f"{cid}-cluster-config-map", cid),
                configmap(f"{cid}-{JOB}-config-map", cid, {"counter": "2", "checkpointID-0000000000000000001": "x"}),
                configmap(f"{cid}-{OTHER_JOB}-config-map", cid, {"counter": "1"}),
                configmap(f"flink-config-{cid}", cid),
                configmap(f"{cid}x-cluster-config-map", f"{cid}x")):
        k8s.create(obj, NAMESPACE)


def test_kubernetes_ha_data_is_removed_and_nothing_else(k8s: FlinkKubernetesHook, log: RecordingLog) -> None:
    _ha_data(k8s, "orders")
    where = HaLocation("kubernetes", "orders", NAMESPACE)
    removed = remove_ha_data(k8s, where, log)
    assert removed == [f"configmap/orders-{JOB}-config-map", f"configmap/orders-{OTHER_JOB}-config-map",
                       "configmap/orders-cluster-config-map"]
    assert names(k8s, "ConfigMap") == ["flink-config-orders", "ordersx-cluster-config-map"]
    assert f"removing HA ConfigMap {NAMESPACE}/orders-cluster-config-map" in log.text
    assert remove_ha_data(k8s, where, log) == []


def test_checkpointed_jobs_are_the_jobs_with_a_completed_checkpoint(k8s: FlinkKubernetesHook) -> None:
    _ha_data(k8s, "orders")
    assert latest_checkpoints(k8s, HaLocation("kubernetes", "orders", NAMESPACE)) == {JOB: 1}
    assert latest_checkpoints(k8s, HaLocation("kubernetes", "other", NAMESPACE)) == {}


def test_no_ha_removes_nothing(k8s: FlinkKubernetesHook, log: RecordingLog) -> None:
    _ha_data(k8s, "orders")
    assert remove_ha_data(k8s, HaLocation("none", "orders", NAMESPACE), log) == []
    assert len(names(k8s, "ConfigMap")) == 5


def test_zookeeper_ha_data_is_removed_and_read(zookeeper: ZooKeeperServer, k8s: FlinkKubernetesHook,
                                                log: RecordingLog) -> None:
    from kazoo.client import KazooClient

    client = KazooClient(hosts=zookeeper.hosts)
    client.start()
    try:
        client.create(f"/flink/orders/jobs/{JOB}/checkpoints/0000000000000000001", b"x", makepath=True)
        client.create(f"/flink/orders/jobs/{JOB}/checkpoints/0000000000000000012", b"x", makepath=True)
        client.create(f"/flink/orders/jobs/{OTHER_JOB}/checkpoint_id_counter", b"1", makepath=True)
        client.create("/flink/ordersx/leader", b"x", makepath=True)
        where = HaLocation("zookeeper", "orders", NAMESPACE, zookeeper_quorum=zookeeper.hosts)
        assert latest_checkpoints(k8s, where) == {JOB: 12}
        assert remove_ha_data(k8s, where, log) == ["znode /flink/orders"]
        assert client.exists("/flink/orders") is None and client.exists("/flink/ordersx") is not None
        assert remove_ha_data(k8s, where, log) == []
    finally:
        client.stop()
        client.close()


def test_the_spec_quorum_is_kept_beside_a_connection(make_spec: Callable[..., FlinkApplicationSpec]) -> None:
    spec = make_spec(ha="zookeeper", zookeeper_quorum="zk:2181")
    with_connection = HaLocation.of_spec(spec, "zk_conn")
    assert (with_connection.zookeeper_conn_id, with_connection.zookeeper_quorum) == ("zk_conn", "zk:2181")
    assert HaLocation.of_spec(spec, None).zookeeper_quorum == "zk:2181"


def test_an_unknown_ha_mode_names_the_field() -> None:
    with pytest.raises(FlinkSpecError, match=r"^ha: must be one of none, kubernetes, zookeeper, got 'etcd'"):
        HaLocation("etcd", "orders", NAMESPACE)


def test_a_resume_drops_only_the_job_graphs_with_a_compare_and_swap(k8s: FlinkKubernetesHook,
                                                                      log: RecordingLog) -> None:
    k8s.create(configmap("orders-cluster-config-map", "orders", {f"executionPlan-{JOB}": "plan", "leader": "x"}),
               NAMESPACE)
    k8s.create(configmap(f"orders-{JOB}-config-map", "orders", {"checkpointID-0000000000000000001": "x"}), NAMESPACE)
    stale = k8s.get("ConfigMap", "orders-cluster-config-map", NAMESPACE)
    assert stale is not None
    # Flink writes the map after it was read: the PUT of the stale copy is refused (409), read anew and retried.
    k8s.patch("ConfigMap", "orders-cluster-config-map", NAMESPACE, {"data": {"written-meanwhile": "y"}})
    assert _drop_keys(k8s, stale, NAMESPACE, log) == [f"configmap/orders-cluster-config-map:executionPlan-{JOB}"]
    assert k8s.get("ConfigMap", "orders-cluster-config-map", NAMESPACE)["data"] == {  # type: ignore[index]
        "leader": "x", "written-meanwhile": "y"}
    assert drop_job_graphs(k8s, HaLocation("kubernetes", "orders", NAMESPACE), log) == []
    assert k8s.get("ConfigMap", f"orders-{JOB}-config-map", NAMESPACE)["data"] == {  # type: ignore[index]
        "checkpointID-0000000000000000001": "x"}


def test_a_resume_drops_only_the_job_graph_znodes(zookeeper: ZooKeeperServer, k8s: FlinkKubernetesHook,
                                                   log: RecordingLog) -> None:
    from kazoo.client import KazooClient

    client = KazooClient(hosts=zookeeper.hosts)
    client.start()
    try:
        kept = [f"/flink/orders/jobs/{JOB}/checkpoints/0000000000000000003", f"/flink/orders/jobs/{JOB}/"
                "checkpoint_id_counter", "/flink/orders/jobgraphs", "/flink/orders/execution-plans",
                f"/flink/ordersx/execution-plans/{JOB}"]
        for path in [*kept, f"/flink/orders/jobgraphs/{JOB}/lock-1", f"/flink/orders/execution-plans/{OTHER_JOB}"]:
            client.create(path, b"x", makepath=True)
        where = HaLocation("zookeeper", "orders", NAMESPACE, zookeeper_quorum=zookeeper.hosts)
        assert drop_job_graphs(k8s, where, log) == [f"znode /flink/orders/jobgraphs/{JOB}",
                                                    f"znode /flink/orders/execution-plans/{OTHER_JOB}"]
        assert [path for path in kept if client.exists(path) is None] == []
        assert client.get_children("/flink/orders/jobgraphs") == []
        assert client.get_children("/flink/orders/execution-plans") == []
        assert drop_job_graphs(k8s, where, log) == []
    finally:
        client.stop()
        client.close()
