"""The launch, teardown and sensor arguments beside the spec are refused at construction, naming the argument and
the rule, unless templated (those are checked once rendered: tests/integration/test_operator_failures.py)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_flink_k8s.core.arguments import ACCESS_MODES, READINESS_TARGETS
from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.readiness import ReadinessLevel
from airflow_flink_k8s.core.rest_endpoint import AccessMode
from airflow_flink_k8s.operators import FlinkApplicationOperator, FlinkApplicationTeardownOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
from tests.request_guard import guard_catches_a_connection_and_a_client, guard_requests

LAUNCH: dict[str, Any] = {"task_id": "launch", "cluster_id": "orders", "image": "flink:2.3.0",
                          "jar_uri": "local:///opt/flink/usrlib/job.jar", "flink_version": "2.3.0"}
LAUNCH_HA = {**LAUNCH, "ha": "kubernetes", "ha_storage_dir": "s3://bucket/ha"}
TEARDOWN: dict[str, Any] = {"task_id": "down", "cluster_id": "orders"}
SENSOR: dict[str, Any] = {"task_id": "ready", "cluster_id": "orders"}
ZK_SENSOR = {**SENSOR, "ha": "zookeeper"}

@pytest.fixture(autouse=True)
def requests_attempted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every network connection or API client built during a test here fails and is listed (tests/request_guard.py)."""
    return guard_requests(monkeypatch)


