"""zookeeper_leader_path per Flink release layout and zookeeper_path joins (Flink's own ZooKeeperUtils is
compared in ``tests/integration/test_leader_zookeeper_against_flink.py``)."""

from __future__ import annotations

import pytest

from airflow_flink_k8s.core.zookeeper_paths import zookeeper_leader_path, zookeeper_path

JOB_ID = "00000000065fc7b00000000000000000"


@pytest.mark.parametrize(
    "version, component, path",
    [
        ("1.13.6", "restserver", "/flink/c/leader/rest_server_lock"),
        ("1.13.6", "resourcemanager", "/flink/c/leader/resource_manager_lock"),
        ("1.13.6", f"job-{JOB_ID}", f"/flink/c/leader/{JOB_ID}/job_manager_lock"),
        ("1.14.6", "dispatcher", "/flink/c/leader/dispatcher/connection_info"),
        ("1.14.6", f"job-{JOB_ID}", f"/flink/c/jobs/{JOB_ID}/leader/connection_info"),
        ("1.15.4", f"job-{JOB_ID}", f"/flink/c/leader/{JOB_ID}/connection_info"),
        ("1.18.1", "restserver", "/flink/c/leader/rest_server/connection_info"),
        ("1.19.0", f"job-{JOB_ID.upper()}", f"/flink/c/leader/job-{JOB_ID}/connection_info"),
    ],
)
def test_paths_of_older_versions(version, component, path):
    assert zookeeper_leader_path(version, "c", component) == path


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"flink_version": "1.12", "cluster_id": "c"}, "not readable"),
        ({"flink_version": "2.3", "cluster_id": "/"}, "cluster_id"),
        ({"flink_version": "2.3", "cluster_id": "c", "component": "rest_server"}, "component"),
        ({"flink_version": "2.3", "cluster_id": "c", "component": "job-123"}, "component"),
        ({"flink_version": "2.3", "cluster_id": "c", "root": "/a//b"}, "empty node name"),
    ],
)
def test_bad_path_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        zookeeper_leader_path(**kwargs)


def test_zookeeper_path_joins_like_flink():
    assert zookeeper_path("/flink/", "/default", "leader") == "/flink/default/leader"
    assert zookeeper_path("", "/") == "/"
