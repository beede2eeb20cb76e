"""Acceptance: ``running`` means the job's tasks run (real Flink on the RBAC-enforcing sandbox, real Airflow).

* Healthy: the launch operator's ``wait_until="running"`` (deferred to the trigger) and the sensor in poke mode return
  only once every vertex of the job is RUNNING; REST ``/jobs/<id>`` read by the test afterwards shows every task
  RUNNING and ``/overview`` at least one registered TaskManager.
* TaskManager pods refused: the Flink service account's Role lacks ``create pods`` (``docs/rbac/flink-jobmanager.yaml``
  minus that verb), so Flink's ResourceManager can start no TaskManager and the job stays RUNNING with every task
  SCHEDULED. The wait must not succeed: it fails once ``unscheduled_timeout`` has passed (not at the wait's timeout),
  naming the tasks that do not run and "0 TaskManagers registered", with the JobManager log showing Flink's own
  refused pod create.
* Over a ResourceQuota: the namespace allows one pod, the JobManager's, so the API server refuses Flink's
  TaskManager pod create with "exceeded quota"; the deferred wait fails the same way, the quota's message in the
  JobManager log.
* TaskManager pods the scheduler cannot place: ``taskmanager_node_selector`` asks for a node pool no node has, so
  the pods Flink creates stay Pending (``Unschedulable``); the poking sensor on 1.20 fails with each pending pod's
  condition and kube-scheduler's ``FailedScheduling`` events in the report.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException

from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.flink

HEALTHY, REFUSED, QUOTA, PENDING = "tasks-healthy", "tasks-refused", "tasks-quota", "tasks-pending"
NOWHERE = {"pool": "highmem"}  # a node selector the sandbox node does not match
FLINK_SA = "flink"
#: Used where TaskManager pods are refused: the timer starts when a step first sees tasks waiting for a slot, so
#: it only has to be far below the wait's timeout to show which of the two failed the wait.
UNSCHEDULED_TIMEOUT = 30
WAIT_TIMEOUT = 1200  # far longer than the unscheduled timeout: failing at it would show in the report ("timeout")

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator
with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationOperator(task_id="launch", retries=0, **{kwargs!r})
"""


def _flink_role(namespace: str, *, create_pods: bool) -> list[dict[str, Any]]:
    role = yaml.safe_load((REPO_ROOT / "docs" / "rbac" / "flink-jobmanager.yaml").read_text())
    role["metadata"]["namespace"] = namespace
    if not create_pods:
        for rule in role["rules"]:
            if "pods" in rule["resources"]:
                rule["verbs"] = [verb for verb in rule["verbs"] if verb != "create"]
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": role["metadata"]["name"], "namespace": namespace},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]},
               "subjects": [{"kind": "ServiceAccount", "namespace": namespace, "name": FLINK_SA}]}
    return [role, binding]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKubernetes]:
    """RBAC enforced for the Flink pods (Airflow uses the unrestricted admin kubeconfig): the full Flink Role in
    ``tasks-healthy``, the Role without ``create pods`` in ``tasks-refused``."""
    k8s = LocalKubernetes.start(tmp_path_factory.mktemp("tasks") / "k8s",
                                namespaces=(HEALTHY, REFUSED, QUOTA, PENDING), rbac=True)
    try:
        k8s.set_rbac(_flink_role(HEALTHY, create_pods=True) + _flink_role(REFUSED, create_pods=False)
                     + _flink_role(QUOTA, create_pods=True) + _flink_role(PENDING, create_pods=True))
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
                {"conn_type": "kubernetes", "extra": {"kube_config_path": str(k8s.kubeconfig)}}))
            yield k8s
    finally:
        survivors = k8s.stop()
    assert not survivors, f"processes survived: {survivors}"


def _launch_args(k8s: LocalKubernetes, namespace: str, cluster_id: str, version: str, **extra: Any) -> dict[str, Any]:
    work = k8s.workdir / cluster_id
    return {"cluster_id": cluster_id, "namespace": namespace, "image": f"flink:{version}",
            "jar_uri": "local:///opt/flink/usrlib/checkpointing-job.jar", "flink_version": version,
            "ha": "kubernetes", "ha_storage_dir": f"file://{work}/ha", "checkpoint_base_dir": f"file://{work}/chk",
            "checkpoint_interval": "5 s", "jobmanager_memory": "1024m", "taskmanager_memory": "1024m",
            "service_account": FLINK_SA, **extra}


def _run_launch(run_dag: DagRunner, kwargs: dict[str, Any]) -> Any:
    return run_dag(DAG.format(dag_id=f"tasks_{kwargs['cluster_id'].replace('-', '_')}", kwargs=kwargs))


