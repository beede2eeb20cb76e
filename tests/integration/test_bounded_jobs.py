"""Acceptance: bounded jobs run to completion from a DAG (``dag.test()``) on the sandbox with real Flink.

The bounded example job (``jobs/BoundedJob.java``: BATCH mode, 1000 records, accumulators ``records`` and
``next-offset``, ``--fail`` throws on the last record) is launched with ``wait_until="finished"``. A small matrix
where each dimension appears at least once: 2.3.0 / Kubernetes HA / deferred / finishes; 1.20.3 / ZooKeeper HA /
poke / finishes (cluster kept, then read by the sensor's ``target="finished"`` and Flink's REST); 1.20.3 /
Kubernetes HA / deferred / throws; and a bounded job launched *without* waiting, which Flink shuts down itself:
the sensor reports it gone, not crashed. Assertions are on what Flink did: the job's own stdout and Flink's log
lines in the JobManager's container log, REST through the API server's proxy, and the cluster's objects gone.
The finish-detection latency (Flink's job end time → the task seeing it) is printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
from airflow_flink_k8s_sandbox.flink_dist import BOUNDED_JOB_CLASS
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.sensor_support import kubernetes_connection, run_trigger
from tests.waiting import wait_until

pytestmark = pytest.mark.flink
NS = "flink"
#: Flink's JobMaster line when a job ends (1.20 and 2.3): Flink's own text, not this provider's.
FINISHED_LINE = "switched from state RUNNING to FINISHED"
FAILED_LINE = "switched from state FAILING to FAILED"
#: What the JobManager logs when an application cluster shuts itself down (1.20 and 2.3).
SHUTDOWN_LINE = "Shutting KubernetesApplicationClusterEntrypoint down with application status"

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator
from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    launch = FlinkApplicationOperator(task_id="launch", retries=0, **{launch!r})
    if {sensor!r}:
        launch >> FlinkJobManagerReadySensor(task_id="wait", retries=0, launch_task_id="launch", **{sensor!r})
"""


class Sandbox:
    def __init__(self, k8s: LocalKubernetes, zookeeper: ZooKeeperServer) -> None:
        self.k8s, self.zookeeper, self.workdir = k8s, zookeeper, k8s.workdir

    def launch_args(self, cid: str, version: str, *, fail: bool = False, **fields: Any) -> dict[str, Any]:
        return {"cluster_id": cid, "namespace": NS, "image": f"flink:{version}", "flink_version": version,
                "jar_uri": "local:///opt/flink/usrlib/bounded-job.jar", "entry_class": BOUNDED_JOB_CLASS,
                "program_args": ["--records", "1000", *(["--fail"] if fail else [])],
                "ha": "kubernetes", "ha_storage_dir": f"file://{self.workdir}/ha",
                "checkpoint_base_dir": f"file://{self.workdir}/checkpoints", "jobmanager_memory": "1024m",
                "taskmanager_memory": "1024m", "flink_conf": {"restart-strategy.type": "none"},
                "wait_poll_interval": 1, "wait_timeout": 600, **fields}

    def jobmanager_log(self, cid: str) -> str:
        logs = [p for p in self.workdir.rglob("container.log")
                if p.parent.name.startswith(f"{cid}-") and "taskmanager" not in p.parent.name]
        assert logs, f"no JobManager container log of {cid}"
        return "\n".join(p.read_text(errors="replace") for p in logs)

    def objects_of(self, cid: str) -> dict[str, list[str]]:
        """The cluster's Deployment, Services, ConfigMaps (its own and its HA maps) and pods still in the API."""
        found: dict[str, list[str]] = {}
        for kind, path in (("deployments", "/apis/apps/v1"), ("services", "/api/v1"), ("configmaps", "/api/v1"),
                           ("pods", "/api/v1")):
            items = (self.k8s.get(f"{path}/namespaces/{NS}/{kind}") or {}).get("items") or []
            names = [item["metadata"]["name"] for item in items if cid in item["metadata"]["name"]]
            if names:
                found[kind] = names
        return found

    def rest(self, cid: str, path: str) -> Any:
        """Flink's REST, through the API server's service proxy."""
        return self.k8s.get(f"/api/v1/namespaces/{NS}/services/{cid}-rest:rest/proxy{path}")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    k8s = LocalKubernetes.start(tmp_path_factory.mktemp("bounded") / "k8s", namespaces=("default", NS))
    zookeeper = ZooKeeperServer(work_dir=k8s.workdir / "zookeeper").start()
    try:
        with kubernetes_connection(k8s.kubeconfig):
            yield Sandbox(k8s, zookeeper)
    finally:
        zookeeper.stop()
        survivors = k8s.stop()
    assert not survivors, f"processes survived: {survivors}"


def _run(run_dag: DagRunner, cid: str, launch: dict[str, Any], sensor: dict[str, Any] | None = None) -> Any:
    sensor = {"cluster_id": cid, **sensor} if sensor else {}
    return run_dag(DAG.format(dag_id=cid.replace("-", "_"), launch=launch, sensor=sensor))


def _latency(result: dict[str, Any], detected_at: str) -> float:
    """Seconds from Flink's job end time to the task seeing it."""
    return (datetime.fromisoformat(detected_at) - datetime.fromisoformat(result["end_time"])).total_seconds()


