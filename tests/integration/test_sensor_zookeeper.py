"""Acceptance: the sensor and its trigger against real Flink 2.3/1.20 application clusters with ZooKeeper HA.

One ZooKeeper and one cluster per Flink version are shared by the tests of this module (in file order): every level
in poke and in deferrable mode, kill -9 of the JobManager and a new JobManager winning, then the HA clean-up the
operator relies on.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from kazoo.client import KazooClient

from airflow_flink_k8s.core.leader import decode_zookeeper_leader
from airflow_flink_k8s.hooks.zookeeper import FlinkZooKeeperHook
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
from airflow_flink_k8s_sandbox.flink_dist import (
    EXAMPLE_JOB_CLASS,
    FLINK_VERSIONS_UNDER_TEST,
    ensure_example_job,
)
from airflow_flink_k8s_sandbox.processes import pid_exists
from airflow_flink_k8s_sandbox.standalone import StandaloneApplicationCluster
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer
from tests.fixtures.airflow_db import task_states, xcom_value
from tests.sensor_support import LEVELS, env_connection, run_trigger, sensor_dag_source
from tests.waiting import wait_until

pytestmark = [pytest.mark.flink, pytest.mark.zookeeper]
CLUSTER_ID = "zk-ready"
SESSION_TIMEOUT_MS = 6000
REST_NODE = f"/flink/{CLUSTER_ID}/leader/rest_server/connection_info"


@dataclass
class ZkDeployed:
    version: str
    zookeeper: ZooKeeperServer
    workdir: Path
    clusters: list[StandaloneApplicationCluster] = field(default_factory=list)

    def start_cluster(self) -> StandaloneApplicationCluster:
        cluster = StandaloneApplicationCluster(
            self.version, ensure_example_job(self.version), EXAMPLE_JOB_CLASS, (), {
                "high-availability.type": "zookeeper",
                "high-availability.zookeeper.quorum": self.zookeeper.hosts,
                "high-availability.zookeeper.client.session-timeout": str(SESSION_TIMEOUT_MS),
                "high-availability.storageDir": f"file://{self.workdir / 'ha'}",
                "high-availability.cluster-id": CLUSTER_ID,
                "execution.checkpointing.dir": f"file://{self.workdir / 'checkpoints'}",
                "execution.checkpointing.interval": "2 s",
            }, work_dir=self.workdir / f"cluster-{len(self.clusters)}")
        self.clusters.append(cluster)
        return cluster.start()

    def sensor(self, **kwargs: Any) -> FlinkJobManagerReadySensor:
        args: dict[str, Any] = {"task_id": "wait", "cluster_id": CLUSTER_ID, "ha": "zookeeper",
                                "zookeeper_quorum": self.zookeeper.hosts, "flink_version": self.version,
                                "poke_interval": 1, "timeout": 180}
        return FlinkJobManagerReadySensor(**(args | kwargs))

    def published_leader(self) -> tuple[str, str] | None:
        client = KazooClient(hosts=self.zookeeper.hosts)
        client.start(timeout=10)
        try:
            leader = decode_zookeeper_leader(client.get(REST_NODE)[0]) if client.exists(REST_NODE) else None
        finally:
            client.stop()
            client.close()
        return None if leader is None else (str(leader.session_id), leader.address)


@pytest.fixture(scope="module", params=FLINK_VERSIONS_UNDER_TEST, ids=[f"flink-{v}" for v in FLINK_VERSIONS_UNDER_TEST])
def zk_deployed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZkDeployed]:
    workdir = tmp_path_factory.mktemp(f"sensor-zk-{request.param}")
    zookeeper = ZooKeeperServer(work_dir=workdir / "zookeeper").start()
    deployed = ZkDeployed(request.param, zookeeper, workdir)
    try:
        deployed.start_cluster()
        with env_connection("zk_flink", {"conn_type": "zookeeper", "host": zookeeper.hosts, "login": "airflow",
                                         "password": "s3cret", "extra": {"timeout": 10}}):
            yield deployed
    finally:
        pids = [pid for cluster in deployed.clusters for pid in cluster.pids] + [zookeeper.pid]
        for cluster in deployed.clusters:
            cluster.stop()
        zookeeper.stop()
    assert not [pid for pid in pids if pid_exists(pid)], f"processes survived: {pids}"


def test_poke_mode_reaches_each_level_with_the_address_flink_wrote(zk_deployed: ZkDeployed) -> None:
    seen = {level: zk_deployed.sensor(target=level).execute({}) for level in LEVELS}

    session, address = zk_deployed.published_leader()
    assert address == zk_deployed.clusters[0].rest_url
    for level, details in seen.items():
        assert (details["leader_address"], details["session_id"]) == (address, session), level
    assert seen["rest"]["rest_url"] == address  # auto = direct with ZooKeeper HA
    assert seen["running"]["job_state"] == "RUNNING"
    assert seen["checkpointed"]["checkpoint_path"].startswith(
        f"file:{zk_deployed.workdir}/checkpoints/{seen['running']['job_id']}/chk-")


def test_deferrable_mode_through_a_zookeeper_connection_reaches_each_level(
    zk_deployed: ZkDeployed, run_dag: Any
) -> None:
    job_id = zk_deployed.sensor(target="running").execute({})["job_id"]
    common = {"cluster_id": CLUSTER_ID, "ha": "zookeeper", "zookeeper_conn_id": "zk_flink",
              "flink_version": zk_deployed.version, "deferrable": True, "poke_interval": 1, "timeout": 120}
    tasks = {level: common | {"target": level} for level in LEVELS}
    tasks["launched_job"] = common | {"target": "running", "launch_task_id": "launch"}
    dag_run = run_dag(sensor_dag_source(tasks, launched={"cluster_id": CLUSTER_ID, "job_id": job_id.upper()}))

    assert task_states(dag_run) == {"launch": "success"} | {task_id: "success" for task_id in tasks}
    session, address = zk_deployed.published_leader()
    for level in LEVELS:
        details = xcom_value(dag_run, level)
        assert (details["leader_address"], details["session_id"]) == (address, session), level
    assert xcom_value(dag_run, "launched_job")["job_id"] == job_id  # the id the launch task pushed


def test_kill_9_makes_it_not_ready_when_the_node_goes_then_it_follows_the_new_leader(zk_deployed: ZkDeployed) -> None:
    old_session, old_address = zk_deployed.published_leader()
    os.kill(zk_deployed.clusters[0].jobmanager.pid, signal.SIGKILL)

    leader_sensor = zk_deployed.sensor(target="leader")
    try:
        # No new JobManager starts until this test starts one: the session timeout is the only way to not-ready.
        wait_until("the dead leader's ephemeral node goes", lambda: not leader_sensor.poke({}).is_done,
                   interval=0.5)
    finally:
        leader_sensor.on_kill()  # closes its ZooKeeper session, as the end of execute() does
    assert zk_deployed.published_leader() is None  # not-ready because the ephemeral node is gone

    events: list[dict[str, Any]] = []
    with structlog.testing.capture_logs() as logged:
        waiter = threading.Thread(target=lambda: events.append(run_trigger(
            240, cluster_id=CLUSTER_ID, ha="zookeeper", zookeeper_quorum=zk_deployed.zookeeper.hosts,
            flink_version=zk_deployed.version, target="running", poll_interval=1.0)))
        waiter.start()
        # The trigger's first "still waiting" line: it has read the (absent) leader and waits on its data watch
        # before the new JobManager exists.
        wait_until("the trigger reports not ready", lambda: events or [
            e for e in list(logged)
            if str(e.get("event", "")).startswith(f"Flink cluster {CLUSTER_ID}: still waiting for running")])
        assert not events, events
        new_cluster = zk_deployed.start_cluster()
        waiter.join(250)

    assert events and events[0]["status"] == "success", events
    new_session, new_address = zk_deployed.published_leader()
    assert new_session != old_session and new_address == new_cluster.rest_url != old_address
    details = events[0]["details"]
    assert (details["session_id"], details["leader_address"]) == (new_session, new_address)
    assert details["job_state"] == "RUNNING"


def test_checkpoints_are_registered_in_zookeeper_and_the_cluster_data_can_be_deleted(zk_deployed: ZkDeployed) -> None:
    job_id = zk_deployed.sensor(target="checkpointed").execute({})["job_id"]
    hook = FlinkZooKeeperHook("zk_flink")
    try:
        assert hook.checkpointed_job_ids(CLUSTER_ID, "/flink") == [job_id]
        assert hook.checkpointed_job_ids("no-such-cluster", "/flink") == []
        for cluster in zk_deployed.clusters:
            cluster.stop()
        assert hook.delete_cluster_data(CLUSTER_ID, "/flink")
        assert hook.get_conn().exists(f"/flink/{CLUSTER_ID}") is None
        assert hook.get_conn().exists("/flink") is not None  # only this cluster's data went
        assert not hook.delete_cluster_data(CLUSTER_ID, "/flink")
        assert hook.checkpointed_job_ids(CLUSTER_ID, "/flink") == []
    finally:
        hook.close()
