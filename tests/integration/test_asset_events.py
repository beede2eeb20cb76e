"""Asset events with what Flink reported, end to end on real Airflow and real Flink 2.3.0 on the sandbox: the example
producer ``flink_stream_assets`` runs with ``dag.test()`` (a deferred launch waiting for ``running``, then a poking
sensor waiting for ``checkpointed``); Airflow's own AssetEvent rows carry the job id Flink lists and a checkpoint
whose ``_metadata`` is on disk, and queue the consumer ``flink_checkpoint_consumer``, whose run the scheduler's own
code creates from the queue and which reads the events; a teardown stopping the job with a savepoint emits the
savepoint Flink wrote. One launch serves every assertion."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.integration.test_example_dags import NS, _conf, _example
from tests.waiting import wait_until

PRODUCER, CONSUMER, CLUSTER = "flink_stream_assets", "flink_checkpoint_consumer", "orders-stream"
STARTED, CHECKPOINTED = "flink_orders_stream_started", "flink_orders_stream_checkpointed"

#: The stream's teardown, stopping the job with a savepoint, with an outlet of its own.
TEARDOWN = """
import datetime
from airflow.sdk import DAG, Asset
from airflow_flink_k8s.operators import FlinkApplicationTeardownOperator

with DAG("flink_stream_stop", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
    FlinkApplicationTeardownOperator(task_id="stop", cluster_id="orders-stream", namespace="flink", savepoint=True,
                                     savepoint_dir="{savepoints}", outlets=[Asset("flink_orders_stream_stopped")])
"""


@pytest.fixture
def sandbox(local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch) -> LocalKubernetes:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(local_kubernetes.kubeconfig)}}))
    return local_kubernetes


def _deploy_consumer(dags_folder: Path) -> Any:
    """Parse the consumer's file as the DAG processor does, write it to the metadata DB and unpause it (what
    ``airflow dags unpause`` does): Airflow queues runs only for unpaused DAGs. Returns the parsed DAG."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)

    path = dags_folder / f"{CONSUMER}.py"
    path.write_text(_example(CONSUMER))
    bag = BundleDagBag(dag_folder=str(path), bundle_path=dags_folder, bundle_name="dags-folder")
    assert bag.import_errors == {} and list(bag.dags) == [CONSUMER]
    sync_bag_to_db(bag, "dags-folder", None)
    with create_session() as session:
        model = session.get(DagModel, CONSUMER)
        assert model is not None and model.asset_expression is not None
        model.is_paused = False
    return bag.dags[CONSUMER]


def _events(run_id: str) -> dict[str, dict[str, Any]]:
    """Asset name → the ``extra`` of the event the producer's run emitted, from Airflow's ``asset_event`` table."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(select(AssetEvent).where(AssetEvent.source_run_id == run_id)).all()
        return {event.asset.name: dict(event.extra) for event in events}


def _queued_for_consumer() -> list[str]:
    """The Assets whose events wait in Airflow's ``asset_dag_run_queue`` for the consumer."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == CONSUMER)).all()
        return [row.asset.name for row in rows]


