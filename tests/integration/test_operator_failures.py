"""The launch operator under bad input and API failures, through real Airflow (``dag.test()``) and the emulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from tests.fixtures.airflow_db import DagRunner, task_states

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationOperator(
        task_id="launch", cluster_id={cluster_id!r}, namespace="flink", image="flink:2.3.0",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="2.3.0",
        ha="kubernetes", ha_storage_dir="file:///tmp/ha", checkpoint_base_dir="file:///tmp/checkpoints",
        retries=0, {extra}
    )
"""


@pytest.fixture
def kube_conn(k8s_emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmulatorProcess:
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}))
    return k8s_emulator


def _objects(emulator: EmulatorProcess) -> list[str]:
    found = []
    for path, kind in (("/apis/apps/v1/namespaces/flink/deployments", "deployment"),
                       ("/api/v1/namespaces/flink/services", "service"),
                       ("/api/v1/namespaces/flink/configmaps", "configmap")):
        found += [f"{kind}/{item['metadata']['name']}" for item in emulator.api_get(path)["items"]]
    return found


@pytest.mark.parametrize("cluster_id, rule", [
    ("{{ 'Orders_Stream' }}", "DNS-1035"),           # a template that renders to uppercase and '_'
    ("{{ '7' ~ ds_nodash }}", "DNS-1035"),            # renders to a leading digit
    ("{{ 'x' * 46 }}", "at most 45"),                 # renders past Flink's 45-character limit
])
def test_bad_rendered_input_fails_before_any_api_write(run_dag: DagRunner, kube_conn: EmulatorProcess,
                                                       capfd: pytest.CaptureFixture[str], cluster_id: str,
                                                       rule: str) -> None:
    dag_run = run_dag(DAG.format(dag_id="bad_input", cluster_id=cluster_id, extra=""))
    assert task_states(dag_run) == {"launch": "failed"}
    log = capfd.readouterr().out
    assert "cluster_id:" in log and rule in log
    assert [r for r in kube_conn.requests() if r["method"] != "GET"] == []


def test_a_launch_failing_half_way_leaves_nothing_behind(run_dag: DagRunner, kube_conn: EmulatorProcess,
                                                         capfd: pytest.CaptureFixture[str]) -> None:
    kube_conn.set_faults({"status": 500, "methods": ["POST"], "resource": "configmaps"})
    dag_run = run_dag(DAG.format(dag_id="half_way", cluster_id="half-way", extra=""))
    assert task_states(dag_run) == {"launch": "failed"}
    assert "create ConfigMap flink/flink-config-half-way failed with 500" in capfd.readouterr().out
    created = [r for r in kube_conn.requests() if r["method"] == "POST" and r.get("status") == 201]
    assert {r["resource"] for r in created} == {"deployments", "services"}, "the launch got half-way"
    assert _objects(kube_conn) == []


@pytest.mark.parametrize("resource", ["deployments", "services", "configmaps"])
def test_a_create_whose_answer_was_lost_is_retried_and_recognised_as_its_own(
        run_dag: DagRunner, kube_conn: EmulatorProcess, resource: str) -> None:
    # The first POST of the kind lands, but the answer is a 503: the retry meets a 409 from its own object.
    kube_conn.set_faults({"status": 503, "methods": ["POST"], "resource": resource, "times": 1, "applied": True})
    dag_run = run_dag(DAG.format(dag_id=f"lost_{resource}", cluster_id="lost-answer", extra=""))
    assert task_states(dag_run) == {"launch": "success"}
    posts = [r["status"] for r in kube_conn.requests() if r["method"] == "POST" and r["resource"] == resource]
    assert posts[:2] == [503, 409]
    assert sorted(_objects(kube_conn)) == ["configmap/flink-config-lost-answer", "deployment/lost-answer",
                                           "service/lost-answer-rest"]
    uid = kube_conn.api_get("/apis/apps/v1/namespaces/flink/deployments/lost-answer")["metadata"]["uid"]
    for path in ("/api/v1/namespaces/flink/services/lost-answer-rest",
                 "/api/v1/namespaces/flink/configmaps/flink-config-lost-answer"):
        assert [ref["uid"] for ref in kube_conn.api_get(path)["metadata"]["ownerReferences"]] == [uid]


