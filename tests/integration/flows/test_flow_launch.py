"""``flows.launch``: the whole launch sequence against the Kubernetes API emulator (native launcher)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_flink_k8s.core.errors import ClusterExistsError, FlinkSpecError
from airflow_flink_k8s.core.job_id import flink_default_ha_job_id
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
    job_id = result.spec.job_id
    assert job_id is not None and re.fullmatch("[0-9a-f]{32}", job_id)
    assert job_id != flink_default_ha_job_id("orders", "2.3.0") and not job_id.endswith("0" * 16)
    assert result.created
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


def test_every_fresh_launch_in_one_run_gets_its_own_job_id(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog) -> None:
    replace = LaunchSettings(if_exists="replace", delete_timeout=30)
    first = launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    # another task of the same run replaces it
    second = launch(k8s, make_spec(), RunIdentity(RUN.dag_id, "launch_b", RUN.run_id, 1), replace, log)
    # the same task and try replaces it again (a re-run of the run, or a cleared task back at try 1)
    third = launch(k8s, make_spec(program_args=["--rate", "5"]), RUN, replace, log)
    ids = [first.spec.job_id, second.spec.job_id, third.spec.job_id]
    assert second.created and third.created and len(set(ids)) == 3, ids
    deployment = k8s.get("Deployment", "orders", NAMESPACE)
    assert deployment is not None and deployment["metadata"]["annotations"][ANNOTATION_JOB_ID] == ids[2]
    # ... while a retry that reattaches keeps the id the Deployment carries
    again = launch(k8s, make_spec(program_args=["--rate", "5"]), RunIdentity(RUN.dag_id, RUN.task_id, RUN.run_id, 2),
                   replace, log)
    assert not again.created and again.spec.job_id == ids[2]


def _checkpoint_files(base: Path, job_id: str, checkpoint: int) -> None:
    (base / "orders" / job_id / f"chk-{checkpoint}").mkdir(parents=True)
    (base / "orders" / job_id / f"chk-{checkpoint}" / "_metadata").write_bytes(b"x")


def test_restore_latest_resumes_the_checkpointed_job_keeps_its_checkpoints_and_drops_its_job_graph(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog, tmp_path: Path) -> None:
    leader = {"org.apache.flink.k8s.leader.restserver": "u,http://10.0.0.1:8081"}
    k8s.create(configmap("orders-cluster-config-map", "orders", {f"executionPlan-{JOB}": "plan", **leader}), NAMESPACE)
    pointers = {"checkpointID-0000000000000000002": "x", "checkpointID-0000000000000000003": "x", "counter": "4"}
    k8s.create(configmap(f"orders-{JOB}-config-map", "orders", pointers), NAMESPACE)
    _checkpoint_files(tmp_path, JOB, 3)
    result = launch(k8s, make_spec(restore="latest", checkpoint_base_dir=f"file://{tmp_path}"), RUN,
                    LaunchSettings(), log)
    assert result.spec.job_id == JOB and result.xcom["job_id"] == JOB
    assert k8s.get("ConfigMap", f"orders-{JOB}-config-map", NAMESPACE)["data"] == pointers  # type: ignore[index]
    assert k8s.get("ConfigMap", "orders-cluster-config-map", NAMESPACE)["data"] == leader  # type: ignore[index]
    assert f"removed the stored job graph executionPlan-{JOB} from HA ConfigMap {NAMESPACE}/orders-cluster" in log.text


@pytest.mark.parametrize("base", ["deleted", "moved"])
def test_restore_latest_whose_last_checkpoint_files_are_gone_fails_before_any_write(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog, tmp_path: Path, base: str) -> None:
    k8s.create(configmap("orders-cluster-config-map", "orders", {f"jobGraph-{JOB}": "graph"}), NAMESPACE)
    k8s.create(configmap(f"orders-{JOB}-config-map", "orders", {"checkpointID-0000000000000000005": "x"}), NAMESPACE)
    _checkpoint_files(tmp_path, JOB, 4)  # an older checkpoint is there, the one HA names is not
    if base == "moved":
        (tmp_path / "orders").rename(tmp_path / "elsewhere")
    with pytest.raises(FlinkSpecError, match=rf"^restore: 'latest' would resume job {JOB} of cluster 'orders' .* "
                                             rf"checkpoint 5, .* {tmp_path}/orders/{JOB}/chk-5/_metadata does not"):
        launch(k8s, make_spec(restore="latest", checkpoint_base_dir=f"file://{tmp_path}"), RUN, LaunchSettings(), log)
    assert names(k8s, "Deployment") == []
    assert k8s.get("ConfigMap", "orders-cluster-config-map", NAMESPACE)["data"] == {  # type: ignore[index]
        f"jobGraph-{JOB}": "graph"}, "nothing was changed"


def test_restore_latest_cannot_check_files_only_the_pods_see(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog, tmp_path: Path) -> None:
    k8s.create(configmap(f"orders-{JOB}-config-map", "orders", {"checkpointID-0000000000000000005": "x"}), NAMESPACE)
    for base in ("s3://bucket/checkpoints", f"file://{tmp_path}/mounted-in-the-pods-only"):
        k8s.delete("Deployment", "orders", NAMESPACE)
        result = launch(k8s, make_spec(restore="latest", checkpoint_base_dir=base), RUN, LaunchSettings(), log)
        assert result.created and result.spec.job_id == JOB


def test_restore_latest_without_a_checkpoint_fails_before_any_write(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog) -> None:
    with pytest.raises(FlinkSpecError, match=r"^restore: 'latest' needs HA metadata with a completed checkpoint"):
        launch(k8s, make_spec(restore="latest"), RUN, LaunchSettings(), log)
    assert names(k8s, "Deployment") == []


def test_settings_name_a_bad_if_exists() -> None:
    with pytest.raises(FlinkSpecError, match=r"^if_exists: must be one of fail, reuse, replace, upgrade, got 'keep'"):
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


def test_the_native_launcher_refuses_an_option_it_does_not_render_before_replacing_anything(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog) -> None:
    launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    before = k8s.get("Deployment", "orders", NAMESPACE)
    refused = make_spec(flink_conf={"security.kerberos.login.keytab": "/etc/security/flink.keytab"})
    with pytest.raises(FlinkSpecError, match=r"flink_conf\['security.kerberos.login.keytab'\]: is not rendered by "
                                             r"the native launcher: use launcher='cli'"):
        launch(k8s, refused, RunIdentity("etl", "launch", "manual__2026-01-02", 1),
               LaunchSettings(if_exists="replace"), log)
    after = k8s.get("Deployment", "orders", NAMESPACE)
    assert before is not None and after is not None and after["metadata"]["uid"] == before["metadata"]["uid"]


def test_a_replace_naming_another_ha_storage_dir_removes_the_replaced_clusters_files_there(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog, tmp_path: Path) -> None:
    """The replaced cluster's JobManager left its HA storage files under its own dir; the new spec names another
    (whose leftovers the fresh launch cleans anyway): Flink's files under the old one go too, a foreign file stays."""
    old, new = tmp_path / "ha-old", tmp_path / "ha-new"
    launch(k8s, make_spec(ha_storage_dir=f"file://{old}"), RUN, LaunchSettings(), log)
    left = old / "orders"
    for name in (f"blob/job_{JOB}/blob_p-{'a' * 40}-{'b' * 32}", "submittedJobGraph0123456789ab",
                 f"job-result-store/{JOB}/{JOB}.json", "notes.txt"):
        (left / name).parent.mkdir(parents=True, exist_ok=True)
        (left / name).write_text("x")
    replaced = launch(k8s, make_spec(ha_storage_dir=f"file://{new}"), RunIdentity("etl", "launch", "manual__2", 1),
                      LaunchSettings(if_exists="replace"), log)
    assert replaced.created
    assert sorted(p.relative_to(left).as_posix() for p in left.rglob("*")) == ["notes.txt"]
    assert f"file://{old}" in log.text and "notes.txt" in log.text
