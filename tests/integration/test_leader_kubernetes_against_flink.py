"""parse_kubernetes_leader on ConfigMaps rendered by Flink's own code (its shaded fabric8 ConfigMapLock and
Serialization, KubernetesUtils' leader key and value encoding) for Flink 1.20 and 2.3."""

from __future__ import annotations

import copy
import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airflow_flink_k8s.core.leader import (
    LEADER_ANNOTATION,
    LeaderDataError,
    parse_kubernetes_leader,
)
from airflow_flink_k8s_sandbox.flink_dist import FLINK_VERSIONS_UNDER_TEST

# One ConfigMap per input line, as Flink's leader elector (fabric8 ConfigMapLock) and leader election driver
# (KubernetesUtils) write it. Input: TAB-separated cluster id, map name, holder, lease nanos, renew epoch micros,
# layout (new | old | none), component, address, session id. Output: the ConfigMap as JSON, one per line.
_RENDERER = r"""
import java.io.*;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.*;
import java.util.*;
import org.apache.flink.kubernetes.shaded.io.fabric8.kubernetes.api.model.ConfigMap;
import org.apache.flink.kubernetes.shaded.io.fabric8.kubernetes.client.extended.leaderelection.resourcelock
    .ConfigMapLock;
import org.apache.flink.kubernetes.shaded.io.fabric8.kubernetes.client.extended.leaderelection.resourcelock
    .LeaderElectionRecord;
import org.apache.flink.kubernetes.shaded.io.fabric8.kubernetes.client.utils.Serialization;
import org.apache.flink.kubernetes.utils.Constants;
import org.apache.flink.kubernetes.utils.KubernetesUtils;
import org.apache.flink.runtime.leaderelection.LeaderInformation;

public class LeaderConfigMaps {
    static final class Lock extends ConfigMapLock {
        Lock(String name) { super("default", name, "unused"); }
        ConfigMap render(LeaderElectionRecord record) { return toResource(record, getObjectMeta(null)); }
    }

    @SuppressWarnings("unchecked")
    public static void main(String[] args) throws Exception {
        Method labels = Arrays.stream(KubernetesUtils.class.getMethods())
            .filter(m -> m.getName().equals("getConfigMapLabels")).findFirst().get();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.split("\t", -1);
            ZonedDateTime renew = Instant.EPOCH.plusNanos(Long.parseLong(f[4]) * 1000).atZone(ZoneOffset.UTC);
            LeaderElectionRecord record =
                new LeaderElectionRecord(f[2], Duration.ofNanos(Long.parseLong(f[3])), renew, renew, 1);
            ConfigMap map = new Lock(f[1]).render(record);
            map.getMetadata().setLabels((Map<String, String>) (labels.getParameterCount() == 2
                ? labels.invoke(null, f[0], "high-availability") : labels.invoke(null, f[0])));
            Map<String, String> data = new HashMap<>();
            if (f[5].equals("new")) {
                data.put(KubernetesUtils.createSingleLeaderKey(f[6]),
                    KubernetesUtils.encodeLeaderInformation(LeaderInformation.known(UUID.fromString(f[8]), f[7])));
            } else if (f[5].equals("old")) {
                data.put(Constants.LEADER_ADDRESS_KEY, f[7]);
                data.put(Constants.LEADER_SESSION_ID_KEY, f[8]);
            }
            map.setData(data);
            out.println(Serialization.asJson(map));
        }
    }
}
"""

