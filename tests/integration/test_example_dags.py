"""The example DAGs: each parses with no import errors, and the examples run end to end with ``dag.test()``
on the sandbox (emulator + kubelet running real Flink 2.3.0 JobManagers and TaskManagers). How long parsing takes is
a benchmark (``bench/dag_parse.py``), not a test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.paths import REPO_ROOT

EXAMPLES = REPO_ROOT / "example_dags"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.py"))
NS = "flink"
JAR = "local:///opt/flink/usrlib/checkpointing-job.jar"
BOUNDED_JAR = "local:///opt/flink/usrlib/bounded-job.jar"

#: Parse one DAG file in a fresh interpreter, as the DAG processor does, and report what the DagBag saw.
_PARSE_ONE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
print(json.dumps({"dags": sorted(bag.dags), "errors": bag.import_errors}))
"""


def _airflow_env(dags_folder: Path) -> dict[str, str]:
    return {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def _json_line(stdout: str) -> object:
    """The JSON document a CLI printed (Airflow may print warnings before it)."""
    return json.loads(next(line for line in reversed(stdout.splitlines()) if line.startswith(("[", "{"))))


def test_airflow_lists_no_import_errors_for_the_example_dags(airflow_db: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "airflow", "dags", "list-import-errors", "--local", "-o", "json"],
                          env=_airflow_env(EXAMPLES), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert _json_line(done.stdout) == []


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_each_example_dag_parses_alone_into_the_dag_named_after_the_file(path: Path, airflow_db: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _PARSE_ONE, str(path)], env=_airflow_env(EXAMPLES),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    parsed = _json_line(done.stdout)
    assert isinstance(parsed, dict)
    assert parsed["errors"] == {}
    assert parsed["dags"] == [path.stem], f"{path.name} must define the DAG named after the file"


@pytest.fixture
def sandbox(local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch) -> LocalKubernetes:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(local_kubernetes.kubeconfig)}}))
    return local_kubernetes


def _conf(tmp_path: Path) -> dict[str, object]:
    """The sandbox's values for the examples' params (the fixture's kubelet runs image ``flink:2.3.0``)."""
    return {"namespace": NS, "image": "flink:2.3.0", "flink_version": "2.3.0", "jar_uri": JAR, "ha": "kubernetes",
            "ha_storage_dir": f"file://{tmp_path}/ha", "checkpoint_base_dir": f"file://{tmp_path}/checkpoints",
            "savepoint_base_dir": f"file://{tmp_path}/savepoints", "jobmanager_memory": "1024m"}


def _checkpoint_number(path: str) -> int:
    found = re.search(r"/chk-(\d+)/?$", path)
    assert found, f"not a checkpoint path: {path}"
    return int(found.group(1))


def _example(name: str) -> str:
    return (EXAMPLES / f"{name}.py").read_text()


@pytest.mark.flink
def test_flink_state_machine_runs_end_to_end(run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path) -> None:
    dag_run = run_dag(_example("flink_state_machine"), run_conf=_conf(tmp_path))
    assert task_states(dag_run) == {"launch": "success", "wait_checkpointed": "success"}
    job_id = xcom_value(dag_run, "launch")["job_id"]
    assert list((tmp_path / "checkpoints" / "state-machine-cluster" / job_id).glob("chk-*"))
    ready = xcom_value(dag_run, "wait_checkpointed")
    assert ready["job_id"] == job_id and ready["job_state"] == "RUNNING"


def _jobmanager_log(sandbox: LocalKubernetes, cluster_id: str) -> str:
    """The log of the cluster's (only) JobManager pod, through the API server (``pods/log``)."""
    [jobmanager] = sandbox.pods(NS, f"app={cluster_id},component=jobmanager")
    url = f"{sandbox.url}/api/v1/namespaces/{NS}/pods/{jobmanager['metadata']['name']}/log"
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode(errors="replace"))


