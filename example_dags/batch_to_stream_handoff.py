"""Batch to stream handoff: a bounded Flink job processes the logical date's input and says where the stream starts;
the streaming job starts there.

``day_input`` names the logical date's bounded input (here a range of record offsets: ``RECORDS_PER_DAY`` records
per day since 2026-01-01). ``batch`` runs the bounded job on it with ``wait_until="finished"``: it waits until the
job is FINISHED, returns its accumulators (``next-offset``: one past the last record it processed) and deletes the
batch cluster; a failed batch job fails the task with Flink's root cause, and nothing downstream runs. ``stream``
starts the streaming job with ``--start-offset <next-offset>``, ``wait_checkpointed`` waits for its first completed
checkpoint (from then on a restart resumes from state, not from the offset), and ``mark_handoff`` records the
handoff. The same logical date always has the same input, so a rerun hands over at the same place.

The params default to a real platform's values; the sandbox passes its own (its image holds the bounded example job,
``--from F --records N``, and the checkpointing job, ``--start-offset N``).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_flink_k8s.operators import FlinkApplicationOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor

BATCH_CLUSTER_ID = "orders-batch-{{ ds_nodash }}"
CLUSTER_ID = "orders-stream-{{ ds_nodash }}"
#: Records per day of input; the batch job of a day processes that day's.
RECORDS_PER_DAY = 10_000
#: The accumulator the batch job leaves the stream's start offset in.
NEXT_OFFSET = "next-offset"
#: The params both clusters share (HA, storage, image, version).
COMMON = {"namespace": "{{ params.namespace }}", "image": "{{ params.image }}",
          "flink_version": "{{ params.flink_version }}", "jobmanager_memory": "{{ params.jobmanager_memory }}",
          "taskmanager_memory": "1024m", "parallelism": 1, "ha": "{{ params.ha }}",
          "ha_storage_dir": "{{ params.ha_storage_dir }}", "zookeeper_quorum": "{{ params.zookeeper_quorum }}",
          "checkpoint_base_dir": "{{ params.checkpoint_base_dir }}", "if_exists": "replace"}

log = logging.getLogger(__name__)


@task
def day_input(logical_date: datetime.datetime | None = None) -> list[str]:
    """The batch job's arguments for the logical date's input: its first record and how many."""
    assert logical_date is not None
    days = max((logical_date.date() - datetime.date(2026, 1, 1)).days, 0)
    return ["--from", str(days * RECORDS_PER_DAY), "--records", str(RECORDS_PER_DAY)]


@task
def mark_handoff(batch: dict[str, Any], stream: dict[str, Any], ready: dict[str, Any]) -> dict[str, Any]:
    """The handoff record: the batch job ended at ``start_offset``, the stream took over there and checkpointed."""
    result = batch["result"]
    handoff = {"start_offset": result["accumulators"][NEXT_OFFSET], "batch_job_id": result["job_id"],
               "batch_records": result["accumulators"].get("records"), "batch_end_time": result["end_time"],
               "cluster_id": stream["cluster_id"], "job_id": stream["job_id"],
               "checkpoint_path": ready["checkpoint_path"]}
    log.info("handoff complete: %s", handoff)
    return handoff


with DAG(
    "batch_to_stream_handoff",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["flink", "example"],
    params={
        "namespace": Param("hke-flink", type="string"),
        "image": Param("harbor.example/flink/orders:v1.0.0", type="string"),
        "batch_jar_uri": Param("local:///opt/flink/usrlib/orders-batch.jar", type="string"),
        "jar_uri": Param("local:///opt/flink/usrlib/orders-stream.jar", type="string"),
        "flink_version": Param("2.3", type="string"),
        "ha": Param("kubernetes", enum=["kubernetes", "zookeeper"]),
        "ha_storage_dir": Param("hdfs:///flink/ha/k8s", type="string"),
        "zookeeper_quorum": Param(None, type=["null", "string"]),
        "checkpoint_base_dir": Param("hdfs:///flink/checkpoints", type="string"),
        "jobmanager_memory": Param("1600m", type="string"),
    },
) as dag:
    arguments = day_input()
    batch = FlinkApplicationOperator(
        task_id="batch",
        cluster_id=BATCH_CLUSTER_ID,
        jar_uri="{{ params.batch_jar_uri }}",
        program_args="{{ ti.xcom_pull(task_ids='day_input') }}",
        flink_conf={"execution.runtime-mode": "BATCH"},
        wait_until="finished",  # keep the cluster until the outcome is read, report it, then delete the cluster
        wait_timeout=1800,
        deferrable=True,
        **COMMON,
    )
    stream = FlinkApplicationOperator(
        task_id="stream",
        cluster_id=CLUSTER_ID,
        jar_uri="{{ params.jar_uri }}",
        # The accumulator's value is a string, as Flink prints it; a program argument must be one.
        program_args=f"{{{{ ['--start-offset', ti.xcom_pull(task_ids='batch')['result']['accumulators']"
                     f"['{NEXT_OFFSET}']] }}}}",
        checkpoint_interval="10 s",
        **COMMON,
    )
    wait = FlinkJobManagerReadySensor(
        task_id="wait_checkpointed",
        cluster_id=CLUSTER_ID,
        namespace="{{ params.namespace }}",
        ha="{{ params.ha }}",
        zookeeper_quorum="{{ params.zookeeper_quorum }}",
        flink_version="{{ params.flink_version }}",
        target="checkpointed",
        launch_task_id="stream",
        poke_interval=5,
        timeout=600,
    )
    arguments >> batch >> stream >> wait
    mark_handoff(batch.output, stream.output, wait.output)
