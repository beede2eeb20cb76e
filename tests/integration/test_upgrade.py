"""``if_exists="upgrade"`` on real Flink (``dag.test()`` onto the sandbox: emulator, kubelet, real JobManagers and
TaskManagers), one cluster lineage per test:

* ``savepoint`` (2.3.0): the job stops with a savepoint and the new spec restores from it: the counter the job prints
  continues, the new arguments and parallelism run (REST ``/jobs/<id>``), a new job id checkpoints in a new subdir;
  the same spec again is a no-op; a savepoint that fails leaves the old job RUNNING (same job, same Deployment); a
  relaunch that fails once is finished by the retry from the recorded savepoint, with no second savepoint taken,
  and so is an upgrade whose process is killed (a lost worker) between the savepoint and the relaunch;
* ``last-state`` then ``stateless`` (1.20.3): the same job id resumes from its latest checkpoint with the new spec,
  then a fresh job starts from nothing;
* only clusters this provider launched are upgraded (JobManager stand-ins, no JVM).

The job is the sandbox's checkpointing job with ``--log-every``: its TaskManagers print the generator's values, whose
position is state. Upgrade downtime is measured from Flink's own timestamps: the stop-with-savepoint's trigger time in
the old job's checkpoint history to the new job's RUNNING time (and its last task's start).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.errors import NotOwnedError
from airflow_flink_k8s.core.launch_plan import RunIdentity
from airflow_flink_k8s.core.names import taskmanager_pods_selector, upgrade_record_name
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.cluster_deletion import delete_cluster
from airflow_flink_k8s.flows.launch import LaunchSettings, launch
from airflow_flink_k8s.flows.upgrade import UpgradeSettings, upgrade
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.emulator import ADMIN_USER
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.processes import pid_exists
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value

pytestmark = pytest.mark.flink
NS = "flink"
LOG = logging.getLogger(__name__)
RECORD = re.compile(r"checkpointing-job: record (\d+)")

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationOperator(
        task_id="launch", cluster_id={cluster_id!r}, namespace="flink", image="flink:{version}",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="{version}", ha="kubernetes",
        ha_storage_dir={ha!r}, checkpoint_base_dir={checkpoints!r}, checkpoint_interval="2 s",
        jobmanager_memory="1024m", taskmanager_memory="1024m", wait_until="running", deferrable=False,
        wait_poll_interval=1, retries=0, **{options!r})
"""


@pytest.fixture
def sandbox(module_sandbox: LocalKubernetes) -> Iterator[LocalKubernetes]:
    """The module's sandbox; the clusters a test launched are deleted after it (JVMs are ~320 MB each)."""
    yield module_sandbox
    module_sandbox.emulator.clear_faults()
    hook = FlinkKubernetesHook()
    for deployment in module_sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments")["items"]:
        delete_cluster(hook, deployment["metadata"]["name"], NS, timeout=180)


def _run(run_dag: DagRunner, tmp_path: Path, cluster_id: str, version: str, day: int, **options: Any) -> Any:
    source = DAG.format(dag_id=f"upgrade_{cluster_id.replace('-', '_')}", cluster_id=cluster_id, version=version,
                        ha=f"file://{tmp_path}/ha", checkpoints=f"file://{tmp_path}/checkpoints", options=options)
    when = datetime(2026, 5, day, tzinfo=UTC)
    return run_dag(source, logical_date=when, run_after=when)


def _ok(dag_run: Any) -> dict[str, Any]:
    assert task_states(dag_run) == {"launch": "success"}, task_states(dag_run)
    return xcom_value(dag_run, "launch")


def _args(offset: int) -> list[str]:
    return ["--start-offset", str(offset), "--log-every", "5"]


def _job(k8s: LocalKubernetes, cluster_id: str, job_id: str, suffix: str = "") -> Any:
    return k8s.flink_rest(NS, cluster_id, f"/jobs/{job_id}{suffix}", not_yet=())


