"""Acceptance of the launch operator on real Flink: ``dag.test()`` launches onto the sandbox (emulator + kubelet),
the kubelet runs the JobManager and TaskManagers, and checkpoints land under ``<base>/<cid>/<job-id>/chk-N``."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airflow_flink_k8s.links import FlinkWebUILink
from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.fixtures.browser import HeadlessChromium, LoopbackIngress

pytestmark = pytest.mark.flink
NS = "flink"

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator
{prelude}
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    {operator}(
        task_id="launch", cluster_id={cluster_id!r}, namespace="flink", image="flink:{version}",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="{version}",
        checkpoint_base_dir={base!r}, savepoint_base_dir={savepoints!r}, checkpoint_interval="2 s",
        jobmanager_memory="1024m", taskmanager_memory="1024m", **{options!r},
    )
"""


CRASH_AFTER_LAUNCH = """
class CrashAfterLaunch(FlinkApplicationOperator):
    def execute(self, context):
        result = super().execute(context)
        if context["ti"].try_number == 1:
            raise RuntimeError("simulated: the worker was lost right after the launch")
        return result
"""


@pytest.fixture
def sandbox(local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch) -> LocalKubernetes:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(local_kubernetes.kubeconfig)}}))
    return local_kubernetes


def _dag(tmp_path: Path, dag_id: str, cluster_id: str, version: str, *, operator: str = "FlinkApplicationOperator",
         prelude: str = "", **options: object) -> str:
    options = {"retries": 0, **options}
    return DAG.format(dag_id=dag_id, cluster_id=cluster_id, version=version, options=options, operator=operator,
                      prelude=prelude, base=f"file://{tmp_path}/checkpoints",
                      savepoints=f"file://{tmp_path}/savepoints")


def _checkpoints(tmp_path: Path, cluster_id: str, job_id: str) -> list[int]:
    directory = tmp_path / "checkpoints" / cluster_id / job_id
    return sorted(int(p.name[4:]) for p in directory.glob("chk-*") if re.fullmatch(r"chk-\d+", p.name))


def _wait_for_checkpoint(k8s: LocalKubernetes, tmp_path: Path, cluster_id: str, job_id: str,
                         after: int = 0) -> int:
    def newer() -> int | None:
        found = [n for n in _checkpoints(tmp_path, cluster_id, job_id) if n > after]
        return max(found) if found else None

    return k8s.wait_for(f"a checkpoint newer than chk-{after} under {cluster_id}/{job_id}", newer, 180)


def _launch(run_dag: DagRunner, source: str, day: int) -> tuple[object, dict]:
    when = datetime(2026, 3, day, tzinfo=UTC)
    dag_run = run_dag(source, logical_date=when, run_after=when)
    assert task_states(dag_run) == {"launch": "success"}
    return dag_run, xcom_value(dag_run, "launch")


