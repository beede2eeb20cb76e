"""flink_conf options that shape the JobManager's objects: rendered as the real client renders them, or refused by the
native launcher by name (the values here are those the real 1.20.3 and 2.3.0 clients were checked with in
tests/integration/test_kubernetes_objects_against_flink_client.py)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_flink_k8s.core.dry_run import render_launch
from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.jobmanager_options import NATIVE_REFUSED, check_native_options, unrendered_options
from airflow_flink_k8s.core.kubernetes_objects import render_kubernetes_objects
from tests.spec_support import minimal_spec

ENV = "containerized.master.env."
#: Values for each refused option that the real client turns into objects.
REFUSED_VALUES = {
    "kubernetes.persistent-volume-claims": "pvc1:/data",
    "security.kerberos.login.keytab": "/etc/krb/flink.keytab",
    "security.kerberos.krb5-conf.path": "/etc/krb5.conf",
    "kubernetes.artifacts.local-upload-enabled": "true",
}
#: The version each refusal is checked on: PVCs are rendered from 2.3 (the client checked) and refused for 2.0-2.2.
REFUSED_ON = {"kubernetes.persistent-volume-claims": "2.2.0"}

def _container(version: str, conf: dict[str, str], **fields: Any) -> dict[str, Any]:
    deployment = render_kubernetes_objects(minimal_spec(version, flink_conf=conf, **fields))[0]
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def _services(version: str, conf: dict[str, str]) -> list[dict[str, Any]]:
    return [o for o in render_kubernetes_objects(minimal_spec(version, flink_conf=conf)) if o["kind"] == "Service"]


@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_master_env_comes_first_in_the_clients_hash_map_order_then_the_pod_ip_then_the_log_dir(version: str) -> None:
    conf = {f"{ENV}ENABLE_BUILT_IN_PLUGINS": "flink-s3-fs-hadoop-2.3.0.jar", f"{ENV}B_VAR": "b",
            f"{ENV}A_VAR": "a x", "containerized.taskmanager.env.TM_ONLY": "t",
            "kubernetes.flink.log.dir": "/opt/flink/mylog"}
    env = _container(version, conf)["env"]
    assert [e["name"] for e in env] == ["B_VAR", "A_VAR", "ENABLE_BUILT_IN_PLUGINS", "_POD_IP_ADDRESS",
                                        "FLINK_LOG_DIR"]
    assert env[1] == {"name": "A_VAR", "value": "a x"}
    assert env[-1] == {"name": "FLINK_LOG_DIR", "value": "/opt/flink/mylog"}


def test_names_in_one_bucket_are_ordered_by_the_bucket_of_their_full_key() -> None:
    """V0 and V16 share a bucket of the env map; the client's whole configuration orders them (V16 first)."""
    env = _container("2.3.0", {f"{ENV}V0": "1", f"{ENV}V16": "2"})["env"]
    assert [e["name"] for e in env] == ["V16", "V0", "_POD_IP_ADDRESS"]


@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_limit_factors_raise_the_limits_as_the_client_computes_them(version: str) -> None:
    conf = {"kubernetes.jobmanager.cpu.limit-factor": "2.5", "kubernetes.jobmanager.memory.limit-factor": "1.33"}
    resources = _container(version, conf, jobmanager_cpu=0.3)["resources"]
    assert resources == {"limits": {"cpu": "0.75", "memory": "2128Mi"}, "requests": {"cpu": "0.3", "memory": "1600Mi"}}


@pytest.mark.parametrize("value", ["0.5", "abc", "inf", "1_0", "", "nan"])
def test_a_limit_factor_the_client_would_refuse_is_refused_for_both_launchers(value: str) -> None:
    with pytest.raises(FlinkSpecError, match=r"flink_conf\['kubernetes.jobmanager.memory.limit-factor'\]"):
        minimal_spec("2.3.0", flink_conf={"kubernetes.jobmanager.memory.limit-factor": value})


def test_entry_path_and_entrypoint_args_shape_the_command() -> None:
    container = _container("2.3.0", {"kubernetes.entry.path": "/my-entry.sh",
                                     "kubernetes.jobmanager.entrypoint.args": "-Dfoo=bar"})
    assert container["command"] == ["/my-entry.sh"]
    assert container["args"] == ["bash", "-c", "kubernetes-jobmanager.sh kubernetes-application -Dfoo=bar"]


