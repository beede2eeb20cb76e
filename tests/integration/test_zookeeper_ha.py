"""Real Flink standalone application clusters with ZooKeeper HA, against a real ZooKeeper (both versions)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from kazoo.client import KazooClient

from airflow_flink_k8s_sandbox.processes import pid_exists
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer, four_letter_word
from tests.fixtures.flink import ClusterFactory, flink_versions

CLUSTER_ID = "ha-probe"
T = TypeVar("T")


def _wait_for(condition: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not seen within {timeout:.0f} s")


@pytest.mark.zookeeper
def test_zookeeper_serves_on_loopback_and_stops_by_pid(zookeeper: ZooKeeperServer) -> None:
    host, _, port = zookeeper.hosts.partition(":")
    assert host == "127.0.0.1"
    assert four_letter_word(host, int(port), "ruok") == "imok"
    client = KazooClient(hosts=zookeeper.hosts)
    client.start(timeout=10)
    try:
        client.create("/probe", b"payload")
        assert client.get("/probe")[0] == b"payload"
    finally:
        client.stop()
        client.close()

    pid = zookeeper.pid
    zookeeper.stop()
    assert not pid_exists(pid)
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()


@pytest.mark.flink
@pytest.mark.zookeeper
@flink_versions
def test_application_cluster_publishes_leader_in_zookeeper_and_checkpoints(
    flink_version: str,
    zookeeper: ZooKeeperServer,
    flink_application_cluster: ClusterFactory,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    checkpoint_dir = tmp_path / "checkpoints"
    started = time.monotonic()
    cluster = flink_application_cluster(
        flink_version,
        {
            "high-availability.type": "zookeeper",
            "high-availability.zookeeper.quorum": zookeeper.hosts,
            "high-availability.storageDir": f"file://{tmp_path / 'ha'}",
            "high-availability.cluster-id": CLUSTER_ID,
            "execution.checkpointing.dir": f"file://{checkpoint_dir}",
        },
        program_args=["--start-offset", "42", "--rate", "20"],
    )
    zk = KazooClient(hosts=zookeeper.hosts)
    zk.start(timeout=10)
    try:
        rest_node = f"/flink/{CLUSTER_ID}/leader/rest_server/connection_info"
        leader = _wait_for(lambda: zk.exists(rest_node) and zk.get(rest_node)[0], 60,
                           f"leader data in {rest_node}\n{cluster.log_report()}")
        assert leader.startswith(b"\xac\xed\x00\x05"), "not a Java serialization stream"
        assert cluster.rest_url.encode() in leader

        job = cluster.wait_for_job("RUNNING", timeout=90)
        running_after = time.monotonic() - started
        assert job["name"] == "checkpointing-job"
        first = _wait_for(lambda: sorted((checkpoint_dir / job["jid"]).glob("chk-*")), 60,
                          f"a chk-N dir under {checkpoint_dir / job['jid']}\n{cluster.log_report()}")
        checkpoint_after = time.monotonic() - started
        assert first[0].is_dir()
        record_property("seconds_to_running", round(running_after, 1))
        record_property("seconds_to_first_checkpoint", round(checkpoint_after, 1))
        print(f"Flink {flink_version}: RUNNING after {running_after:.1f} s, "
              f"first checkpoint after {checkpoint_after:.1f} s")
        assert "checkpointing-job: start offset 42, rate 20.0 records/s" in (
            cluster.log_dir / "jobmanager.console.log").read_text()

        pids = cluster.pids
        cluster.stop()
        assert not [pid for pid in pids if pid_exists(pid)]
        # A clean stop closes the JobManager's session, so its ephemeral leader data goes with it.
        _wait_for(lambda: not zk.exists(rest_node), 30, f"{rest_node} removed after stop")
    finally:
        zk.stop()
        zk.close()
