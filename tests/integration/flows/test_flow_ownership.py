"""Ownership on the Kubernetes API emulator (and a real ZooKeeper): ``replace``, teardown and HA clean-up act only
on the cluster's own objects. Each scenario first builds the object a user already has under the cluster's name
(an nginx Deployment ``orders``, a ``FlinkDeployment``'s Deployment, a ConfigMap named like HA data, another tree
in ZooKeeper), then checks that it is still there after the task and that the task's error names it. The Deployment
scenarios first show the harm: the deletion steps ``replace`` and teardown run once the object is taken as the
cluster's (``delete_cluster`` by uid, the HA clean-up's delete by name) do delete the foreign objects."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kazoo.client import KazooClient

from airflow_flink_k8s.core.errors import FlinkSpecError, NotOwnedError
from airflow_flink_k8s.core.launch_plan import RunIdentity
from airflow_flink_k8s.core.names import selector_labels
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.cluster_deletion import delete_cluster
from airflow_flink_k8s.flows.ha_state import HaLocation, remove_ha_data
from airflow_flink_k8s.flows.launch import LaunchSettings, launch
from airflow_flink_k8s.flows.teardown import teardown
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.integration.flows.conftest import NAMESPACE, RecordingLog, configmap, names
from tests.paths import DATA_DIR
from tests.waiting import wait_until

RUN = RunIdentity("etl", "launch", "manual__2026-01-01", 1)
WRITES = ("POST", "PUT", "PATCH", "DELETE")
SpecFactory = Callable[..., FlinkApplicationSpec]


def nginx(labels: dict[str, str] | None = None, owner: dict[str, Any] | None = None) -> dict[str, Any]:
    """A web server's Deployment that happens to be called ``orders``."""
    labels = labels or {"app": "orders"}
    meta: dict[str, Any] = {"name": "orders", "labels": labels}
    if owner:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
        "replicas": 1, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels},
                     "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}}


FLINK_DEPLOYMENT = {"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment", "name": "orders",
                    "uid": "3d1c5b2a-0000-4000-8000-00000000f1d0", "controller": True, "blockOwnerDeletion": True}


def writes(emulator: EmulatorProcess, since: int) -> list[str]:
    return [f"{r['method']} {r['resource']}/{r.get('name')}" for r in emulator.requests(since)
            if r["method"] in WRITES]


def create_all(k8s: FlinkKubernetesHook, deployment: dict[str, Any], configmaps: tuple[dict[str, Any], ...]) -> str:
    """Create ``deployment`` and ``configmaps``; returns the Deployment's uid."""
    for cm in configmaps:
        k8s.create(cm, NAMESPACE)
    return str(k8s.create(deployment, NAMESPACE)["metadata"]["uid"])


def the_unguarded_deletion_removes(k8s: FlinkKubernetesHook, deployment: dict[str, Any],
                                   configmaps: tuple[dict[str, Any], ...] = (), *, by_uid: bool = True) -> None:
    """Harm first: the deletion steps behind the ownership check (the uid-preconditioned ``delete_cluster`` of
    ``replace`` and teardown, or with ``by_uid=False`` the hook's delete by name; a delete by name as the HA clean-up
    does for ConfigMaps) remove the foreign objects; then they are created again for the guarded run."""
    uid = create_all(k8s, deployment, configmaps)
    if by_uid:
        delete_cluster(k8s, "orders", NAMESPACE, timeout=30, uid=uid)
    else:
        assert k8s.delete("Deployment", "orders", NAMESPACE)
    for cm in configmaps:
        assert k8s.delete("ConfigMap", cm["metadata"]["name"], NAMESPACE)
    assert names(k8s, "Deployment") == [] and names(k8s, "ConfigMap") == []
    create_all(k8s, deployment, configmaps)


