"""Launch specs shared by the rendering tests and their checks against the real Flink client."""

from __future__ import annotations

from typing import Any

from airflow_flink_k8s.core.spec import FlinkApplicationSpec

BASE: dict[str, Any] = {
    "cluster_id": "orders",
    "image": "registry.example/flink:job",
    "jar_uri": "local:///opt/flink/usrlib/job.jar",
}

#: HA, per-cluster dirs, a fixed job id and a savepoint restore: the fields that write the most keys.
STATE: dict[str, Any] = {
    "ha": "kubernetes",
    "ha_storage_dir": "s3://bucket/ha",
    "checkpoint_base_dir": "s3://bucket/checkpoints/",
    "savepoint_base_dir": "s3://bucket/savepoints",
    "job_id": "0123456789abcdef0123456789abcdef",
    "restore": "s3://bucket/savepoints/orders/savepoint-1",
    "jobmanager_cpu": 1,
}


def spec(version: str, **overrides: Any) -> FlinkApplicationSpec:
    """``BASE`` for ``version`` with ``overrides``."""
    return FlinkApplicationSpec(**{**BASE, "flink_version": version, **overrides})

TM_POD_TEMPLATE = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "taskmanager-template"},
    "spec": {"containers": [{"name": "flink-main-container", "env": [{"name": "FOO", "value": "bar"}]}]},
}

#: A JobManager pod template with everything the client merges: a sidecar and an init container, volumes and mounts,
#: env that collides with Flink's (``_POD_IP_ADDRESS``, a ``secret_env`` name), resources Flink overrides and one it
#: keeps, fields Flink overwrites (image, command, pull policy, hostNetwork) and maps it merges (labels, node selector).
JM_POD_TEMPLATE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "jobmanager-template",
        "labels": {"app": "from-template", "team": "template", "sidecar": "log-shipper"},
        "annotations": {"quote": "template", "example.com/scrape": "true"},
    },
    "spec": {
        "serviceAccountName": "template-sa",
        "dnsPolicy": "Default",
        "hostNetwork": True,
        "nodeSelector": {"zone": "template", "disk": "ssd"},
        "tolerations": [{"key": "template", "operator": "Exists"}],
        "imagePullSecrets": [{"name": "template-pull"}],
        "securityContext": {"fsGroup": 9999},
        "initContainers": [{
            "name": "fetch-jar", "image": "registry.example/flink:job-1",
            "command": ["cp", "/opt/flink/usrlib/job.jar", "/work/job.jar"],
            "volumeMounts": [{"name": "work", "mountPath": "/work"}],
        }],
        "containers": [
            {"name": "log-shipper", "image": "registry.example/fluent-bit:3",
             "volumeMounts": [{"name": "flink-logs", "mountPath": "/logs"}]},
            {"name": "flink-main-container", "image": "ignored:1", "imagePullPolicy": "Never",
             "command": ["ignored"], "args": ["ignored"],
             "env": [{"name": "_POD_IP_ADDRESS", "value": "template"}, {"name": "FROM_TEMPLATE", "value": "1"},
                     {"name": "API_TOKEN", "value": "template"}],
             "ports": [{"name": "metrics", "containerPort": 9249}],
             "resources": {"requests": {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "1Gi"},
                           "limits": {"memory": "8Gi", "ephemeral-storage": "2Gi", "nvidia.com/gpu": 1}},
             "volumeMounts": [{"name": "flink-logs", "mountPath": "/opt/flink/log"},
                              {"name": "checkpoints", "mountPath": "/checkpoints"}],
             "workingDir": "/opt/flink"},
        ],
        "volumes": [{"name": "flink-logs", "emptyDir": {}}, {"name": "work", "emptyDir": {}},
                    {"name": "checkpoints", "persistentVolumeClaim": {"claimName": "flink-checkpoints"}}],
    },
}

#: ``pod_template`` (``kubernetes.pod-template-file.default``): a sidecar, env and a volume for every Flink pod.
DEFAULT_POD_TEMPLATE: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"from": "default"}},
    "spec": {"containers": [{"name": "flink-main-container", "env": [{"name": "FROM_DEFAULT", "value": "1"}]},
                            {"name": "agent", "image": "registry.example/agent:1"}],
             "volumes": [{"name": "shared", "emptyDir": {}}]},
}


def minimal_spec(version: str, **overrides: Any) -> FlinkApplicationSpec:
    values: dict[str, Any] = {
        "cluster_id": "probe",
        "image": "registry.example/flink:job-1",
        "jar_uri": "local:///opt/flink/usrlib/job.jar",
        "flink_version": version,
    }
    values.update(overrides)
    return FlinkApplicationSpec(**values)


def full_spec(version: str, **overrides: Any) -> FlinkApplicationSpec:
    """Every option of the issue's reference command and more, with values that need Flink's quoting."""
    values: dict[str, Any] = {
        "cluster_id": "state-machine-cluster",
        "flink_version": version,
        "namespace": "hke-flink",
        "image": "harbor.example/flink/statemachine:v0.0.6",
        "image_pull_policy": "Always",
        "image_pull_secrets": ["docker-registry-test", "second"],
        "service_account": "flink",
        "jar_uri": "local:///opt/flink/usrlib/StateMachineExample.jar",
        "entry_class": "org.example.StateMachine",
        "program_args": ["--input", "a;b", "it's", "two words", ""],
        "parallelism": 3,
        "jobmanager_memory": "2g",
        "taskmanager_memory": "1024m",
        "jobmanager_cpu": 0.5,
        "taskmanager_cpu": "0.25",
        "task_slots": 2,
        "jobmanager_replicas": 2,
        "jobmanager_node_selector": {"kubernetes.io/role": "flink-node", "zone": "a"},
        "taskmanager_node_selector": {"kubernetes.io/role": "flink-node"},
        "jobmanager_tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "flink", "effect": "NoSchedule"},
            {"key": "spot", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
        ],
        "jobmanager_labels": {"team": "data", "example.com/tier": "gold"},
        "jobmanager_annotations": {"example.com/url": "http://x:1/a,b", "quote": "it's"},
        "taskmanager_pod_template": TM_POD_TEMPLATE,
        "rest_service_type": "NodePort",
        "ha": "zookeeper",
        "ha_storage_dir": "hdfs:///flink/ha/k8s",
        "zookeeper_quorum": "zk-0.zk:2181,zk-1.zk:2181",
        "zookeeper_root": "/flink-prod",
        "checkpoint_base_dir": "hdfs:///flink/checkpoints",
        "savepoint_base_dir": "s3://bucket/savepoints/",
        "checkpoint_interval": "10 s",
        "job_id": "0123456789abcdef0123456789abcdef",
        "restore": "s3://bucket/savepoints/state-machine-cluster/savepoint-0123-abcdef",
        "flink_conf": {"state.backend.type": "rocksdb", "pipeline.name": "it's a job"},
        "secret_mounts": {"s3-credentials": "/opt/flink/secrets/s3", "tls": "/etc/tls,certs"},
        "secret_env": [{"env": "AWS_SECRET_ACCESS_KEY", "secret": "s3-credentials", "key": "secret-key"},
                       {"key": "token", "secret": "api.tokens", "env": "API_TOKEN"}],
    }
    values.update(overrides)
    return FlinkApplicationSpec(**values)
