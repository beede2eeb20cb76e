"""decode_zookeeper_leader on bytes recorded from real Flink clusters, and what is not a leader record (bytes
real Java writes are in ``tests/integration/test_leader_zookeeper_against_flink.py``)."""

from __future__ import annotations

import json

import pytest

from airflow_flink_k8s.core.leader import LeaderDataError, decode_zookeeper_leader
from airflow_flink_k8s.core.zookeeper_paths import zookeeper_leader_path
from tests.paths import DATA_DIR as TEST_DATA

DATA_DIR = TEST_DATA / "ha"


@pytest.mark.parametrize("data", [b"", None])
def test_empty_data_is_no_leader(data):
    assert decode_zookeeper_leader(data) is None


def test_not_java_serialization_is_rejected():
    with pytest.raises(LeaderDataError, match="not a Java serialization stream"):
        decode_zookeeper_leader(b'{"address": "http://10.0.0.1:8081"}')


_RECORDED = sorted(DATA_DIR.glob("zookeeper-*.bin"))


_COMPONENTS = {"rest_server": "restserver", "dispatcher": "dispatcher", "resource_manager": "resourcemanager"}


@pytest.mark.parametrize("recording", _RECORDED, ids=[path.stem for path in _RECORDED])
def test_recorded_flink_bytes(recording):
    cluster = json.loads(recording.with_suffix(".json").read_text())
    component = _COMPONENTS.get(cluster["component"]) or f"job-{cluster['job_id']}"
    path = zookeeper_leader_path(cluster["flink_version"], cluster["cluster_id"], component)
    assert path == cluster["zookeeper_path"]

    leader = decode_zookeeper_leader(recording.read_bytes())
    assert leader is not None
    if component == "restserver":
        assert leader.rest_url == cluster["rest_url"]
    else:
        assert leader.address.startswith(f"pekko.tcp://flink@{cluster['jobmanager_rpc_address']}/user/rpc/")
        with pytest.raises(LeaderDataError, match="not a REST base URL"):
            _ = leader.rest_url


@pytest.mark.parametrize("version", sorted({path.name.split("-")[1] for path in _RECORDED}))
def test_recorded_components_share_one_leader_session(version):
    # 1.15+ elects one leader per JobManager process for all components.
    sessions = {decode_zookeeper_leader(path.read_bytes()).session_id
                for path in _RECORDED if f"-{version}-" in path.name}
    assert len(sessions) == 1