def test_replace_leaves_a_foreign_deployment_and_its_configmap_alone(
        k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess, make_spec: SpecFactory, log: RecordingLog) -> None:
    the_unguarded_deletion_removes(k8s, nginx(), (configmap("orders-cluster-config-map", "orders",
                                                            labels={"app": "orders"}),))
    before = k8s_emulator.stats()["request_seq"]
    with pytest.raises(NotOwnedError, match=r"^if_exists='replace' refused for Flink cluster 'orders': found "
                                            rf"Deployment {NAMESPACE}/orders \(labels app=orders; owners none\), "
                                            r"which is not a Flink cluster this provider may manage"):
        launch(k8s, make_spec(), RUN, LaunchSettings(if_exists="replace", delete_timeout=30), log)
    assert writes(k8s_emulator, before) == []
    assert names(k8s, "Deployment") == ["orders"] and names(k8s, "ConfigMap") == ["orders-cluster-config-map"]
    # Opting in to native clusters does not make a web server one.
    with pytest.raises(NotOwnedError, match="not a native Flink JobManager Deployment"):
        launch(k8s, make_spec(), RUN, LaunchSettings(if_exists="replace", adopt_native_clusters=True), log)
    assert names(k8s, "Deployment") == ["orders"]


def test_teardown_refuses_a_foreign_deployment_before_any_write(
        k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess, log: RecordingLog) -> None:
    the_unguarded_deletion_removes(k8s, nginx(), (configmap("orders-cluster-config-map", "orders",
                                                            labels={"app": "orders"}),))
    before = k8s_emulator.stats()["request_seq"]
    with pytest.raises(NotOwnedError, match=rf"^teardown refused for Flink cluster 'orders': found Deployment "
                                            rf"{NAMESPACE}/orders \(labels app=orders; owners none\)"):
        teardown(k8s, HaLocation("kubernetes", "orders", NAMESPACE), keep_ha_data=False, delete_timeout=30,
                 savepoint=None, log=log, adopt_native_clusters=True)
    assert writes(k8s_emulator, before) == []
    assert names(k8s, "Deployment") == ["orders"] and names(k8s, "ConfigMap") == ["orders-cluster-config-map"]


@pytest.mark.parametrize("action", ["replace", "reuse", "teardown"])
def test_a_deployment_another_controller_owns_is_refused(
        action: str, k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess, make_spec: SpecFactory,
        log: RecordingLog) -> None:
    # The emulator has no FlinkDeployment kind, and its garbage collector (like the real one) would collect an
    # object whose owner does not exist: held off for the test, as the real FlinkDeployment would be there.
    # The held-off collector would never finish delete_cluster's Foreground delete: the harm is the delete by name.
    k8s_emulator.set_gc_delay(3600)
    the_unguarded_deletion_removes(k8s, nginx(selector_labels("orders"), FLINK_DEPLOYMENT), by_uid=False)
    before = k8s_emulator.stats()["request_seq"]
    with pytest.raises(NotOwnedError, match=r"controller FlinkDeployment orders\), which is not a Flink cluster "
                                            r"this provider may manage: another controller owns it"):
        if action == "teardown":
            teardown(k8s, HaLocation("kubernetes", "orders", NAMESPACE), keep_ha_data=False, delete_timeout=30,
                     savepoint=None, log=log, adopt_native_clusters=True)
        else:
            launch(k8s, make_spec(), RUN, LaunchSettings(if_exists=action, adopt_native_clusters=True), log)
    assert writes(k8s_emulator, before) == []
    assert names(k8s, "Deployment") == ["orders"]


def test_ha_clean_up_leaves_a_configmap_without_flinks_labels_alone(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog) -> None:
    k8s.create(configmap("orders-cluster-config-map", "orders", labels={"app": "orders"}), NAMESPACE)
    k8s.create(configmap("orders-0123456789abcdef0123456789abcdef-config-map", "orders"), NAMESPACE)
    result = launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    assert result.created
    assert "orders-cluster-config-map" in names(k8s, "ConfigMap")
    assert "orders-0123456789abcdef0123456789abcdef-config-map" not in names(k8s, "ConfigMap")
    assert (f"left ConfigMap {NAMESPACE}/orders-cluster-config-map alone: it has an HA data name of orders but not "
            "Flink's HA labels") in log.text


