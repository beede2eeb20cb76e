"""Acceptance: what a task says when a real Flink job fails or a real JobManager crash-loops (sandbox, real Airflow).

* A job that fails on purpose (``--fail-after-seconds 0``, no restarts) per Flink version under test: the launch
  operator's ``wait_until`` fails the task (``dag.test()``) with Flink's root cause from REST and lines Flink itself
  logged, read from the JobManager pod's log; the sensor says the same in poke and in deferrable mode.
* A JobManager that exits at start (an entry class the jar does not have), restarted with back-off by the kubelet,
  with Kubernetes HA (the operator's wait) and ZooKeeper HA (the sensor, poke and deferrable): the task fails as soon
  as the pod is in ``CrashLoopBackOff`` with the restart limit, with the JobManager's own exception read from the
  crashed container's log (``previous=true``), not at the timeout; a sensor that times out says what it last saw.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.native_launcher import NativeLauncher
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
from airflow_flink_k8s_sandbox.flink_dist import FLINK_VERSIONS_UNDER_TEST
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.fixtures.airflow_db import DagRunner, task_states
from tests.sensor_support import kubernetes_connection, run_trigger

pytestmark = pytest.mark.flink
NAMESPACE = "flink"
#: A line Flink's JobMaster logs when the job fails (1.20 and 2.3), not text this provider writes.
FLINK_FAILED_LINE = "switched from state FAILING to FAILED"
#: What the real JobManager logs when the entry class is missing, before it exits non-zero.
JOBMANAGER_OWN_ERROR = "The program's entry point class 'com.example.DoesNotExist' was not found in the jar file"
LOG_HEADER = "----- JobManager log: last "
#: Flink 1.20 logs the application's failure with long cause chains after the job's FAILED line: show enough lines.
FAILED_JOB_TAIL = 200

LAUNCH_DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationOperator(task_id="launch", retries=0, **{kwargs!r})
"""


@dataclass
class Sandbox:
    k8s: LocalKubernetes
    version: str
    workdir: Path
    zookeeper: ZooKeeperServer | None = None

    def spec(self, cluster_id: str, **fields: Any) -> dict[str, Any]:
        """Launch arguments for the example job with Kubernetes HA (``fields`` override)."""
        return {"cluster_id": cluster_id, "namespace": NAMESPACE, "image": f"flink:{self.version}",
                "jar_uri": "local:///opt/flink/usrlib/checkpointing-job.jar", "flink_version": self.version,
                "ha": "kubernetes", "ha_storage_dir": f"file://{self.workdir}/ha",
                "checkpoint_base_dir": f"file://{self.workdir}/checkpoints", "jobmanager_memory": "1024m",
                "taskmanager_memory": "1024m", **fields}


def _sandbox(tmp_path_factory: pytest.TempPathFactory, version: str, **options: Any) -> Iterator[LocalKubernetes]:
    k8s = LocalKubernetes.start(tmp_path_factory.mktemp(f"failure-{version}") / "k8s",
                                namespaces=("default", NAMESPACE), **options)
    try:
        with kubernetes_connection(k8s.kubeconfig):
            yield k8s
    finally:
        survivors = k8s.stop()
    assert not survivors, f"processes survived: {survivors}"


