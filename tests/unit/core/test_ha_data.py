"""Which ConfigMaps are a cluster's Kubernetes HA data (``core/ha_data.py``): the label selector, the name layouts
of Flink 1.13-1.14 and 1.15-2.3, look-alike names that are not HA data, and jobs with completed checkpoints.

The recorded maps (``tests/data/ha/configmap-<version>[-job].json``) are what Flink 1.20.3 (labels with
``configmap-type: high-availability``) and 2.3.0 (without it) wrote for the cluster ``recorded-cluster``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from airflow_flink_k8s.core.file_uris import local_path
from airflow_flink_k8s.core.ha_data import (
    check_zookeeper_root,
    checkpointed_job_ids,
    foreign_leaders,
    ha_configmap_names,
    ha_label_selector,
    ha_labels_match,
    job_graph_keys,
    latest_checkpoint_ids,
    latest_znode_checkpoint,
    leader_host,
    local_checkpoint_path,
    lookalike_configmap_names,
    unknown_zookeeper_nodes,
    without_job_graphs,
)
from airflow_flink_k8s.core.leader import decode_zookeeper_leader
from tests.paths import DATA_DIR

RECORDED_CLUSTER = "recorded-cluster"
RECORDED_JOB = "0000000002d0eddd0000000000000000"
JOB = "0123456789abcdef0123456789abcdef"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((DATA_DIR / "ha" / f"{name}.json").read_text())


def flink_labels(cid: str = "orders") -> dict[str, str]:
    """The labels Flink 2.x gives HA ConfigMaps (1.x adds ``configmap-type=high-availability``)."""
    return {"app": cid, "type": "flink-native-kubernetes"}


def configmap(name: str, labels: dict[str, str] | None = None, data: dict[str, str] | None = None) -> dict[str, Any]:
    """A ConfigMap; by default labelled as Flink labels the HA data of the cluster its name starts with."""
    cid = name.partition("-")[0]
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": flink_labels(cid) if labels is None else labels},
            "data": data or {}}


def selects(selector: str, labels: dict[str, str]) -> bool:
    """An equality-based label selector (``k=v,k2=v2``) matched as the API server matches it."""
    return all(labels.get(key) == value for key, _, value in (term.partition("=") for term in selector.split(",")))


# ---------------------------------------------------------------------------------------------- label selector
@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_the_selector_finds_the_recorded_ha_maps_in_both_label_schemes(version: str) -> None:
    selector = ha_label_selector(RECORDED_CLUSTER)
    for name in (f"configmap-{version}", f"configmap-{version}-job"):
        assert selects(selector, recorded(name)["metadata"]["labels"]), name


def test_the_two_label_schemes_differ_only_in_the_configmap_type_label() -> None:
    old, new = recorded("configmap-1.20.3")["metadata"]["labels"], recorded("configmap-2.3.0")["metadata"]["labels"]
    assert old == {**new, "configmap-type": "high-availability"}
    assert "configmap-type" not in ha_label_selector(RECORDED_CLUSTER), "2.x maps would not be found"


def test_the_selector_is_the_app_label_of_the_cluster() -> None:
    assert ha_label_selector("orders") == "app=orders"
    assert not selects(ha_label_selector("orders"), {"app": "orders-2", "type": "flink-native-kubernetes"})


# ------------------------------------------------------------------------------------------------- name layouts
@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_the_recorded_cluster_and_job_maps_are_ha_data(version: str) -> None:
    maps = [recorded(f"configmap-{version}"), recorded(f"configmap-{version}-job")]
    assert ha_configmap_names(RECORDED_CLUSTER, maps) == [
        f"{RECORDED_CLUSTER}-{RECORDED_JOB}-config-map", f"{RECORDED_CLUSTER}-cluster-config-map"]


@pytest.mark.parametrize(
    "name",
    [
        # Flink 1.15 - 2.3: one map for the cluster, one per job
        "orders-cluster-config-map",
        f"orders-{JOB}-config-map",
        # Flink 1.13 - 1.14: one map per leader component, one per job
        "orders-dispatcher-leader",
        "orders-resourcemanager-leader",
        "orders-restserver-leader",
        f"orders-{JOB}-jobmanager-leader",
    ],
)
def test_every_flink_layout_is_recognised(name: str) -> None:
    assert ha_configmap_names("orders", [configmap(name, flink_labels())]) == [name]


@pytest.mark.parametrize(
    "name",
    [
        "flink-config-orders",  # the cluster's Flink configuration (written by the launch, not by Flink's HA)
        "pod-template-orders",
        "flink-launch-lock-orders",
        "orders",
        "orders-rest",
        "orders-config-map",
        "orders-cluster-config-map-backup",
        "orders-2-cluster-config-map",  # another cluster whose id starts with this one's
        "old-orders-cluster-config-map",
        "orders-jobmanager-leader",
        "orders-taskmanager-leader",
        "orders-dispatcher-leader-0",
        f"orders-{JOB[:-1]}-config-map",  # 31 hex digits
        f"orders-{JOB}0-config-map",  # 33
        f"orders-{JOB.upper()}-config-map",  # Flink writes job ids in lower case
        f"orders-{'g' * 32}-config-map",
        f"orders-{JOB}-leader",
    ],
)
def test_look_alike_names_are_not_ha_data(name: str) -> None:
    assert ha_configmap_names("orders", [configmap(name, flink_labels())]) == []


def test_a_cluster_id_with_a_dot_matches_only_itself() -> None:
    maps = [configmap("a.b-cluster-config-map", flink_labels("a.b")), configmap("axb-cluster-config-map")]
    assert ha_configmap_names("a.b", maps) == ["a.b-cluster-config-map"]


def test_names_are_sorted_and_only_of_the_cluster_asked_about() -> None:
    maps = [configmap(f"orders-{JOB}-config-map"), configmap("payments-cluster-config-map"),
            configmap("orders-cluster-config-map"), configmap("flink-config-orders")]
    assert ha_configmap_names("orders", maps) == [f"orders-{JOB}-config-map", "orders-cluster-config-map"]
    assert ha_configmap_names("orders", []) == []


# ------------------------------------------------------------------------------------------ checkpointed_job_ids
@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_the_recorded_job_with_a_completed_checkpoint_is_found(version: str) -> None:
    maps = [recorded(f"configmap-{version}"), recorded(f"configmap-{version}-job")]
    assert checkpointed_job_ids(RECORDED_CLUSTER, maps) == [RECORDED_JOB]


@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_a_job_map_without_a_checkpoint_key_is_not_checkpointed(version: str) -> None:
    job_map = copy.deepcopy(recorded(f"configmap-{version}-job"))
    job_map["data"] = {key: value for key, value in job_map["data"].items() if not key.startswith("checkpointID-")}
    assert job_map["data"], "the counter entry stays, as before the first checkpoint"
    assert checkpointed_job_ids(RECORDED_CLUSTER, [job_map]) == []


def test_the_cluster_map_never_counts_even_with_job_entries() -> None:
    # The cluster map lists the job (jobGraph-/executionPlan-<id>) but checkpoints are in the per-job map.
    assert checkpointed_job_ids(RECORDED_CLUSTER, [recorded("configmap-2.3.0")]) == []


def test_jobs_of_both_layouts_are_listed_sorted_and_only_for_this_cluster() -> None:
    other = "a" * 32
    maps = [
        configmap(f"orders-{JOB}-jobmanager-leader", data={"checkpointID-0000000000000000007": "x"}),  # 1.13-1.14
        configmap(f"orders-{other}-config-map", data={"checkpointID-0000000000000000001": "x", "counter": "2"}),
        configmap(f"payments-{'b' * 32}-config-map", data={"checkpointID-0000000000000000001": "x"}),
        configmap(f"orders-{'c' * 32}-config-map", data=None),
        configmap("orders-cluster-config-map", data={"checkpointID-0000000000000000001": "x"}),
    ]
    assert checkpointed_job_ids("orders", maps) == [JOB, other]


# ------------------------------------------------------------------------------------- latest checkpoint ids
@pytest.mark.parametrize(("version", "checkpoint"), [("1.20.3", 1), ("2.3.0", 2)])
def test_the_latest_checkpoint_of_the_recorded_job_is_read_from_its_key(version: str, checkpoint: int) -> None:
    maps = [recorded(f"configmap-{version}"), recorded(f"configmap-{version}-job")]
    assert latest_checkpoint_ids(RECORDED_CLUSTER, maps) == {RECORDED_JOB: checkpoint}


def test_the_highest_of_several_retained_checkpoints_is_the_latest() -> None:
    data = {"counter": "13", "checkpointID-0000000000000000011": "x", "checkpointID-0000000000000000012": "x",
            "checkpointID-bogus": "x"}
    assert latest_checkpoint_ids("orders", [configmap(f"orders-{JOB}-config-map", data=data)]) == {JOB: 12}


def test_the_latest_zookeeper_checkpoint_is_the_highest_numeric_child() -> None:
    assert latest_znode_checkpoint(["0000000000000000009", "0000000000000000010", "lock"]) == 10
    assert latest_znode_checkpoint([]) is None


# ------------------------------------------------------------------------------------------- job graph entries
@pytest.mark.parametrize(("version", "key"), [("1.20.3", "jobGraph-"), ("2.3.0", "executionPlan-")])
def test_only_the_job_graph_entry_is_dropped_from_the_recorded_cluster_map(version: str, key: str) -> None:
    cluster_map = recorded(f"configmap-{version}")
    assert job_graph_keys(cluster_map) == [key + RECORDED_JOB]
    body = without_job_graphs(cluster_map)
    assert body is not None
    assert body["data"] == {k: v for k, v in cluster_map["data"].items() if k != key + RECORDED_JOB}
    assert body["metadata"] == cluster_map["metadata"], "resourceVersion kept: the PUT is a compare-and-swap"
    assert body["metadata"]["resourceVersion"]
    assert job_graph_keys(cluster_map) == [key + RECORDED_JOB], "the map read from the API is left as it was"


@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_a_map_without_a_job_graph_needs_no_write(version: str) -> None:
    assert without_job_graphs(recorded(f"configmap-{version}-job")) is None, "checkpoint pointers and counter stay"
    assert without_job_graphs(configmap("orders-cluster-config-map", data=None)) is None


# ----------------------------------------------------------------------------------- local checkpoint files
@pytest.mark.parametrize(("uri", "path"), [
    ("file:///data/chk", "/data/chk"), ("file:/data/chk", "/data/chk"), ("file://localhost/data/chk", "/data/chk"),
    ("/data/chk", "/data/chk"), ("file:///data/with%20space", "/data/with space"),
    ("s3://bucket/chk", None), ("hdfs://nn:8020/chk", None), ("file://otherhost/data", None), ("relative/x", None),
    ("", None),
])
def test_only_local_uris_have_a_local_path(uri: str, path: str | None) -> None:
    assert local_path(uri) == path


def test_the_checkpoint_metadata_file_is_under_the_job_and_checkpoint_number() -> None:
    assert local_checkpoint_path("file:///ckpt/orders/", JOB, 7) == f"/ckpt/orders/{JOB}/chk-7/_metadata"
    assert local_checkpoint_path("s3://bucket/orders", JOB, 7) is None


# ------------------------------------------------------------------------------------------------ labels
def test_a_look_alike_without_flinks_labels_is_not_ha_data_and_is_named() -> None:
    nginx = configmap("orders-cluster-config-map", {"app": "orders"})
    assert ha_configmap_names("orders", [nginx]) == [] and checkpointed_job_ids("orders", [
        configmap(f"orders-{JOB}-config-map", {"app": "orders"}, {"checkpointID-0000000000000000001": "x"})]) == []
    assert lookalike_configmap_names("orders", [nginx, configmap("orders-cluster-config-map")]) == [
        "orders-cluster-config-map"]


@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_the_recorded_labels_are_flinks_for_their_version(version: str) -> None:
    labels = recorded(f"configmap-{version}")["metadata"]["labels"]
    assert ha_labels_match(RECORDED_CLUSTER, labels, version) and ha_labels_match(RECORDED_CLUSTER, labels)
    assert not ha_labels_match("other", labels, version)


def test_a_1x_map_needs_its_configmap_type_label_and_a_2x_cluster_accepts_a_1x_leftover() -> None:
    assert not ha_labels_match("orders", flink_labels(), "1.20.3")
    old = {**flink_labels(), "configmap-type": "high-availability"}
    assert ha_labels_match("orders", old, "1.20.3") and ha_labels_match("orders", old, "2.3.0")
    assert not ha_labels_match("orders", {**flink_labels(), "configmap-type": "leader"})


# ------------------------------------------------------------------------------------------------ ZooKeeper
def test_only_flinks_nodes_are_recognised_under_the_cluster_namespace() -> None:
    flink_2 = ["leader", "jobs", "execution-plans", "applications"]
    flink_1_20 = ["leader", "jobs", "jobgraphs"]
    flink_1_13 = ["leaderlatch", "leader", "checkpoints", "checkpoint-counter", "jobgraphs", "running_job_registry"]
    assert unknown_zookeeper_nodes(flink_2 + flink_1_20 + flink_1_13) == []
    assert unknown_zookeeper_nodes(["leader", "brokers", "config"]) == ["brokers", "config"]


@pytest.mark.parametrize("root", ["/", "", "  ", "//", None])
def test_the_zookeeper_root_must_be_below_slash(root: Any) -> None:
    with pytest.raises(ValueError):
        check_zookeeper_root(root)
    assert check_zookeeper_root("/flink/team-a") == "/flink/team-a"


@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_recorded_leader_addresses_give_their_host(version: str) -> None:
    for component in ("rest_server", "dispatcher", "resource_manager", "job"):
        address = decode_zookeeper_leader((DATA_DIR / "ha" / f"zookeeper-{version}-{component}.bin").read_bytes())
        assert address is not None and leader_host(address.address) == "127.0.0.1", address


def test_leaders_on_none_of_this_clusters_pods_are_foreign() -> None:
    leaders = {"/flink/orders/leader/rest_server/connection_info": "http://10.0.0.7:8081",
               "/flink/orders/leader/dispatcher/connection_info": "pekko.tcp://flink@[fd00::7]:6123/user/rpc/x"}
    assert foreign_leaders(leaders, {"10.0.0.7", "fd00::7"}) == {}
    assert foreign_leaders(leaders, {"10.0.0.8"}) == dict(sorted(leaders.items()))
    assert foreign_leaders({"/x": "<undecodable>"}, {"10.0.0.7"}) == {"/x": "<undecodable>"}
