"""``flows.launch``: the whole launch sequence against the Kubernetes API emulator (native launcher)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from airflow_flink_k8s.core.errors import ClusterExistsError, FlinkSpecError
from airflow_flink_k8s.core.job_id import derive_job_id
from airflow_flink_k8s.core.launch_plan import RunIdentity
from airflow_flink_k8s.core.names import ANNOTATION_JOB_ID
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.launch import LaunchSettings, await_concurrent_launch, launch
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from tests.integration.flows.conftest import NAMESPACE, RecordingLog, configmap, names

RUN = RunIdentity("etl", "launch", "manual__2026-01-01", 1)
JOB = "c" * 32
XCOM_KEYS = {"cluster_id", "namespace", "job_id", "rest_url", "checkpoint_dir", "savepoint_dir", "flink_version",
             "web_ui_url", "launched"}

SpecFactory = Callable[..., FlinkApplicationSpec]


def test_a_fresh_launch_creates_the_cluster_and_removes_leftover_ha_data(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog) -> None:
    k8s.create(configmap("orders-cluster-config-map", "orders"), NAMESPACE)
    result = launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    job_id = derive_job_id("orders", RUN.run_key, RUN.try_number)
    assert result.created and result.spec.job_id == job_id
    assert set(result.xcom) == XCOM_KEYS
    assert result.xcom["launched"] is True and result.xcom["job_id"] == job_id
    assert result.xcom["rest_url"] == f"http://orders-rest.{NAMESPACE}:8081"
    assert result.xcom["web_ui_url"].endswith(f"/api/v1/namespaces/{NAMESPACE}/services/orders-rest:rest/proxy/")
    deployment = k8s.get("Deployment", "orders", NAMESPACE)
    assert deployment is not None and deployment["metadata"]["annotations"][ANNOTATION_JOB_ID] == job_id
    assert "orders-cluster-config-map" not in names(k8s, "ConfigMap")
    assert "flink-config-orders" in names(k8s, "ConfigMap")
    assert f"launching orders with job id {job_id}" in log.text


def test_a_retry_of_the_same_try_reattaches(k8s: FlinkKubernetesHook, make_spec: SpecFactory,
                                            log: RecordingLog) -> None:
    first = launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    again = launch(k8s, make_spec(), RunIdentity(RUN.dag_id, RUN.task_id, RUN.run_id, 2), LaunchSettings(), log)
    assert not again.created and again.xcom == {**first.xcom, "launched": False}


def test_another_run_fails_on_if_exists_fail(k8s: FlinkKubernetesHook, make_spec: SpecFactory,
                                             log: RecordingLog) -> None:
    launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    with pytest.raises(ClusterExistsError, match="orders"):
        launch(k8s, make_spec(), RunIdentity("etl", "launch", "manual__2026-01-02", 1), LaunchSettings(), log)


def test_replace_deletes_the_cluster_and_launches_with_a_new_job_id(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog) -> None:
    first = launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    other = RunIdentity("etl", "launch", "manual__2026-01-02", 1)
    second = launch(k8s, make_spec(), other, LaunchSettings(if_exists="replace", delete_timeout=30), log)
    assert second.created and second.spec.job_id != first.spec.job_id
    deployment = k8s.get("Deployment", "orders", NAMESPACE)
    assert deployment is not None and deployment["metadata"]["annotations"][ANNOTATION_JOB_ID] == second.spec.job_id


def test_restore_latest_resumes_the_checkpointed_job_and_keeps_its_ha_data(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog) -> None:
    k8s.create(configmap(f"orders-{JOB}-config-map", "orders", {"checkpointID-0000000000000000003": "x"}), NAMESPACE)
    result = launch(k8s, make_spec(restore="latest"), RUN, LaunchSettings(), log)
    assert result.spec.job_id == JOB and result.xcom["job_id"] == JOB
    assert f"orders-{JOB}-config-map" in names(k8s, "ConfigMap")


def test_restore_latest_without_a_checkpoint_fails_before_any_write(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog) -> None:
    with pytest.raises(FlinkSpecError, match=r"^restore: 'latest' needs HA metadata with a completed checkpoint"):
        launch(k8s, make_spec(restore="latest"), RUN, LaunchSettings(), log)
    assert names(k8s, "Deployment") == []


def test_settings_name_a_bad_if_exists() -> None:
    with pytest.raises(FlinkSpecError, match=r"^if_exists: must be one of fail, reuse, replace, got 'keep'"):
        LaunchSettings(if_exists="keep")


def test_a_cluster_id_held_by_no_launch_is_awaited_at_once(k8s: FlinkKubernetesHook,
                                                           make_spec: SpecFactory, log: RecordingLog) -> None:
    assert await_concurrent_launch(k8s, "orders", NAMESPACE, timeout=5) is None
    launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    winner = await_concurrent_launch(k8s, "orders", NAMESPACE, timeout=5)
    assert winner is not None and winner["metadata"]["name"] == "orders"


def test_a_launch_lock_held_past_the_timeout_names_the_cluster(k8s: FlinkKubernetesHook) -> None:
    k8s.create(configmap("flink-launch-lock-orders", "orders"), NAMESPACE)
    with pytest.raises(TimeoutError, match=f"Flink cluster {NAMESPACE}/orders: the concurrent launch"):
        await_concurrent_launch(k8s, "orders", NAMESPACE, timeout=0.2, poll=0.05)
