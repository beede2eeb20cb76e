"""Reruns and backfills: one cluster per logical date, and what each way of running it again does.

The cluster id is ``orders-<YYYYMMDD>`` of the logical date, so a backfill runs one cluster per day side by side.
The tasks run one after the other on that cluster:

1. ``launch_fresh``: ``restore="none"`` starts the job from scratch (a new job id, a new checkpoint path
   ``<checkpoint_base_dir>/orders-<day>/<job-id>``), replacing any cluster of an earlier run, and waits for a
   checkpoint.
2. ``relaunch_reuse``: the same spec with ``if_exists="reuse"`` reattaches to the running cluster (XCom
   ``launched`` is False, same job id); this is also what a retry of ``launch_fresh`` does.
3. ``resume_latest``: ``if_exists="replace", restore="latest"`` deletes the cluster but keeps its HA data, and
   the new cluster resumes the same job id from its latest checkpoint (the checkpoint counter continues).
4. ``upgrade_savepoint``: ``if_exists="upgrade", upgrade_mode="savepoint"`` with a new spec (parallelism 2): the
   running job stops with a savepoint into ``<savepoint_base_dir>/orders-<day>`` and the new spec restores from it
   (a new job id), in one task.
5. ``teardown``: deletes the cluster and its HA data.

Kubernetes HA: ``restore="latest"`` resumes from HA metadata, and the teardown deletes the HA ConfigMaps.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, Param

from airflow_flink_k8s.operators import FlinkApplicationOperator, FlinkApplicationTeardownOperator

CLUSTER_ID = "orders-{{ ds_nodash }}"

with DAG(
    "backfill_rerun",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["flink", "example"],
    params={
        "namespace": Param("hke-flink", type="string"),
        "image": Param("harbor.example/flink/orders:v1.0.0", type="string"),
        "jar_uri": Param("local:///opt/flink/usrlib/orders.jar", type="string"),
        "flink_version": Param("2.3", type="string"),
        "ha_storage_dir": Param("hdfs:///flink/ha/k8s", type="string"),
        "checkpoint_base_dir": Param("hdfs:///flink/checkpoints", type="string"),
        "savepoint_base_dir": Param("hdfs:///flink/savepoints", type="string"),
        "jobmanager_memory": Param("1600m", type="string"),
    },
) as dag:
    spec: dict[str, Any] = {
        "cluster_id": CLUSTER_ID,
        "namespace": "{{ params.namespace }}",
        "image": "{{ params.image }}",
        "jar_uri": "{{ params.jar_uri }}",
        "flink_version": "{{ params.flink_version }}",
        "parallelism": 1,
        "jobmanager_memory": "{{ params.jobmanager_memory }}",
        "taskmanager_memory": "1024m",
        "ha": "kubernetes",
        "ha_storage_dir": "{{ params.ha_storage_dir }}",
        "checkpoint_base_dir": "{{ params.checkpoint_base_dir }}",
        "checkpoint_interval": "5 s",
    }
    fresh = FlinkApplicationOperator(task_id="launch_fresh", restore="none", if_exists="replace",
                                     wait_until="checkpointed", **spec)
    reuse = FlinkApplicationOperator(task_id="relaunch_reuse", restore="none", if_exists="reuse", **spec)
    resume = FlinkApplicationOperator(task_id="resume_latest", restore="latest", if_exists="replace",
                                      wait_until="checkpointed", **spec)
    upgraded = {**spec, "parallelism": 2, "savepoint_base_dir": "{{ params.savepoint_base_dir }}"}
    upgrade = FlinkApplicationOperator(task_id="upgrade_savepoint", if_exists="upgrade", upgrade_mode="savepoint",
                                       wait_until="running", **upgraded)
    teardown = FlinkApplicationTeardownOperator(task_id="teardown", cluster_id=CLUSTER_ID,
                                                namespace="{{ params.namespace }}", ha="kubernetes")
    fresh >> reuse >> resume >> upgrade >> teardown
