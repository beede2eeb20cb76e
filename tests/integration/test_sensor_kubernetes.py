"""Acceptance: the sensor and its trigger against real Flink 2.3/1.20 JobManagers with Kubernetes HA on the emulator.

One application cluster per Flink version is launched with the real CLI and shared by the tests of this module
(in file order): every level in poke and in deferrable mode, API faults, kill -9 and the new leader. A job that fails
on purpose is in ``test_failure_reporting.py``.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.leader import parse_kubernetes_leader
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
from airflow_flink_k8s_sandbox.flink_client import run_flink_application
from airflow_flink_k8s_sandbox.flink_dist import FLINK_VERSIONS_UNDER_TEST
from airflow_flink_k8s_sandbox.kubelet import ANNOTATION_PID
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import task_states, xcom_value
from tests.sensor_support import LEVELS, kubernetes_connection, sensor_dag_source
from tests.waiting import wait_until

pytestmark = pytest.mark.flink
NAMESPACE = "flink"
JAR = "local:///opt/flink/usrlib/checkpointing-job.jar"
LEASE_SECONDS = 8
#: The kubelet restarts a killed JobManager after this back-off, after its lease ran out: the window in which
#: the sensor must report the dead leader stale.
RESTART_BACKOFF = 20.0


@dataclass
class Deployed:
    k8s: LocalKubernetes
    version: str
    cluster_id: str
    workdir: Path

    @property
    def configmap_path(self) -> str:
        return f"/api/v1/namespaces/{NAMESPACE}/configmaps/{self.cluster_id}-cluster-config-map"

    def published_rest_leader(self) -> tuple[str, str]:
        """(session id, address) of the ``restserver`` entry Flink wrote, as raw strings."""
        session, _, address = self.k8s.get(self.configmap_path)["data"]["org.apache.flink.k8s.leader.restserver"] \
            .partition(",")
        return session, address

    def lease_expiry(self) -> datetime:
        """renewTime + leaseDuration of the lease record Flink (fabric8) wrote on the leader ConfigMap."""
        raw = self.k8s.get(self.configmap_path)["metadata"]["annotations"]["control-plane.alpha.kubernetes.io/leader"]
        record = json.loads(raw)
        renewed = datetime.fromisoformat(record["renewTime"])
        duration = record["leaseDuration"]  # "PT8S" from Flink 2.x's fabric8, 8.000000000 from 1.x's
        seconds = float(duration.removeprefix("PT").removesuffix("S")) if isinstance(duration, str) else duration
        return renewed + timedelta(seconds=seconds)

    def sensor(self, **kwargs: Any) -> FlinkJobManagerReadySensor:
        args: dict[str, Any] = {"task_id": "wait", "cluster_id": self.cluster_id, "namespace": NAMESPACE,
                                "flink_version": self.version, "poke_interval": 1, "timeout": 240}
        return FlinkJobManagerReadySensor(**(args | kwargs))


def _options(cluster_id: str, version: str, workdir: Path, **extra: str) -> dict[str, str]:
    return {
        "kubernetes.cluster-id": cluster_id,
        "kubernetes.namespace": NAMESPACE,
        "kubernetes.container.image.ref": f"flink:{version}",
        "high-availability.type": "kubernetes",
        "high-availability.storageDir": f"file://{workdir}/ha",
        "high-availability.kubernetes.leader-election.lease-duration": f"{LEASE_SECONDS} s",
        "high-availability.kubernetes.leader-election.renew-deadline": f"{LEASE_SECONDS} s",
        "high-availability.kubernetes.leader-election.retry-period": "2 s",
        "execution.checkpointing.dir": f"file://{workdir}/checkpoints/{cluster_id}",
        "execution.checkpointing.interval": "2 s",
        "jobmanager.memory.process.size": "1024m",
        "taskmanager.memory.process.size": "1024m",
        **extra,
    }


def _launch(k8s: LocalKubernetes, version: str, cluster_id: str, workdir: Path, *program_args: str,
            **extra: str) -> None:
    result = run_flink_application(version, k8s.kubeconfig, workdir, _options(cluster_id, version, workdir, **extra),
                                   JAR, program_args=program_args)
    assert result.returncode == 0, result.output[-3000:]


@pytest.fixture(scope="module", params=FLINK_VERSIONS_UNDER_TEST, ids=[f"flink-{v}" for v in FLINK_VERSIONS_UNDER_TEST])
def deployed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    version = request.param
    workdir = tmp_path_factory.mktemp(f"sensor-k8s-{version}")
    k8s = LocalKubernetes.start(workdir / "k8s", namespaces=("default", NAMESPACE), restart_backoff=RESTART_BACKOFF)
    try:
        cluster_id = "ready-" + version.replace(".", "-")
        _launch(k8s, version, cluster_id, workdir)
        with kubernetes_connection(k8s.kubeconfig):
            yield Deployed(k8s, version, cluster_id, workdir)
    finally:
        survivors = k8s.stop()
    assert not survivors, f"processes survived: {survivors}"


def test_poke_mode_reaches_each_level_with_the_address_flink_wrote(deployed: Deployed) -> None:
    seen = {level: deployed.sensor(target=level).execute({}) for level in LEVELS}

    session, address = deployed.published_rest_leader()
    for level, details in seen.items():
        assert details["leader_address"] == address, level
        assert details["session_id"] == session, level
    proxy = f"{deployed.k8s.url}/api/v1/namespaces/{NAMESPACE}/services/{deployed.cluster_id}-rest:rest/proxy"
    assert seen["rest"]["rest_url"] == proxy  # auto = the API server's service proxy with Kubernetes HA
    assert seen["rest"]["flink_version"] == deployed.version
    assert seen["running"]["job_state"] == "RUNNING"
    job_id = seen["running"]["job_id"]
    checkpoints = f"file:{deployed.workdir}/checkpoints/{deployed.cluster_id}/{job_id}/chk-"
    assert seen["checkpointed"]["checkpoint_path"].startswith(checkpoints)

    direct = deployed.sensor(target="running", access_mode="direct", job_id=job_id).execute({})
    assert direct["rest_url"] == address and direct["job_id"] == job_id
    unknown = deployed.sensor(target="running", job_id="0" * 31 + "1", timeout=3).poke({})
    assert not unknown.is_done  # a job id the cluster does not run is "not submitted yet", not ready


def test_deferrable_mode_reaches_each_level(deployed: Deployed, run_dag: Any) -> None:
    common = {"cluster_id": deployed.cluster_id, "namespace": NAMESPACE, "flink_version": deployed.version,
              "deferrable": True, "poke_interval": 1, "timeout": 120}
    dag_run = run_dag(sensor_dag_source({level: common | {"target": level} for level in LEVELS}))

    assert task_states(dag_run) == {level: "success" for level in LEVELS}
    session, address = deployed.published_rest_leader()
    for level in LEVELS:
        details = xcom_value(dag_run, level)
        assert (details["leader_address"], details["session_id"]) == (address, session), level
    assert xcom_value(dag_run, "running")["job_state"] == "RUNNING"
    assert xcom_value(dag_run, "checkpointed")["checkpoint_path"].startswith(
        f"file:{deployed.workdir}/checkpoints/{deployed.cluster_id}/")


def test_api_5xx_bursts_409_storms_and_dropped_watches_do_not_fail_either_mode(
    deployed: Deployed, run_dag: Any
) -> None:
    emulator = deployed.k8s.emulator
    before = emulator.stats()["requests"].get("WATCH configmaps", 0)
    emulator.set_faults(
        {"status": 503, "methods": ["GET"], "resource": "configmaps", "times": 6},  # a burst of 5xx
        {"status": 500, "methods": ["GET"], "resource": "configmaps", "probability": 0.3, "include_watch": True},
        {"status": 409, "methods": ["PUT", "PATCH"], "resource": "configmaps", "every": 3},  # Flink's writes
        watch_max_seconds=2, seed=7)
    stop = threading.Event()

    def drop_watches() -> None:
        while not stop.wait(1.5):
            emulator.drop_watches()

    dropper = threading.Thread(target=drop_watches, daemon=True)
    dropper.start()
    try:
        poked = deployed.sensor(target="checkpointed").execute({})
        common = {"cluster_id": deployed.cluster_id, "namespace": NAMESPACE, "flink_version": deployed.version,
                  "deferrable": True, "poke_interval": 1, "timeout": 120}
        dag_run = run_dag(sensor_dag_source({"running": common | {"target": "running"}}))
        deployed.k8s.wait_for("Flink's ConfigMap writes to meet the 409s",
                              lambda: emulator.fault_summary()[2]["fired"] > 0, 30)
        faults = emulator.fault_summary()
    finally:
        stop.set()
        dropper.join()
        emulator.clear_faults()

    assert poked["job_state"] == "RUNNING" and poked["checkpoint_path"]
    assert task_states(dag_run) == {"running": "success"}
    assert all(rule["fired"] > 0 for rule in faults), faults
    assert emulator.stats()["requests"]["WATCH configmaps"] > before


def test_kill_9_makes_it_not_ready_once_the_lease_expires_then_it_follows_the_new_leader(
    deployed: Deployed, run_dag: Any
) -> None:
    old_session, old_address = deployed.published_rest_leader()
    pods = deployed.k8s.pods(NAMESPACE, f"app={deployed.cluster_id},component=jobmanager")
    pid = int(pods[0]["metadata"]["annotations"][ANNOTATION_PID])
    os.kill(pid, signal.SIGKILL)

    leader_sensor = deployed.sensor(target="leader")

    def reported_stale() -> bool:
        # The bound is an event, not a duration: the dead leader must be reported stale before the restarted
        # JobManager (RESTART_BACKOFF later) publishes a new leader session.
        assert deployed.published_rest_leader()[0] == old_session, \
            "a new leader took over before the sensor reported the dead one stale"
        return not leader_sensor.poke({}).is_done

    wait_until("the sensor reports the dead leader stale", reported_stale, interval=0.5)
    reported_stale_at = datetime.now(UTC)
    # Flink leaves the dead leader's entry behind: only the lease tells it is stale.
    assert deployed.published_rest_leader() == (old_session, old_address)
    assert parse_kubernetes_leader(deployed.k8s.get(deployed.configmap_path)) is None
    # Not before the last lease the dead JobManager wrote ran out. Its renewals can lag on a busy machine,
    # so the kill time is no bound.
    assert reported_stale_at >= deployed.lease_expiry()

    common = {"cluster_id": deployed.cluster_id, "namespace": NAMESPACE, "flink_version": deployed.version,
              "deferrable": True, "poke_interval": 1, "timeout": 180}
    dag_run = run_dag(sensor_dag_source({"running": common | {"target": "running"}}))
    assert task_states(dag_run) == {"running": "success"}
    details = xcom_value(dag_run, "running")
    new_session, new_address = deployed.published_rest_leader()
    assert new_session != old_session
    assert (details["session_id"], details["leader_address"]) == (new_session, new_address)
    assert details["job_state"] == "RUNNING"


def test_a_job_suspended_by_lost_leadership_is_waited_through_until_flink_recovers_it(deployed: Deployed) -> None:
    """A real HA fail-over: the API server refuses the JobManager's writes to its leader ConfigMap (a 500 on each
    lease renewal), so Flink revokes its leadership and reports the job SUSPENDED; once writes pass again the same
    JobManager leads again and recovers the job from the HA data. A wait neither fails nor succeeds while the job is
    SUSPENDED, and returns the recovered job."""
    k8s = deployed.k8s

    def job_states() -> list[str]:
        overview = k8s.flink_rest(NAMESPACE, deployed.cluster_id, "/jobs/overview")
        return [job["state"] for job in (overview or {}).get("jobs", [])]

    k8s.wait_for("the job RUNNING", lambda: job_states() == ["RUNNING"], 180)
    job_id = deployed.sensor(target="running").execute({})["job_id"]
    k8s.emulator.set_faults({"status": 500, "methods": ["PUT", "PATCH"], "resource": "configmaps",
                             "name_prefix": f"{deployed.cluster_id}-cluster-config-map"})
    outcome: dict[str, Any] = {}
    try:
        k8s.wait_for("Flink to suspend the job", lambda: job_states() == ["SUSPENDED"], 180)
        sensor = deployed.sensor(target="running")
        for _ in range(3):  # Flink cannot take the lease back while its writes are refused: it stays SUSPENDED
            assert not sensor.poke({}).is_done, "the wait succeeded while the job was SUSPENDED"
            assert job_states() == ["SUSPENDED"]

        def wait() -> None:
            outcome["details"] = deployed.sensor(target="running", timeout=300).execute({})

        waiter = threading.Thread(target=wait)
        waiter.start()
    finally:
        k8s.emulator.clear_faults()
    waiter.join(timeout=360)
    assert outcome["details"]["job_id"] == job_id and outcome["details"]["job_state"] == "RUNNING"
    overview = k8s.flink_rest(NAMESPACE, deployed.cluster_id, f"/jobs/{job_id}")
    assert overview["state"] == "RUNNING", "Flink did not recover the suspended job"
