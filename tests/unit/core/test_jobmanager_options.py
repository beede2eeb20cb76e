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
    "kubernetes.hostnetwork.enabled": "true",
    "kubernetes.jobmanager.owner.reference": "apiVersion:v1,kind:Deployment,name:owner,uid:u-1",
    "kubernetes.flink.conf.dir": "/opt/flink/myconf",
    "kubernetes.hadoop.conf.config-map.name": "hadoop-conf",
    "kubernetes.persistent-volume-claims": "pvc1:/data",
    "security.kerberos.login.keytab": "/etc/krb/flink.keytab",
    "security.kerberos.krb5-conf.path": "/etc/krb5.conf",
    "user.artifacts.base-dir": "/opt/flink/my-artifacts",
    "kubernetes.artifacts.local-upload-enabled": "true",
}


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
    conf = {"kubernetes.rest-service.annotations": "ra:1,'\"r,b\":\"x:y\"'", "kubernetes.rest-service.labels":
            "rl:1,type:mine", "kubernetes.internal-service.annotations": "ia:1",
            "kubernetes.internal-service.labels": "il:1,app:other"}
    internal, rest = _services("2.3.0", conf)
    assert rest["metadata"]["annotations"] == {"ra": "1", "r,b": "x:y"}
    assert rest["metadata"]["labels"] == {"app": "probe", "type": "mine", "rl": "1"}
    assert internal["metadata"] == {"annotations": {"ia": "1"}, "labels": {"app": "other", "il": "1",
                                    "type": "flink-native-kubernetes"}, "name": "probe"}
    internal, rest = _services("1.20.3", conf)
    assert internal["metadata"]["annotations"] == {"ia": "1"}
    assert rest["metadata"]["labels"] == internal["metadata"]["labels"] == {"app": "probe",
                                                                            "type": "flink-native-kubernetes"}
    internal, _ = _services("1.19.1", conf)
    assert "annotations" not in internal["metadata"]


@pytest.mark.parametrize("value", ["a", "a:1:2", "'a':1x", "'a:1"])
def test_a_map_the_client_cannot_split_is_refused(value: str) -> None:
    message = r"flink_conf\['kubernetes.rest-service.annotations'\]: is not a Flink map"
    with pytest.raises(FlinkSpecError, match=message):
        minimal_spec("2.3.0", flink_conf={"kubernetes.rest-service.annotations": value})


@pytest.mark.parametrize("key", sorted(NATIVE_REFUSED))
def test_the_native_launcher_refuses_each_option_it_does_not_render_by_name(key: str) -> None:
    spec = minimal_spec("2.3.0", flink_conf={key: REFUSED_VALUES[key]})  # the cli launcher takes it
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
    spec = minimal_spec("2.3.0", flink_conf={"kubernetes.hostnetwork.enabled": "False",
                                             "kubernetes.artifacts.local-upload-enabled": "false"})
    assert unrendered_options(spec) == []
    render_kubernetes_objects(spec)