def _schedule_consumer(consumer: Any) -> Any:
    """The scheduler's own steps for the consumer, in this process: one pass of its run creation
    (``SchedulerJobRunner._create_dagruns_for_dags``: the queued events become an asset-triggered run consuming
    them), then its ``_start_queued_dagruns`` loop by loop until the run is RUNNING (on SQLite a run is started only
    once ``run_after`` is before the database's ``now()``, to the second), then the run's tasks as ``dag.test()``
    runs them (the in-process task runner and execution API). Returns the run."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.session import create_session
    from airflow.utils.sqlalchemy import prohibit_commit
    from airflow.utils.state import DagRunState, TaskInstanceState
    from sqlalchemy import select

    runner = SchedulerJobRunner(job=Job())
    with create_session() as session, prohibit_commit(session) as guard:
        runner._create_dagruns_for_dags(guard, session)

    def started() -> str | None:
        with create_session() as session:
            runner._start_queued_dagruns(session)
        with create_session() as session:
            [run] = session.scalars(select(DagRun).where(DagRun.dag_id == CONSUMER)).all()
            assert run.run_type == "asset_triggered", run.run_type
            return run.run_id if run.state == DagRunState.RUNNING else None

    run_id = wait_until("the scheduler starts the consumer's asset-triggered run", started, timeout=60)
    with create_session() as session:
        dag_run = session.scalars(select(DagRun).where(DagRun.run_id == run_id)).one()
        dag_run.dag = runner.scheduler_dag_bag.get_dag_for_run(dag_run, session=session)  # as the scheduler does
        while dag_run.state == DagRunState.RUNNING:  # dag.test()'s loop, on the scheduler's run
            schedulable, _ = dag_run.update_state(session=session)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            for ti in schedulable:
                _run_task(ti=ti, task=consumer.task_dict[ti.task_id])
            session.expire_all()
    [finished] = DagRun.find(dag_id=CONSUMER, run_id=run_id)
    return finished


@pytest.mark.flink
def test_the_stream_emits_started_and_checkpointed_events_with_flinks_ids_and_the_consumer_runs_on_them(
    run_dag: DagRunner, sandbox: LocalKubernetes, airflow_db: Path, tmp_path: Path
) -> None:
    consumer = _deploy_consumer(airflow_db)
    dag_run = run_dag(_example(PRODUCER), run_conf=_conf(tmp_path))
    assert task_states(dag_run) == {"launch": "success", "wait_checkpointed": "success"}

    # What Flink itself says: the one job on the cluster, and the checkpoint files it wrote.
    overview = sandbox.get(f"/api/v1/namespaces/{NS}/services/{CLUSTER}-rest:rest/proxy/jobs/overview")
    [job] = overview["jobs"]
    config = sandbox.get(f"/api/v1/namespaces/{NS}/services/{CLUSTER}-rest:rest/proxy/config")
    events = _events(dag_run.run_id)
    assert set(events) == {STARTED, CHECKPOINTED}
    started, checkpointed = events[STARTED], events[CHECKPOINTED]
    for extra in (started, checkpointed):
        assert (extra["cluster_id"], extra["namespace"], extra["job_id"], extra["flink_version"]) == (
            CLUSTER, NS, job["jid"], config["flink-version"])
        assert "flink_conf" not in extra and "web_ui_url" not in extra
    assert (started["reached"], started["launched"], started["job_state"]) == ("running", True, "RUNNING")
    assert (checkpointed["reached"], checkpointed["job_state"]) == ("checkpointed", "RUNNING")
    checkpoint = re.fullmatch(rf"file:({tmp_path}/checkpoints/{CLUSTER}/{job['jid']}/chk-(\d+))",
                              checkpointed["checkpoint_path"])
    assert checkpoint, checkpointed["checkpoint_path"]
    assert int(checkpoint.group(2)) == checkpointed["checkpoint_id"]
    assert (Path(checkpoint.group(1)) / "_metadata").is_file()

    # Only the checkpoint Asset schedules the consumer; the scheduler turns its queued event into a run.
    assert _queued_for_consumer() == [CHECKPOINTED]
    consumer_run = _schedule_consumer(consumer)
    assert task_states(consumer_run) == {"use_checkpoint": "success"}
    assert _queued_for_consumer() == []
    assert xcom_value(consumer_run, "use_checkpoint") == {
        "job_id": job["jid"], "cluster_id": CLUSTER, "checkpoint_id": checkpointed["checkpoint_id"],
        "checkpoint_path": checkpointed["checkpoint_path"], "source_run_id": dag_run.run_id}

    # The teardown's event: the savepoint Flink stopped the job with (on disk), and what was deleted.
    stop_run = run_dag(TEARDOWN.format(savepoints=f"file://{tmp_path}/savepoints"))
    assert task_states(stop_run) == {"stop": "success"}
    stopped = _events(stop_run.run_id)["flink_orders_stream_stopped"]
    assert (stopped["cluster_id"], stopped["namespace"], stopped["reached"]) == (CLUSTER, NS, "deleted")
    savepoint = re.fullmatch(rf"file:({tmp_path}/savepoints/savepoint-{job['jid'][:6]}-\w+)",
                             stopped["savepoint_path"])
    assert savepoint, stopped["savepoint_path"]
    assert (Path(savepoint.group(1)) / "_metadata").is_file()
    assert stopped["ha_data_removed"] and stopped["ha_data_kept"] is False
    assert sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{CLUSTER}") is None