def test_service_options_follow_the_release_that_has_them() -> None:
    """Annotations of the rest Service (1.16+) and the internal one (1.20+); both Services' labels from 2.1, where
    the option's labels win over Flink's."""
    conf = {"kubernetes.rest-service.annotations": "ra:1,'\"example.com/r\":\"x:y,z\"'",
            "kubernetes.rest-service.labels": "rl:1,type:mine", "kubernetes.internal-service.annotations": "ia:1",
            "kubernetes.internal-service.labels": "il:1,app:other"}
    internal, rest = _services("2.3.0", conf)
    assert rest["metadata"]["annotations"] == {"ra": "1", "example.com/r": "x:y,z"}
    assert rest["metadata"]["labels"] == {"app": "probe", "type": "mine", "rl": "1"}
    assert internal["metadata"] == {"annotations": {"ia": "1"}, "labels": {"app": "other", "il": "1",
                                    "type": "flink-native-kubernetes"}, "name": "probe"}
    internal, rest = _services("1.20.3", conf)
    assert internal["metadata"]["annotations"] == {"ia": "1"}
    assert rest["metadata"]["labels"] == internal["metadata"]["labels"] == {"app": "probe",
                                                                            "type": "flink-native-kubernetes"}
    internal, _ = _services("1.19.1", conf)
    assert "annotations" not in internal["metadata"]


@pytest.mark.parametrize(("key", "value", "rule"), [
    ("kubernetes.rest-service.annotations", "'\"r,b\":\"x\"'", "keys must be Kubernetes annotation keys"),
    ("kubernetes.internal-service.labels", "app:x y", "must be a Kubernetes label value"),
])
def test_service_metadata_the_api_server_would_refuse_is_refused(key: str, value: str, rule: str) -> None:
    with pytest.raises(FlinkSpecError, match=rf"flink_conf\['{key}'\]: .*{rule}"):
        minimal_spec("2.3.0", flink_conf={key: value})


@pytest.mark.parametrize("value", ["a", "a:1:2", "'a':1x", "'a:1"])
def test_a_map_the_client_cannot_split_is_refused(value: str) -> None:
    message = r"flink_conf\['kubernetes.rest-service.annotations'\]: is not a Flink map"
    with pytest.raises(FlinkSpecError, match=message):
        minimal_spec("2.3.0", flink_conf={"kubernetes.rest-service.annotations": value})


@pytest.mark.parametrize("key", sorted(NATIVE_REFUSED))
def test_the_native_launcher_refuses_each_option_it_does_not_render_by_name(key: str) -> None:
    spec = minimal_spec(REFUSED_ON.get(key, "2.3.0"), flink_conf={key: REFUSED_VALUES[key]})  # cli takes it
    message = rf"flink_conf\['{key}'\]: is not rendered by the native launcher: use launcher='cli'"
    with pytest.raises(FlinkSpecError, match=message):
        check_native_options(spec)
    with pytest.raises(FlinkSpecError, match=message):
        render_kubernetes_objects(spec)
    with pytest.raises(FlinkSpecError, match=message):
        render_launch(spec, "native", run=None, nonce=b"\0" * 16)
    preview = render_launch(spec, "cli", run=None, nonce=b"\0" * 16)
    assert f"flink_conf[{key!r}]: the Flink client applies it to the objects; they are shown without it" in \
        preview.notes


def test_refused_booleans_at_their_default_are_accepted() -> None:
    spec = minimal_spec("2.3.0", flink_conf={"kubernetes.artifacts.local-upload-enabled": "false"})
    assert unrendered_options(spec) == []
    render_kubernetes_objects(spec)


def _pod(version: str, conf: dict[str, str], **fields: Any) -> dict[str, Any]:
    deployment = render_kubernetes_objects(minimal_spec(version, flink_conf=conf, **fields))[0]
    pod: dict[str, Any] = deployment["spec"]["template"]
    return pod


@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_host_network_puts_the_pod_on_the_node_network_without_container_ports(version: str) -> None:
    pod = _pod(version, {"kubernetes.hostnetwork.enabled": "TRUE"})
    assert (pod["spec"]["hostNetwork"], pod["spec"]["dnsPolicy"]) == (True, "ClusterFirstWithHostNet")
    assert "ports" not in pod["spec"]["containers"][0]
    pod = _pod(version, {"kubernetes.hostnetwork.enabled": "false"})
    assert (pod["spec"]["hostNetwork"], pod["spec"]["dnsPolicy"]) == (False, "ClusterFirst")


@pytest.mark.parametrize("value", [" true", "yes", "1", ""])
def test_a_boolean_the_client_cannot_read_is_refused_for_both_launchers(value: str) -> None:
    with pytest.raises(FlinkSpecError, match=r"flink_conf\['kubernetes.hostnetwork.enabled'\]: must be true or false"):
        minimal_spec("2.3.0", flink_conf={"kubernetes.hostnetwork.enabled": value})


def test_owner_references_go_on_the_deployment_only_as_the_client_reads_them() -> None:
    conf = {"kubernetes.jobmanager.owner.reference": "APIVERSION:v1,Kind:ConfigMap,name:owner,UID:u-1,"
            "Controller:TRUE,blockownerdeletion:yes,other:ignored;apiVersion:batch/v1,kind:Job,name:j,uid:u-2"}
    objects = render_kubernetes_objects(minimal_spec("2.3.0", flink_conf=conf))
    assert objects[0]["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-1", "controller": True,
         "blockOwnerDeletion": False},
        {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "u-2"}]
    assert all("ownerReferences" not in obj["metadata"] for obj in objects[1:])