def _records(k8s: LocalKubernetes, cluster_id: str) -> list[int]:
    """The values the cluster's TaskManagers printed (``--log-every``), from their pod logs."""
    hook = FlinkKubernetesHook()
    found: list[int] = []
    for pod in k8s.pods(NS, taskmanager_pods_selector(cluster_id)):
        with contextlib.suppress(Exception):  # a pod just created may have no log yet
            found += [int(n) for n in RECORD.findall(hook.pod_log(pod["metadata"]["name"], NS))]
    return found


def _printed_at_least(k8s: LocalKubernetes, cluster_id: str, count: int) -> list[int]:
    return k8s.wait_for(f"{count} records printed by {cluster_id}",
                        lambda: (found := _records(k8s, cluster_id)) and len(found) >= count and found, 240)


def _savepoints(tmp_path: Path, cluster_id: str) -> list[str]:
    directory = tmp_path / "savepoints" / cluster_id
    return sorted(p.name for p in directory.glob("savepoint-*") if (p / "_metadata").is_file())


def _restored_from(k8s: LocalKubernetes, cluster_id: str, job_id: str) -> Any:
    return (_job(k8s, cluster_id, job_id, "/checkpoints").get("latest") or {}).get("restored")


class SavepointClock(threading.Thread):
    """Polls the old job's checkpoint history until the cluster is gone, keeping Flink's times of its
    stop-with-savepoint: ``trigger_timestamp`` and, once complete, ``latest_ack_timestamp``."""

    def __init__(self, k8s: LocalKubernetes, cluster_id: str, job_id: str) -> None:
        super().__init__(daemon=True)
        self.k8s, self.cluster_id, self.job_id = k8s, cluster_id, job_id
        self.triggered_ms: int | None = None
        self.completed_ms: int | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            with contextlib.suppress(Exception):  # 503 while the cluster goes away
                history = _job(self.k8s, self.cluster_id, self.job_id, "/checkpoints")["history"]
                for entry in (h for h in history if h.get("is_savepoint")):
                    self.triggered_ms = entry["trigger_timestamp"]
                    if entry.get("status") == "COMPLETED":
                        self.completed_ms = entry["latest_ack_timestamp"]
            self.done.wait(0.2)


def _downtime(k8s: LocalKubernetes, cluster_id: str, job_id: str, clock: SavepointClock) -> str:
    """Flink's timestamps from the stop request to the new job's tasks all started, phase by phase."""
    job = _job(k8s, cluster_id, job_id)
    start, running = job["timestamps"]["INITIALIZING"], job["timestamps"]["RUNNING"]
    tasks = max(v["start-time"] for v in job["vertices"])
    t0 = clock.triggered_ms or 0
    saved = f"savepoint {((clock.completed_ms or t0) - t0) / 1000:.1f} s, " if clock.completed_ms else ""
    return (f"stop requested -> new job RUNNING {(running - t0) / 1000:.1f} s ({saved}-> new job submitted "
            f"{(start - t0) / 1000:.1f} s, -> RUNNING {(running - start) / 1000:.1f} s more); -> all its tasks "
            f"started {(tasks - t0) / 1000:.1f} s")