def test_teardown_of_a_gone_cluster_keeps_ha_data_unless_asked(k8s: FlinkKubernetesHook, log: RecordingLog) -> None:
    k8s.create(configmap("orders-cluster-config-map", "orders"), NAMESPACE)
    where = HaLocation("kubernetes", "orders", NAMESPACE)
    kept = teardown(k8s, where, keep_ha_data=False, delete_timeout=30, savepoint=None, log=log)
    assert (kept["deleted"], kept["ha_data_kept"], kept["ha_data_removed"]) == (False, True, [])
    assert names(k8s, "ConfigMap") == ["orders-cluster-config-map"]
    removed = teardown(k8s, where, keep_ha_data=False, delete_timeout=30, savepoint=None, log=log,
                       remove_orphaned_ha_data=True)
    assert removed["ha_data_removed"] == ["configmap/orders-cluster-config-map"] and names(k8s, "ConfigMap") == []


def test_empty_names_are_refused_before_any_request(k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess,
                                                    log: RecordingLog) -> None:
    from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator

    k8s.create(configmap("keep-me", "keep"), NAMESPACE)
    before = k8s_emulator.stats()["request_seq"]
    for call in (lambda: k8s.delete("ConfigMap", "", NAMESPACE), lambda: k8s.get("Deployment", "", NAMESPACE),
                 lambda: k8s.patch("ConfigMap", "", NAMESPACE, {}), lambda: k8s.delete("ConfigMap", "x", "")):
        with pytest.raises(FlinkSpecError, match=r"^(name|namespace): of a (ConfigMap|Deployment) must be a "
                                                 r"non-empty Kubernetes name, got ''"):
            call()
    with pytest.raises(FlinkSpecError, match=r"^cluster_id: must be a non-empty string, got ''"):
        FlinkApplicationTeardownOperator(task_id="down", cluster_id="", namespace=NAMESPACE)
    with pytest.raises(FlinkSpecError, match=r"^cluster_id: must not be empty"):
        teardown(k8s, HaLocation("kubernetes", "", NAMESPACE), keep_ha_data=False, delete_timeout=30,
                 savepoint=None, log=log)
    assert k8s_emulator.requests(before) == []
    assert names(k8s, "ConfigMap") == ["keep-me"]


# ------------------------------------------------------------------------------------------------------ ZooKeeper
@pytest.fixture
def zk(zookeeper: ZooKeeperServer) -> Iterator[KazooClient]:
    client = KazooClient(hosts=zookeeper.hosts)
    client.start(timeout=20)
    try:
        yield client
    finally:
        client.stop()
        client.close()


@pytest.mark.zookeeper
def test_a_zookeeper_root_of_slash_is_refused(make_spec: SpecFactory, zk: KazooClient,
                                              zookeeper: ZooKeeperServer) -> None:
    from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator

    zk.create("/orders/leader", b"", makepath=True)
    for root in ("/", ""):
        with pytest.raises(FlinkSpecError, match=r"^zookeeper_root: must be an absolute znode path such as /flink"):
            make_spec(ha="zookeeper", zookeeper_quorum=zookeeper.hosts, zookeeper_root=root)
        with pytest.raises(FlinkSpecError, match=r"^zookeeper_root: must be a znode path below '/'"):
            FlinkApplicationTeardownOperator(task_id="down", cluster_id="orders", ha="zookeeper",
                                             zookeeper_quorum=zookeeper.hosts, zookeeper_root=root)
        with pytest.raises(FlinkSpecError, match=r"^zookeeper_root: must be a znode path below '/'"):
            HaLocation("zookeeper", "orders", NAMESPACE, zookeeper_quorum=zookeeper.hosts, zookeeper_root=root)
    assert zk.exists("/orders/leader") is not None


