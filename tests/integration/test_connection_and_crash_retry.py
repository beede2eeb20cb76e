"""Acceptance on the sandbox with real Flink 2.3 and real Airflow ``dag.test()``: the Kubernetes connection's fields
decide where every task goes, and a retry does not reattach to a JobManager that cannot start.

* No ``namespace`` argument: launch, sensor and teardown use the connection's ``namespace`` extra (cncf-kubernetes'
  rule), and nothing lands in ``default``.
* ``launcher="cli"``: the real ``flink`` 2.3 client creates the cluster through the connection's ``cluster_context``,
  which is not its kubeconfig's current context (the emulator's request log names the user of every request).
* A JobManager crash-looping because its HA storage dir cannot be created (a file stands where its parent dir
  should be) fails try 1; the file is removed and the same DAG run is run again: that try replaces the cluster
  (a new Deployment, and a log line saying why) and its job runs, where reattaching would have failed at once on the
  restart count the old pod had piled up.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.fixtures.kubernetes import sandbox_as_kubernetes_default
from tests.sensor_support import env_connection

pytestmark = pytest.mark.flink
VERSION = "2.3.0"
TEAM_NS = "team-a"
#: Seconds the kubelet waits before restarting a crashed container (doubled per restart, at most 60 s): long, so a
#: JobManager that crashed twice stays in CrashLoopBackOff well past the moment the next try decides.
RESTART_BACKOFF = 30.0

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator, FlinkApplicationTeardownOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    tasks = []
    if {launch!r}:
        tasks.append(FlinkApplicationOperator(task_id="launch", retries=0, **{launch!r}))
    if {sensor!r}:
        tasks.append(FlinkJobManagerReadySensor(task_id="ready", retries=0, poke_interval=2, timeout=600,
                                                **{sensor!r}))
    if {teardown!r}:
        tasks.append(FlinkApplicationTeardownOperator(task_id="teardown", retries=0, **{teardown!r}))
    for upstream, downstream in zip(tasks, tasks[1:]):
        upstream >> downstream
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKubernetes]:
    with sandbox_as_kubernetes_default(tmp_path_factory.mktemp("connection"), namespaces=("default", "flink", TEAM_NS),
                                       restart_backoff=RESTART_BACKOFF) as cluster:
        yield cluster


def _run(run_dag: DagRunner, dag_id: str, day: int = 1, *, launch: dict[str, Any] | None = None,
         sensor: dict[str, Any] | None = None, teardown: dict[str, Any] | None = None) -> Any:
    when = datetime(2026, 4, day, tzinfo=UTC)
    return run_dag(DAG.format(dag_id=dag_id, launch=launch or {}, sensor=sensor or {}, teardown=teardown or {}),
                   logical_date=when, run_after=when)


def _launch_args(cluster_id: str, workdir: Path, **overrides: Any) -> dict[str, Any]:
    return {"cluster_id": cluster_id, "image": f"flink:{VERSION}", "flink_version": VERSION,
            "jar_uri": "local:///opt/flink/usrlib/checkpointing-job.jar", "ha": "kubernetes",
            "ha_storage_dir": f"file://{workdir}/ha", "checkpoint_base_dir": f"file://{workdir}/checkpoints",
            "checkpoint_interval": "2 s", "jobmanager_memory": "1024m", "taskmanager_memory": "1024m", **overrides}


def _delete(cluster_id: str, namespace: str) -> None:
    """Free the machine: delete a cluster a test left running (its pods cascade)."""
    FlinkKubernetesHook("kubernetes_default").delete("Deployment", cluster_id, namespace)


def _cluster_objects(sandbox: LocalKubernetes, namespace: str, cluster_id: str) -> list[str]:
    """The Flink objects of ``cluster_id`` in ``namespace``, read from the API."""
    found = []
    for path, kind in ((f"/apis/apps/v1/namespaces/{namespace}/deployments", "deployment"),
                       (f"/api/v1/namespaces/{namespace}/services", "service"),
                       (f"/api/v1/namespaces/{namespace}/configmaps", "configmap"),
                       (f"/api/v1/namespaces/{namespace}/pods", "pod")):
        found += [f"{kind}/{item['metadata']['name']}" for item in sandbox.get(path)["items"]
                  if item["metadata"]["name"].startswith(cluster_id)
                  or (item["metadata"].get("labels") or {}).get("app") == cluster_id]
    return sorted(found)


def test_without_a_namespace_launch_sensor_and_teardown_use_the_connections(
        sandbox: LocalKubernetes, run_dag: DagRunner, tmp_path: Path) -> None:
    cid = "from-connection"
    connection = {"conn_type": "kubernetes",
                  "extra": {"kube_config_path": str(sandbox.kubeconfig), "namespace": TEAM_NS}}
    with env_connection("flink_team", connection):
        run = _run(run_dag, "team_launch", launch=_launch_args(cid, tmp_path, kubernetes_conn_id="flink_team"),
                   sensor={"cluster_id": cid, "flink_version": VERSION, "target": "running",
                           "launch_task_id": "launch", "kubernetes_conn_id": "flink_team"})
        assert task_states(run) == {"launch": "success", "ready": "success"}
        launched, ready = xcom_value(run, "launch"), xcom_value(run, "ready")
        assert (launched["namespace"], ready["namespace"]) == (TEAM_NS, TEAM_NS)
        # What Flink itself did, read through the API in the connection's namespace: its job runs there.
        job = sandbox.get(f"/api/v1/namespaces/{TEAM_NS}/services/{cid}-rest:rest/proxy/jobs/{launched['job_id']}")
        assert job["state"] == "RUNNING" and ready["job_id"] == launched["job_id"]
        objects = _cluster_objects(sandbox, TEAM_NS, cid)
        assert {f"deployment/{cid}", f"service/{cid}-rest", f"configmap/flink-config-{cid}",
                f"configmap/{cid}-cluster-config-map"} <= set(objects)
        assert any(name.startswith(f"pod/{cid}-taskmanager-") for name in objects)
        assert _cluster_objects(sandbox, "default", cid) == []

        torn = _run(run_dag, "team_teardown", teardown={"cluster_id": cid, "kubernetes_conn_id": "flink_team"})
        assert task_states(torn) == {"teardown": "success"}
        result = xcom_value(torn, "teardown")
        assert (result["namespace"], result["deleted"]) == (TEAM_NS, True)
        sandbox.wait_for(f"the pods of {cid} gone", lambda: not _cluster_objects(sandbox, TEAM_NS, cid), 180)
    touched_default = [r for r in sandbox.emulator.requests() if r["namespace"] == "default"
                       and r["method"] != "GET"]
    assert touched_default == [], "a task wrote to the default namespace"


def _two_context_kubeconfig(sandbox: LocalKubernetes, path: Path) -> Path:
    """A kubeconfig whose current context is user ``elsewhere``'s and whose ``flink-team`` context is user
    ``flink-team-bot``'s, both on the emulator."""
    current = yaml.safe_load(sandbox.user_kubeconfig("elsewhere").read_text())
    team = yaml.safe_load(sandbox.user_kubeconfig("flink-team-bot", namespace="flink").read_text())
    team["contexts"][0]["name"] = "flink-team"
    merged = {**current, "contexts": current["contexts"] + team["contexts"], "users": current["users"] + team["users"]}
    path.write_text(yaml.safe_dump(merged))
    return path


