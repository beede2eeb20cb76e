"""The HA storage dir on real Flink (2.3.0: application and job result stores; 1.20.3: job result store).

A JobManager whose clean-up is interrupted leaves ``_DIRTY.json`` result-store entries behind; with Flink's default
store paths (shared by every launch of a cluster id) the next fresh launch of that cluster id is swallowed on 2.3
(the application, whose id is fixed per cluster id, ends at once; its job never runs): the 2.3.0 case fails with the
per-launch store paths reverted. On 1.20.3 there is no application store and the old entry is another job id's, so
the fresh job id alone keeps the next launch clear (that case passes with shared stores too: a regression check).
Here the interruption is real: the emulator refuses the HA ConfigMap deletes of Flink's clean-up, and the
JobManager is killed while it retries them. Replace and teardown also remove the old launch's files under
``<storageDir>/<cid>/`` (blobs, submitted plans, checkpoint handles, result stores), never a foreign file there.
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value

pytestmark = pytest.mark.flink
NS = "flink"
#: What a swallowed launch's JobManager logs (seen in runs with Flink's default, shared result stores): 2.3 shuts
#: down at once with the recovered application's status ("Shutting KubernetesApplicationClusterEntrypoint down with
#: application status CANCELED" here, SUCCEEDED after a finished run); 1.20 fails the new job.
SWALLOWED = ("down with application status", "is not found in the recovered jobs")

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator, FlinkApplicationTeardownOperator
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    {task}
"""
LAUNCH = """FlinkApplicationOperator(
        task_id="launch", cluster_id={cid!r}, namespace="flink", image="flink:{version}",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="{version}",
        checkpoint_base_dir={checkpoints!r}, checkpoint_interval="2 s", ha="kubernetes", ha_storage_dir={ha!r},
        jobmanager_memory="1024m", taskmanager_memory="1024m", retries=0, **{options!r})"""
TEARDOWN = """FlinkApplicationTeardownOperator(task_id="teardown", cluster_id={cid!r}, namespace="flink",
        ha="kubernetes")"""


def _launch(run_dag: DagRunner, tmp_path: Path, dag_id: str, cid: str, version: str, day: int,
            **options: Any) -> dict[str, Any]:
    task = LAUNCH.format(cid=cid, version=version, checkpoints=f"file://{tmp_path}/checkpoints",
                         ha=f"file://{tmp_path}/ha", options=options)
    when = datetime(2026, 3, day, tzinfo=UTC)
    dag_run = run_dag(DAG.format(dag_id=dag_id, task=task), logical_date=when, run_after=when)
    assert task_states(dag_run) == {"launch": "success"}
    result: dict[str, Any] = xcom_value(dag_run, "launch")
    return result


def _api(sandbox: LocalKubernetes, method: str, path: str) -> Any:
    request = urllib.request.Request(sandbox.url + path, method=method, headers=ADMIN_AUTHORIZATION)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def _jobmanager_logs(sandbox: LocalKubernetes, cid: str) -> set[Path]:
    return {p for p in sandbox.workdir.rglob("container.log")
            if p.parent.name.startswith(f"{cid}-") and "taskmanager" not in p.parent.name}


def _running_vertices(sandbox: LocalKubernetes, cid: str, job_id: str, logs: set[Path]) -> dict[str, Any] | None:
    """``/jobs/<id>`` once every vertex runs; fails at once when the JobManager log says the launch was
    swallowed."""
    for log in logs:
        text = log.read_text(errors="replace")
        if any(marker in text for marker in SWALLOWED):
            raise AssertionError(f"the fresh launch was swallowed; JobManager log {log}:\n{text[-4000:]}")
    try:
        job = sandbox.get(f"/api/v1/namespaces/{NS}/services/{cid}-rest:rest/proxy/jobs/{job_id}")
    except OSError:
        return None
    if job and job.get("state") == "RUNNING" and job["vertices"] and all(
            v["status"] == "RUNNING" for v in job["vertices"]):
        return dict(job)
    return None


