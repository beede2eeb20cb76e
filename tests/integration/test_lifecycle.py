"""Lifecycle of one cluster id on real Flink (``dag.test()`` onto the sandbox: emulator, kubelet, real JobManagers):

* ``restore="latest"`` resumes from the last checkpoint AND runs the new spec (parallelism, program arguments), on
  Flink 2.3 and 1.20 with Kubernetes and ZooKeeper HA: the stored job graph is dropped, the checkpoints are kept;
* every fresh launch gets a job id no other launch has: two launch tasks of one DAG run on one cluster id, and a
  re-run of the same DAG run (the same try number) that replaces the cluster; so their checkpoints never collide.

Assertions are on what Flink did: REST ``/jobs/<id>`` through the API server's service proxy, the JobManager's log,
and the ``chk-*`` dirs on disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.flows.cluster_deletion import delete_cluster
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.processes import pid_exists
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value

pytestmark = [pytest.mark.flink, pytest.mark.zookeeper]
NS = "flink"
#: What a JobManager logs when it runs the job graph stored in its HA data instead of the one main() submits.
RECOVERED = ("Recovered StreamGraph(jobId: ", "Recovered JobGraph(jobId: ")
#: What the checkpointing job's TaskManagers print with ``--log-every 1``: every generated value.
RECORD = r"checkpointing-job: record (\d+)"
#: Day 2's start offset, far above what day 1 (from 0, 10 records/s) prints: day 2's values tell the new program
#: (offset + restored position) from the old one (the position alone) and from a fresh start (the offset).
DAY2_OFFSET = 1_000_000

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    tasks = [FlinkApplicationOperator(
        task_id=task_id, cluster_id={cluster_id!r}, namespace="flink", image="flink:{version}",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="{version}",
        checkpoint_base_dir={base!r}, savepoint_base_dir={savepoints!r}, checkpoint_interval="2 s",
        jobmanager_memory="1024m", taskmanager_memory="1024m", retries=0, **options,
    ) for task_id, options in {tasks!r}]
    for upstream, downstream in zip(tasks, tasks[1:]):
        upstream >> downstream
"""


@pytest.fixture(scope="module")
def zookeeper_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    """One real ZooKeeper for the module's ZooKeeper HA clusters."""
    server = ZooKeeperServer(work_dir=tmp_path_factory.mktemp("zookeeper")).start()
    try:
        yield server
    finally:
        server.stop()
    assert not pid_exists(server.pid), f"ZooKeeper pid {server.pid} still alive after stop"


