"""The task log of a wait on real Flink 2.3 (sandbox, ``dag.test()``): each transition once, in order, with its
time, and a bounded number of lines however often the wait polls: in the deferred launch (the trigger, polling
every 0.2 s) and in a sensor in reschedule mode (a new sensor object per poke, what was told kept in the task state
store)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from airflow_flink_k8s.core.wait_progress import PROGRESS_NOTE_INTERVAL
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.airflow_db import DagRunner, task_states
from tests.integration.test_rbac import task_output

pytestmark = pytest.mark.flink
CID = "readable-log"
TOLD = f"Flink cluster {CID}: "

DAG = """
import datetime
from airflow.sdk import DAG, task
from airflow_flink_k8s.operators import FlinkApplicationOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor
with DAG("readable_log", schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    launch = FlinkApplicationOperator(
        task_id="launch", cluster_id={cid!r}, namespace="flink", image="flink:2.3.0",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="2.3.0",
        checkpoint_base_dir="file://{tmp}/checkpoints", checkpoint_interval="5 s", ha="kubernetes",
        ha_storage_dir="file://{tmp}/ha", jobmanager_memory="1024m", taskmanager_memory="1024m",
        wait_until="checkpointed", deferrable=True, wait_poll_interval=0.2, retries=0)

    @task
    def soon():  # a checkpoint triggered after this takes the sensor several pokes
        return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=10)).isoformat()

    wait = FlinkJobManagerReadySensor(
        task_id="checkpointed_again", cluster_id={cid!r}, namespace="flink", ha="kubernetes", flink_version="2.3.0",
        target="checkpointed", checkpointed_after="{{{{ ti.xcom_pull('soon') }}}}", launch_task_id="launch",
        mode="reschedule", poke_interval=1, timeout=300)
    launch >> soon() >> wait
"""
#: A line a wait told, as structlog prints it (``… [logger] loc=…``) or as the logging capture holds it.
STRUCTLOG = re.compile(rf"\] ({re.escape(TOLD)}.*?)\s+\[(?P<logger>[\w.]+)\] loc=")
CAPLOG = re.compile(rf"^\w+\s+(?P<logger>[\w.]+):\w+\.py:\d+ ({re.escape(TOLD)}.*)$")


def told(output: str, logger_suffix: str) -> list[str]:
    """What the waits logged through the logger ending in ``logger_suffix``, without the cluster prefix; from the
    stream structlog writes to, else from the logging capture (a record reaches one of them, see task_output)."""
    found: dict[re.Pattern[str], list[str]] = {STRUCTLOG: [], CAPLOG: []}
    for line in output.splitlines():
        for pattern, lines in found.items():
            match = pattern.search(line)
            if match and match["logger"].endswith(logger_suffix):
                lines.append(match.group(1 if pattern is STRUCTLOG else 2).removeprefix(TOLD))
    return found[STRUCTLOG] or found[CAPLOG]


def kinds(lines: list[str]) -> list[str]:
    """``leader elected``, ``REST up``, ``job <id> RUNNING``, … : a line without its time and details."""
    return [line.split(" after ", 1)[0] for line in lines]


def reschedules(dag_run: object, task_id: str) -> int:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        ti_id = session.scalar(select(TaskInstance.id).where(
            TaskInstance.run_id == dag_run.run_id, TaskInstance.task_id == task_id))  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count(TaskReschedule.id)).where(TaskReschedule.ti_id == ti_id)) or 0)


@pytest.fixture
def sandbox(local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch) -> LocalKubernetes:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(local_kubernetes.kubeconfig)}}))
    return local_kubernetes


def test_each_transition_once_and_few_lines_however_often_the_wait_polls(
        run_dag: DagRunner, sandbox: LocalKubernetes, tmp_path: Path, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    before = sandbox.emulator.stats()["request_seq"]
    dag_run = run_dag(DAG.format(cid=CID, tmp=tmp_path))
    output = task_output(capfd, caplog)
    assert task_states(dag_run) == {"launch": "success", "soon": "success", "checkpointed_again": "success"}

    # The deferred launch: leader, REST, the job's states with its tasks, the first checkpoint; each once, in order
    trigger = told(output, "FlinkJobManagerReadyTrigger")
    transitions = [kind for kind in kinds(trigger) if not kind.startswith("still waiting")]
    job = re.search(r"job ([0-9a-f]{32}) ", " ".join(trigger))
    assert job is not None, trigger
    assert transitions[:2] == ["leader elected", "REST up"], trigger
    assert transitions[-2:] == [f"job {job[1]} RUNNING", "first checkpoint"], trigger
    assert len(transitions) == len(set(trigger_keys := [line.split(": ", 1)[0] for line in trigger
                                                         if not line.startswith("still waiting")])), trigger_keys
    assert re.fullmatch(rf"job {job[1]} RUNNING after [\d.]+ s: 2 of 2 tasks running \(RUNNING 2\)",
                        [line for line in trigger if line.startswith(f"job {job[1]} RUNNING")][-1]), trigger
    assert re.fullmatch(rf"first checkpoint after [\d.]+ s: file:.*/checkpoints/{CID}/{job[1]}/chk-\d+",
                        trigger[-1]), trigger
    times = [float(re.search(r" after ([\d.]+) s", line)[1]) for line in trigger]  # type: ignore[index]
    assert times == sorted(times), trigger
    # ... however often it polled (a REST request through the API server's proxy per step)
    polls = [r for r in sandbox.emulator.requests(before) if r["resource"] == "services" and r["subresource"] ==
             "proxy" and r["subpath"] == "config"]
    waited = times[-1]
    assert len(polls) > 50, f"{len(polls)} polls: the bound below proves nothing with few"
    notes = len(trigger) - len(transitions)
    assert notes <= waited / PROGRESS_NOTE_INTERVAL + 1, trigger

    # The sensor in reschedule mode: the same news once across its pokes, though each poke is a new sensor
    assert reschedules(dag_run, "checkpointed_again") >= 2, "the sensor did not poke more than once"
    sensor = told(output, "FlinkJobManagerReadySensor")
    assert kinds(sensor) == ["leader elected", "REST up", f"job {job[1]} RUNNING", "first checkpoint"], sensor
    print(f"{len(polls)} polls in {waited:.0f} s; trigger told {len(trigger)} lines: {trigger}; sensor: {sensor}")