def test_a_finished_job_on_2_3_kubernetes_ha_deferred_returns_its_result_and_the_cluster_is_deleted(
        sandbox: Sandbox, run_dag: DagRunner) -> None:
    cid = "bounded-k8s-23"
    dag_run = _run(run_dag, cid, sandbox.launch_args(cid, "2.3.0", wait_until="finished", deferrable=True))
    assert task_states(dag_run) == {"launch": "success"}
    pushed = xcom_value(dag_run, "launch")
    result = pushed["result"]
    assert result["job_id"] == pushed["job_id"] and result["state"] == "FINISHED"
    assert result["accumulators"] == {"records": "1000", "next-offset": "1000"}
    assert result["application"]["status"] == "FINISHED" and result["duration_ms"] > 0
    log = sandbox.jobmanager_log(cid)
    assert "bounded-job: 1000 records from 0" in log and "bounded-job: done" in log  # the job's own stdout
    assert f"({pushed['job_id']}) {FINISHED_LINE}" in log
    assert f"{SHUTDOWN_LINE} SUCCEEDED" not in log, "the cluster shut itself down (shutdown-on-application-finish)"
    assert sandbox.objects_of(cid) == {}, "the cluster and its HA ConfigMaps must be deleted"
    assert pushed["teardown"]["deleted"] is True
    print(f"\nfinish detection 2.3.0 deferred: {_latency(result, pushed['finish_detected_at']):.2f} s")


def test_a_finished_job_on_1_20_zookeeper_ha_poke_is_kept_for_inspection_and_the_sensor_reads_it(
        sandbox: Sandbox, run_dag: DagRunner) -> None:
    cid = "bounded-zk-120"
    zookeeper = {"ha": "zookeeper", "zookeeper_quorum": sandbox.zookeeper.hosts, "zookeeper_root": "/flink/bounded"}
    launch = sandbox.launch_args(cid, "1.20.3", wait_until="finished", deferrable=False, keep_cluster=True,
                                 **zookeeper)
    sensor = {"namespace": NS, "flink_version": "1.20.3", "target": "finished", "poke_interval": 1,
              "timeout": 120, **zookeeper}
    dag_run = _run(run_dag, cid, launch, sensor)
    assert task_states(dag_run) == {"launch": "success", "wait": "success"}
    pushed, sensed = xcom_value(dag_run, "launch"), xcom_value(dag_run, "wait")
    job_id = pushed["job_id"]
    assert pushed["teardown"] is None
    job = sandbox.rest(cid, f"/jobs/{job_id}")  # the kept cluster answers: what Flink says
    accumulators = sandbox.rest(cid, f"/jobs/{job_id}/accumulators")["user-task-accumulators"]
    assert job["state"] == "FINISHED"
    assert {a["name"]: a["value"] for a in accumulators} == pushed["result"]["accumulators"] \
        == sensed["result"]["accumulators"] == {"records": "1000", "next-offset": "1000"}
    assert datetime.fromisoformat(pushed["result"]["end_time"]).timestamp() * 1000 == job["end-time"]
    assert pushed["result"]["application"] is None  # 1.20 has no applications
    assert sandbox.rest(cid, "/applications/overview") is None  # ... and no such endpoint (404)
    assert "deployments" in sandbox.objects_of(cid)
    print(f"\nfinish detection 1.20.3 poke: {_latency(pushed['result'], pushed['finish_detected_at']):.2f} s")
    down = FlinkApplicationTeardownOperator(task_id="down", cluster_id=cid, namespace=NS, **zookeeper).execute({})
    assert down["deleted"] is True and down["ha_data_removed"]
    assert sandbox.objects_of(cid) == {}


def test_a_job_that_throws_on_1_20_kubernetes_ha_deferred_fails_with_the_root_cause_and_is_deleted(
        sandbox: Sandbox, run_dag: DagRunner, capfd: pytest.CaptureFixture[str]) -> None:
    cid = "bounded-fails-120"
    dag_run = _run(run_dag, cid, sandbox.launch_args(cid, "1.20.3", fail=True, wait_until="finished",
                                                       deferrable=True, log_tail_lines=200))
    assert task_states(dag_run) == {"launch": "failed"}
    out = capfd.readouterr().out
    assert "failing on purpose at record 999 (--fail)" in out  # the job's exception, through REST
    assert "Root cause reported by Flink" in out and "----- JobManager log: last " in out
    assert FAILED_LINE in sandbox.jobmanager_log(cid)
    assert sandbox.objects_of(cid) == {}, "a failed bounded job's cluster must be deleted too"


def test_a_bounded_job_launched_without_waiting_is_reported_gone_not_crashed(
        sandbox: Sandbox, run_dag: DagRunner) -> None:
    cid = "bounded-nowait-23"
    dag_run = _run(run_dag, cid, sandbox.launch_args(cid, "2.3.0"))
    assert task_states(dag_run) == {"launch": "success"}
    # JobManager, TaskManager and job start, the job ends, Flink shuts the cluster down: slow on a busy 2-core machine.
    wait_until(f"Flink deletes {cid} once its job ended", lambda: sandbox.objects_of(cid) == {}, timeout=600,
               interval=1)
    log = sandbox.jobmanager_log(cid)
    assert FINISHED_LINE in log and f"{SHUTDOWN_LINE} SUCCEEDED" in log  # Flink shut it down itself
    args = {"cluster_id": cid, "namespace": NS, "flink_version": "2.3.0", "target": "finished",
            "job_id": xcom_value(dag_run, "launch")["job_id"]}
    with pytest.raises(AirflowFailException) as poked:
        FlinkJobManagerReadySensor(task_id="wait", poke_interval=1, timeout=300, **args).execute({})
    event = run_trigger(120, **args)  # deferred: the same answer
    assert event["status"] == "failed"
    with pytest.raises(AirflowFailException) as deferred:
        FlinkJobManagerReadySensor(task_id="wait", deferrable=True, **args).execute_complete({}, event)
    for text in (str(poked.value), str(deferred.value)):
        assert text.startswith(f"Flink cluster {NS}/{cid} is gone (no Deployment, no JobManager pod, no HA leader)")
        assert "cannot start" not in text and "did not reach" not in text  # neither a crash nor a timeout