# (case id, operator class, arguments, field named in the error, words of the rule)
BAD_ARGUMENTS: list[tuple[str, type, dict[str, Any], str, str]] = [
    ("launch-launcher", FlinkApplicationOperator, {**LAUNCH, "launcher": "kubectl"}, "launcher", "one of native, cli"),
    ("launch-if-exists", FlinkApplicationOperator, {**LAUNCH, "if_exists": "overwrite"}, "if_exists", "one of"),
    ("launch-access-mode", FlinkApplicationOperator, {**LAUNCH, "access_mode": "bogus"}, "access_mode",
     "one of direct, service, proxy, auto"),
    ("launch-wait-until", FlinkApplicationOperator, {**LAUNCH_HA, "wait_until": "ready"}, "wait_until", "one of"),
    ("launch-wait-until-without-ha", FlinkApplicationOperator, {**LAUNCH, "wait_until": "rest"}, "wait_until",
     "needs ha="),
    ("launch-wait-timeout-zero", FlinkApplicationOperator, {**LAUNCH, "wait_timeout": 0}, "wait_timeout",
     "seconds above 0"),
    ("launch-wait-timeout-text", FlinkApplicationOperator, {**LAUNCH, "wait_timeout": "600"}, "wait_timeout",
     "seconds above 0"),
    ("launch-poll-interval-negative", FlinkApplicationOperator, {**LAUNCH, "wait_poll_interval": -1},
     "wait_poll_interval", "seconds above 0"),
    ("launch-delete-timeout-inf", FlinkApplicationOperator, {**LAUNCH, "delete_timeout": float("inf")},
     "delete_timeout", "finite number"),
    ("launch-delete-timeout-bool", FlinkApplicationOperator, {**LAUNCH, "delete_timeout": True}, "delete_timeout",
     "seconds above 0"),
    ("launch-cli-timeout-zero", FlinkApplicationOperator, {**LAUNCH, "cli_timeout": 0}, "cli_timeout",
     "seconds above 0"),
    ("launch-flink-bin-empty", FlinkApplicationOperator, {**LAUNCH, "flink_bin": ""}, "flink_bin", "non-empty"),
    ("launch-flink-conf-dir-blank", FlinkApplicationOperator, {**LAUNCH, "flink_conf_dir": " /etc/flink"},
     "flink_conf_dir", "surrounding spaces"),
    ("launch-kubernetes-conn-empty", FlinkApplicationOperator, {**LAUNCH, "kubernetes_conn_id": ""},
     "kubernetes_conn_id", "non-empty"),
    ("launch-zookeeper-conn-empty", FlinkApplicationOperator, {**LAUNCH, "zookeeper_conn_id": ""},
     "zookeeper_conn_id", "non-empty"),
    ("launch-deferrable-text", FlinkApplicationOperator, {**LAUNCH, "deferrable": "yes"}, "deferrable",
     "True or False"),
    ("launch-keep-cluster-without-finished", FlinkApplicationOperator, {**LAUNCH_HA, "wait_until": "running",
     "keep_cluster": True}, "keep_cluster", "only with wait_until='finished'"),
    ("launch-keep-cluster-text", FlinkApplicationOperator, {**LAUNCH_HA, "wait_until": "finished",
     "keep_cluster": "yes"}, "keep_cluster", "True or False"),
    ("launch-finished-shutdown-on-finish", FlinkApplicationOperator, {**LAUNCH_HA, "wait_until": "finished",
     "flink_conf": {"execution.shutdown-on-application-finish": "true"}},
     "flink_conf['execution.shutdown-on-application-finish']", "must be false or absent"),
    ("launch-adopt-text", FlinkApplicationOperator, {**LAUNCH, "adopt_native_clusters": "true"},
     "adopt_native_clusters", "True or False"),
    ("launch-log-tail-lines", FlinkApplicationOperator, {**LAUNCH, "log_tail_lines": 5000}, "log_tail_lines",
     "0..1000"),
    ("launch-restart-limit", FlinkApplicationOperator, {**LAUNCH, "jobmanager_restart_limit": 0},
     "jobmanager_restart_limit", ">= 1"),
    ("launch-unscheduled-timeout", FlinkApplicationOperator, {**LAUNCH, "unscheduled_timeout": 0},
     "unscheduled_timeout", "seconds > 0"),
    ("launch-proxy-without-connection", FlinkApplicationOperator,
     {**LAUNCH_HA, "wait_until": "rest", "access_mode": "proxy", "kubernetes_conn_id": None}, "kubernetes_conn_id",
     "non-empty"),
    ("launch-spec-checked-at-construction", FlinkApplicationOperator, {**LAUNCH, "image": "Flink:2.3.0"}, "image",
     "lower case"),
    ("launch-spec-cluster-id", FlinkApplicationOperator, {**LAUNCH, "cluster_id": "Orders"}, "cluster_id",
     "DNS-1035"),
    ("launch-upgrade-without-mode", FlinkApplicationOperator, {**LAUNCH, "if_exists": "upgrade"}, "upgrade_mode",
     "is required with if_exists='upgrade'"),
    ("launch-mode-without-upgrade", FlinkApplicationOperator, {**LAUNCH, "upgrade_mode": "savepoint"},
     "upgrade_mode", "only with if_exists='upgrade'"),
    ("launch-upgrade-mode", FlinkApplicationOperator, {**LAUNCH, "if_exists": "upgrade", "upgrade_mode": "rolling"},
     "upgrade_mode", "one of savepoint, last-state, stateless"),
    ("launch-upgrade-savepoint-without-dir", FlinkApplicationOperator,
     {**LAUNCH, "if_exists": "upgrade", "upgrade_mode": "savepoint"}, "savepoint_base_dir", "is required"),
    ("launch-upgrade-last-state-without-ha", FlinkApplicationOperator,
     {**LAUNCH, "if_exists": "upgrade", "upgrade_mode": "last-state", "checkpoint_base_dir": "s3://b/c"},
     "upgrade_mode", "needs ha="),
    ("launch-savepoint-timeout", FlinkApplicationOperator, {**LAUNCH, "savepoint_timeout": 0}, "savepoint_timeout",
     "seconds above 0"),
    ("launch-non-restored-state-with-latest", FlinkApplicationOperator,
     {**LAUNCH_HA, "restore": "latest", "allow_non_restored_state": True}, "allow_non_restored_state",
     "not to restore='latest'"),
    ("teardown-cluster-id-empty", FlinkApplicationTeardownOperator, {**TEARDOWN, "cluster_id": ""}, "cluster_id",
     "non-empty"),
    ("teardown-cluster-id-uppercase", FlinkApplicationTeardownOperator, {**TEARDOWN, "cluster_id": "Orders"},
     "cluster_id", "DNS-1035"),
    ("teardown-cluster-id-too-long", FlinkApplicationTeardownOperator, {**TEARDOWN, "cluster_id": "o" * 46},
     "cluster_id", "at most 45"),
    ("teardown-namespace", FlinkApplicationTeardownOperator, {**TEARDOWN, "namespace": "Flink"}, "namespace",
     "DNS-1123"),
    ("teardown-ha", FlinkApplicationTeardownOperator, {**TEARDOWN, "ha": "etcd"}, "ha", "one of"),
    ("teardown-zookeeper-without-address", FlinkApplicationTeardownOperator, {**TEARDOWN, "ha": "zookeeper"},
     "zookeeper_quorum", "needs zookeeper_conn_id or zookeeper_quorum"),
    ("teardown-zookeeper-quorum", FlinkApplicationTeardownOperator,
     {**TEARDOWN, "ha": "zookeeper", "zookeeper_quorum": "zk"}, "zookeeper_quorum", "host:port"),
    ("teardown-zookeeper-root-slash", FlinkApplicationTeardownOperator,
     {**TEARDOWN, "ha": "zookeeper", "zookeeper_quorum": "zk:2181", "zookeeper_root": "/"}, "zookeeper_root",
     "znode path"),
    ("teardown-zookeeper-root-relative", FlinkApplicationTeardownOperator,
     {**TEARDOWN, "ha": "zookeeper", "zookeeper_quorum": "zk:2181", "zookeeper_root": "flink"}, "zookeeper_root",
     "must start and must not end with '/'"),
    ("teardown-delete-timeout", FlinkApplicationTeardownOperator, {**TEARDOWN, "delete_timeout": 0},
     "delete_timeout", "seconds above 0"),
    ("teardown-savepoint-timeout", FlinkApplicationTeardownOperator,
     {**TEARDOWN, "savepoint": True, "savepoint_timeout": -5}, "savepoint_timeout", "seconds above 0"),
    ("teardown-savepoint-text", FlinkApplicationTeardownOperator, {**TEARDOWN, "savepoint": "yes"}, "savepoint",
     "True or False"),
    ("teardown-savepoint-dir-without-scheme", FlinkApplicationTeardownOperator,
     {**TEARDOWN, "savepoint": True, "savepoint_dir": "/savepoints"}, "savepoint_dir", "URI with a scheme"),
    ("teardown-savepoint-dir-without-savepoint", FlinkApplicationTeardownOperator,
     {**TEARDOWN, "savepoint_dir": "s3://b/sp"}, "savepoint_dir", "only with savepoint=True"),
    ("teardown-drain-without-savepoint", FlinkApplicationTeardownOperator, {**TEARDOWN, "drain": True}, "drain",
     "only with savepoint=True"),
    ("teardown-job-id", FlinkApplicationTeardownOperator, {**TEARDOWN, "savepoint": True, "job_id": "abc"},
     "job_id", "32 hexadecimal digits"),
    ("teardown-keep-and-remove-orphans", FlinkApplicationTeardownOperator,
     {**TEARDOWN, "keep_ha_data": True, "remove_orphaned_ha_data": True}, "remove_orphaned_ha_data",
     "contradicts keep_ha_data"),
    ("teardown-keep-ha-data-text", FlinkApplicationTeardownOperator, {**TEARDOWN, "keep_ha_data": "no"},
     "keep_ha_data", "True or False"),
    ("teardown-kubernetes-conn-empty", FlinkApplicationTeardownOperator, {**TEARDOWN, "kubernetes_conn_id": ""},
     "kubernetes_conn_id", "non-empty"),
    ("sensor-ha-none", FlinkJobManagerReadySensor, {**SENSOR, "ha": "none"}, "ha", "one of kubernetes, zookeeper"),
    ("sensor-target", FlinkJobManagerReadySensor, {**SENSOR, "target": "ready"}, "target", "one of"),
    ("sensor-access-mode", FlinkJobManagerReadySensor, {**SENSOR, "access_mode": "bogus"}, "access_mode", "one of"),
    ("sensor-flink-version", FlinkJobManagerReadySensor, {**SENSOR, "flink_version": "latest"}, "flink_version",
     "MAJOR.MINOR"),
    ("sensor-job-id", FlinkJobManagerReadySensor, {**SENSOR, "job_id": "xyz"}, "job_id", "32 hexadecimal"),
    ("sensor-checkpointed-after-naive", FlinkJobManagerReadySensor,
     {**SENSOR, "checkpointed_after": "2026-01-01T00:00:00"}, "checkpointed_after", "time zone"),
    ("sensor-zookeeper-without-address", FlinkJobManagerReadySensor, ZK_SENSOR, "zookeeper_quorum", "exactly one"),
    ("sensor-zookeeper-both-addresses", FlinkJobManagerReadySensor,
     {**ZK_SENSOR, "zookeeper_quorum": "zk:2181", "zookeeper_conn_id": "zk"}, "zookeeper_quorum", "exactly one"),
    ("sensor-rest-port", FlinkJobManagerReadySensor, {**SENSOR, "rest_port": 70000}, "rest_port", "1..65535"),
    ("sensor-rest-scheme", FlinkJobManagerReadySensor, {**SENSOR, "rest_scheme": "ftp"}, "rest_scheme",
     "one of http, https"),
    ("sensor-rest-timeout", FlinkJobManagerReadySensor, {**SENSOR, "rest_timeout": 0}, "rest_timeout",
     "seconds above 0"),
    ("sensor-kubernetes-ha-without-connection", FlinkJobManagerReadySensor, {**SENSOR, "kubernetes_conn_id": None},
     "kubernetes_conn_id", "ha='kubernetes'"),
    ("sensor-cluster-id", FlinkJobManagerReadySensor, {**SENSOR, "cluster_id": "my_job"}, "cluster_id", "DNS-1035"),
    ("sensor-namespace", FlinkJobManagerReadySensor, {**SENSOR, "namespace": "-flink"}, "namespace", "DNS-1123"),
    ("sensor-log-tail-lines", FlinkJobManagerReadySensor, {**SENSOR, "log_tail_lines": -1}, "log_tail_lines",
     "0..1000"),
]