def test_a_savepoint_upgrade_carries_the_state_and_a_failed_relaunch_is_finished_by_the_retry(
        run_dag: DagRunner, airflow_db: Path, sandbox: LocalKubernetes, tmp_path: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    cid, version = "up-savepoint", "2.3.0"
    # Fresh checkpoint statistics on REST (default: cached 3 s), so the clock sees the savepoint before the old
    # cluster shuts down.
    savepoints = {"savepoint_base_dir": f"file://{tmp_path}/savepoints", "if_exists": "upgrade",
                  "upgrade_mode": "savepoint", "flink_conf": {"rest.cache.checkpoint-statistics.timeout": "100 ms"}}
    first = _ok(_run(run_dag, tmp_path, cid, version, 1, parallelism=1, program_args=_args(0), **savepoints))
    assert first["upgrade"]["action"] == "create", "with no cluster, an upgrade launches it"
    old_uid = sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}")["metadata"]["uid"]
    before = max(_printed_at_least(sandbox, cid, 4))

    # 1. Upgrade: new arguments and parallelism, state carried over by a savepoint.
    clock = SavepointClock(sandbox, cid, first["job_id"])
    clock.start()
    try:
        second = _ok(_run(run_dag, tmp_path, cid, version, 2, parallelism=2, program_args=_args(1000),
                          **savepoints))
    finally:
        clock.done.set()
        clock.join()
    info = second["upgrade"]
    assert (info["action"], info["mode"], info["old_job_id"]) == ("upgrade", "savepoint", first["job_id"])
    assert second["job_id"] != first["job_id"]
    assert _savepoints(tmp_path, cid) == [Path(info["savepoint_path"]).name]
    assert sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}")["metadata"]["uid"] != old_uid
    job = _job(sandbox, cid, second["job_id"])
    assert job["state"] == "RUNNING" and {v["parallelism"] for v in job["vertices"]} == {2}
    restored = _restored_from(sandbox, cid, second["job_id"])
    assert restored["is_savepoint"] and restored["external_path"].rstrip("/").endswith(
        Path(info["savepoint_path"]).name), restored
    # The counter continues: the generator resumes past every value the old job printed (offset now 1000).
    resumed = min(_printed_at_least(sandbox, cid, 2))
    assert resumed > 1000 + before, (resumed, before)
    assert sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/{upgrade_record_name(cid)}") is None
    new_dir = tmp_path / "checkpoints" / cid / second["job_id"]
    sandbox.wait_for(f"a checkpoint of the new job in {new_dir}", lambda: sorted(new_dir.glob("chk-*")), 240)
    assert clock.triggered_ms is not None, "the savepoint never showed in the old job's checkpoint history"
    with capfd.disabled():  # a figure for the report, not an assertion
        print(f"\nUPGRADE DOWNTIME savepoint {version}: "
              f"{_downtime(sandbox, cid, second['job_id'], clock)}")

    # 2. The same spec again: nothing to upgrade, no savepoint.
    again = _ok(_run(run_dag, tmp_path, cid, version, 3, parallelism=2, program_args=_args(1000), **savepoints))
    assert (again["upgrade"]["action"], again["job_id"]) == ("reattach", second["job_id"])
    assert len(_savepoints(tmp_path, cid)) == 1

    # 3. A savepoint that fails (its dir cannot be created: a file stands there) leaves the old job RUNNING.
    uid = sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}")["metadata"]["uid"]
    (tmp_path / "blocked").write_text("a file where the savepoint dir should be\n")
    capfd.readouterr()
    failed = _run(run_dag, tmp_path, cid, version, 4, parallelism=2, program_args=_args(3000),
                  **{**savepoints, "savepoint_base_dir": f"file://{tmp_path}/blocked"})
    assert task_states(failed) == {"launch": "failed"}
    assert "The upgrade was not done: the old cluster and its job" in capfd.readouterr().out
    assert sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}")["metadata"]["uid"] == uid
    assert _job(sandbox, cid, second["job_id"])["state"] == "RUNNING"
    assert sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/{upgrade_record_name(cid)}") is None

    # 4. The relaunch fails once (the Deployment create refused), after the savepoint: the task fails naming it,
    #    and the retry finishes the upgrade from that savepoint without taking another.
    before = max(_records(sandbox, cid)) - 1000
    sandbox.emulator.set_faults({"status": 403, "methods": ["POST"], "resource": "deployments", "times": 1})
    broken = _run(run_dag, tmp_path, cid, version, 5, parallelism=1, program_args=_args(5000), **savepoints)
    sandbox.emulator.clear_faults()
    assert task_states(broken) == {"launch": "failed"}
    pending = xcom_value(broken, "launch", key="upgrade")
    assert pending["pending"] and pending["savepoint_path"]
    assert f"its state is in savepoint {pending['savepoint_path']}" in capfd.readouterr().out
    assert sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cid}") is None
    assert len(_savepoints(tmp_path, cid)) == 2
    record = sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/{upgrade_record_name(cid)}")
    assert pending["savepoint_path"] in record["data"]["upgrade.json"]

    retried = _run(run_dag, tmp_path, cid, version, 5, parallelism=1, program_args=_args(5000), **savepoints)
    assert retried.run_id == broken.run_id
    third = _ok(retried)
    assert (third["upgrade"]["action"], third["upgrade"]["savepoint_path"]) == ("upgrade", pending["savepoint_path"])
    assert "finishing an upgrade (savepoint) of job" in capfd.readouterr().out
    assert len(_savepoints(tmp_path, cid)) == 2, "the retry took another savepoint"
    assert Path(_restored_from(sandbox, cid, third["job_id"])["external_path"]).name == Path(
        pending["savepoint_path"]).name
    assert min(_printed_at_least(sandbox, cid, 2)) > 5000 + before
    assert sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/{upgrade_record_name(cid)}") is None

    # 5. The worker is lost: the task's process is killed (SIGKILL) once the savepoint is recorded, before the
    #    relaunch. The next try, another process with no memory of it (here the next DAG run), finishes the upgrade
    #    from that savepoint.
    before = max(_records(sandbox, cid)) - 5000
    killed = _kill_once_recorded(sandbox, airflow_db, tmp_path, cid, version, 6, parallelism=2,
                                 program_args=_args(9000), **savepoints)
    assert len(_savepoints(tmp_path, cid)) == 3 and Path(killed).name in _savepoints(tmp_path, cid)
    fourth = _ok(_run(run_dag, tmp_path, cid, version, 7, parallelism=2, program_args=_args(9000), **savepoints))
    assert (fourth["upgrade"]["action"], fourth["upgrade"]["savepoint_path"]) == ("upgrade", killed)
    assert len(_savepoints(tmp_path, cid)) == 3, "the next try took another savepoint"
    assert Path(_restored_from(sandbox, cid, fourth["job_id"])["external_path"]).name == Path(killed).name
    assert min(_printed_at_least(sandbox, cid, 2)) > 9000 + before
    assert sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/{upgrade_record_name(cid)}") is None


