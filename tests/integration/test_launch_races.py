"""Two task instances launching one cluster id at the same moment: exactly one cluster is created, nothing is
half-created, and the loser reattaches or fails naming the cluster.

The tasks are real ``FlinkApplicationOperator.execute`` calls in two threads released by a barrier (``dag.test()``
runs one DAG run at a time per process), each of its own DAG, against the sandbox: the API emulator and the kubelet,
which runs the JobManager stand-in (``sandbox/jobmanager-standin``) for the native cases and the real Flink 2.3
client for the cli case. The emulator delays every Deployment POST (fault injection), so both creates are in flight
together and the request log shows one 201 and one 409.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s_sandbox.concurrent_tasks import TaskOutcome, execute, run_concurrently
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes

NS = "flink"
IMAGE = "sandbox/jobmanager-standin:2.3.0"
POST_DELAY = {"delay_ms": 1500, "methods": ["POST"], "resource": "deployments"}


@pytest.fixture(scope="module")
def sandbox(module_sandbox: LocalKubernetes) -> LocalKubernetes:
    return module_sandbox


def _launch_op(dag_id: str, cluster_id: str, if_exists: str, tmp: Path, **options: Any) -> Any:
    from airflow.sdk import DAG

    from airflow_flink_k8s.operators import FlinkApplicationOperator

    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1)):
        return FlinkApplicationOperator(
            task_id="launch", cluster_id=cluster_id, namespace=NS, image=IMAGE, flink_version="2.3.0",
            jar_uri="local:///opt/flink/usrlib/job.jar", ha="kubernetes", ha_storage_dir=f"file://{tmp}/ha",
            checkpoint_base_dir=f"file://{tmp}/checkpoints", if_exists=if_exists, wait_until="running",
            wait_timeout=120, wait_poll_interval=1.0, deferrable=False, retries=0, **options)


def _race(sandbox: LocalKubernetes, *operators: Any) -> tuple[list[TaskOutcome], list[dict[str, Any]]]:
    """Run the operators together with Deployment POSTs delayed; their outcomes and the Deployment POSTs."""
    since = sandbox.emulator.stats()["request_seq"]
    sandbox.emulator.set_faults(POST_DELAY)
    try:
        outcomes = run_concurrently(operators, [f"race__{op.dag_id}" for op in operators])
    finally:
        sandbox.emulator.clear_faults()
    posts = [r for r in sandbox.emulator.requests(since) if r["resource"] == "deployments" and r["method"] == "POST"]
    return outcomes, posts


def _teardown(sandbox: LocalKubernetes, cluster_id: str) -> None:
    from airflow.sdk import DAG

    from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator

    with DAG(f"teardown_{cluster_id}", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
        op = FlinkApplicationTeardownOperator(task_id="teardown", cluster_id=cluster_id, namespace=NS)
    execute(op, "teardown")
    left = [f"{kind}/{item['metadata']['name']}" for kind, path in (
        ("deployment", f"/apis/apps/v1/namespaces/{NS}/deployments"), ("service", f"/api/v1/namespaces/{NS}/services"),
        ("configmap", f"/api/v1/namespaces/{NS}/configmaps"), ("pod", f"/api/v1/namespaces/{NS}/pods"))
        for item in sandbox.get(path)["items"]]
    assert left == [], f"left behind after the teardown of {cluster_id}: {left}"


def _running_job(sandbox: LocalKubernetes, cluster_id: str) -> tuple[str, str]:
    """(job id on the Deployment, job id the leading JobManager published in the HA data)."""
    deployment = sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cluster_id}")
    leader_map = sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/{cluster_id}-cluster-config-map")
    published = [key.rsplit("job-", 1)[1] for key in (leader_map or {}).get("data", {})
                 if key.startswith("org.apache.flink.k8s.leader.job-")]
    return deployment["metadata"]["annotations"]["airflow-flink-k8s.apache.org/job-id"], ",".join(published)


def _winner_and_loser(outcomes: list[TaskOutcome]) -> tuple[TaskOutcome, TaskOutcome]:
    launched = [o for o in outcomes if o.ok and o.result["launched"]]
    assert len(launched) == 1, [(o.task_id, o.result, o.trace) for o in outcomes]
    return launched[0], next(o for o in outcomes if o is not launched[0])


def test_reuse_with_identical_spec_one_creates_one_reattaches(sandbox: LocalKubernetes, tmp_path: Path) -> None:
    cid = "race-reuse"
    outcomes, posts = _race(sandbox, _launch_op("reuse_a", cid, "reuse", tmp_path),
                            _launch_op("reuse_b", cid, "reuse", tmp_path))
    assert sorted(p["status"] for p in posts) == [201, 409]
    winner, loser = _winner_and_loser(outcomes)
    assert loser.ok, loser.trace
    assert loser.result["launched"] is False
    assert loser.result["job_id"] == winner.result["job_id"] == loser.result["ready"]["job_id"]
    assert loser.result["ready"]["job_state"] == "RUNNING"
    assert _running_job(sandbox, cid) == (winner.result["job_id"], winner.result["job_id"])
    _teardown(sandbox, cid)


def test_reuse_with_a_different_spec_fails_the_loser_naming_the_difference(sandbox: LocalKubernetes,
                                                                           tmp_path: Path) -> None:
    cid = "race-differ"
    outcomes, posts = _race(sandbox, _launch_op("differ_a", cid, "reuse", tmp_path, parallelism=1),
                            _launch_op("differ_b", cid, "reuse", tmp_path, parallelism=3))
    assert sorted(p["status"] for p in posts) == [201, 409]
    winner, loser = _winner_and_loser(outcomes)
    message = str(loser.error)
    assert "Flink cluster 'race-differ' in namespace 'flink' was launched concurrently" in message, message
    assert f"launched by {winner.dag_id}.launch" in message
    assert "parallelism.default" in message
    assert _running_job(sandbox, cid) == (winner.result["job_id"], winner.result["job_id"])
    deletes = [r for r in sandbox.emulator.requests(posts[0]["seq"]) if r["method"] == "DELETE"]
    assert deletes == [], "the loser deleted something of the winner's"
    _teardown(sandbox, cid)


def test_fail_fails_the_loser_naming_the_cluster(sandbox: LocalKubernetes, tmp_path: Path) -> None:
    cid = "race-fail"
    outcomes, posts = _race(sandbox, _launch_op("fail_a", cid, "fail", tmp_path),
                            _launch_op("fail_b", cid, "fail", tmp_path))
    assert sorted(p["status"] for p in posts) == [201, 409]
    winner, loser = _winner_and_loser(outcomes)
    message = str(loser.error)
    assert "Flink cluster 'race-fail' in namespace 'flink' was launched concurrently by another task instance" \
        in message, message
    assert f"launched by {winner.dag_id}.launch run race__{winner.dag_id}" in message
    assert _running_job(sandbox, cid) == (winner.result["job_id"], winner.result["job_id"])
    _teardown(sandbox, cid)


def test_replace_racing_replace_ends_with_exactly_the_winners_cluster(sandbox: LocalKubernetes,
                                                                      tmp_path: Path) -> None:
    """Both tasks find an old cluster and decide to replace it; both delete it (by its uid) and create. The winner's
    fresh cluster must survive the loser: ``replace`` replaces what existed when the task decided, never a cluster
    launched concurrently, so the loser with a different spec fails naming it (with the same spec it reattaches)."""
    cid = "race-replace"
    old = execute(_launch_op("replace_old", cid, "fail", tmp_path), "old")
    outcomes, posts = _race(sandbox, _launch_op("replace_a", cid, "replace", tmp_path, parallelism=1),
                            _launch_op("replace_b", cid, "replace", tmp_path, parallelism=2))
    assert sorted(p["status"] for p in posts) == [201, 409]
    winner, loser = _winner_and_loser(outcomes)
    assert f"was launched concurrently by another task instance (launched by {winner.dag_id}.launch" \
        in str(loser.error) and "parallelism.default" in str(loser.error), loser.trace
    created = next(p for p in posts if p["status"] == 201)
    later_deletes = [r for r in sandbox.emulator.requests(created["seq"])
                     if r["method"] == "DELETE" and r["resource"] == "deployments"]
    assert later_deletes == [], "a Deployment DELETE came after the winner's create"
    assert _running_job(sandbox, cid) == (winner.result["job_id"], winner.result["job_id"])
    assert winner.result["job_id"] != old["job_id"]
    assert len(sandbox.pods(NS, f"app={cid},component=jobmanager")) == 1
    _teardown(sandbox, cid)


@pytest.mark.flink
def test_cli_launches_racing_never_run_two_clients(sandbox: LocalKubernetes, tmp_path: Path) -> None:
    """The Flink client deletes the Deployment ``<cid>`` by name when its own create fails, so two racing clients
    would take down the winner's cluster. The loser of the launch lock never runs its client and reattaches."""
    from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home

    cid, home = "race-cli", ensure_flink_home("2.3.0")
    conf_dir = tmp_path / "flink-conf"
    shutil.copytree(home / "conf", conf_dir)
    cli = {"launcher": "cli", "flink_bin": str(home / "bin" / "flink"), "flink_conf_dir": str(conf_dir)}
    since = sandbox.emulator.stats()["request_seq"]
    sandbox.emulator.set_faults({"delay_ms": 1500, "methods": ["POST"], "resource": "configmaps"})
    try:
        outcomes = run_concurrently([_launch_op("cli_a", cid, "reuse", tmp_path, **cli),
                                     _launch_op("cli_b", cid, "reuse", tmp_path, **cli)], ["race__a", "race__b"])
    finally:
        sandbox.emulator.clear_faults()
    log = sandbox.emulator.requests(since)
    winner, loser = _winner_and_loser(outcomes)
    assert loser.ok, loser.trace
    assert loser.result["job_id"] == winner.result["job_id"] == loser.result["ready"]["job_id"]
    assert [r["status"] for r in log if r["resource"] == "deployments" and r["method"] == "POST"] == [201]
    assert [r for r in log if r["resource"] == "deployments" and r["method"] == "DELETE"] == []
    lock_posts = [r for r in log if r["method"] == "POST" and r["name"] is None and r["resource"] == "configmaps"
                  and r["seq"] < next(q["seq"] for q in log
                                      if q["resource"] == "deployments" and q["method"] == "POST")]
    assert sorted(r["status"] for r in lock_posts) == [201, 409]
    assert sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/flink-launch-lock-{cid}") is None
    _teardown(sandbox, cid)