@pytest.fixture(scope="module", params=FLINK_VERSIONS_UNDER_TEST, ids=[f"flink-{v}" for v in FLINK_VERSIONS_UNDER_TEST])
def failing_job(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    for k8s in _sandbox(tmp_path_factory, request.param):
        yield Sandbox(k8s, request.param, k8s.workdir)


@pytest.fixture(scope="module")
def crash_loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The sandbox with a short restart back-off, and a ZooKeeper for the ZooKeeper-HA cluster."""
    version = FLINK_VERSIONS_UNDER_TEST[0]
    for k8s in _sandbox(tmp_path_factory, version, restart_backoff=1.0):
        zookeeper = ZooKeeperServer(work_dir=k8s.workdir / "zookeeper").start()
        try:
            yield Sandbox(k8s, version, k8s.workdir, zookeeper)
        finally:
            zookeeper.stop()


def _run_launch(run_dag: DagRunner, kwargs: dict[str, Any]) -> Any:
    return run_dag(LAUNCH_DAG.format(dag_id=f"failure_{kwargs['cluster_id'].replace('-', '_')}", kwargs=kwargs))


def _failing_cluster_id(sandbox: Sandbox) -> str:
    return "fails-" + sandbox.version.replace(".", "-")


# ----------------------------------------------------------------------------------------------- a failed job
def test_a_failed_job_fails_the_launch_task_with_flinks_root_cause_and_the_jobmanager_log(
        failing_job: Sandbox, run_dag: DagRunner, capfd: pytest.CaptureFixture[str]) -> None:
    kwargs = failing_job.spec(
        _failing_cluster_id(failing_job), program_args=["--fail-after-seconds", "0"],
        flink_conf={"restart-strategy.type": "none", "execution.shutdown-on-application-finish": "false"},
        checkpoint_interval="30 s", wait_until="checkpointed", wait_timeout=600, wait_poll_interval=1,
        log_tail_lines=FAILED_JOB_TAIL)
    dag_run = _run_launch(run_dag, kwargs)
    assert task_states(dag_run) == {"launch": "failed"}
    log = capfd.readouterr().out
    assert "failing on purpose after 0 s (--fail-after-seconds)" in log  # the job's own exception, through REST
    assert "Root cause reported by Flink" in log and LOG_HEADER in log
    assert FLINK_FAILED_LINE in log.split(LOG_HEADER, 1)[1]  # Flink's log line, through pods/log


def test_the_sensor_reports_a_failed_job_the_same_in_poke_and_deferrable_mode(failing_job: Sandbox) -> None:
    args = {"cluster_id": _failing_cluster_id(failing_job), "namespace": NAMESPACE,
            "flink_version": failing_job.version, "target": "checkpointed", "log_tail_lines": FAILED_JOB_TAIL}
    with pytest.raises(AirflowFailException) as poked:
        FlinkJobManagerReadySensor(task_id="wait", poke_interval=1, timeout=600, **args).execute({})
    event = run_trigger(120, **args)
    assert event["status"] == "failed" and event["job_state"] == "FAILED"
    with pytest.raises(AirflowFailException) as deferred:
        FlinkJobManagerReadySensor(task_id="wait", deferrable=True, **args).execute_complete({}, event)
    poke_text, deferred_text = str(poked.value), str(deferred.value)
    # Summary, root cause and log header are the same; the log lines themselves may have grown in between.
    assert poke_text.split(LOG_HEADER)[0] == deferred_text.split(LOG_HEADER)[0]
    assert poke_text.split(LOG_HEADER)[1].splitlines()[0] == deferred_text.split(LOG_HEADER)[1].splitlines()[0]
    assert "failing on purpose after 0 s" in poke_text
    for text in (poke_text, deferred_text):
        assert FLINK_FAILED_LINE in text.split(LOG_HEADER, 1)[1]


# ----------------------------------------------------------------------------------------------- a crash loop
def test_a_crash_looping_jobmanager_fails_the_launch_task_with_its_own_exception(
        crash_loop: Sandbox, run_dag: DagRunner, capfd: pytest.CaptureFixture[str]) -> None:
    kwargs = crash_loop.spec("crash-k8s", entry_class="com.example.DoesNotExist", wait_until="running",
                             wait_timeout=3600, wait_poll_interval=1)
    dag_run = _run_launch(run_dag, kwargs)
    assert task_states(dag_run) == {"launch": "failed"}
    log = capfd.readouterr().out
    assert "Flink cluster flink/crash-k8s: the JobManager cannot start: JobManager pod crash-k8s-" in log
    assert re.search(r"is in CrashLoopBackOff after \d+ restarts \(exit code 1 \(Error\)", log)
    assert "previous (crashed) container flink-main-container" in log
    assert JOBMANAGER_OWN_ERROR in log.split(LOG_HEADER, 1)[1]
    assert "before the timeout" not in log


def test_with_zookeeper_ha_the_sensor_fails_on_the_crash_loop_in_both_modes_and_a_timeout_says_what_it_saw(
        crash_loop: Sandbox) -> None:
    assert crash_loop.zookeeper is not None
    spec = FlinkApplicationSpec.from_dict(crash_loop.spec(
        "crash-zk", entry_class="com.example.DoesNotExist", ha="zookeeper",
        zookeeper_quorum=crash_loop.zookeeper.hosts, job_id="0" * 31 + "1"))
    NativeLauncher(FlinkKubernetesHook()).launch(spec, {}, {}, before_owned=lambda: None)
    args = {"cluster_id": "crash-zk", "namespace": NAMESPACE, "flink_version": crash_loop.version,
            "ha": "zookeeper", "zookeeper_quorum": crash_loop.zookeeper.hosts, "target": "running"}

    with pytest.raises(AirflowSensorTimeout) as timed_out:  # a limit it cannot reach: it waits, then says why
        FlinkJobManagerReadySensor(task_id="wait", poke_interval=1, timeout=3, jobmanager_restart_limit=1000,
                                   **args).execute({})
    report = str(timed_out.value)
    assert report.startswith("Flink cluster flink/crash-zk: the JobManager did not reach 'running' before the "
                             "timeout: no live JobManager leader")
    assert "Last seen: no live JobManager leader in the HA data" in report
    assert "JobManager pod crash-zk-" in report and "JobManager log" in report

    with pytest.raises(AirflowFailException) as poked:
        FlinkJobManagerReadySensor(task_id="wait", poke_interval=1, timeout=3600, **args).execute({})
    event = run_trigger(600, **args)
    assert event["status"] == "failed"
    with pytest.raises(AirflowFailException) as deferred:
        FlinkJobManagerReadySensor(task_id="wait", deferrable=True, **args).execute_complete({}, event)
    for text in (str(poked.value), str(deferred.value)):
        first = text.splitlines()[0]
        assert first.startswith("Flink cluster flink/crash-zk: the JobManager cannot start: JobManager pod ")
        assert "CrashLoopBackOff after" in first
        assert JOBMANAGER_OWN_ERROR in text.split(LOG_HEADER, 1)[1]
    assert json.loads(json.dumps(event)) == event, "the event is stored as JSON by the triggerer"