def _flink_files(cluster_dir: Path) -> set[str]:
    return {p.relative_to(cluster_dir).as_posix() for p in cluster_dir.rglob("*")}


@pytest.mark.parametrize(("version", "store"), [("2.3.0", "application-result-store"),
                                                ("1.20.3", "job-result-store")])
def test_a_dirty_result_store_entry_of_an_interrupted_cleanup_does_not_swallow_the_next_fresh_launch(
    run_dag: DagRunner, local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    version: str, store: str,
) -> None:
    sandbox, cid = local_kubernetes, "dirty-store"
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(sandbox.kubeconfig)}}))
    first = _launch(run_dag, tmp_path, "first", cid, version, 1, wait_until="checkpointed", deferrable=False)

    # The job is cancelled (globally terminal) while the API server refuses Flink's HA ConfigMap deletes: its
    # clean-up retries, the dirty entry stays, and then the JobManager is killed (its Deployment deleted).
    sandbox.emulator.set_faults({"status": 500, "methods": ["DELETE"], "resource": "configmaps", "name_prefix": cid})
    _api(sandbox, "PATCH", f"/api/v1/namespaces/{NS}/services/{cid}-rest:rest/proxy/jobs/{first['job_id']}"
                           "?mode=cancel")
    dirty = sandbox.wait_for(f"a _DIRTY.json entry in the {store}", lambda: [
        p for p in (tmp_path / "ha").rglob("*_DIRTY.json") if store in p.as_posix()], 240)
    if sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}") is not None:  # 1.20 may delete it itself
        _api(sandbox, "DELETE", f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}")
    sandbox.wait_for("the killed cluster's pods to be gone", lambda: not sandbox.pods(NS, f"app={cid}"), 180)
    sandbox.emulator.clear_faults()
    assert all(p.exists() for p in dirty), "the dirty entries must outlive the JobManager"

    before = _jobmanager_logs(sandbox, cid)
    second = _launch(run_dag, tmp_path, "second", cid, version, 2)
    assert second["launched"] and second["job_id"] != first["job_id"]
    job = sandbox.wait_for("the fresh launch's job running all its vertices", lambda: _running_vertices(
        sandbox, cid, second["job_id"], _jobmanager_logs(sandbox, cid) - before), 300)
    assert {v["name"] for v in job["vertices"]} and job["jid"] == second["job_id"]


def test_replace_and_teardown_remove_the_old_launchs_ha_storage_files_but_not_a_foreign_file(
    run_dag: DagRunner, local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    sandbox, cid, version = local_kubernetes, "ha-leftovers", "2.3.0"
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(sandbox.kubeconfig)}}))
    cluster_dir = tmp_path / "ha" / cid
    first = _launch(run_dag, tmp_path, "first", cid, version, 1, wait_until="checkpointed", deferrable=False)
    old = _flink_files(cluster_dir)
    kinds = {re.sub("[0-9a-f]{12}$", "", name) for name in old if "/" not in name}
    assert {"blob", "completedCheckpoint", "submittedExecutionPlan", "job-result-store",
            "application-result-store"} <= kinds, sorted(old)
    assert f"blob/job_{first['job_id']}" in old and f"job-result-store/{first['job_id']}" in old
    foreign = cluster_dir / "ops-notes.txt"
    foreign.write_text("not Flink's")

    second = _launch(run_dag, tmp_path, "second", cid, version, 2, if_exists="replace", wait_until="running",
                     deferrable=False)
    assert second["job_id"] != first["job_id"]
    left = _flink_files(cluster_dir)
    assert old & left == {"blob", "job-result-store", "application-result-store"} & left, sorted(old & left)
    assert foreign.read_text() == "not Flink's"

    teardown = run_dag(DAG.format(dag_id="teardown", task=TEARDOWN.format(cid=cid)))
    assert task_states(teardown) == {"teardown": "success"}
    assert f"ha-storage file://{tmp_path}/ha/{cid}" in xcom_value(teardown, "teardown")["ha_data_removed"]
    assert _flink_files(cluster_dir) == {"ops-notes.txt"}
