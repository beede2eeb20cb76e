"""Airflow's OpenLineage provider on a real launch: with a file transport, ``dag.test()`` of a launch onto the sandbox
(real Flink 2.3.0) writes the task's own START and COMPLETE events, and the COMPLETE event names the job id the real
JobManager runs (the ``flink_launch`` facet, see ``core/lineage_facet.py``). Try 1 launches and then fails, try 2
reattaches: each try is its own OpenLineage run, both name the same Flink job.

``dag.test()`` runs in a fresh interpreter: the provider decides at plugin load whether its listener is registered,
from the ``[openlineage]`` configuration of that process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.lineage_facet import FACET_NAME
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes

pytest.importorskip("airflow.providers.openlineage")
pytestmark = pytest.mark.flink

DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator

class CrashAfterLaunch(FlinkApplicationOperator):
    def execute(self, context):
        result = super().execute(context)
        if context["ti"].try_number == 1:
            raise RuntimeError("simulated: the worker was lost right after the launch")
        return result

with DAG("lineage", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    CrashAfterLaunch(
        task_id="launch", cluster_id="lineage-app", namespace="flink", image="flink:2.3.0",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="2.3.0",
        checkpoint_base_dir={checkpoints!r}, jobmanager_memory="1024m", taskmanager_memory="1024m",
        ha="kubernetes", ha_storage_dir={ha!r}, wait_until="running", retries=1,
        retry_delay=datetime.timedelta(0),
    )
"""

RUN = """
import datetime, importlib.util, sys
spec = importlib.util.spec_from_file_location("lineage_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
when = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
run = module.dag.test(logical_date=when, run_after=when)
print("STATES", {ti.task_id: str(ti.state) for ti in run.get_task_instances()})
"""


def _dag_test(dag_file: Path, events: Path) -> None:
    """``dag.test()`` of ``dag_file`` in a fresh interpreter with OpenLineage on and a file transport to ``events``."""
    env = {**os.environ, "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
        {"type": "file", "log_file_path": str(events), "append": True})}
    done = subprocess.run([sys.executable, "-c", RUN, str(dag_file)], env=env, capture_output=True, text=True,
                          check=False, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "STATES {'launch': 'success'}" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]


def _task_events(events: Path) -> list[dict[str, Any]]:
    """The launch task's events (the DAG run's own events have the job name ``lineage``)."""
    lines = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    return [e for e in lines if e["job"]["name"] == "lineage.launch"]


def test_each_try_emits_its_own_events_naming_the_flink_job_the_jobmanager_runs(
    airflow_db: Path, local_kubernetes: LocalKubernetes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(local_kubernetes.kubeconfig)}}))
    dag_file = airflow_db / "lineage_dag.py"
    dag_file.write_text(DAG.format(checkpoints=f"file://{tmp_path}/checkpoints", ha=f"file://{tmp_path}/ha"))
    events = tmp_path / "openlineage.jsonl"

    _dag_test(dag_file, events)
    tries = _task_events(events)
    assert [e["eventType"] for e in tries] == ["START", "FAIL", "START", "COMPLETE"]
    assert tries[0]["run"]["runId"] == tries[1]["run"]["runId"] != tries[2]["run"]["runId"] == tries[3]["run"]["runId"]
    # The job id the real JobManager runs is the one both tries' final events name: try 2 reattached to it.
    overview = local_kubernetes.get("/api/v1/namespaces/flink/services/lineage-app-rest:rest/proxy/jobs/overview")
    [job] = overview["jobs"]
    assert job["state"] == "RUNNING"
    for final in (tries[1], tries[3]):
        facet = final["run"]["facets"][FACET_NAME]
        assert (facet["jobId"], facet["clusterId"], facet["namespace"]) == (job["jid"], "lineage-app", "flink")
    deployments = [r for r in local_kubernetes.emulator.requests()
                   if r["method"] == "POST" and r["resource"] == "deployments"]
    assert len(deployments) == 1, "the retry created a second cluster"