@pytest.mark.zookeeper
def test_a_subtree_that_is_not_only_flink_ha_data_is_left_alone(k8s: FlinkKubernetesHook, zk: KazooClient,
                                                                zookeeper: ZooKeeperServer, log: RecordingLog) -> None:
    zk.create("/services/orders/leader/latch", b"", makepath=True)
    zk.create("/services/orders/brokers/ids/1", b"kafka", makepath=True)
    where = HaLocation("zookeeper", "orders", NAMESPACE, zookeeper_quorum=zookeeper.hosts, zookeeper_root="/services")
    with pytest.raises(NotOwnedError, match=r"^ZooKeeper subtree /services/orders is not recognisably Flink HA data "
                                            r"of cluster 'orders': it holds brokers, which Flink does not create"):
        remove_ha_data(k8s, where, log)
    assert zk.get("/services/orders/brokers/ids/1")[0] == b"kafka"


@pytest.mark.zookeeper
def test_a_connection_and_a_quorum_that_disagree_are_refused(
        k8s: FlinkKubernetesHook, zk: KazooClient, zookeeper: ZooKeeperServer, make_spec: SpecFactory,
        log: RecordingLog, monkeypatch: pytest.MonkeyPatch) -> None:
    # Flink uses the spec's quorum (no chroot): /flink/orders. The connection adds a chroot /other.
    zk.create("/flink/orders/leader", b"", makepath=True)
    zk.create("/other/flink/orders/jobs/someone-elses", b"", makepath=True)
    monkeypatch.setenv("AIRFLOW_CONN_ZK_OTHER", json.dumps({"conn_type": "zookeeper", "host": zookeeper.hosts,
                                                            "extra": {"chroot": "/other"}}))
    spec = make_spec(ha="zookeeper", zookeeper_quorum=zookeeper.hosts)
    with pytest.raises(FlinkSpecError, match=r"^zookeeper_conn_id: connection 'zk_other' names ZooKeeper "
                                             rf"'{zookeeper.hosts}/other' but zookeeper_quorum, which Flink uses, is "
                                             rf"'{zookeeper.hosts}'"):
        remove_ha_data(k8s, HaLocation.of_spec(spec, "zk_other"), log)
    assert zk.exists("/other/flink/orders/jobs/someone-elses") is not None and zk.exists("/flink/orders/leader")
    monkeypatch.setenv("AIRFLOW_CONN_ZK_SAME", json.dumps({"conn_type": "zookeeper", "host": zookeeper.hosts}))
    assert remove_ha_data(k8s, HaLocation.of_spec(spec, "zk_same"), log) == ["znode /flink/orders"]
    assert zk.exists("/flink/orders") is None and zk.exists("/other/flink/orders/jobs/someone-elses") is not None


@pytest.mark.zookeeper
def test_teardown_of_a_gone_cluster_keeps_its_zookeeper_ha_data_unless_asked(
        k8s: FlinkKubernetesHook, zk: KazooClient, zookeeper: ZooKeeperServer, log: RecordingLog) -> None:
    job = "/flink/orders/jobs/0123456789abcdef0123456789abcdef"
    zk.create(job, b"job", makepath=True)
    zk.create("/flink/orders/checkpoint-counter/0123456789abcdef0123456789abcdef", b"7", makepath=True)
    where = HaLocation("zookeeper", "orders", NAMESPACE, zookeeper_quorum=zookeeper.hosts, zookeeper_root="/flink")
    kept = teardown(k8s, where, keep_ha_data=False, delete_timeout=30, savepoint=None, log=log)
    assert (kept["deleted"], kept["ha_data_kept"], kept["ha_data_removed"]) == (False, True, [])
    assert zk.get(job)[0] == b"job"
    removed = teardown(k8s, where, keep_ha_data=False, delete_timeout=30, savepoint=None, log=log,
                       remove_orphaned_ha_data=True)
    assert removed["ha_data_removed"] == ["znode /flink/orders"] and zk.exists("/flink/orders") is None