def test_the_cli_launcher_creates_the_cluster_through_the_connections_context(
        sandbox: LocalKubernetes, run_dag: DagRunner, tmp_path: Path) -> None:
    cid = "cli-context"
    kubeconfig = _two_context_kubeconfig(sandbox, tmp_path / "kubeconfig")
    assert yaml.safe_load(kubeconfig.read_text())["current-context"] != "flink-team"
    home = ensure_flink_home(VERSION)
    conf_dir = tmp_path / "flink-conf"
    shutil.copytree(home / "conf", conf_dir)
    connection = {"conn_type": "kubernetes",
                  "extra": {"kube_config_path": str(kubeconfig), "cluster_context": "flink-team"}}
    before = sandbox.emulator.stats()["request_seq"]
    try:
        with env_connection("flink_ctx", connection):
            run = _run(run_dag, "cli_context", launch=_launch_args(
                cid, tmp_path, namespace="flink", kubernetes_conn_id="flink_ctx", launcher="cli",
                flink_bin=str(home / "bin" / "flink"), flink_conf_dir=str(conf_dir), wait_until="running",
                deferrable=False))
        assert task_states(run) == {"launch": "success"}
        assert xcom_value(run, "launch")["ready"]["job_state"] == "RUNNING"
        writes = [r for r in sandbox.emulator.requests(before) if r["method"] == "POST"]
        by_kind = {(r["resource"], r["user"]) for r in writes if r["resource"] in ("deployments", "services")}
        # The Deployment and Service are created only by the Flink client (the JobManager creates neither).
        assert by_kind == {("deployments", "flink-team-bot"), ("services", "flink-team-bot")}
        assert [r for r in sandbox.emulator.requests(before) if r["user"] == "elsewhere"] == []
    finally:
        _delete(cid, "flink")


def test_a_retry_replaces_its_earlier_trys_crash_looping_cluster(
        sandbox: LocalKubernetes, run_dag: DagRunner, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    cid, ns = "crash-then-fixed", "flink"
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the HA storage dir's parent should be\n")
    launch = _launch_args(cid, tmp_path, namespace=ns, ha_storage_dir=f"file://{blocker}/ha", wait_until="running",
                          wait_timeout=900, wait_poll_interval=1, jobmanager_restart_limit=2, deferrable=False)
    try:
        first = _run(run_dag, "crash_retry", launch=launch)
        assert task_states(first) == {"launch": "failed"}
        first_log = capfd.readouterr().out
        assert f"Flink cluster {ns}/{cid}: the JobManager cannot start: JobManager pod {cid}-" in first_log
        broken = sandbox.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{cid}")
        assert broken is not None, "try 1 left no cluster to retry on"

        blocker.unlink()  # the cause is fixed; the old pod's restart count stays where it is
        second = _run(run_dag, "crash_retry", launch=launch)
        assert second.run_id == first.run_id
        assert task_states(second) == {"launch": "success"}
        log = capfd.readouterr().out
        assert (f"Flink cluster {ns}/{cid}: replace Flink cluster {cid!r} in namespace {ns!r} was launched by an "
                "earlier try of this task, but its JobManager cannot start (JobManager pod ") in log
        assert "is in CrashLoopBackOff after 2 restarts" in log
        result = xcom_value(second, "launch")
        replaced = sandbox.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{cid}")
        assert replaced["metadata"]["uid"] != broken["metadata"]["uid"]
        assert result["launched"] and result["ready"]["job_state"] == "RUNNING"
        job = sandbox.get(f"/api/v1/namespaces/{ns}/services/{cid}-rest:rest/proxy/jobs/{result['job_id']}")
        assert job["state"] == "RUNNING"
        assert (tmp_path / "blocked" / "ha" / cid).is_dir(), "Flink did not create its HA storage dir"
    finally:
        _delete(cid, ns)