_KILLED_RUN = """
import runpy, sys
from datetime import UTC, datetime
when = datetime(2026, 5, int(sys.argv[2]), tzinfo=UTC)
runpy.run_path(sys.argv[1])["dag"].test(logical_date=when, run_after=when)
"""


def _kill_once_recorded(k8s: LocalKubernetes, dags: Path, tmp_path: Path, cluster_id: str, version: str, day: int,
                        **options: Any) -> str:
    """Run the upgrade DAG in another process, SIGKILL it as soon as the upgrade record holds the savepoint's path,
    and return that path."""
    source = DAG.format(dag_id=f"upgrade_killed_{cluster_id.replace('-', '_')}", cluster_id=cluster_id,
                        version=version, ha=f"file://{tmp_path}/ha", checkpoints=f"file://{tmp_path}/checkpoints",
                        options=options)
    path = dags / f"killed_{cluster_id.replace('-', '_')}.py"
    path.write_text(source)
    worker = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(path), str(day)], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def recorded() -> str | None:
            record = k8s.get(f"/api/v1/namespaces/{NS}/configmaps/{upgrade_record_name(cluster_id)}")
            found = json.loads(record["data"]["upgrade.json"]) if record else {}
            return found.get("savepoint_path")

        savepoint = k8s.wait_for("the upgrade record holding the savepoint", recorded, 240, interval=0.1)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    path.unlink()
    assert not pid_exists(worker.pid)
    return savepoint