@pytest.mark.flink
def test_a_cli_launch_lock_whose_answer_was_lost_is_its_own(run_dag: DagRunner, kube_conn: EmulatorProcess,
                                                            tmp_path: Path) -> None:
    """Else the launch would wait on, or fail against, the lock it holds itself, until the lock expires."""
    from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home

    home = ensure_flink_home("2.3.0")
    shutil.copytree(home / "conf", tmp_path / "flink-conf")
    kube_conn.set_faults({"status": 503, "methods": ["POST"], "resource": "configmaps", "times": 1, "applied": True})
    dag_run = run_dag(DAG.format(dag_id="lost_lock", cluster_id="lost-lock", extra=(
        f"launcher='cli', flink_bin={str(home / 'bin' / 'flink')!r}, "
        f"flink_conf_dir={str(tmp_path / 'flink-conf')!r},")))
    assert task_states(dag_run) == {"launch": "success"}
    lock_posts = [r["status"] for r in kube_conn.requests() if r["method"] == "POST" and r["resource"] == "configmaps"]
    assert lock_posts[:2] == [503, 409]
    assert "configmap/flink-launch-lock-lost-lock" not in _objects(kube_conn), "the lock was released"
    assert "deployment/lost-lock" in _objects(kube_conn)


def test_if_exists_fail_names_the_cluster(run_dag: DagRunner, kube_conn: EmulatorProcess,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    first = run_dag(DAG.format(dag_id="first_owner", cluster_id="taken", extra=""))
    assert task_states(first) == {"launch": "success"}
    second = run_dag(DAG.format(dag_id="second_owner", cluster_id="taken", extra="if_exists='fail',"))
    assert task_states(second) == {"launch": "failed"}
    log = capfd.readouterr().out
    assert "Flink cluster 'taken' in namespace 'flink' already exists (launched by first_owner.launch" in log
    deployments = [r for r in kube_conn.requests() if r["method"] == "POST" and r["resource"] == "deployments"]
    assert len(deployments) == 1


def test_transient_api_answers_to_reads_are_retried_and_a_lasting_one_fails_the_task(
        run_dag: DagRunner, kube_conn: EmulatorProcess, capfd: pytest.CaptureFixture[str]) -> None:
    kube_conn.set_faults({"status": 503, "methods": ["GET"], "resource": "deployments", "times": 2})
    dag_run = run_dag(DAG.format(dag_id="flaky_reads", cluster_id="flaky-reads", extra=""))
    assert task_states(dag_run) == {"launch": "success"}
    assert "deployment/flaky-reads" in _objects(kube_conn)

    kube_conn.set_faults({"status": 503, "methods": ["GET"], "resource": "deployments"})
    since = kube_conn.requests()[-1]["seq"]
    dag_run = run_dag(DAG.format(dag_id="down_reads", cluster_id="down-reads", extra=""))
    assert task_states(dag_run) == {"launch": "failed"}
    assert "failed with 503" in capfd.readouterr().out
    reads = [r for r in kube_conn.requests(since) if r["method"] == "GET" and r["resource"] == "deployments"
             and r.get("name") == "down-reads"]
    assert len(reads) == 4  # tried, then three more times with back-off; nothing written
    assert not any(r["method"] != "GET" and r.get("name") == "down-reads" for r in kube_conn.requests(since))


def test_a_retry_replaces_what_a_failed_launch_and_a_failed_roll_back_left_half_created(
        run_dag: DagRunner, kube_conn: EmulatorProcess, capfd: pytest.CaptureFixture[str]) -> None:
    # Try 1: the ConfigMap creates fail (every attempt), and so does the roll-back's delete of the Deployment.
    kube_conn.set_faults({"status": 500, "methods": ["POST"], "resource": "configmaps", "times": 4},
                         {"status": 500, "methods": ["DELETE"], "resource": "deployments", "times": 4})
    dag_run = run_dag(DAG.format(dag_id="half_left", cluster_id="half-left", extra="").replace(
        "retries=0", "retries=1, retry_delay=datetime.timedelta(0)"))
    log = capfd.readouterr().out
    assert "may be left behind" in log  # try 1 said what it could not delete
    assert "was left half-created by an earlier try of this task; replacing it" in log
    assert task_states(dag_run) == {"launch": "success"}
    config = kube_conn.api_get("/api/v1/namespaces/flink/configmaps/flink-config-half-left")
    deployment = kube_conn.api_get("/apis/apps/v1/namespaces/flink/deployments/half-left")
    job_id = "airflow-flink-k8s.apache.org/job-id"
    assert config["metadata"]["annotations"][job_id] == deployment["metadata"]["annotations"][job_id]
    assert deployment["metadata"]["annotations"]["airflow-flink-k8s.apache.org/try-number"] == "2"


ARGUMENTS_DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import {operator}

with DAG("{dag_id}", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    {operator}(task_id="task", retries=0, **{arguments!r})
"""
LAUNCH_ARGUMENTS = {"cluster_id": "bad-args", "namespace": "flink", "image": "flink:2.3.0",
                    "jar_uri": "local:///opt/flink/usrlib/checkpointing-job.jar", "flink_version": "2.3.0",
                    "ha": "kubernetes", "ha_storage_dir": "file:///tmp/ha"}


def _last_request(emulator: EmulatorProcess) -> int:
    return int(emulator.stats()["request_seq"])


@pytest.mark.parametrize(("override", "field", "rule"), [
    ({"if_exists": "{{ 'overwrite' }}"}, "if_exists", "must be one of fail, reuse, replace"),
    ({"image": "{{ 'Flink' }}:2.3.0"}, "image", "lower case"),
    ({"jar_uri": "local://{{ 'job' }}.jar"}, "jar_uri", "needs an absolute path"),
    ({"checkpoint_base_dir": "file://{{ 'ckpt' }}"}, "checkpoint_base_dir", "needs an absolute path"),
    ({"secret_mounts": {"creds": "{{ '/opt/flink/lib' }}"}}, "secret_mounts['creds']",
     "must not hide the Flink distribution"),
    ({"taskmanager_tolerations": [{"key": "spot", "operator": "Exists", "value": "{{ 'yes' }}"}]},
     "taskmanager_tolerations", "value must be empty when operator is 'Exists'"),
    ({"flink_conf": {"scheduler-mode": "{{ 'reactive' }}"}}, "flink_conf['scheduler-mode']", "must not be 'reactive'"),
], ids=["if-exists", "image", "jar-uri", "checkpoint-dir", "secret-mount", "toleration", "reactive-mode"])
def test_bad_templated_arguments_fail_once_rendered_before_any_api_request(
        run_dag: DagRunner, kube_conn: EmulatorProcess, capfd: pytest.CaptureFixture[str],
        override: dict[str, Any], field: str, rule: str) -> None:
    before = _last_request(kube_conn)
    dag_run = run_dag(ARGUMENTS_DAG.format(operator="FlinkApplicationOperator", dag_id="bad_templated",
                                           arguments={**LAUNCH_ARGUMENTS, **override}))
    assert task_states(dag_run) == {"task": "failed"}
    log = capfd.readouterr().out
    assert f"{field}: " in log and rule in log
    assert kube_conn.requests(before) == []


def test_a_bad_access_mode_fails_at_construction_before_any_api_request(run_dag: DagRunner,
                                                                         kube_conn: EmulatorProcess) -> None:
    """It used to fail only in the wait, after the cluster was created, leaving it behind."""
    before = _last_request(kube_conn)
    with pytest.raises(FlinkSpecError, match=r"^access_mode: must be one of direct, service, proxy, auto"):
        run_dag(ARGUMENTS_DAG.format(operator="FlinkApplicationOperator", dag_id="bad_access_mode", arguments={
            **LAUNCH_ARGUMENTS, "wait_until": "rest", "access_mode": "bogus"}))
    assert kube_conn.requests(before) == []
    assert "deployment/bad-args" not in _objects(kube_conn)


def test_a_zookeeper_teardown_without_an_address_fails_before_deleting_anything(
        run_dag: DagRunner, kube_conn: EmulatorProcess, capfd: pytest.CaptureFixture[str]) -> None:
    """It used to delete the Kubernetes objects first and only then fail, finding no ZooKeeper to clean."""
    launched = run_dag(ARGUMENTS_DAG.format(operator="FlinkApplicationOperator", dag_id="zk_teardown_launch",
                                            arguments=LAUNCH_ARGUMENTS))
    assert task_states(launched) == {"task": "success"}
    before = _last_request(kube_conn)
    down = run_dag(ARGUMENTS_DAG.format(operator="FlinkApplicationTeardownOperator", dag_id="zk_teardown", arguments={
        "cluster_id": "bad-args", "namespace": "flink", "ha": "{{ 'zookeeper' }}"}))
    assert task_states(down) == {"task": "failed"}
    assert [(r["method"], r["resource"]) for r in kube_conn.requests(before)] == []
    assert "deployment/bad-args" in _objects(kube_conn)
    assert "zookeeper_quorum: ha='zookeeper' needs zookeeper_conn_id or zookeeper_quorum" in capfd.readouterr().out
