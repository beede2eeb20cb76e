"""Readiness evaluated against a real Flink application cluster with ZooKeeper HA, level by level."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from airflow_flink_k8s.core.leader import decode_zookeeper_leader
from airflow_flink_k8s.core.readiness import (
    JobTerminalError,
    RestRequest,
    RestResponse,
    evaluate_readiness,
    run_evaluation,
)
from airflow_flink_k8s.core.zookeeper_paths import zookeeper_leader_path
from airflow_flink_k8s_sandbox.flink_dist import FLINK_VERSIONS_UNDER_TEST


def _http_fetch(base_url: str):
    def fetch(request: RestRequest) -> RestResponse:
        try:
            with urllib.request.urlopen(base_url + request.path, timeout=5) as answer:
                return RestResponse(answer.status, json.loads(answer.read() or b"null"))
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                return RestResponse(error.code, json.loads(body))
            except ValueError:
                return RestResponse(error.code, body.decode(errors="replace"))
        except (urllib.error.URLError, OSError) as error:
            return RestResponse(None, error=str(error))

    return fetch


@pytest.mark.flink
@pytest.mark.zookeeper
@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
def test_real_cluster_with_zookeeper_ha(flink_application_cluster, zookeeper, tmp_path, version):
    from kazoo.client import KazooClient

    cluster_id = "readiness-probe"
    checkpoints_dir = tmp_path / "checkpoints"
    cluster = flink_application_cluster(version, {
        "high-availability.type": "zookeeper",
        "high-availability.zookeeper.quorum": zookeeper.hosts,
        "high-availability.storageDir": f"file://{tmp_path / 'ha'}",
        "high-availability.cluster-id": cluster_id,
        "execution.checkpointing.dir": f"file://{checkpoints_dir}",
        "execution.checkpointing.interval": "1s",
        "execution.shutdown-on-application-finish": "false",
    })
    client = KazooClient(hosts=zookeeper.hosts)
    client.start(timeout=15)
    try:
        deadline = time.monotonic() + 150
        readiness = None
        while time.monotonic() < deadline:
            data = client.exists(zookeeper_leader_path(version, cluster_id)) and \
                client.get(zookeeper_leader_path(version, cluster_id))[0]
            leader = decode_zookeeper_leader(data or b"")
            readiness = run_evaluation(evaluate_readiness(leader, "checkpointed"), _http_fetch(cluster.rest_url))
            if readiness.ready:
                break
            time.sleep(1)
        assert readiness is not None and readiness.ready, readiness and readiness.reason
        assert readiness.rest_url == cluster.rest_url  # the address Flink published is the one serving REST
        assert readiness.flink_version == version
        assert readiness.job_state == "RUNNING"
        assert readiness.checkpoint_path.startswith(f"file:{checkpoints_dir}/{readiness.job_id}/chk-")

        urllib.request.urlopen(urllib.request.Request(f"{cluster.rest_url}/jobs/{readiness.job_id}?mode=cancel",
                                                      method="PATCH"), timeout=5).close()
        with pytest.raises(JobTerminalError) as failure:
            for _ in range(60):
                run_evaluation(evaluate_readiness(leader, "running"), _http_fetch(cluster.rest_url))
                time.sleep(1)
        assert (failure.value.job_id, failure.value.state.value) == (readiness.job_id, "CANCELED")
    finally:
        client.stop()
        client.close()
