"""The reference StateMachineExample launch as an operator call, then a wait for its first checkpoint.

It is this platform submission, parameter for parameter::

    ./bin/flink run-application -p 1 -t kubernetes-application -Dkubernetes.cluster-id=state-machine-cluster \\
      -Dtaskmanager.memory.process.size=1024m -Dkubernetes.taskmanager.cpu=0.5 -Dtaskmanager.numberOfTaskSlots=1 \\
      -Dkubernetes.container.image=harbor.example/flink/statemachine:v0.0.6 -Dkubernetes.namespace=hke-flink \\
      -Dkubernetes.jobmanager.service-account=flink -Dkubernetes.container.image.pull-secrets=docker-registry-test \\
      -Dkubernetes.jobmanager.node-selector=kubernetes.io/role:flink-node \\
      -Dkubernetes.taskmanager.node-selector=kubernetes.io/role:flink-node \\
      -Dkubernetes.rest-service.exposed.type=NodePort -Dhigh-availability=zookeeper \\
      -Dhigh-availability.storageDir=hdfs:///flink/ha/k8s -Dstate.checkpoints.dir=hdfs:///flink/checkpoints/... \\
      local:///opt/flink/usrlib/StateMachineExample.jar

with Kubernetes HA by default (``ha`` param ``zookeeper`` for the ZooKeeper variant) and the checkpoint dir
``<checkpoint_base_dir>/state-machine-cluster`` that the operator derives. The params default to the real
platform's values; ``make demo`` passes the local sandbox's (its image runs the small checkpointing job, since the
StateMachineExample jar does not ship in the PyPI distribution).
"""

from __future__ import annotations

import datetime

from airflow.sdk import DAG, Param

from airflow_flink_k8s.operators import FlinkApplicationOperator
from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor

with DAG(
    "flink_state_machine",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["flink", "example"],
    params={
        "namespace": Param("hke-flink", type="string"),
        "image": Param("harbor.example/flink/statemachine:v0.0.6", type="string"),
        "jar_uri": Param("local:///opt/flink/usrlib/StateMachineExample.jar", type="string"),
        "flink_version": Param("2.3", type="string"),
        "ha": Param("kubernetes", enum=["kubernetes", "zookeeper"]),
        "ha_storage_dir": Param("hdfs:///flink/ha/k8s", type="string"),
        "zookeeper_quorum": Param(None, type=["null", "string"]),
        "checkpoint_base_dir": Param("hdfs:///flink/checkpoints", type="string"),
        "jobmanager_memory": Param("1600m", type="string"),
    },
) as dag:
    launch = FlinkApplicationOperator(
        task_id="launch",
        cluster_id="state-machine-cluster",
        namespace="{{ params.namespace }}",
        image="{{ params.image }}",
        image_pull_secrets=["docker-registry-test"],
        service_account="flink",
        jar_uri="{{ params.jar_uri }}",
        flink_version="{{ params.flink_version }}",
        parallelism=1,
        jobmanager_memory="{{ params.jobmanager_memory }}",
        taskmanager_memory="1024m",
        taskmanager_cpu=0.5,
        task_slots=1,
        jobmanager_node_selector={"kubernetes.io/role": "flink-node"},
        taskmanager_node_selector={"kubernetes.io/role": "flink-node"},
        rest_service_type="NodePort",
        ha="{{ params.ha }}",
        ha_storage_dir="{{ params.ha_storage_dir }}",
        zookeeper_quorum="{{ params.zookeeper_quorum }}",
        checkpoint_base_dir="{{ params.checkpoint_base_dir }}",
        checkpoint_interval="10 s",
        if_exists="replace",
    )
    wait = FlinkJobManagerReadySensor(
        task_id="wait_checkpointed",
        cluster_id="state-machine-cluster",
        namespace="{{ params.namespace }}",
        ha="{{ params.ha }}",
        zookeeper_quorum="{{ params.zookeeper_quorum }}",
        flink_version="{{ params.flink_version }}",
        target="checkpointed",
        launch_task_id="launch",
        poke_interval=5,
        timeout=600,
    )
    launch >> wait