@pytest.mark.flink
def test_batch_to_stream_handoff_starts_the_stream_where_the_batch_job_ended_and_reruns_hand_over_the_same(
    run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path
) -> None:
    when = datetime(2026, 3, 5, tzinfo=UTC)
    conf = {**_conf(tmp_path), "batch_jar_uri": BOUNDED_JAR}
    batch_cluster, cluster_id = "orders-batch-20260305", "orders-stream-20260305"
    first_record = 63 * 10_000  # 2026-03-05 is 63 days after 2026-01-01; 10,000 records a day
    handoffs, streams = [], []
    for _ in range(2):  # a rerun of the same logical date hands over at the same place
        dag_run = run_dag(_example("batch_to_stream_handoff"), run_conf=conf, logical_date=when, run_after=when)
        assert task_states(dag_run) == {name: "success" for name in
                                        ("day_input", "batch", "stream", "wait_checkpointed", "mark_handoff")}
        batch, stream = xcom_value(dag_run, "batch"), xcom_value(dag_run, "stream")
        handoff = xcom_value(dag_run, "mark_handoff")
        # The batch side really ran on Flink and its cluster is gone: the job's own line in its JobManager's log.
        assert batch["teardown"]["deleted"] is True and sandbox.pods(NS, f"app={batch_cluster}") == []
        batch_logs = [p for p in sandbox.workdir.rglob("container.log") if p.parent.name.startswith(batch_cluster)
                      and "taskmanager" not in p.parent.name]
        assert any(f"bounded-job: 10000 records from {first_record}" in p.read_text(errors="replace")
                   for p in batch_logs)
        assert handoff["start_offset"] == str(first_record + 10_000) == batch["result"]["accumulators"]["next-offset"]
        assert (handoff["cluster_id"], handoff["job_id"]) == (cluster_id, stream["job_id"])
        assert re.search(rf"{tmp_path}/checkpoints/{cluster_id}/{stream['job_id']}/chk-\d+/?$",
                         handoff["checkpoint_path"]), handoff["checkpoint_path"]
        # The streaming job itself says where it started: the JobManager runs the program's main().
        assert f"start offset {first_record + 10_000}," in _jobmanager_log(sandbox, cluster_id)
        handoffs.append(handoff)
        streams.append(stream)
    assert handoffs[0]["start_offset"] == handoffs[1]["start_offset"]
    assert handoffs[0]["batch_job_id"] != handoffs[1]["batch_job_id"], "the rerun must run the batch job again"
    # dag.test() reruns the same DAG run: the stream's spec (its start offset) is the same, so it reattaches.
    assert (streams[1]["launched"], streams[1]["job_id"]) == (False, streams[0]["job_id"])


@pytest.mark.flink
def test_backfill_rerun_reattaches_then_resumes_then_upgrades_then_tears_down(
    run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path
) -> None:
    when = datetime(2026, 3, 7, tzinfo=UTC)
    dag_run = run_dag(_example("backfill_rerun"), run_conf=_conf(tmp_path), logical_date=when, run_after=when)
    assert task_states(dag_run) == {name: "success" for name in
                                    ("launch_fresh", "relaunch_reuse", "resume_latest", "upgrade_savepoint",
                                     "teardown")}
    fresh, reuse, resume = (xcom_value(dag_run, t) for t in ("launch_fresh", "relaunch_reuse", "resume_latest"))
    cluster_id = "orders-20260307"
    assert fresh["cluster_id"] == cluster_id and fresh["launched"] is True
    assert fresh["checkpoint_dir"] == f"file://{tmp_path}/checkpoints/{cluster_id}"
    assert (reuse["launched"], reuse["job_id"]) == (False, fresh["job_id"])
    assert (resume["launched"], resume["job_id"]) == (True, fresh["job_id"])
    assert _checkpoint_number(resume["ready"]["checkpoint_path"]) > \
        _checkpoint_number(fresh["ready"]["checkpoint_path"]), "the resumed job restarted its checkpoint counter"
    # Flink's own word on where the resumed job's state came from: a completed checkpoint of the first job.
    assert re.fullmatch(rf"file:{tmp_path}/checkpoints/{cluster_id}/{fresh['job_id']}/chk-\d+",
                        resume["ready"]["restored_from"]), resume["ready"]["restored_from"]
    assert fresh["ready"]["restored_from"] is None
    upgraded = xcom_value(dag_run, "upgrade_savepoint")
    assert upgraded["upgrade"]["action"] == "upgrade" and upgraded["job_id"] != fresh["job_id"]
    assert upgraded["upgrade"]["savepoint_path"].startswith(f"file://{tmp_path}/savepoints/{cluster_id}/savepoint-")
    assert upgraded["ready"]["job_state"] == "RUNNING"
    assert xcom_value(dag_run, "teardown")["deleted"] is True
    assert sandbox.pods(NS, f"app={cluster_id}") == []
    assert sandbox.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cluster_id}") is None