@pytest.fixture
def sandbox(module_sandbox: LocalKubernetes) -> Iterator[LocalKubernetes]:
    """The module's sandbox; the clusters a test launched are deleted after it (JVMs are ~320 MB each)."""
    before = {d["metadata"]["name"] for d in module_sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments")["items"]}
    yield module_sandbox
    hook = FlinkKubernetesHook()
    for deployment in module_sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments")["items"]:
        if deployment["metadata"]["name"] not in before:
            delete_cluster(hook, deployment["metadata"]["name"], NS, timeout=180)


def _dag(tmp_path: Path, dag_id: str, cluster_id: str, version: str, *tasks: tuple[str, dict[str, Any]]) -> str:
    return DAG.format(dag_id=dag_id, cluster_id=cluster_id, version=version, tasks=list(tasks),
                      base=f"file://{tmp_path}/checkpoints", savepoints=f"file://{tmp_path}/savepoints")


def _run(run_dag: DagRunner, source: str, day: int) -> Any:
    when = datetime(2026, 4, day, tzinfo=UTC)
    dag_run = run_dag(source, logical_date=when, run_after=when)
    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    return dag_run


def _checkpoints(tmp_path: Path, cluster_id: str, job_id: str) -> list[int]:
    """The completed checkpoints on disk (a ``chk-N`` dir exists from the trigger on; ``_metadata`` once complete)."""
    directory = tmp_path / "checkpoints" / cluster_id / job_id
    return sorted(int(p.name[4:]) for p in directory.glob("chk-*")
                  if re.fullmatch(r"chk-\d+", p.name) and (p / "_metadata").is_file())


def _wait_for_checkpoint(k8s: LocalKubernetes, tmp_path: Path, cluster_id: str, job_id: str, after: int = 0) -> int:
    def newer() -> int | None:
        found = [n for n in _checkpoints(tmp_path, cluster_id, job_id) if n > after]
        return max(found) if found else None

    return k8s.wait_for(f"a checkpoint newer than chk-{after} under {cluster_id}/{job_id}", newer, 240)


def _job(k8s: LocalKubernetes, cluster_id: str, job_id: str, suffix: str = "") -> Any:
    """``/jobs/<id><suffix>`` through the API server's proxy; a 503 (the new JobManager's REST before its leader
    election settled) is waited out, and so is a 500 (2.3.0's ``/checkpoints`` answered one, once, right after a
    resume on a loaded machine; a lasting one fails at the timeout)."""
    return k8s.wait_for(f"REST /jobs/{job_id}{suffix} of {cluster_id}",
                        lambda: k8s.flink_rest(NS, cluster_id, f"/jobs/{job_id}{suffix}", not_yet=(500, 503)), 120)


def _jobmanager_log(k8s: LocalKubernetes, cluster_id: str) -> str:
    pods = k8s.pods(NS, f"app={cluster_id},component=jobmanager")
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    return FlinkKubernetesHook().pod_log(pods[0]["metadata"]["name"], NS)


def _ha(ha: str, tmp_path: Path, zookeeper: ZooKeeperServer) -> dict[str, Any]:
    options: dict[str, Any] = {"ha": ha, "ha_storage_dir": f"file://{tmp_path}/ha"}
    return {**options, "zookeeper_quorum": zookeeper.hosts} if ha == "zookeeper" else options


def _container_logs(k8s: LocalKubernetes, cluster_id: str, *, taskmanagers: bool) -> set[Path]:
    """The container logs of the cluster's JobManager or TaskManager pods so far (deleted pods' logs stay)."""
    return {p for p in k8s.workdir.rglob("container.log")
            if p.parent.name.startswith(f"{cluster_id}-") and ("taskmanager" in p.parent.name) == taskmanagers}


def _found(pattern: str, logs: set[Path]) -> list[int]:
    return [int(n) for log in logs for n in re.findall(pattern, log.read_text(errors="replace"))]


# 2.3 + Kubernetes and 1.20 + ZooKeeper first: each version's job graph store with each HA service.
@pytest.mark.parametrize(("version", "ha"), [("2.3.0", "kubernetes"), ("1.20.3", "zookeeper"),
                                             ("2.3.0", "zookeeper"), ("1.20.3", "kubernetes")])
def test_a_resume_restores_the_last_checkpoint_and_runs_the_new_spec(
        run_dag: DagRunner, sandbox: LocalKubernetes, zookeeper_module: ZooKeeperServer, tmp_path: Path,
        version: str, ha: str) -> None:
    cid = f"resume-{version.replace('.', '')}-{ha[:3]}"
    options = _ha(ha, tmp_path, zookeeper_module)
    day1 = _run(run_dag, _dag(tmp_path, "day1", cid, version, ("launch", {
        **options, "parallelism": 1, "program_args": ["--start-offset", "0", "--log-every", "1"]})), 1)
    job_id = xcom_value(day1, "launch")["job_id"]
    _wait_for_checkpoint(sandbox, tmp_path, cid, job_id, after=1)  # past the first: records flowed before it
    assert {v["parallelism"] for v in _job(sandbox, cid, job_id)["vertices"]} == {1}
    day1_logs = _container_logs(sandbox, cid, taskmanagers=False), _container_logs(sandbox, cid, taskmanagers=True)

    day2 = _run(run_dag, _dag(tmp_path, "day2", cid, version, ("launch", {
        **options, "parallelism": 2, "program_args": ["--start-offset", str(DAY2_OFFSET), "--log-every", "1"],
        "if_exists": "replace", "restore": "latest"})), 2)
    assert xcom_value(day2, "launch")["job_id"] == job_id
    # Day 1's JobManager and TaskManager are gone now: their logs are complete.
    last_completed = max(_found(rf"Completed checkpoint (\d+) for job {job_id}", day1_logs[0]))
    day1_last_record = max(_found(RECORD, day1_logs[1]))
    # The checkpoint counter continues in the same dir, from the last checkpoint day 1 completed ...
    assert _wait_for_checkpoint(sandbox, tmp_path, cid, job_id, after=last_completed) > last_completed
    restored = _job(sandbox, cid, job_id, "/checkpoints")["latest"]["restored"]
    assert restored is not None and restored["id"] == last_completed, (restored, last_completed)
    # ... the generator continues from its restored position, and the job Flink runs is the new program: its
    # values carry day 2's start offset (the old program would print the position alone, a fresh start
    # DAY2_OFFSET), with parallelism 2.
    printed = sandbox.wait_for("day 2's TaskManagers printing records", lambda: _found(
        RECORD, _container_logs(sandbox, cid, taskmanagers=True) - day1_logs[1]), 240)
    position = min(printed) - DAY2_OFFSET
    assert 0 < position <= day1_last_record + 1, (min(printed), day1_last_record)
    assert {v["parallelism"] for v in _job(sandbox, cid, job_id)["vertices"]} == {2}
    log = _jobmanager_log(sandbox, cid)
    assert not [line for line in log.splitlines() if line.strip() and any(mark in line for mark in RECOVERED)]


def _assert_ran_cleanly(k8s: LocalKubernetes, tmp_path: Path, cluster_id: str, job_id: str, beyond: int) -> None:
    """The job checkpointed past ``beyond`` (the highest ``chk-N`` of the launch it replaced), Flink never found a
    checkpoint file already there, and the job never restarted."""
    _wait_for_checkpoint(k8s, tmp_path, cluster_id, job_id, after=beyond)
    assert "already exists" not in _jobmanager_log(k8s, cluster_id)
    job = _job(k8s, cluster_id, job_id)
    assert job["state"] == "RUNNING" and job["timestamps"]["RESTARTING"] == 0, job["timestamps"]


def test_two_launch_tasks_of_one_run_on_one_cluster_id_get_their_own_ids(
        run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path) -> None:
    cid = "two-tasks"
    ha = {"ha": "kubernetes", "ha_storage_dir": f"file://{tmp_path}/ha"}
    dag_run = _run(run_dag, _dag(tmp_path, "two_tasks", cid, "2.3.0",
                                 ("a", {**ha, "wait_until": "checkpointed", "deferrable": False}),
                                 ("b", {**ha, "if_exists": "replace"})), 1)
    a, b = xcom_value(dag_run, "a")["job_id"], xcom_value(dag_run, "b")["job_id"]
    assert a != b
    a_checkpoints = _checkpoints(tmp_path, cid, a)
    assert a_checkpoints, "a checkpointed before b replaced it"
    _assert_ran_cleanly(sandbox, tmp_path, cid, b, beyond=max(a_checkpoints))
    assert max(_checkpoints(tmp_path, cid, a)) == max(a_checkpoints), "b wrote into a's checkpoint dir"


def test_a_rerun_of_the_same_dag_run_that_replaces_gets_a_new_id(
        run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path) -> None:
    cid = "rerun"
    ha = {"ha": "kubernetes", "ha_storage_dir": f"file://{tmp_path}/ha"}
    first_run = _run(run_dag, _dag(tmp_path, "rerun", cid, "2.3.0", ("launch", {
        **ha, "wait_until": "checkpointed", "deferrable": False})), 1)
    first = xcom_value(first_run, "launch")  # read now: the re-run's XCom and try replace them
    first_try = [ti.try_number for ti in first_run.get_task_instances()]
    again_run = _run(run_dag, _dag(tmp_path, "rerun", cid, "2.3.0", ("launch", {
        **ha, "if_exists": "replace", "program_args": ["--rate", "20"]})), 1)
    assert again_run.run_id == first_run.run_id
    again_try = [ti.try_number for ti in again_run.get_task_instances()]
    assert first_try == again_try == [1], f"the re-run must be the same try, as in the issue: {first_try}, {again_try}"
    again = xcom_value(again_run, "launch")
    assert again["launched"] and again["job_id"] != first["job_id"]
    first_checkpoints = _checkpoints(tmp_path, cid, first["job_id"])
    assert first_checkpoints
    _assert_ran_cleanly(sandbox, tmp_path, cid, again["job_id"], beyond=max(first_checkpoints))
