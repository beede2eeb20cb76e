"""JobManager pod templates: the merge rules of core.pod_template, and the templates a spec refuses.

The merge is checked against the real Flink client in
tests/integration/test_kubernetes_objects_against_flink_client.py; these pin each rule on its own.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_flink_k8s.core.command import build_flink_command
from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.kubernetes_objects import render_kubernetes_objects
from airflow_flink_k8s.core.pod_template import split_pod_template
from tests.spec_support import DEFAULT_POD_TEMPLATE, JM_POD_TEMPLATE, full_spec, minimal_spec


def _pod(**overrides: Any) -> dict[str, Any]:
    spec = minimal_spec("2.3.0", **{"jobmanager_pod_template": JM_POD_TEMPLATE, **overrides})
    return render_kubernetes_objects(spec)[0]["spec"]["template"]


def _main(pod: dict[str, Any]) -> dict[str, Any]:
    return pod["spec"]["containers"][-1]


def test_split_takes_the_main_container_out_and_an_empty_one_when_absent() -> None:
    pod = split_pod_template(JM_POD_TEMPLATE)
    assert [c["name"] for c in pod.pod["spec"]["containers"]] == ["log-shipper"]
    assert pod.main["image"] == "ignored:1"
    assert split_pod_template({"kind": "Pod"}).main == {}


def test_sidecars_first_main_container_last_init_containers_kept() -> None:
    pod = _pod()
    assert [c["name"] for c in pod["spec"]["containers"]] == ["log-shipper", "flink-main-container"]
    assert pod["spec"]["containers"][0] == JM_POD_TEMPLATE["spec"]["containers"][0]
    assert pod["spec"]["initContainers"] == JM_POD_TEMPLATE["spec"]["initContainers"]
    assert pod["spec"]["securityContext"] == {"fsGroup": 9999}


def test_flink_overwrites_its_own_fields() -> None:
    main = _main(_pod())
    assert (main["image"], main["imagePullPolicy"]) == ("registry.example/flink:job-1", "IfNotPresent")
    assert main["command"] == ["/docker-entrypoint.sh"] and main["args"][0] == "bash"
    assert main["workingDir"] == "/opt/flink"  # not Flink's: kept
    assert _pod()["spec"]["hostNetwork"] is False


def test_resources_keep_the_template_except_cpu_and_memory_quantities_as_strings() -> None:
    resources = _main(_pod())["resources"]
    assert resources == {
        "requests": {"cpu": "1.0", "memory": "1600Mi", "ephemeral-storage": "1Gi"},
        "limits": {"cpu": "1.0", "memory": "1600Mi", "ephemeral-storage": "2Gi", "nvidia.com/gpu": "1"},
    }


def test_env_ports_and_mounts_are_appended_so_flink_wins_a_name() -> None:
    main = _main(_pod())
    env = [(e["name"], e.get("value")) for e in main["env"]]
    assert env == [("_POD_IP_ADDRESS", "template"), ("FROM_TEMPLATE", "1"), ("API_TOKEN", "template"),
                   ("_POD_IP_ADDRESS", None)]
    assert [p["name"] for p in main["ports"]] == ["metrics", "rest", "jobmanager-rpc", "blobserver"]
    assert [m["mountPath"] for m in main["volumeMounts"]][:2] == ["/opt/flink/log", "/checkpoints"]
    assert [m["mountPath"] for m in main["volumeMounts"]][-1] == "/opt/flink/conf"


def test_maps_merge_with_flink_winning_and_lists_append() -> None:
    spec = full_spec("2.3.0", jobmanager_pod_template=JM_POD_TEMPLATE)
    pod = render_kubernetes_objects(spec)[0]["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert labels["app"] == "state-machine-cluster" and labels["team"] == "data" and labels["sidecar"] == "log-shipper"
    assert pod["metadata"]["annotations"]["quote"] == "it's"
    assert pod["metadata"]["annotations"]["example.com/scrape"] == "true"
    assert pod["spec"]["nodeSelector"] == {"zone": "a", "disk": "ssd", "kubernetes.io/role": "flink-node"}
    assert [s["name"] for s in pod["spec"]["imagePullSecrets"]] == ["template-pull", "docker-registry-test", "second"]
    assert pod["spec"]["tolerations"][0] == {"key": "template", "operator": "Exists"}
    assert len(pod["spec"]["tolerations"]) == 3
    # The template's env, then InitJobManagerDecorator's, then EnvSecretsDecorator's (secret_env).
    assert [e["name"] for e in _main(pod)["env"]] == [
        "_POD_IP_ADDRESS", "FROM_TEMPLATE", "API_TOKEN", "_POD_IP_ADDRESS", "AWS_SECRET_ACCESS_KEY", "API_TOKEN"]


def test_service_account_is_the_templates_unless_the_spec_sets_one() -> None:
    assert _pod()["spec"]["serviceAccountName"] == _pod()["spec"]["serviceAccount"] == "template-sa"
    assert _pod(service_account="flink")["spec"]["serviceAccountName"] == "flink"
    bare = copy.deepcopy(JM_POD_TEMPLATE)
    del bare["spec"]["serviceAccountName"]
    assert _pod(jobmanager_pod_template=bare)["spec"]["serviceAccount"] == "default"


def test_dns_policy_is_the_templates_when_set() -> None:
    assert _pod()["spec"]["dnsPolicy"] == "Default"
    bare = copy.deepcopy(JM_POD_TEMPLATE)
    del bare["spec"]["dnsPolicy"]
    assert _pod(jobmanager_pod_template=bare)["spec"]["dnsPolicy"] == "ClusterFirst"


def test_the_deployment_keeps_flinks_own_labels_and_the_template_is_not_changed() -> None:
    before = copy.deepcopy(JM_POD_TEMPLATE)
    deployment = render_kubernetes_objects(minimal_spec("2.3.0", jobmanager_pod_template=JM_POD_TEMPLATE))[0]
    assert deployment["metadata"]["labels"] == {"app": "probe", "component": "jobmanager",
                                                "type": "flink-native-kubernetes"}
    assert before == JM_POD_TEMPLATE


def test_the_cli_gets_the_template_file_as_the_jobmanager_option() -> None:
    spec = minimal_spec("2.3.0", jobmanager_pod_template=JM_POD_TEMPLATE)
    argv = build_flink_command(spec, "flink", None, "/tmp/jm.yaml")
    assert "-Dkubernetes.pod-template-file.jobmanager=/tmp/jm.yaml" in argv
    with pytest.raises(ValueError, match="jobmanager_pod_template_file"):
        build_flink_command(spec)


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    template = copy.deepcopy(JM_POD_TEMPLATE)
    target: Any = template
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return template


@pytest.mark.parametrize(
    ("template", "field", "rule"),
    [
        (["not", "a", "pod"], "jobmanager_pod_template", "must be a Pod manifest"),
        ({"kind": "Deployment"}, "jobmanager_pod_template", "must be a Pod manifest"),
        (_with(["spec"], "x"), "jobmanager_pod_template.spec", "must be a mapping"),
        (_with(["spec", "restartPolicy"], "Never"), "jobmanager_pod_template.spec.restartPolicy", "'Always'"),
        (_with(["spec", "containers"], [{"image": "x"}]), "jobmanager_pod_template.spec.containers", "with a name"),
        (_with(["spec", "initContainers"], [{"name": "a"}, {"name": "a"}]),
         "jobmanager_pod_template.spec.initContainers", "unique"),
        (_with(["spec", "volumes"], [{"name": "flink-config-volume", "emptyDir": {}}]),
         "jobmanager_pod_template.spec.volumes", "volume name Flink adds"),
        (_with(["spec", "containers", 1, "ports"], [{"name": "rest", "containerPort": 8080}]),
         "jobmanager_pod_template flink-main-container.ports", "port name Flink adds"),
        (_with(["spec", "containers", 1, "volumeMounts"], [{"name": "work", "mountPath": "/opt/flink/conf"}]),
         "jobmanager_pod_template flink-main-container.volumeMounts", "path Flink mounts"),
        (_with(["spec", "containers", 1, "env"], {"A": "b"}),
         "jobmanager_pod_template flink-main-container.env", "list of mappings"),
        (_with(["spec", "containers", 1, "resources"], {"limits": "2"}),
         "jobmanager_pod_template flink-main-container.resources", "limits and requests"),
        (_with(["spec", "containers", 1, "resources", "limits"], {"cpu": True}),
         "jobmanager_pod_template flink-main-container.resources", "to quantities"),
    ],
    ids=["not-a-mapping", "not-a-pod", "spec", "restart-policy", "unnamed-container", "duplicate-init",
         "flink-volume", "flink-port", "flink-mount", "env-map", "resources", "quantity"],
)
def test_a_template_the_api_server_would_refuse_is_refused_by_field(template: Any, field: str, rule: str) -> None:
    with pytest.raises(FlinkSpecError) as caught:
        minimal_spec("2.3.0", jobmanager_pod_template=template)
    assert caught.value.field == field and rule in caught.value.rule


def test_a_secret_mounts_volume_or_path_is_flinks_too() -> None:
    clash = _with(["spec", "volumes"], [{"name": "tls-volume", "emptyDir": {}}])
    with pytest.raises(FlinkSpecError, match="volume name Flink adds"):
        minimal_spec("2.3.0", secret_mounts={"tls": "/etc/tls"}, jobmanager_pod_template=clash)
    clash = _with(["spec", "containers", 1, "volumeMounts"], [{"name": "work", "mountPath": "/etc/tls"}])
    with pytest.raises(FlinkSpecError, match="path Flink mounts"):
        minimal_spec("2.3.0", secret_mounts={"tls": "/etc/tls"}, jobmanager_pod_template=clash)


def test_the_managed_key_names_the_new_field() -> None:
    with pytest.raises(FlinkSpecError, match="jobmanager_pod_template"):
        minimal_spec("2.3.0", flink_conf={"kubernetes.pod-template-file.jobmanager": "/tmp/jm.yaml"})


def test_the_default_pod_template_stands_for_both_unless_one_has_its_own() -> None:
    spec = minimal_spec("2.3.0", pod_template=DEFAULT_POD_TEMPLATE)
    assert spec.jobmanager_pod_template == spec.taskmanager_pod_template == DEFAULT_POD_TEMPLATE
    deployment, *_, tm_template = render_kubernetes_objects(spec)
    assert [c["name"] for c in deployment["spec"]["template"]["spec"]["containers"]] == ["agent",
                                                                                         "flink-main-container"]
    assert tm_template["metadata"]["name"] == "pod-template-probe"
    own = minimal_spec("2.3.0", pod_template=DEFAULT_POD_TEMPLATE, jobmanager_pod_template=JM_POD_TEMPLATE)
    assert (own.jobmanager_pod_template, own.taskmanager_pod_template) == (JM_POD_TEMPLATE, DEFAULT_POD_TEMPLATE)
    assert minimal_spec("2.3.0", pod_template=DEFAULT_POD_TEMPLATE, taskmanager_pod_template={"kind": "Pod"}) \
        .taskmanager_pod_template == {"kind": "Pod"}


def test_the_cli_gets_the_default_pod_template_as_the_default_option_and_only_own_templates_besides() -> None:
    spec = minimal_spec("2.3.0", pod_template=DEFAULT_POD_TEMPLATE, jobmanager_pod_template=JM_POD_TEMPLATE)
    argv = build_flink_command(spec, "flink", None, "/tmp/jm.yaml", "/tmp/default.yaml")
    assert "-Dkubernetes.pod-template-file.default=/tmp/default.yaml" in argv
    assert "-Dkubernetes.pod-template-file.jobmanager=/tmp/jm.yaml" in argv
    assert not any(arg.startswith("-Dkubernetes.pod-template-file.taskmanager=") for arg in argv)
    with pytest.raises(ValueError, match="taskmanager_pod_template_file must be given exactly"):
        build_flink_command(spec, "flink", "/tmp/tm.yaml", "/tmp/jm.yaml", "/tmp/default.yaml")


def test_a_default_pod_template_the_jobmanager_cannot_take_is_refused_by_its_field() -> None:
    with pytest.raises(FlinkSpecError, match=r"pod_template\.spec\.restartPolicy: must be 'Always'"):
        minimal_spec("2.3.0", pod_template={"spec": {"restartPolicy": "Never"}})
    with pytest.raises(FlinkSpecError, match=r"^pod_template: must be a Pod manifest"):
        minimal_spec("2.3.0", pod_template=["not", "a", "pod"])
