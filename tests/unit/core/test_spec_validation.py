"""Bad launch specs are refused before any API call, with an error naming the field and the rule."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest

from airflow_flink_k8s.core.spec import FlinkApplicationSpec, FlinkSpecError, spec_warnings
from tests.request_guard import guard_catches_a_connection_and_a_client, guard_requests

VALID: dict[str, Any] = {
    "cluster_id": "state-machine-cluster",
    "image": "harbor.example/flink/statemachine:v0.0.6",
    "jar_uri": "local:///opt/flink/usrlib/StateMachineExample.jar",
    "flink_version": "2.3.0",
}
ZK = {"ha": "zookeeper", "ha_storage_dir": "hdfs:///flink/ha", "zookeeper_quorum": "127.0.0.1:2181"}


def rendered(template: str, **context: Any) -> str:
    """A templated operator argument as Airflow would render it."""
    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(template).render(**context)


@pytest.fixture(autouse=True)
def requests_attempted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every network connection or API client built during a test here fails and is listed (tests/request_guard.py)."""
    return guard_requests(monkeypatch)


# (case id, overrides, field named in the error, words of the rule)
BAD_INPUTS: list[tuple[str, dict[str, Any], str, str]] = [
    ("cluster-id-uppercase", {"cluster_id": "My-Job"}, "cluster_id", "DNS-1035"),
    ("cluster-id-underscore", {"cluster_id": "my_job"}, "cluster_id", "DNS-1035"),
    ("cluster-id-leading-digit", {"cluster_id": "1job"}, "cluster_id", "DNS-1035"),
    ("cluster-id-trailing-dash", {"cluster_id": "job-"}, "cluster_id", "DNS-1035"),
    ("cluster-id-too-long", {"cluster_id": "a" * 46}, "cluster_id", "at most 45"),
    ("cluster-id-empty", {"cluster_id": ""}, "cluster_id", "non-empty"),
    ("cluster-id-template-uppercase",
     {"cluster_id": rendered("{{ dag_id }}-{{ ds_nodash }}", dag_id="ETL", ds_nodash="20260101")},
     "cluster_id", "DNS-1035"),
    ("cluster-id-template-too-long", {"cluster_id": rendered("job-{{ run_id }}", run_id="x" * 60)},
     "cluster_id", "at most 45"),
    ("cluster-id-template-empty", {"cluster_id": rendered("{{ params.cid }}", params={"cid": ""})},
     "cluster_id", "non-empty"),
    ("image-empty", {"image": ""}, "image", "non-empty"),
    ("image-whitespace", {"image": "flink: 2.3"}, "image", "without whitespace"),
    ("pull-policy", {"image_pull_policy": "Sometimes"}, "image_pull_policy", "one of"),
    ("pull-secret-name", {"image_pull_secrets": ["Bad_Secret"]}, "image_pull_secrets", "DNS-1123"),
    ("jar-not-local-on-1.18", {"flink_version": "1.18.1", "jar_uri": "s3://bucket/job.jar"}, "jar_uri", "local://"),
    ("jar-without-scheme", {"jar_uri": "/opt/flink/usrlib/job.jar"}, "jar_uri", "scheme"),
    ("version-unknown", {"flink_version": "2.x"}, "flink_version", "MAJOR.MINOR"),
    ("version-too-old", {"flink_version": "1.15.4"}, "flink_version", "1.16 to 2.3"),
    ("version-too-new", {"flink_version": "2.4.0"}, "flink_version", "1.16 to 2.3"),
    ("zookeeper-without-quorum", {"ha": "zookeeper", "ha_storage_dir": "hdfs:///ha"}, "zookeeper_quorum", "required"),
    ("zookeeper-bad-quorum", {**ZK, "zookeeper_quorum": "zk-0"}, "zookeeper_quorum", "host:port"),
    ("zookeeper-relative-root", {**ZK, "zookeeper_root": "flink"}, "zookeeper_root", "absolute"),
    ("ha-without-storage-dir", {"ha": "kubernetes"}, "ha_storage_dir", "required"),
    ("ha-unknown-mode", {"ha": "etcd"}, "ha", "one of"),
    ("replicas-without-ha", {"jobmanager_replicas": 2}, "jobmanager_replicas", "unless ha"),
    ("checkpoint-base-without-scheme", {"checkpoint_base_dir": "/flink/checkpoints"}, "checkpoint_base_dir", "scheme"),
    ("savepoint-base-without-scheme", {"savepoint_base_dir": "flink/savepoints"}, "savepoint_base_dir", "scheme"),
    ("ha-storage-without-scheme", {"ha": "kubernetes", "ha_storage_dir": "/ha"}, "ha_storage_dir", "scheme"),
    ("memory-decimal", {"taskmanager_memory": "1.5g"}, "taskmanager_memory", "memory size"),
    ("memory-kubernetes-unit", {"jobmanager_memory": "1600Mi"}, "jobmanager_memory", "memory size"),
    ("memory-zero", {"jobmanager_memory": "0m"}, "jobmanager_memory", "at least 1 MiB"),
    ("cpu-millicores", {"taskmanager_cpu": "500m"}, "taskmanager_cpu", "number of cores"),
    ("cpu-zero", {"jobmanager_cpu": 0}, "jobmanager_cpu", "number of cores"),
    ("node-selector-bad-key", {"jobmanager_node_selector": {"bad key": "x"}}, "jobmanager_node_selector", "label keys"),
    ("node-selector-bad-value", {"taskmanager_node_selector": {"role": "flink:node"}},
     "taskmanager_node_selector", "label value"),
    ("node-selector-not-a-mapping", {"taskmanager_node_selector": "role:flink"},
     "taskmanager_node_selector", "mapping"),
    ("toleration-operator", {"jobmanager_tolerations": [{"key": "k", "operator": "Maybe"}]},
     "jobmanager_tolerations", "operator"),
    ("rest-service-type", {"rest_service_type": "Ingress"}, "rest_service_type", "one of"),
    ("namespace-uppercase", {"namespace": "Flink"}, "namespace", "DNS-1123"),
    ("namespace-too-long", {"namespace": "n" * 64}, "namespace", "DNS-1123"),
    ("job-id-short", {"job_id": "abc"}, "job_id", "32 lowercase hexadecimal"),
    ("job-id-uppercase", {"job_id": "0123456789ABCDEF0123456789ABCDEF"}, "job_id", "32 lowercase hexadecimal"),
    ("managed-key-checkpoint-dir", {"flink_conf": {"state.checkpoints.dir": "s3://b/c"}},
     "flink_conf['state.checkpoints.dir']", "'checkpoint_base_dir' parameter"),
    ("managed-key-new-checkpoint-dir", {"flink_conf": {"execution.checkpointing.dir": "s3://b/c"}},
     "flink_conf['execution.checkpointing.dir']", "'checkpoint_base_dir' parameter"),
    ("managed-key-image-alias", {"flink_conf": {"kubernetes.container.image": "x"}},
     "flink_conf['kubernetes.container.image']", "'image' parameter"),
    ("managed-key-job-id", {"flink_conf": {"$internal.pipeline.job-id": "0" * 32}},
     "flink_conf['$internal.pipeline.job-id']", "'job_id' parameter"),
    ("managed-key-ha-legacy", {"flink_conf": {"high-availability": "zookeeper"}},
     "flink_conf['high-availability']", "'ha' parameter"),
    ("restore-and-savepoint-key", {"restore": "s3://b/sp-1", "flink_conf": {"execution.savepoint.path": "s3://b/sp-2"}},
     "flink_conf['execution.savepoint.path']", "'restore' parameter"),
    ("restore-latest-without-ha", {"restore": "latest", "job_id": "0" * 32}, "restore", "needs ha"),
    ("restore-path-without-scheme", {"restore": "/savepoints/sp-1"}, "restore", "'none', 'latest' or a savepoint path"),
    ("checkpoint-interval", {"checkpoint_interval": "often"}, "checkpoint_interval", "duration"),
    ("checkpoint-interval-zero", {"checkpoint_interval": "0s"}, "checkpoint_interval", "at least 10 ms"),
    ("checkpoint-interval-below-flinks-minimum", {"checkpoint_interval": "5 ms"},
     "checkpoint_interval", "at least 10 ms"),
    ("entry-class", {"entry_class": "org.example.My Job"}, "entry_class", "Java class"),
    ("parallelism-zero", {"parallelism": 0}, "parallelism", "at least 1"),
    ("program-args-string", {"program_args": "--input x"}, "program_args", "list of strings"),
    ("secret-mount-name-with-dot", {"secret_mounts": {"s3.creds": "/opt/secrets"}}, "secret_mounts", "DNS-1123 labels"),
    ("secret-mount-name-too-long", {"secret_mounts": {"s" * 57: "/opt/secrets"}}, "secret_mounts", "at most 56"),
    ("secret-mount-relative-path", {"secret_mounts": {"creds": "opt/secrets"}}, "secret_mounts['creds']", "absolute"),
    ("secret-mount-path-colon", {"secret_mounts": {"creds": "/opt/a:b"}}, "secret_mounts['creds']", "without ':'"),
    ("secret-mount-path-dotdot", {"secret_mounts": {"creds": "/opt/../etc"}}, "secret_mounts['creds']", "'..'"),
    ("secret-mount-over-flink-conf", {"secret_mounts": {"creds": "/opt/flink/conf/"}},
     "secret_mounts['creds']", "no other volume"),
    ("secret-mounts-same-path", {"secret_mounts": {"a": "/opt/s", "b": "/opt/s/"}},
     "secret_mounts['b']", "no other volume"),
    ("secret-mounts-not-a-mapping", {"secret_mounts": ["creds:/opt/secrets"]}, "secret_mounts", "mapping"),
    ("secret-env-not-a-list", {"secret_env": {"env": "A", "secret": "s", "key": "k"}}, "secret_env", "list of"),
    ("secret-env-missing-key", {"secret_env": [{"env": "A", "secret": "s"}]}, "secret_env", "each entry"),
    ("secret-env-bad-name", {"secret_env": [{"env": "1 A", "secret": "s", "key": "k"}]},
     "secret_env", "environment variable name"),
    ("secret-env-pod-ip", {"secret_env": [{"env": "_POD_IP_ADDRESS", "secret": "s", "key": "k"}]},
     "secret_env", "Flink sets"),
    ("secret-env-duplicate", {"secret_env": [{"env": "A", "secret": "s", "key": "k"}] * 2}, "secret_env", "unique"),
    ("secret-env-bad-secret", {"secret_env": [{"env": "A", "secret": "S_3", "key": "k"}]}, "secret_env", "DNS-1123"),
    ("secret-env-bad-key", {"secret_env": [{"env": "A", "secret": "s", "key": "a/b"}]}, "secret_env", "Secret key"),
    ("managed-key-secrets", {"flink_conf": {"kubernetes.secrets": "s:/opt/s"}},
     "flink_conf['kubernetes.secrets']", "'secret_mounts' parameter"),
    ("managed-key-secret-env", {"flink_conf": {"kubernetes.env.secretKeyRef": "env:A,secret:s,key:k"}},
     "flink_conf['kubernetes.env.secretKeyRef']", "'secret_env' parameter"),
    # issue 10, part 4: accepted before, wrong
    ("image-uppercase-name", {"image": "Flink:2.3.0"}, "image", "lower case"),
    ("image-uppercase-path", {"image": "harbor.example/Flink/job:1"}, "image", "lower case"),
    ("image-leading-dash", {"image": "-flink:2.3.0"}, "image", "start with '-'"),
    ("image-empty-tag", {"image": "flink:"}, "image", "image reference"),
    ("image-bad-digest", {"image": "flink@sha256:abc"}, "image", "image reference"),
    ("jar-local-relative", {"jar_uri": "local://job.jar"}, "jar_uri", "absolute path"),
    ("jar-file-host", {"jar_uri": "file://usrlib/job.jar"}, "jar_uri", "absolute path"),
    ("jar-unknown-scheme", {"jar_uri": "ftp://host/job.jar"}, "jar_uri", "scheme must be one of"),
    ("jar-typo-scheme", {"jar_uri": "s4://bucket/job.jar"}, "jar_uri", "scheme must be one of"),
    ("jar-s3-without-bucket", {"jar_uri": "s3:///job.jar"}, "jar_uri", "bucket"),
    ("checkpoint-file-host", {"checkpoint_base_dir": "file://ckpt"}, "checkpoint_base_dir", "absolute path"),
    ("savepoint-file-host", {"savepoint_base_dir": "file://savepoints/x"}, "savepoint_base_dir", "absolute path"),
    ("ha-storage-file-host", {"ha": "kubernetes", "ha_storage_dir": "file://ha"}, "ha_storage_dir", "absolute path"),
    ("restore-file-host", {"restore": "file://sp-1"}, "restore", "absolute path"),
    ("checkpoint-unknown-scheme", {"checkpoint_base_dir": "local:///ckpt"}, "checkpoint_base_dir",
     "scheme must be one of"),
    ("checkpoint-http", {"checkpoint_base_dir": "http://host/ckpt"}, "checkpoint_base_dir", "scheme must be one of"),
    ("savepoint-gs-without-bucket", {"savepoint_base_dir": "gs:///sp"}, "savepoint_base_dir", "bucket"),
    ("secret-mount-over-root", {"secret_mounts": {"creds": "/"}}, "secret_mounts['creds']",
     "hide the Flink distribution"),
    ("secret-mount-over-opt", {"secret_mounts": {"creds": "/opt"}}, "secret_mounts['creds']",
     "hide the Flink distribution"),
    ("secret-mount-over-flink-home", {"secret_mounts": {"creds": "/opt/flink/"}}, "secret_mounts['creds']",
     "hide the Flink distribution"),
    ("secret-mount-over-flink-lib", {"secret_mounts": {"creds": "/opt/flink/lib"}}, "secret_mounts['creds']",
     "hide the Flink distribution"),
    ("secret-mount-over-flink-plugins", {"secret_mounts": {"creds": "/opt/flink/plugins"}}, "secret_mounts['creds']",
     "hide the Flink distribution"),
    ("secret-mount-over-the-jar", {"secret_mounts": {"creds": "/opt/flink/usrlib"}}, "secret_mounts['creds']",
     "hide the job jar"),
    ("toleration-exists-with-value", {"taskmanager_tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]},
     "taskmanager_tolerations", "value must be empty when operator is 'Exists'"),
    ("toleration-equal-without-key", {"jobmanager_tolerations": [{"operator": "Equal", "value": "v"}]},
     "jobmanager_tolerations", "must be 'Exists' when key is empty"),
    ("toleration-seconds-without-noexecute",
     {"jobmanager_tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}]},
     "jobmanager_tolerations", "'NoExecute' when tolerationSeconds"),
    ("toleration-unknown-field", {"jobmanager_tolerations": [{"key": "k", "operator": "Exists", "valu": "v"}]},
     "jobmanager_tolerations", "fields must be among"),
    ("toleration-bad-effect", {"jobmanager_tolerations": [{"key": "k", "operator": "Exists", "effect": "Never"}]},
     "jobmanager_tolerations", "effect must be one of"),
    ("annotations-over-256-kib", {"jobmanager_annotations": {f"a{i}": "x" * 1024 for i in range(256)}},
     "jobmanager_annotations", "at most 256 KiB"),
    ("taskmanager-annotations-over-256-kib", {"taskmanager_annotations": {"big": "x" * (256 * 1024)}},
     "taskmanager_annotations", "at most 256 KiB"),
    ("annotation-bad-key", {"jobmanager_annotations": {"bad key": "v"}}, "jobmanager_annotations", "annotation keys"),
    ("parallelism-above-flinks-bound", {"parallelism": 32769}, "parallelism", "at most 32768"),
    ("parallelism-above-max-parallelism", {"parallelism": 200, "flink_conf": {"pipeline.max-parallelism": "128"}},
     "parallelism", "pipeline.max-parallelism"),
    ("parallelism-above-slot-capacity",
     {"parallelism": 8, "task_slots": 2, "flink_conf": {"slotmanager.number-of-slots.max": "4"}},
     "parallelism", "number-of-slots.max"),
    ("parallelism-above-whole-taskmanagers",
     {"parallelism": 5, "task_slots": 4, "flink_conf": {"slotmanager.number-of-slots.max": "6"}},
     "parallelism", "the 4 slots"),
    ("reactive-mode-on-native-kubernetes", {"flink_conf": {"scheduler-mode": "reactive"}},
     "flink_conf['scheduler-mode']", "standalone application clusters only"),
    ("task-slots-zero", {"task_slots": 0}, "task_slots", "at least 1"),
    ("parallelism-bool", {"parallelism": True}, "parallelism", "integer"),
    ("service-account-uppercase", {"service_account": "Flink"}, "service_account", "DNS-1123"),
    ("label-value-too-long", {"taskmanager_labels": {"team": "x" * 64}}, "taskmanager_labels", "label value"),
    ("pod-template-not-a-pod", {"taskmanager_pod_template": {"kind": "Deployment"}}, "taskmanager_pod_template",
     "Pod manifest"),
    ("zookeeper-root-slash", {**ZK, "zookeeper_root": "/"}, "zookeeper_root", "absolute znode path"),
    ("zookeeper-quorum-port-zero", {**ZK, "zookeeper_quorum": "zk:0"}, "zookeeper_quorum", "ports 1-65535"),
    ("restore-latest-with-ha-none-and-no-job", {"restore": "latest"}, "restore", "needs ha"),
    ("program-args-nul", {"program_args": ["a\x00b"]}, "program_args", "without NUL"),
]


@pytest.mark.parametrize(("overrides", "field", "rule_words"), [c[1:] for c in BAD_INPUTS],
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_rejected_naming_field_and_rule(overrides: dict[str, Any], field: str, rule_words: str,
                                                    requests_attempted: list[str]) -> None:
    with pytest.raises(FlinkSpecError) as caught:
        FlinkApplicationSpec(**{**VALID, **overrides})
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.field == field
    assert rule_words in error.rule
    assert str(error).startswith(f"{field}: ")
    assert requests_attempted == []


def test_the_no_request_guard_is_on(requests_attempted: list[str]) -> None:
    guard_catches_a_connection_and_a_client(requests_attempted)


def test_parallelism_above_the_slots_is_a_warning_under_the_adaptive_scheduler() -> None:
    """The adaptive scheduler runs the job with the slots it gets: Flink accepts it, so the launch only warns."""
    conf = {"slotmanager.number-of-slots.max": "4", "jobmanager.scheduler": "adaptive"}
    spec = FlinkApplicationSpec(**VALID, parallelism=8, task_slots=2, flink_conf=conf)
    assert spec_warnings(spec) == ["parallelism 8 is above the 4 slots slotmanager.number-of-slots.max allows: the "
                                   "adaptive scheduler will run the job with at most that many"]
    assert spec_warnings(FlinkApplicationSpec(**VALID, parallelism=4, task_slots=2, flink_conf=conf)) == []


def test_the_message_shows_the_rule_and_the_rendered_value() -> None:
    with pytest.raises(FlinkSpecError) as caught:
        FlinkApplicationSpec(**{**VALID, "cluster_id": "My_Job"})
    assert str(caught.value) == "cluster_id: must be a DNS-1035 label ([a-z]([-a-z0-9]*[a-z0-9])?), got 'My_Job'"


@pytest.mark.parametrize("flink_conf", [{"s3.secret-key": ["hunter2-secret"]}, [("s3.secret-key", "hunter2-secret")]],
                         ids=["bad-value-type", "not-a-mapping"])
def test_a_bad_flink_conf_error_never_echoes_the_value(flink_conf: Any) -> None:
    with pytest.raises(FlinkSpecError, match=r"^flink_conf") as caught:
        FlinkApplicationSpec(**VALID, flink_conf=flink_conf)
    assert "hunter2" not in str(caught.value) and "list" in caught.value.rule


def test_the_reference_launch_is_accepted() -> None:
    spec = FlinkApplicationSpec(
        **{**VALID, "flink_version": "1.18.1"},
        namespace="hke-flink",
        parallelism=1,
        taskmanager_memory="1024m",
        taskmanager_cpu=0.5,
        task_slots=1,
        service_account="flink",
        image_pull_secrets=["docker-registry-test"],
        jobmanager_node_selector={"kubernetes.io/role": "flink-node"},
        taskmanager_node_selector={"kubernetes.io/role": "flink-node"},
        rest_service_type="NodePort",
        ha="zookeeper",
        ha_storage_dir="hdfs:///flink/ha/k8s",
        zookeeper_quorum="zk:2181",
        checkpoint_base_dir="hdfs:///flink/checkpoints",
    )
    assert spec.checkpoint_dir == "hdfs:///flink/checkpoints/state-machine-cluster"


def test_non_local_jars_are_accepted_from_1_19() -> None:
    assert FlinkApplicationSpec(**{**VALID, "jar_uri": "s3://bucket/job.jar"}).jar_uri == "s3://bucket/job.jar"


def test_a_spec_survives_a_round_trip_through_plain_values() -> None:
    spec = FlinkApplicationSpec(
        **VALID,
        program_args=["--x", "1"],
        jobmanager_tolerations=[{"key": "k", "operator": "Exists"}],
        flink_conf={"pipeline.name": "etl", "execution.checkpointing.tolerable-failed-checkpoints": 3},
        secret_mounts={"s3-creds": "/opt/flink/secrets"},
        secret_env=[{"env": "AWS_SECRET_ACCESS_KEY", "secret": "s3-creds", "key": "secret-key"}],
    )
    again = FlinkApplicationSpec.from_dict(spec.to_dict())
    assert again == spec
    assert again.flink_conf["execution.checkpointing.tolerable-failed-checkpoints"] == "3"
    assert again.to_dict()["flink_version"] == "2.3.0"


def test_from_dict_names_an_unknown_field() -> None:
    with pytest.raises(FlinkSpecError) as caught:
        FlinkApplicationSpec.from_dict({**VALID, "clusterid": "x"})
    assert caught.value.field == "clusterid"


@pytest.mark.parametrize(("key", "field"), [("kubernetes.context", "cluster_context"),
                                            ("kubernetes.config.file", "kube_config_path or kube_config")])
def test_the_kubernetes_client_options_come_from_the_connection_not_flink_conf(key: str, field: str) -> None:
    """The cli launcher's client must reach the cluster the native launcher, sensor and roll-back use."""
    with pytest.raises(FlinkSpecError) as refused:
        FlinkApplicationSpec(cluster_id="orders", image="flink:2.3.0", jar_uri="local:///opt/flink/usrlib/job.jar",
                             flink_version="2.3.0", flink_conf={key: "other"})
    assert f"flink_conf['{key}']" in str(refused.value) and f"connection's {field} sets it" in str(refused.value)
