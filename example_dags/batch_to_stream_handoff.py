"""Batch to stream handoff: a batch task computes where the stream starts, the streaming job starts there.

``compute_offset`` derives a start offset from the logical date (the same run always gets the same offset, so a
rerun or retry hands over at the same place), ``launch`` starts the streaming job with ``--start-offset <offset>``,
``wait_checkpointed`` waits until the job has a completed checkpoint (from then on a restart resumes from state,
not from the offset), and ``mark_handoff`` records offset, job id and checkpoint path.

The params default to a real platform's values; the sandbox passes its own (its image runs the small
checkpointing job, which accepts ``--start-offset N``).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_flink_k8s.operators import FlinkApplicationOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor

CLUSTER_ID = "orders-stream-{{ ds_nodash }}"
#: Records per day the batch side has already processed; the stream starts right after them.
RECORDS_PER_DAY = 1_000_000

log = logging.getLogger(__name__)


@task
def compute_offset(logical_date: datetime.datetime | None = None) -> int:
    """The first record the stream must process: everything before the logical date is the batch side's."""
    assert logical_date is not None
    days = (logical_date.date() - datetime.date(2026, 1, 1)).days
    return max(days, 0) * RECORDS_PER_DAY


@task
def mark_handoff(offset: int, launch: dict[str, Any], ready: dict[str, Any]) -> dict[str, Any]:
    """The handoff record: the stream took over at ``offset`` and has checkpointed past it."""
    handoff = {"start_offset": offset, "cluster_id": launch["cluster_id"], "job_id": launch["job_id"],
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
        "image": Param("harbor.example/flink/orders-stream:v1.0.0", type="string"),
        "jar_uri": Param("local:///opt/flink/usrlib/orders-stream.jar", type="string"),
        "flink_version": Param("2.3", type="string"),
        "ha": Param("kubernetes", enum=["kubernetes", "zookeeper"]),
        "ha_storage_dir": Param("hdfs:///flink/ha/k8s", type="string"),
        "zookeeper_quorum": Param(None, type=["null", "string"]),
        "checkpoint_base_dir": Param("hdfs:///flink/checkpoints", type="string"),
        "jobmanager_memory": Param("1600m", type="string"),
    },
) as dag:
    offset = compute_offset()
    launch = FlinkApplicationOperator(
        task_id="launch",
        cluster_id=CLUSTER_ID,
        namespace="{{ params.namespace }}",
        image="{{ params.image }}",
        jar_uri="{{ params.jar_uri }}",
        flink_version="{{ params.flink_version }}",
        # With native rendering a lone "{{ offset }}" would render to an int; the program needs strings.
        program_args="{{ ['--start-offset', ti.xcom_pull(task_ids='compute_offset') | string] }}",
        parallelism=1,
        jobmanager_memory="{{ params.jobmanager_memory }}",
        taskmanager_memory="1024m",
        ha="{{ params.ha }}",
        ha_storage_dir="{{ params.ha_storage_dir }}",
        zookeeper_quorum="{{ params.zookeeper_quorum }}",
        checkpoint_base_dir="{{ params.checkpoint_base_dir }}",
        checkpoint_interval="10 s",
        if_exists="replace",
    )
    wait = FlinkJobManagerReadySensor(
        task_id="wait_checkpointed",
        cluster_id=CLUSTER_ID,
        namespace="{{ params.namespace }}",
        ha="{{ params.ha }}",
        zookeeper_quorum="{{ params.zookeeper_quorum }}",
        flink_version="{{ params.flink_version }}",
        target="checkpointed",
        launch_task_id="launch",
        poke_interval=5,
        timeout=600,
    )
    offset >> launch >> wait
    mark_handoff(offset, launch.output, wait.output)
