"""parse_kubernetes_leader on HA ConfigMaps recorded from real Flink clusters, and the ISO-8601 durations it
reads (ConfigMaps rendered by Flink's own code are in ``tests/integration/test_leader_kubernetes_against_flink.py``)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from airflow_flink_k8s.core.leader import (
    LEADER_ANNOTATION,
    LeaderDataError,
    parse_iso8601_duration,
    parse_kubernetes_leader,
)
from tests.paths import DATA_DIR as TEST_DATA

DATA_DIR = TEST_DATA / "ha"
LEASE = timedelta(seconds=15)


def test_not_a_configmap():
    with pytest.raises(TypeError, match="expected a ConfigMap dict or V1ConfigMap"):
        parse_kubernetes_leader("probe-cluster-config-map")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("PT15S", timedelta(seconds=15)),
        ("PT0.001S", timedelta(milliseconds=1)),
        ("PT1M30.5S", timedelta(seconds=90.5)),
        ("PT8760H", timedelta(days=365)),
        ("P2DT3H", timedelta(days=2, hours=3)),
    ],
)
def test_iso8601_durations_java_writes(text, expected):
    assert parse_iso8601_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "P1Y", "P1M", "P1W", "PT1.5M", "PT-1S", "pt15s", "PT15", "15"])
def test_iso8601_durations_rejected(text):
    with pytest.raises(ValueError, match="not an ISO-8601 duration"):
        parse_iso8601_duration(text)


# ConfigMaps recorded from real Flink clusters by the harness: tests/data/ha/configmap-<version>.json (the
# cluster map), .meta.json (what the cluster used) and -job.json (the per-job checkpoint map).
_RECORDED = sorted(p for p in DATA_DIR.glob("configmap-*.json") if re.fullmatch(r"configmap-[0-9.]+", p.stem))


@pytest.mark.parametrize("recording", _RECORDED, ids=[path.stem for path in _RECORDED])
def test_recorded_configmaps(recording):
    configmap = json.loads(recording.read_text())
    cluster = json.loads(recording.with_name(f"{recording.stem}.meta.json").read_text())
    record = json.loads(configmap["metadata"]["annotations"][LEADER_ANNOTATION])
    renewed = datetime.fromisoformat(record["renewTime"])

    leader = parse_kubernetes_leader(configmap, now=renewed + timedelta(seconds=1))
    assert leader.rest_url == cluster["rest_url"]
    assert (leader.holder, leader.renew_time, leader.lease_duration) == (record["holderIdentity"], renewed, LEASE)
    for component in ("dispatcher", "resourcemanager", f"job-{cluster['job_id']}"):
        other = parse_kubernetes_leader(configmap, component, now=renewed)
        assert other.address.startswith("pekko.tcp://flink@127.0.0.1:")
        assert other.session_id == leader.session_id  # one leader election for all components since 1.15
    # 15 s lease + 2 s default skew: stale one microsecond after that.
    assert parse_kubernetes_leader(configmap, now=renewed + timedelta(seconds=17)) is not None
    assert parse_kubernetes_leader(configmap, now=renewed + timedelta(seconds=17, microseconds=1)) is None


@pytest.mark.parametrize("recording", _RECORDED, ids=[path.stem for path in _RECORDED])
def test_recorded_job_map_is_not_taken_for_a_leader_map(recording):
    job_map = json.loads(recording.with_name(f"{recording.stem}-job.json").read_text())
    with pytest.raises(LeaderDataError, match="is not a Flink HA leader map"):
        parse_kubernetes_leader(job_map, now=datetime.now(UTC))