@pytest.mark.zookeeper
def test_teardown_keeps_the_live_zookeeper_data_of_the_same_cluster_id_in_another_namespace(
        k8s: FlinkKubernetesHook, zk: KazooClient, zookeeper: ZooKeeperServer, make_spec: SpecFactory,
        log: RecordingLog) -> None:
    """Cluster ``orders`` in namespace ``flink`` and one of the same id elsewhere share ``/flink/orders``. The other
    one's JobManager is live: a stand-in publishes its leader node (the bytes Flink 2.3.0 wrote) ephemerally, in the
    test's ZooKeeper session; no JobManager pod of namespace ``flink`` has that address."""
    leader = "/flink/orders/leader/rest_server/connection_info"
    published = (DATA_DIR / "ha" / "zookeeper-2.3.0-rest_server.bin").read_bytes()
    spec = make_spec(ha="zookeeper", zookeeper_quorum=zookeeper.hosts)
    assert launch(k8s, spec, RUN, LaunchSettings(), log).created
    where = HaLocation.of_spec(spec, None)
    # Harm first: the subtree delete the clean-up runs once its checks pass removes the other cluster's live leader.
    zk.create(leader, published, ephemeral=True, makepath=True)
    with where.zookeeper() as hook:
        assert hook.delete_cluster_data("orders", "/flink")
    assert zk.exists(leader) is None
    zk.create(leader, published, ephemeral=True, makepath=True)

    with pytest.raises(NotOwnedError, match=r"^ZooKeeper subtree /flink/orders is in use by another Flink cluster: "
                                            rf"live leader {leader} -> http://127\.0\.0\.1:\d+, which is none of the "
                                            rf"JobManager pods of 'orders' in namespace '{NAMESPACE}'.*"
                                            rf"zookeeper_root='/flink/{NAMESPACE}'"):
        teardown(k8s, where, keep_ha_data=False, delete_timeout=15, savepoint=None, log=log)
    assert zk.get(leader)[0] == published and zk.get(leader)[1].ephemeralOwner == zk.client_id[0]
    assert names(k8s, "Deployment") == []  # this namespace's own cluster is gone; only the HA data was refused


def test_a_replace_waits_for_the_leader_nodes_of_the_jobmanager_it_deleted(
        k8s: FlinkKubernetesHook, zookeeper: ZooKeeperServer, make_spec: SpecFactory, log: RecordingLog) -> None:
    """A JobManager deleted by a replace keeps its ephemeral leader nodes until its ZooKeeper session ends (at once
    on a clean SIGTERM, a session timeout later when it was killed). The replace's HA clean-up must wait for them,
    not take them for another namespace's live cluster: here the deleted JobManager's session (a stand-in's, holding
    the bytes Flink 2.3.0 wrote) ends only once the replacing Deployment exists, i.e. while the clean-up runs."""
    leader = "/flink/orders/leader/rest_server/connection_info"
    published = (DATA_DIR / "ha" / "zookeeper-2.3.0-rest_server.bin").read_bytes()
    spec = make_spec(ha="zookeeper", zookeeper_quorum=zookeeper.hosts)
    first = launch(k8s, spec, RUN, LaunchSettings(), log)
    jobmanager = KazooClient(hosts=zookeeper.hosts)
    jobmanager.start(timeout=20)
    try:
        jobmanager.create(leader, published, ephemeral=True, makepath=True)

        def end_the_session_once_replaced() -> None:
            wait_until("the replacing Deployment", lambda: (k8s.get("Deployment", "orders", NAMESPACE) or {}).get(
                "metadata", {}).get("uid") not in (None, first.created_uid), timeout=120)
            jobmanager.stop()

        ender = threading.Thread(target=end_the_session_once_replaced, daemon=True)
        ender.start()
        replaced = launch(k8s, spec, RunIdentity("etl", "launch", "manual__2026-01-02", 1),
                          LaunchSettings(if_exists="replace", delete_timeout=120), log)
        ender.join(timeout=130)
    finally:
        jobmanager.stop()
        jobmanager.close()
    assert replaced.created and replaced.created_uid != first.created_uid
    assert "removed ZooKeeper HA data /flink/orders" in log.text