@pytest.mark.parametrize(("value", "rule"), [
    ("apiVersion:v1,kind:ConfigMap,name:owner", "needs apiVersion, kind, name and uid"),
    ("apiVersion:v1,kind:A,name:a,uid:1,controller:true;apiVersion:v1,kind:B,name:b,uid:2,controller:true",
     "may name one controller"),
    ("apiVersion", "is not a Flink map"),
])
def test_an_owner_reference_the_api_server_would_refuse_is_refused(value: str, rule: str) -> None:
    with pytest.raises(FlinkSpecError, match=rf"kubernetes.jobmanager.owner.reference'\]: .*{rule}"):
        minimal_spec("2.3.0", flink_conf={"kubernetes.jobmanager.owner.reference": value})


@pytest.mark.parametrize("version", ["1.20.3", "2.3.0"])
def test_conf_dir_artifacts_dir_and_hadoop_config_map_move_and_add_mounts(version: str) -> None:
    conf = {"kubernetes.flink.conf.dir": "/etc/flink", "user.artifacts.base-dir": "/opt/flink/my-artifacts",
            "kubernetes.hadoop.conf.config-map.name": "hadoop-conf"}
    pod = _pod(version, conf, secret_mounts={"s3": "/opt/s3"})
    container = pod["spec"]["containers"][0]
    assert [(m["name"], m["mountPath"]) for m in container["volumeMounts"]] == [
        ("user-artifacts-volume", "/opt/flink/my-artifacts"), ("s3-volume", "/opt/s3"),
        ("hadoop-config-volume", "/opt/hadoop/conf"), ("flink-config-volume", "/etc/flink")]
    assert pod["spec"]["volumes"][2] == {"configMap": {"name": "hadoop-conf"}, "name": "hadoop-config-volume"}
    assert container["env"][-1] == {"name": "HADOOP_CONF_DIR", "value": "/opt/hadoop/conf"}
    off = _pod(version, {**conf, "kubernetes.decorator.hadoop-conf-mount.enabled": "false"})
    assert "hadoop-config-volume" not in [v["name"] for v in off["spec"]["volumes"]]
    assert _pod("1.18.1", conf)["spec"]["containers"][0]["volumeMounts"] == [  # no artifacts volume before 1.19
        {"mountPath": "/opt/hadoop/conf", "name": "hadoop-config-volume"},
        {"mountPath": "/etc/flink", "name": "flink-config-volume"}]


def test_persistent_volume_claims_are_mounted_in_the_clients_hash_map_order_from_2_3() -> None:
    conf = {"kubernetes.persistent-volume-claims": "x-.-y:/x,zz:/z,q1:/q1",
            "kubernetes.persistent-volume-claim-read-only": "true"}
    pod = _pod("2.3.0", conf)
    claims = [v for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [{"name": "zz-pvc", "persistentVolumeClaim": {"claimName": "zz", "readOnly": True}},
                      {"name": "q1-pvc", "persistentVolumeClaim": {"claimName": "q1", "readOnly": True}},
                      {"name": "x---y-pvc", "persistentVolumeClaim": {"claimName": "x-.-y", "readOnly": True}}]
    mounts = pod["spec"]["containers"][0]["volumeMounts"][1:4]
    assert mounts == [{"mountPath": "/z", "name": "zz-pvc", "readOnly": True},
                      {"mountPath": "/q1", "name": "q1-pvc", "readOnly": True},
                      {"mountPath": "/x", "name": "x---y-pvc", "readOnly": True}]


@pytest.mark.parametrize(("value", "rule"), [
    ("Bad:/x", "DNS-1123"), ("ok:relative", "absolute container path"), ("a:/x,b:/x", "must be unique"),
    ("a.b:/x,a-b:/y", "must be unique"), ("c" * 60 + ":/x", "at most 63 characters"),
])
def test_claims_the_client_refuses_are_refused(value: str, rule: str) -> None:
    with pytest.raises(FlinkSpecError, match=rf"kubernetes.persistent-volume-claims'\]: .*{rule}"):
        minimal_spec("2.3.0", flink_conf={"kubernetes.persistent-volume-claims": value})


def test_two_flink_volumes_at_one_path_are_refused_before_anything_is_created() -> None:
    with pytest.raises(FlinkSpecError, match="Flink would mount flink-config-volume and s3-volume at the same path"):
        minimal_spec("2.3.0", flink_conf={"kubernetes.flink.conf.dir": "/opt/s3/"}, secret_mounts={"s3": "/opt/s3"})
    with pytest.raises(FlinkSpecError, match="must not mount at a path Flink mounts"):
        minimal_spec("2.3.0", flink_conf={"kubernetes.persistent-volume-claims": "data:/data"},
                     jobmanager_pod_template={"spec": {"containers": [{"name": "flink-main-container",
                                                                       "volumeMounts": [{"name": "v",
                                                                                         "mountPath": "/data"}]}],
                                                       "volumes": [{"name": "v", "emptyDir": {}}]}})