@pytest.mark.parametrize(("operator", "arguments", "field", "rule_words"), [c[1:] for c in BAD_ARGUMENTS],
                         ids=[c[0] for c in BAD_ARGUMENTS])
def test_a_bad_argument_is_refused_at_construction(operator: type, arguments: dict[str, Any], field: str,
                                                   rule_words: str, requests_attempted: list[str]) -> None:
    with pytest.raises(FlinkSpecError) as caught:
        operator(**arguments)
    assert caught.value.field == field
    assert rule_words in caught.value.rule
    assert str(caught.value).startswith(f"{field}: ")
    assert requests_attempted == []


def test_the_no_request_guard_is_on(requests_attempted: list[str]) -> None:
    guard_catches_a_connection_and_a_client(requests_attempted)


@pytest.mark.parametrize(("operator", "arguments"), [
    (FlinkApplicationOperator, {**LAUNCH, "if_exists": "{{ params.if_exists }}"}),
    (FlinkApplicationOperator, {**LAUNCH, "image": "{{ params.image }}", "access_mode": "proxy"}),
    (FlinkApplicationOperator, {**LAUNCH, "jar_uri": "local:///opt/flink/usrlib/{{ params.jar }}"}),
    (FlinkApplicationTeardownOperator, {**TEARDOWN, "cluster_id": "{{ params.cid }}", "namespace": "{{ ns }}"}),
    (FlinkApplicationTeardownOperator, {**TEARDOWN, "ha": "zookeeper", "zookeeper_quorum": "{{ params.zk }}"}),
    (FlinkJobManagerReadySensor, {**ZK_SENSOR, "zookeeper_quorum": "{{ params.zk }}", "target": "{{ params.t }}"}),
    (FlinkApplicationOperator, {**LAUNCH, "kubernetes_conn_id": " {{ params.k8s }}",
                                "zookeeper_conn_id": "{{ params.zk }} "}),
    (FlinkApplicationTeardownOperator, {**TEARDOWN, "kubernetes_conn_id": "{{ params.k8s }} "}),
    (FlinkJobManagerReadySensor, {**ZK_SENSOR, "kubernetes_conn_id": " {{ params.k8s }}",
                                  "zookeeper_conn_id": "{{ params.zk }} "}),
], ids=["launch-if-exists", "launch-spec-field", "launch-template-inside", "teardown-names", "teardown-zookeeper",
        "sensor", "launch-conn-ids", "teardown-conn-id", "sensor-conn-ids"])
def test_templated_arguments_wait_for_rendering(operator: type, arguments: dict[str, Any]) -> None:
    operator(**arguments)


def test_the_spelled_out_choices_match_the_enums() -> None:
    assert tuple(mode.value for mode in AccessMode) == ACCESS_MODES
    assert tuple(level.value for level in ReadinessLevel) == READINESS_TARGETS