def test_native_launch_with_kubernetes_ha_then_retry_replace_and_resume(
    run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path
) -> None:
    cid, version = "orders-stream", "2.3.0"
    ha = {"ha": "kubernetes", "ha_storage_dir": f"file://{tmp_path}/ha"}
    # Try 1 launches, then its worker is lost; Airflow retries the task (try 2), which must reattach.
    crash_after_launch = _dag(tmp_path, "orders", cid, version, operator="CrashAfterLaunch",
                              prelude=CRASH_AFTER_LAUNCH, retries=1, retry_delay=timedelta(0), **ha)
    first_run, first = _launch(run_dag, crash_after_launch, 1)
    assert [ti.try_number for ti in first_run.get_task_instances()] == [2]
    assert (first["launched"], first["checkpoint_dir"]) == (False, f"file://{tmp_path}/checkpoints/{cid}")
    deployments = [r for r in sandbox.emulator.requests() if r["method"] == "POST" and r["resource"] == "deployments"]
    assert len(deployments) == 1, "the retry created a second cluster"
    first_chk = _wait_for_checkpoint(sandbox, tmp_path, cid, first["job_id"])
    deployment = sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}")
    # The reattaching try 2 kept the id try 1 launched with: the one on the Deployment and the one Flink runs.
    assert deployment["metadata"]["annotations"]["airflow-flink-k8s.apache.org/job-id"] == first["job_id"]
    overview = sandbox.get(f"/api/v1/namespaces/{NS}/services/{cid}-rest:rest/proxy/jobs/overview")
    assert [job["jid"] for job in overview["jobs"]] == [first["job_id"]]
    for path in (f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}", f"/api/v1/namespaces/{NS}/services/{cid}-rest",
                 f"/api/v1/namespaces/{NS}/configmaps/flink-config-{cid}"):
        labels = sandbox.get(path)["metadata"]["labels"]
        assert labels["dag_id"] == "orders" and labels["task_id"] == "launch"
        assert labels["run_id"] == re.sub(r"[^A-Za-z0-9_.-]+", "-", first_run.run_id).strip("-_.")

    # Running the same DAG run again reattaches too: same job id, same Deployment, nothing created.
    before = sandbox.emulator.stats()["request_seq"]
    again_run, again = _launch(run_dag, _dag(tmp_path, "orders", cid, version, **ha), 1)
    assert again_run.run_id == first_run.run_id
    assert (again["launched"], again["job_id"]) == (False, first["job_id"])
    assert sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}")["metadata"]["uid"] == \
        deployment["metadata"]["uid"]
    assert [r for r in sandbox.emulator.requests(before) if r["method"] == "POST"] == []

    # A fresh rerun replaces the cluster: a new job id, a new checkpoint path, and the old job is not recovered.
    # The replace returns once the old pods are gone, so the old job's last checkpoint is final from then on.
    _, fresh = _launch(run_dag, _dag(tmp_path, "orders", cid, version, if_exists="replace", **ha), 2)
    assert fresh["launched"] and fresh["job_id"] != first["job_id"]
    old_last = max(_checkpoints(tmp_path, cid, first["job_id"]))
    fresh_chk = _wait_for_checkpoint(sandbox, tmp_path, cid, fresh["job_id"])
    overview = sandbox.get(f"/api/v1/namespaces/{NS}/services/{cid}-rest:rest/proxy/jobs/overview")
    assert [job["jid"] for job in overview["jobs"]] == [fresh["job_id"]]
    assert sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/{cid}-{first['job_id']}-config-map") is None
    assert old_last >= first_chk
    assert max(_checkpoints(tmp_path, cid, first["job_id"])) == old_last, "the old job kept running"

    # Resuming keeps the job id and continues its checkpoint counter from the HA metadata.
    _, resumed = _launch(run_dag, _dag(tmp_path, "orders", cid, version, if_exists="replace", restore="latest",
                                       **ha), 3)
    assert resumed["job_id"] == fresh["job_id"]
    last_before = max(_checkpoints(tmp_path, cid, fresh["job_id"]))
    assert last_before >= fresh_chk
    assert _wait_for_checkpoint(sandbox, tmp_path, cid, fresh["job_id"], after=last_before) > last_before
    restored = sandbox.get(f"/api/v1/namespaces/{NS}/services/{cid}-rest:rest/proxy/jobs/{fresh['job_id']}/checkpoints")
    assert restored["latest"]["restored"] is not None, "the resumed job did not restore a checkpoint"


def test_teardown_deletes_the_cluster_and_its_ha_data(run_dag: DagRunner, sandbox: LocalKubernetes,
                                                      tmp_path: Path) -> None:
    cid = "teardown-me"
    launched_run = run_dag(_dag(tmp_path, "to_tear", cid, "1.20.3", ha="kubernetes",
                                ha_storage_dir=f"file://{tmp_path}/ha"))
    job_id = xcom_value(launched_run, "launch")["job_id"]
    _wait_for_checkpoint(sandbox, tmp_path, cid, job_id)
    pods = sandbox.pods(NS, f"app={cid}")
    assert pods
    teardown = run_dag(f"""
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator
with DAG("teardown", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
    FlinkApplicationTeardownOperator(task_id="teardown", cluster_id={cid!r}, namespace="flink", ha="kubernetes")
""")
    assert task_states(teardown) == {"teardown": "success"}
    assert sandbox.pods(NS, f"app={cid}") == []
    assert [cm["metadata"]["name"] for cm in sandbox.get(f"/api/v1/namespaces/{NS}/configmaps")["items"]] == []
    removed = xcom_value(teardown, "teardown")["ha_data_removed"]
    assert f"configmap/{cid}-cluster-config-map" in removed and f"configmap/{cid}-{job_id}-config-map" in removed


