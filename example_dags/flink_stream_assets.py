"""A streaming job as Airflow Assets: ``launch`` starts it and emits ``flink_orders_stream_started`` once every task
of the job runs; ``wait_checkpointed`` waits for its first completed checkpoint and emits
``flink_orders_stream_checkpointed``. Each event's ``extra`` says what Flink reported: cluster id, namespace, job id,
Flink version, ``reached`` (``running``, ``checkpointed``), the job state and, for the checkpoint, its id, external
path and time. ``flink_checkpoint_consumer`` is scheduled on the checkpoint Asset and reads them.

The Assets' URIs use the ``x-`` scheme prefix, which Airflow keeps as written (no provider registers a ``flink``
scheme). Airflow emits an Asset event only when its task succeeds; the deferred launch emits it when it resumes.
"""

from __future__ import annotations

import datetime

from airflow.sdk import DAG, Asset, Param

from airflow_flink_k8s.operators import FlinkApplicationOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor

STREAM_STARTED = Asset(name="flink_orders_stream_started", uri="x-flink://orders-stream/started")
STREAM_CHECKPOINTED = Asset(name="flink_orders_stream_checkpointed", uri="x-flink://orders-stream/checkpointed")

with DAG(
    "flink_stream_assets",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["flink", "example", "assets"],
    params={
        "namespace": Param("flink", type="string"),
        "image": Param("registry.example/flink/orders:1.4.0", type="string"),
        "jar_uri": Param("local:///opt/flink/usrlib/orders.jar", type="string"),
        "flink_version": Param("2.3", type="string"),
        "ha": Param("kubernetes", enum=["kubernetes", "zookeeper"]),
        "ha_storage_dir": Param("s3://flink/ha", type="string"),
        "checkpoint_base_dir": Param("s3://flink/checkpoints", type="string"),
        "jobmanager_memory": Param("1600m", type="string"),
    },
) as dag:
    launch = FlinkApplicationOperator(
        task_id="launch",
        cluster_id="orders-stream",
        namespace="{{ params.namespace }}",
        image="{{ params.image }}",
        jar_uri="{{ params.jar_uri }}",
        flink_version="{{ params.flink_version }}",
        parallelism=1,
        jobmanager_memory="{{ params.jobmanager_memory }}",
        taskmanager_memory="1024m",
        task_slots=1,
        ha="{{ params.ha }}",
        ha_storage_dir="{{ params.ha_storage_dir }}",
        checkpoint_base_dir="{{ params.checkpoint_base_dir }}",
        checkpoint_interval="10 s",
        if_exists="replace",
        wait_until="running",
        deferrable=True,
        outlets=[STREAM_STARTED],
    )
    wait_checkpointed = FlinkJobManagerReadySensor(
        task_id="wait_checkpointed",
        cluster_id="orders-stream",
        namespace="{{ params.namespace }}",
        ha="{{ params.ha }}",
        flink_version="{{ params.flink_version }}",
        target="checkpointed",
        launch_task_id="launch",
        poke_interval=5,
        timeout=600,
        outlets=[STREAM_CHECKPOINTED],
    )
    launch >> wait_checkpointed