NOW = datetime(2026, 11, 24, 1, 23, 45, 678000, tzinfo=UTC)
SESSION = uuid.UUID("1f0e6b5a-3c2d-4e8f-9a1b-2c3d4e5f6a7b")
HOLDER = "0bd1c3a6-54f7-4b11-9e2c-8b1f2a3c4d5e"
REST = "http://10.244.0.17:8081"
JOB_ID = "00000000065fc7b00000000000000000"
LEASE = timedelta(seconds=15)


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.fixture(scope="session")
def flink_configmap(flink_home, tmp_path_factory):
    """``render(version, **fields)`` -> the ConfigMap dict Flink's code renders (cached per version)."""
    compiled: dict[str, Path] = {}

    def render(
        version: str,
        *,
        name: str = "probe-cluster-config-map",
        holder: str = HOLDER,
        lease: timedelta = LEASE,
        renewed: datetime = NOW,
        layout: str = "new",
        component: str = "restserver",
        address: str = REST,
        session: uuid.UUID = SESSION,
    ) -> dict:
        classpath = f"{flink_home(version)}/lib/*"
        if version not in compiled:
            build = tmp_path_factory.mktemp(f"leader-configmaps-{version}")
            (build / "LeaderConfigMaps.java").write_text(_RENDERER)
            subprocess.run(
                ["javac", "-cp", classpath, "-d", str(build), str(build / "LeaderConfigMaps.java")], check=True
            )
            compiled[version] = build
        fields = ["probe", name, holder, str(lease // timedelta(microseconds=1) * 1000), str(_micros(renewed)),
                  layout, component, address, str(session)]
        result = subprocess.run(
            ["java", "-cp", f"{compiled[version]}:{classpath}", "LeaderConfigMaps"],
            input="\t".join(fields) + "\n", capture_output=True, text=True, check=True,
        )
        return json.loads(result.stdout)

    return render


@pytest.fixture(scope="session")
def live_maps(flink_configmap):
    """The cluster ConfigMap of a live restserver leader, as each version under test writes it."""
    return {version: flink_configmap(version) for version in FLINK_VERSIONS_UNDER_TEST}


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
def test_live_leader(live_maps, version):
    leader = parse_kubernetes_leader(live_maps[version], now=NOW + timedelta(seconds=5))
    assert leader is not None
    assert (leader.address, leader.session_id, leader.holder) == (REST, SESSION, HOLDER)
    assert (leader.renew_time, leader.lease_duration) == (NOW, LEASE)
    assert leader.rest_url == REST
    assert leader.lease_expires_at == NOW + LEASE


def test_lease_duration_format_differs_by_version(live_maps):
    """The fact the parser copes with: fabric8 in 1.20 writes seconds, in 2.3 an ISO-8601 string."""
    records = {v: json.loads(m["metadata"]["annotations"][LEADER_ANNOTATION]) for v, m in live_maps.items()}
    assert records["1.20.3"]["leaseDuration"] == 15
    assert records["2.3.0"]["leaseDuration"] == "PT15S"
    for record in records.values():
        assert record["renewTime"] == "2026-11-24T01:23:45.678000Z"


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
@pytest.mark.parametrize(
    "lease, skew, age, alive",
    [
        # renewTime + leaseDuration + skew >= now: still the leader; one microsecond later: stale.
        (LEASE, timedelta(seconds=2), timedelta(seconds=17), True),
        (LEASE, timedelta(seconds=2), timedelta(seconds=17, microseconds=1), False),
        (LEASE, timedelta(0), timedelta(seconds=15), True),
        (LEASE, timedelta(0), timedelta(seconds=15, microseconds=1), False),
        (LEASE, timedelta(seconds=30), timedelta(seconds=44), True),
        (timedelta(seconds=15, milliseconds=500), timedelta(0), timedelta(seconds=15, milliseconds=500), True),
        (timedelta(seconds=15, milliseconds=500), timedelta(0), timedelta(seconds=15, milliseconds=501), False),
        (timedelta(minutes=1, seconds=30), timedelta(0), timedelta(seconds=89), True),
        # A reader whose clock is behind the JobManager's sees a renewTime in the future: still alive.
        (LEASE, timedelta(seconds=2), -timedelta(seconds=30), True),
    ],
)
def test_lease_expiry_boundaries(flink_configmap, version, lease, skew, age, alive):
    configmap = flink_configmap(version, lease=lease)
    leader = parse_kubernetes_leader(configmap, now=NOW + age, skew=skew)
    assert (leader is not None) == alive
    if alive:
        assert leader.lease_duration == lease


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
def test_released_lock_is_no_leader_even_with_stale_data(flink_configmap, version):
    # On a clean stop fabric8 writes an empty holder; the restserver key stays behind.
    configmap = flink_configmap(version, holder="", lease=timedelta(seconds=1))
    assert configmap["data"]
    assert parse_kubernetes_leader(configmap, now=NOW) is None


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
def test_components(flink_configmap, version):
    dispatcher = "pekko.tcp://flink@10.244.0.17:6123/user/rpc/dispatcher_1"
    configmap = flink_configmap(version, component="dispatcher", address=dispatcher)
    assert parse_kubernetes_leader(configmap, now=NOW) is None  # no restserver key in it
    leader = parse_kubernetes_leader(configmap, "dispatcher", now=NOW)
    assert leader.address == dispatcher
    with pytest.raises(LeaderDataError, match="not a REST base URL"):
        _ = leader.rest_url


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
@pytest.mark.parametrize("key_name", [f"job-{JOB_ID}", JOB_ID], ids=["1.19+ key", "1.15-1.18 key"])
def test_job_leader_keys(flink_configmap, version, key_name):
    jobmaster = "pekko.tcp://flink@10.244.0.17:6123/user/rpc/jobmanager_2"
    configmap = flink_configmap(version, component=key_name, address=jobmaster)
    leader = parse_kubernetes_leader(configmap, f"job-{JOB_ID.upper()}", now=NOW)
    assert leader.address == jobmaster
    assert parse_kubernetes_leader(configmap, "job-" + "1" * 32, now=NOW) is None


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
def test_address_with_commas_is_split_at_the_first(flink_configmap, version):
    configmap = flink_configmap(version, address="http://10.0.0.1:8081/a,b")
    assert parse_kubernetes_leader(configmap, now=NOW).address == "http://10.0.0.1:8081/a,b"


def test_old_layout(flink_configmap):
    """1.13-1.14: a map per component with 'address' and 'sessionId' (rendered with 1.20's fabric8)."""
    version = FLINK_VERSIONS_UNDER_TEST[-1]
    configmap = flink_configmap(version, name="probe-restserver-leader", layout="old")
    leader = parse_kubernetes_leader(configmap, now=NOW)
    assert (leader.address, leader.session_id, leader.holder) == (REST, SESSION, HOLDER)
    assert parse_kubernetes_leader(configmap, now=NOW + timedelta(seconds=18)) is None
    with pytest.raises(LeaderDataError, match=r"not the 1\.13-1\.14 leader map of component dispatcher"):
        parse_kubernetes_leader(configmap, "dispatcher", now=NOW)

    job_map = flink_configmap(version, name=f"probe-{JOB_ID}-jobmanager-leader", layout="old")
    assert parse_kubernetes_leader(job_map, f"job-{JOB_ID}", now=NOW).session_id == SESSION

    empty = flink_configmap(version, name="probe-restserver-leader", layout="none")
    assert parse_kubernetes_leader(empty, now=NOW) is None


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
def test_map_without_leader_entry(flink_configmap, version):
    assert parse_kubernetes_leader(flink_configmap(version, layout="none"), now=NOW) is None


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
def test_v1configmap_objects_give_the_same_answer(live_maps, version):
    import kubernetes.client as sync_models
    import kubernetes_asyncio.client as async_models

    configmap = live_maps[version]
    expected = parse_kubernetes_leader(configmap, now=NOW)
    for models in (sync_models, async_models):
        metadata = configmap["metadata"]
        obj = models.V1ConfigMap(
            metadata=models.V1ObjectMeta(
                name=metadata["name"], annotations=metadata["annotations"], labels=metadata["labels"]
            ),
            data=configmap["data"],
        )
        assert parse_kubernetes_leader(obj, now=NOW) == expected


def _with_record(configmap: dict, **changes) -> dict:
    changed = copy.deepcopy(configmap)
    annotations = changed["metadata"]["annotations"]
    record = json.loads(annotations[LEADER_ANNOTATION])
    record.update(changes)
    annotations[LEADER_ANNOTATION] = json.dumps(record)
    return changed


def _with_data(configmap: dict, data: dict) -> dict:
    changed = copy.deepcopy(configmap)
    changed["data"] = data
    return changed


def _without_annotation(configmap: dict) -> dict:
    changed = copy.deepcopy(configmap)
    del changed["metadata"]["annotations"][LEADER_ANNOTATION]
    return changed


def _renamed(configmap: dict, name: str) -> dict:
    changed = copy.deepcopy(configmap)
    changed["metadata"]["name"] = name
    return changed


KEY = "org.apache.flink.k8s.leader.restserver"
MALFORMED = {
    "lease as plain text": (lambda m: _with_record(m, leaseDuration="15s"), "leaseDuration: not an ISO-8601"),
    "negative ISO lease": (lambda m: _with_record(m, leaseDuration="PT-15S"), "leaseDuration: not an ISO-8601"),
    "negative seconds": (lambda m: _with_record(m, leaseDuration=-15), "must not be negative"),
    "boolean lease": (lambda m: _with_record(m, leaseDuration=True), "leaseDuration: expected seconds"),
    "missing lease": (lambda m: _with_record(m, leaseDuration=None), "leaseDuration is missing"),
    "renewTime without zone": (lambda m: _with_record(m, renewTime="2026-11-24T01:23:45.678000"), "renewTime"),
    "renewTime not a time": (lambda m: _with_record(m, renewTime="yesterday"), "renewTime"),
    "renewTime impossible": (lambda m: _with_record(m, renewTime="2026-02-30T01:00:00.000000Z"), "renewTime"),
    "holder not a string": (lambda m: _with_record(m, holderIdentity=7), "holderIdentity must be a string"),
    "annotation not JSON": (
        lambda m: {**m, "metadata": {**m["metadata"], "annotations": {LEADER_ANNOTATION: "{holder"}}},
        "not JSON",
    ),
    "annotation missing": (_without_annotation, "annotation control-plane.alpha.kubernetes.io/leader is missing"),
    "value without comma": (lambda m: _with_data(m, {KEY: str(SESSION)}), "expected '<session-uuid>,<address>'"),
    "value with empty address": (lambda m: _with_data(m, {KEY: f"{SESSION},"}), "expected '<session-uuid>,<addr"),
    "session not a UUID": (lambda m: _with_data(m, {KEY: f"1-2-3-4-5,{REST}"}), "expected a UUID"),
    "both job keys": (
        lambda m: _with_data(m, {f"org.apache.flink.k8s.leader.job-{JOB_ID}": f"{SESSION},a",
                                 f"org.apache.flink.k8s.leader.{JOB_ID}": f"{SESSION},a"}),
        "both the 1.19\\+ and the 1.15-1.18 leader key",
    ),
    "not a leader map": (lambda m: _renamed(m, "flink-config-probe"), "is not a Flink HA leader map"),
    "no name": (lambda m: {**m, "metadata": {}}, "metadata.name is missing"),
    "data not strings": (lambda m: _with_data(m, {KEY: 1}), "data must map names to strings"),
}


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_data_raises(live_maps, version, case):
    damage, message = MALFORMED[case]
    component = f"job-{JOB_ID}" if case == "both job keys" else "restserver"
    with pytest.raises(LeaderDataError, match=message):
        parse_kubernetes_leader(damage(live_maps[version]), component, now=NOW)


@pytest.mark.parametrize("version", FLINK_VERSIONS_UNDER_TEST)
def test_lease_numbers_and_strings_are_interchangeable(live_maps, version):
    for lease in (15, 15.0, "PT15S", "PT0H0M15.000S"):
        leader = parse_kubernetes_leader(_with_record(live_maps[version], leaseDuration=lease), now=NOW)
        assert leader.lease_duration == LEASE


def test_renew_time_with_offset(live_maps):
    changed = _with_record(live_maps["2.3.0"], renewTime="2026-11-24T02:23:45.678+01:00")
    assert parse_kubernetes_leader(changed, now=NOW).renew_time == NOW


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"component": "rest"}, ValueError, "component: expected one of"),
        ({"component": "job-abc"}, ValueError, "component: expected one of"),
        ({"now": datetime(2026, 11, 24)}, ValueError, "now: must be timezone-aware"),
        ({"skew": timedelta(seconds=-1)}, ValueError, "skew: must not be negative"),
    ],
)
def test_bad_arguments(live_maps, kwargs, error, message):
    with pytest.raises(error, match=message):
        parse_kubernetes_leader(live_maps["2.3.0"], **{"now": NOW, **kwargs})