def test_last_state_resumes_the_same_job_with_the_new_spec_and_stateless_starts_empty(
        run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    cid, version = "up-laststate", "1.20.3"
    first = _ok(_run(run_dag, tmp_path, cid, version, 1, parallelism=1, program_args=_args(0)))
    printed = max(_printed_at_least(sandbox, cid, 2))
    checkpoints = tmp_path / "checkpoints" / cid / first["job_id"]
    # A checkpoint completed after that value was printed: the resumed position is at least that far.
    sandbox.wait_for("a checkpoint after the printed value", lambda: _job(
        sandbox, cid, first["job_id"], "/checkpoints")["counts"]["completed"] >= 2 and sorted(checkpoints.glob(
            "chk-*")), 240)

    resumed_run = _run(run_dag, tmp_path, cid, version, 2, parallelism=2, program_args=_args(1000),
                       if_exists="upgrade", upgrade_mode="last-state")
    resumed = _ok(resumed_run)
    began = resumed_run.get_task_instances()[0].start_date.timestamp() * 1000
    running = _job(sandbox, cid, resumed["job_id"])["timestamps"]["RUNNING"]
    with capfd.disabled():  # a figure for the report, not an assertion
        print(f"\nUPGRADE DOWNTIME last-state {version}: upgrade task started -> resumed job RUNNING "
              f"{(running - began) / 1000:.1f} s")
    assert resumed["upgrade"]["action"] == "upgrade" and resumed["job_id"] == first["job_id"]
    job = _job(sandbox, cid, resumed["job_id"])
    assert {v["parallelism"] for v in job["vertices"]} == {2}
    assert _restored_from(sandbox, cid, resumed["job_id"]) is not None, "nothing was restored"
    assert min(_printed_at_least(sandbox, cid, 2)) > 1000 + printed

    fresh = _ok(_run(run_dag, tmp_path, cid, version, 3, parallelism=1, program_args=_args(7000),
                     if_exists="upgrade", upgrade_mode="stateless"))
    assert fresh["upgrade"]["action"] == "upgrade" and fresh["job_id"] != first["job_id"]
    assert _restored_from(sandbox, cid, fresh["job_id"]) is None
    assert min(_printed_at_least(sandbox, cid, 1)) == 7000, "a stateless upgrade starts from the new offset"


def _standin_spec(tmp_path: Path, **fields: Any) -> FlinkApplicationSpec:
    return FlinkApplicationSpec.from_dict({
        "cluster_id": "up-owned", "namespace": NS, "image": "sandbox/jobmanager-standin:2.3.0",
        "flink_version": "2.3.0", "jar_uri": "local:///opt/flink/usrlib/job.jar", "ha": "kubernetes",
        "ha_storage_dir": f"file://{tmp_path}/ha", "checkpoint_base_dir": f"file://{tmp_path}/checkpoints", **fields})


def test_only_clusters_this_provider_launched_are_upgraded(sandbox: LocalKubernetes, tmp_path: Path) -> None:
    k8s = FlinkKubernetesHook()
    stateless = UpgradeSettings("stateless")
    launch(k8s, _standin_spec(tmp_path), RunIdentity("d", "t", "r1", 1), LaunchSettings(), LOG)
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/up-owned"
    ours = sandbox.get(path)
    # The harm is possible: the same call deletes and relaunches a cluster it may act on.
    upgrade(k8s, _standin_spec(tmp_path, parallelism=2), RunIdentity("d", "t", "r2", 1),
            LaunchSettings(if_exists="upgrade"), stateless, LOG)
    relaunched = sandbox.get(path)
    assert relaunched["metadata"]["uid"] != ours["metadata"]["uid"]

    # Now another controller owns it (as a FlinkDeployment would): refused by name, before any write.
    k8s.patch("Deployment", "up-owned", NS, {"metadata": {"ownerReferences": [{
        "apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment", "name": "up-owned",
        "uid": "2b0b3c1e-0000-4000-8000-000000000001", "controller": True}]}})
    since = sandbox.emulator.stats()["request_seq"]
    with pytest.raises(NotOwnedError, match=r"^if_exists='upgrade' refused for Flink cluster 'up-owned': found "
                                            r"Deployment flink/up-owned .*controller FlinkDeployment up-owned"):
        upgrade(k8s, _standin_spec(tmp_path, parallelism=3), RunIdentity("d", "t", "r3", 1),
                LaunchSettings(if_exists="upgrade"), stateless, LOG)
    writes = [(r["method"], r["resource"], r.get("name")) for r in sandbox.emulator.requests(since)
              if r["method"] != "GET" and r["user"] == ADMIN_USER]  # this provider's requests (the stand-in renews)
    assert writes == [], "the refused upgrade wrote"
    assert sandbox.get(path)["metadata"]["uid"] == relaunched["metadata"]["uid"]
    assert sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/{upgrade_record_name('up-owned')}") is None
    k8s.patch("Deployment", "up-owned", NS, {"metadata": {"ownerReferences": None}})  # the fixture deletes it
