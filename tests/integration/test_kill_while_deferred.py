"""A launch task killed while deferred cleans up (issue 14, part 2), on real Flink 2.3 in the sandbox.

``dag.test()`` runs a deferred task's trigger inline until its first event, so no user can act on the task while it
is deferred: it cannot drive Airflow 3.3's trigger ``on_kill``. So the launch runs with ``dag.test()`` (deferring
for real, its trigger stored in the metadata DB as Airflow stores it), and the stored triggers then run in Airflow's
own ``TriggerRunner`` (the triggerer's trigger loop), whose ``cancel_triggers`` is the path a mark-failed, clear or
mark-success takes (``"__airflow_user_action__"``, then ``on_kill``). The stored triggers waited for ``running``,
which the cluster reached; they are run again waiting for a checkpoint after 2100, so they are still waiting when
cancelled.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.triggers import FlinkJobManagerReadyTrigger
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.waiting import async_wait_until

pytestmark = pytest.mark.flink
CID = "killed-deferred"
NS = "flink"

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator
with DAG("kill_deferred", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    FlinkApplicationOperator(
        task_id="launch", cluster_id={cid!r}, namespace="flink", image="flink:2.3.0",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="2.3.0",
        checkpoint_base_dir="file://{tmp}/checkpoints", ha="kubernetes", ha_storage_dir="file://{tmp}/ha",
        jobmanager_memory="1024m", taskmanager_memory="1024m", if_exists="reuse",
        wait_until="running", deferrable=True, retries=0)
"""


@pytest.fixture
def sandbox(local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch) -> LocalKubernetes:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(local_kubernetes.kubeconfig)}}))
    monkeypatch.setenv("AIRFLOW_DISABLE_GREENBACK_PORTAL", "true")
    return local_kubernetes


def stored_triggers() -> list[dict[str, Any]]:
    """The kwargs of the triggers launch tasks deferred with, as the metadata DB holds them, oldest first."""
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    classpath = f"{FlinkJobManagerReadyTrigger.__module__}.{FlinkJobManagerReadyTrigger.__qualname__}"
    with create_session() as session:
        return [dict(row.kwargs) for row in session.scalars(
            select(Trigger).where(Trigger.classpath == classpath).order_by(Trigger.id))]


def cancelled_by_user(kwargs: dict[str, Any]) -> None:
    """Run the trigger in Airflow's TriggerRunner until it waits, then cancel it as a user action does."""
    import structlog.testing
    from airflow.jobs.triggerer_job_runner import TriggerRunner

    waiting = {**kwargs, "target": "checkpointed", "checkpointed_after": datetime(2100, 1, 1, tzinfo=UTC).isoformat(),
               "end_time": None}
    trigger = FlinkJobManagerReadyTrigger(**waiting)

    async def scenario(told: list[dict[str, Any]]) -> None:
        runner = TriggerRunner()
        runner.triggers[1] = {"task": asyncio.create_task(runner.run_trigger(1, trigger)), "name": "kill-me",
                              "events": 0}
        await async_wait_until("the trigger waits for the checkpoint", lambda: any(
            "still waiting for checkpointed" in str(line.get("event")) for line in told), timeout=120)
        runner.to_cancel.append(1)
        await runner.cancel_triggers()
        with pytest.raises(asyncio.CancelledError):
            await runner.triggers[1]["task"]
        assert not runner.events, "a cancelled trigger fired"

    with structlog.testing.capture_logs() as captured:
        asyncio.run(scenario(captured))


def test_a_launch_killed_while_deferred_deletes_the_cluster_its_try_created_and_only_that(
        run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path) -> None:
    source = DAG.format(cid=CID, tmp=tmp_path)
    created_run = run_dag(source, logical_date=datetime(2026, 3, 1, tzinfo=UTC), run_after=datetime(2026, 3, 1,
                                                                                                      tzinfo=UTC))
    reattached_run = run_dag(source, logical_date=datetime(2026, 3, 2, tzinfo=UTC),
                             run_after=datetime(2026, 3, 2, tzinfo=UTC))
    assert task_states(created_run) == task_states(reattached_run) == {"launch": "success"}
    assert (xcom_value(created_run, "launch")["launched"], xcom_value(reattached_run, "launch")["launched"]) == (
        True, False)
    created, reattached = stored_triggers()[-2:]  # this test's two deferrals, in order
    deployment = f"/apis/apps/v1/namespaces/{NS}/deployments/{CID}"
    uid = sandbox.get(deployment)["metadata"]["uid"]
    assert (created["created_uid"], reattached["created_uid"]) == (uid, None)

    cancelled_by_user(reattached)  # a try that only reattached: the cluster stays
    assert sandbox.get(deployment)["metadata"]["uid"] == uid
    assert sandbox.pods(NS, f"app={CID},component=jobmanager")

    # A try whose cluster another launch has replaced since (its Deployment had another uid): the kill must not
    # delete the cluster now running under the id. The DELETE it would send without the uid succeeds (the harm).
    replaced = {**created, "created_uid": "0" * 8 + "-0000-0000-0000-" + "0" * 12}
    cancelled_by_user(replaced)
    still = sandbox.get(deployment)
    assert still is not None and still["metadata"]["uid"] == uid, "a kill deleted a cluster its try did not create"
    assert sandbox.pods(NS, f"app={CID},component=jobmanager")

    cancelled_by_user(created)  # the try that created it: the cluster goes, pods and all
    sandbox.wait_for("the killed launch's cluster and its pods to be gone", lambda: not sandbox.pods(
        NS, f"app={CID}") and not sandbox.emulator.api_get(f"/apis/apps/v1/namespaces/{NS}/deployments")["items"],
                     180)
