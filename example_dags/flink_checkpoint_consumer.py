"""Scheduled on the Asset ``flink_orders_stream_checkpointed`` that ``flink_stream_assets`` emits once the streaming
job completed a checkpoint: reads the triggering events' ``extra`` (job id, checkpoint id and path, as Flink reported
them) and hands them on, e.g. to a job that reads the stream's state or a backup of that checkpoint.

The Asset is named as its producer names it (name and URI are the contract between the two DAG files; a DAG file
defines one DAG, so the producer's module is not imported here).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from airflow.sdk import DAG, Asset, task

STREAM_CHECKPOINTED = Asset(name="flink_orders_stream_checkpointed", uri="x-flink://orders-stream/checkpointed")

log = logging.getLogger(__name__)

with DAG(
    "flink_checkpoint_consumer",
    schedule=[STREAM_CHECKPOINTED],
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["flink", "example", "assets"],
) as dag:

    @task
    def use_checkpoint(*, triggering_asset_events: Any = None) -> dict[str, Any]:
        """The newest checkpoint event that triggered this run: the job and the checkpoint Flink completed."""
        event = triggering_asset_events[STREAM_CHECKPOINTED][-1]
        extra = event.extra
        log.info("Flink job %s of cluster %s/%s completed checkpoint %s at %s (event of run %s)", extra["job_id"],
                 extra["namespace"], extra["cluster_id"], extra["checkpoint_id"], extra["checkpoint_path"],
                 event.source_run_id)
        return {"job_id": extra["job_id"], "cluster_id": extra["cluster_id"], "checkpoint_id": extra["checkpoint_id"],
                "checkpoint_path": extra["checkpoint_path"], "source_run_id": event.source_run_id}

    use_checkpoint()