@pytest.fixture
def cleanup(sandbox: LocalKubernetes) -> Iterator[list[tuple[str, str]]]:
    """Clusters to delete after the test (two cores: never leave JobManagers running)."""
    clusters: list[tuple[str, str]] = []
    yield clusters
    for namespace, cluster_id in clusters:
        request = urllib.request.Request(f"{sandbox.url}/apis/apps/v1/namespaces/{namespace}/deployments/{cluster_id}",
                                         method="DELETE", headers=ADMIN_AUTHORIZATION)
        try:
            urllib.request.urlopen(request, timeout=30).close()
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
        sandbox.wait_for(f"the pods of {cluster_id} gone",
                         lambda ns=namespace, cid=cluster_id: not sandbox.pods(ns, f"app={cid}"), 180)


def _sensor(namespace: str, cluster_id: str, version: str, job_id: str, **extra: Any) -> FlinkJobManagerReadySensor:
    return FlinkJobManagerReadySensor(task_id="wait", cluster_id=cluster_id, namespace=namespace,
                                      flink_version=version, target="running", job_id=job_id, poke_interval=1,
                                      timeout=WAIT_TIMEOUT, mode="poke", **extra)


# ----------------------------------------------------------------------------------------------- healthy
@pytest.mark.parametrize(("version", "mode"), [("2.3.0", "deferrable"), ("2.3.0", "poke"), ("1.20.3", "deferrable")])
def test_running_returns_only_once_every_task_runs(sandbox: LocalKubernetes, run_dag: DagRunner,
                                                   cleanup: list[tuple[str, str]], version: str, mode: str) -> None:
    cluster_id = f"ok-{mode[:5]}-{version.replace('.', '-')}"
    cleanup.append((HEALTHY, cluster_id))
    wait = {"wait_until": "running", "deferrable": True, "wait_timeout": WAIT_TIMEOUT, "wait_poll_interval": 1,
            "unscheduled_timeout": 600} if mode == "deferrable" else {}
    dag_run = _run_launch(run_dag, _launch_args(sandbox, HEALTHY, cluster_id, version, **wait))
    assert task_states(dag_run) == {"launch": "success"}
    job_id = xcom_value(dag_run, "launch")["job_id"]
    if mode == "poke":
        details = _sensor(HEALTHY, cluster_id, version, job_id).execute({})
        assert details["job_id"] == job_id

    job = sandbox.flink_rest(HEALTHY, cluster_id, f"/jobs/{job_id}", not_yet=())
    assert job["state"] == "RUNNING"
    assert job["vertices"], "the job has no vertices"
    for vertex in job["vertices"]:
        assert vertex["status"] == "RUNNING", vertex
        assert vertex["tasks"]["RUNNING"] == vertex["parallelism"] == sum(vertex["tasks"].values()), vertex
    assert sandbox.flink_rest(HEALTHY, cluster_id, "/overview", not_yet=())["taskmanagers"] >= 1


# ----------------------------------------------------------------------------------------------- TaskManagers refused
def _assert_no_task_runs(text: str, sandbox: LocalKubernetes, namespace: str, cluster_id: str, job_id: str) -> None:
    """What Flink says (the job RUNNING, none of its tasks, no TaskManager) and the report's summary of it."""
    job = sandbox.flink_rest(namespace, cluster_id, f"/jobs/{job_id}", not_yet=())
    assert job["state"] == "RUNNING"  # what the old check accepted
    total = sum(sum(vertex["tasks"].values()) for vertex in job["vertices"])
    assert all(vertex["tasks"]["RUNNING"] == 0 for vertex in job["vertices"]), job["vertices"]
    assert sandbox.flink_rest(namespace, cluster_id, "/overview", not_yet=())["taskmanagers"] == 0

    assert f"Flink cluster {namespace}/{cluster_id}: job {job_id} has had tasks waiting for a slot for " in text
    assert f"(unscheduled_timeout {UNSCHEDULED_TIMEOUT} s)" in text
    assert f"0 of {total} tasks running" in text
    assert "0 TaskManagers registered" in text
    assert "before the timeout" not in text  # failed on the unscheduled timeout, not on the wait's timeout


def _refused_pod_creates(sandbox: LocalKubernetes, namespace: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.emulator.requests() if r.get("status") == 403 and r["resource"] == "pods"
            and r["verb"] == "create" and r["user"] == f"system:serviceaccount:{namespace}:{FLINK_SA}"]


def _assert_unscheduled_report(text: str, sandbox: LocalKubernetes, cluster_id: str, job_id: str) -> None:
    _assert_no_task_runs(text, sandbox, REFUSED, cluster_id, job_id)
    assert _refused_pod_creates(sandbox, REFUSED), "Flink never tried to create a TaskManager pod"
    assert "TaskManager pods: none" in text
    log = text.split("----- JobManager log: last ", 1)[1]
    assert "forbidden" in log.lower() and "pods" in log  # Flink's own log line about the refused pod create


