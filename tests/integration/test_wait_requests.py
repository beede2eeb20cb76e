"""The sensor's ``poke``, the trigger and the launch operator's ``wait_until`` run one wait (``flows.wait``): for the
same cluster state they make the same kinds of requests to the API server (and through it to Flink's REST API).

The cluster is the JobManager stand-in (a cheap fake Flink 2.3 JobManager: leader election, REST, job RUNNING, no
checkpoints) on the sandbox kubelet. How an object is read differs by design (``poke`` GETs the ConfigMap and lists
the pods; the async wait reads both from shared list+watch streams), so a request's kind is (method, resource,
subresource, REST path through the proxy), with a list or watch of a collection counted as a GET of that resource.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_flink_k8s.core.job_id import flink_default_ha_job_id
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.cluster_deletion import delete_cluster
from airflow_flink_k8s.flows.native_launcher import NativeLauncher
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s.operators import FlinkApplicationOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
from airflow_flink_k8s_sandbox.emulator import ADMIN_USER
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.sensor_support import run_trigger

NS = "flink"
CLUSTER = "same-wait"
JOB_ID = flink_default_ha_job_id(CLUSTER, "2.3.0")
RequestKind = tuple[str, str, str | None, str | None]


@pytest.fixture(scope="module")
def cluster(module_sandbox: LocalKubernetes, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKubernetes]:
    """The stand-in cluster, its leader published and its job RUNNING."""
    workdir = tmp_path_factory.mktemp("same-wait")
    spec = FlinkApplicationSpec.from_dict({
        "cluster_id": CLUSTER, "namespace": NS, "image": "sandbox/jobmanager-standin:2.3.0", "flink_version": "2.3.0",
        "jar_uri": "local:///opt/flink/usrlib/job.jar", "ha": "kubernetes", "ha_storage_dir": f"file://{workdir}/ha",
        "checkpoint_base_dir": f"file://{workdir}/checkpoints"})
    hook = FlinkKubernetesHook()
    deployment = NativeLauncher(hook).launch(spec, {}, {}, before_owned=lambda: None)
    sensor = FlinkJobManagerReadySensor(task_id="probe", cluster_id=CLUSTER, namespace=NS, target="running")
    module_sandbox.wait_for("the stand-in's job to run", lambda: sensor.poke({}).is_done or None, timeout=120)
    yield module_sandbox
    delete_cluster(hook, CLUSTER, NS, timeout=60, uid=deployment["metadata"]["uid"])


def _kinds(sandbox: LocalKubernetes, since: int) -> set[RequestKind]:
    """The kinds of request the waits made since ``since`` (the kubelet's and the stand-in's own are left out)."""
    kinds = set()
    for request in sandbox.emulator.requests(since):
        if request["user"] != ADMIN_USER:
            continue
        method = "GET" if request["watch"] else request["method"]
        rest_path = "/" + request["subpath"] if request["subresource"] == "proxy" else None
        kinds.add((method, request["resource"], request["subresource"], rest_path))
    return kinds


def _since(sandbox: LocalKubernetes) -> int:
    return int(sandbox.emulator.stats()["request_seq"])


class _TaskInstance:
    """The XCom side of a task instance, as ``FlinkApplicationOperator._wait`` uses it."""

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def xcom_pull(self, task_ids: str, key: str) -> Any:
        return self.xcom[key]


def _wait_until(target: str, timeout: float) -> Any:
    """The launch operator's non-deferred ``wait_until`` for the running cluster."""
    operator = FlinkApplicationOperator(
        task_id="launch", cluster_id=CLUSTER, namespace=NS, image="sandbox/jobmanager-standin:2.3.0",
        flink_version="2.3.0", jar_uri="local:///opt/flink/usrlib/job.jar", ha="kubernetes",
        ha_storage_dir="file:///unused/ha", wait_until=target, wait_timeout=timeout, wait_poll_interval=1,
        log_tail_lines=5, deferrable=False)
    context: Any = {"ti": _TaskInstance()}
    return operator._wait(context, operator.build_spec(NS), {"cluster_id": CLUSTER, "job_id": JOB_ID})


def _three_ways(sandbox: LocalKubernetes, target: str, timeout: float) -> dict[str, tuple[Any, set[RequestKind]]]:
    """(result or raised error, request kinds) of a sensor in poke mode, the trigger and ``wait_until``."""
    args = {"cluster_id": CLUSTER, "namespace": NS, "target": target, "job_id": JOB_ID, "log_tail_lines": 5}
    seen = {}
    since = _since(sandbox)
    try:
        seen["poke"] = FlinkJobManagerReadySensor(task_id="wait", poke_interval=1, timeout=timeout, **args).execute({})
    except AirflowSensorTimeout as error:
        seen["poke"] = error
    seen["poke"] = (seen["poke"], _kinds(sandbox, since))
    since = _since(sandbox)
    event = run_trigger(60, poll_interval=1.0, end_time=time.time() + timeout, **args)
    seen["trigger"] = (event, _kinds(sandbox, since))
    since = _since(sandbox)
    try:
        result: Any = _wait_until(target, timeout)
    except AirflowSensorTimeout as error:
        result = error
    seen["wait_until"] = (result, _kinds(sandbox, since))
    return seen


def test_a_ready_cluster_is_read_the_same_way_by_poke_trigger_and_wait_until(cluster: LocalKubernetes) -> None:
    seen = _three_ways(cluster, "running", timeout=60)
    proxy = ("GET", "services", "proxy")
    expected = {("GET", "configmaps", None, None), (*proxy, "/config"), (*proxy, f"/jobs/{JOB_ID}")}
    assert {way: kinds for way, (_, kinds) in seen.items()} == dict.fromkeys(seen, expected)
    assert seen["poke"][0]["job_state"] == seen["trigger"][0]["details"]["job_state"] == "RUNNING"
    assert seen["wait_until"][0]["ready"]["job_state"] == "RUNNING"


def test_a_wait_that_times_out_reads_the_same_things_and_reports_the_same(cluster: LocalKubernetes) -> None:
    # The stand-in's job never checkpoints here; a timeout must be above 0 (checked at construction).
    seen = _three_ways(cluster, "checkpointed", timeout=2)
    proxy = ("GET", "services", "proxy")
    expected = {("GET", "configmaps", None, None), (*proxy, "/config"), (*proxy, f"/jobs/{JOB_ID}"),
                (*proxy, f"/jobs/{JOB_ID}/checkpoints"), ("GET", "pods", None, None), ("GET", "pods", "log", None)}
    assert {way: kinds for way, (_, kinds) in seen.items()} == dict.fromkeys(seen, expected)
    event = seen["trigger"][0]
    assert event["status"] == "timeout"
    reports = [str(seen["poke"][0]), event["report"], str(seen["wait_until"][0])]
    assert {report.splitlines()[0] for report in reports} == {
        f"Flink cluster {NS}/{CLUSTER}: the JobManager did not reach 'checkpointed' before the timeout: "
        f"job {JOB_ID} has no completed checkpoint yet"}
    assert all("----- JobManager log: last " in report for report in reports)