def test_cli_launcher_with_kubernetes_ha(run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path) -> None:
    cid, version = "cli-launched", "1.20.3"
    home = ensure_flink_home(version)
    conf_dir = tmp_path / "flink-conf"
    shutil.copytree(home / "conf", conf_dir)
    _, result = _launch(run_dag, _dag(tmp_path, "cli", cid, version, launcher="cli",
                                      flink_bin=str(home / "bin" / "flink"), flink_conf_dir=str(conf_dir),
                                      ha="kubernetes", ha_storage_dir=f"file://{tmp_path}/ha",
                                      wait_until="running", deferrable=False), 1)
    assert (result["ready"]["job_id"], result["ready"]["job_state"]) == (result["job_id"], "RUNNING")
    _wait_for_checkpoint(sandbox, tmp_path, cid, result["job_id"])
    deployment = sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}")
    assert deployment["metadata"]["labels"]["dag_id"] == "cli"
    assert deployment["metadata"]["annotations"]["airflow-flink-k8s.apache.org/job-id"] == result["job_id"]


def test_native_launch_with_zookeeper_ha_and_a_web_ui_link_a_browser_opens(
        run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path, zookeeper: ZooKeeperServer,
        loopback_ingress: LoopbackIngress, chromium: HeadlessChromium) -> None:
    cid = "zk-launched"
    template = loopback_ingress.url + "/{namespace}/{cluster_id}/#/job/running/{job_id}/overview"
    dag_run, result = _launch(run_dag, _dag(
        tmp_path, "zk", cid, "2.3.0", ha="zookeeper", zookeeper_quorum=zookeeper.hosts,
        ha_storage_dir=f"file://{tmp_path}/ha", wait_until="checkpointed", deferrable=True,
        web_ui_url_template=template), 1)
    # The deferred wait returned only once Flink had completed a checkpoint, under <base>/<cid>/<job id>.
    assert result["ready"]["checkpoint_path"].startswith(f"file:{tmp_path}/checkpoints/{cid}/{result['job_id']}/chk-")
    assert _checkpoints(tmp_path, cid, result["job_id"])
    from kazoo.client import KazooClient

    client = KazooClient(hosts=zookeeper.hosts)
    client.start(timeout=10)
    try:
        data, _ = client.get(f"/flink/{cid}/leader/rest_server/connection_info")
    finally:
        client.stop()
        client.close()
    assert b"http://127.0.0.1:" in data

    # The task's "Flink Web UI" link (what get_link returned, as the Airflow UI shows it) is the template's URL, and
    # a real browser opening it renders Flink's dashboard (an Angular app under a path prefix) on the job's page.
    link = xcom_value(dag_run, "launch", key=FlinkWebUILink().xcom_key)
    assert link == result["web_ui_url"] == \
        f"{loopback_ingress.url}/{NS}/{cid}/#/job/running/{result['job_id']}/overview"
    dom = chromium.wait_for_text(link, "checkpointing-job")
    assert "Apache Flink Web Dashboard" in dom and result["job_id"] in dom and "RUNNING" in dom
    screenshot = chromium.screenshot(link, tmp_path / "flink-web-ui.png")
    assert screenshot.read_bytes().startswith(b"\x89PNG"), f"no screenshot at {screenshot}"


def test_teardown_stops_the_job_with_a_savepoint_in_the_clusters_own_dir(
    run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path
) -> None:
    cid = "savepoint-me"
    # RUNNING can come before the tasks are deployed, when Flink refuses a savepoint: wait for a checkpoint.
    launched = run_dag(_dag(tmp_path, "to_save", cid, "2.3.0", ha="kubernetes", ha_storage_dir=f"file://{tmp_path}/ha",
                            wait_until="checkpointed", deferrable=False))
    assert task_states(launched) == {"launch": "success"}
    teardown = run_dag(f"""
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator
with DAG("teardown_savepoint", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
    FlinkApplicationTeardownOperator(task_id="teardown", cluster_id={cid!r}, namespace="flink", ha="kubernetes",
                                     savepoint=True)
""")
    assert task_states(teardown) == {"teardown": "success"}
    savepoint = xcom_value(teardown, "teardown")["savepoint_path"]
    assert savepoint.startswith(f"file:{tmp_path}/savepoints/{cid}/savepoint-"), savepoint
    assert (Path(savepoint.removeprefix("file:")) / "_metadata").is_file()
    assert sandbox.pods(NS, f"app={cid}") == []