def test_refused_taskmanager_pods_fail_the_deferred_wait(sandbox: LocalKubernetes, run_dag: DagRunner,
                                                        cleanup: list[tuple[str, str]],
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    cluster_id = "refused-defer"
    cleanup.append((REFUSED, cluster_id))
    dag_run = _run_launch(run_dag, _launch_args(
        sandbox, REFUSED, cluster_id, "2.3.0", wait_until="running", deferrable=True, wait_timeout=WAIT_TIMEOUT,
        wait_poll_interval=1, unscheduled_timeout=UNSCHEDULED_TIMEOUT, log_tail_lines=300))
    assert task_states(dag_run) == {"launch": "failed"}
    job_id = xcom_value(dag_run, "launch", key="launch")["job_id"]
    _assert_unscheduled_report(capfd.readouterr().out, sandbox, cluster_id, job_id)


def test_refused_taskmanager_pods_fail_the_poking_sensor(sandbox: LocalKubernetes, run_dag: DagRunner,
                                                        cleanup: list[tuple[str, str]]) -> None:
    cluster_id = "refused-poke"
    cleanup.append((REFUSED, cluster_id))
    dag_run = _run_launch(run_dag, _launch_args(sandbox, REFUSED, cluster_id, "2.3.0"))
    assert task_states(dag_run) == {"launch": "success"}
    job_id = xcom_value(dag_run, "launch")["job_id"]
    with pytest.raises(AirflowFailException) as failed:
        _sensor(REFUSED, cluster_id, "2.3.0", job_id, unscheduled_timeout=UNSCHEDULED_TIMEOUT,
                log_tail_lines=300).execute({})
    _assert_unscheduled_report(str(failed.value), sandbox, cluster_id, job_id)


# ----------------------------------------------------------------------------------------------- quota and scheduler
def test_taskmanager_pods_over_a_resource_quota_fail_the_deferred_wait_with_the_quotas_message(
        sandbox: LocalKubernetes, run_dag: DagRunner, cleanup: list[tuple[str, str]],
        capfd: pytest.CaptureFixture[str]) -> None:
    cluster_id = "over-quota"
    cleanup.append((QUOTA, cluster_id))
    request = urllib.request.Request(
        f"{sandbox.url}/api/v1/namespaces/{QUOTA}/resourcequotas", method="POST",
        headers={**ADMIN_AUTHORIZATION, "Content-Type": "application/json"},
        data=json.dumps({"metadata": {"name": "one-pod"}, "spec": {"hard": {"pods": "1"}}}).encode())
    urllib.request.urlopen(request, timeout=30).close()
    dag_run = _run_launch(run_dag, _launch_args(
        sandbox, QUOTA, cluster_id, "2.3.0", wait_until="running", deferrable=True, wait_timeout=WAIT_TIMEOUT,
        wait_poll_interval=1, unscheduled_timeout=UNSCHEDULED_TIMEOUT, log_tail_lines=300))
    assert task_states(dag_run) == {"launch": "failed"}
    text = capfd.readouterr().out
    _assert_no_task_runs(text, sandbox, QUOTA, cluster_id, xcom_value(dag_run, "launch", key="launch")["job_id"])
    assert _refused_pod_creates(sandbox, QUOTA), "the API server never refused Flink a TaskManager pod"
    assert "TaskManager pods: none" in text
    log = text.split("----- JobManager log: last ", 1)[1]
    assert "exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1" in log


def test_taskmanager_pods_the_scheduler_cannot_place_fail_the_sensor_with_their_events(
        sandbox: LocalKubernetes, run_dag: DagRunner, cleanup: list[tuple[str, str]]) -> None:
    cluster_id = "nowhere-to-run"
    cleanup.append((PENDING, cluster_id))
    dag_run = _run_launch(run_dag, _launch_args(sandbox, PENDING, cluster_id, "1.20.3",
                                                taskmanager_node_selector=NOWHERE))
    assert task_states(dag_run) == {"launch": "success"}
    job_id = xcom_value(dag_run, "launch")["job_id"]
    with pytest.raises(AirflowFailException) as failed:
        _sensor(PENDING, cluster_id, "1.20.3", job_id, unscheduled_timeout=UNSCHEDULED_TIMEOUT,
                log_tail_lines=50).execute({})
    text = str(failed.value)
    _assert_no_task_runs(text, sandbox, PENDING, cluster_id, job_id)
    # What Kubernetes shows: Flink's TaskManager pods, Pending, with kube-scheduler's verdict and events.
    pending = sandbox.pods(PENDING, f"app={cluster_id},component=taskmanager")
    assert pending and all(pod["status"]["phase"] == "Pending" for pod in pending)
    [shown] = [pod for pod in pending if f"  {pod['metadata']['name']}: Pending, PodScheduled False (Unschedulable; "
               "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector." in text]
    heading = f"Events of pod {shown['metadata']['name']}:\n"
    assert heading in text, "the report has no events for the Pending TaskManager pod"
    events = text.split(heading, 1)[1].splitlines()
    assert events[0].startswith("  Warning FailedScheduling") and "didn't match Pod's node affinity/selector" \
        in events[0], events[:3]
