"""render_kubernetes_objects against the objects the real Flink client builds, and against the K8s schema.

The real ``CliFrontend`` of each Flink version runs in a JVM with the argv of ``build_flink_command``.
Its kube client is swapped for one that prints the ``KubernetesJobManagerSpecification`` (Deployment and
accompanying resources) the client would POST, so everything up to the API call is Flink's own code.
The full path against the API emulator is the launcher's conformance test.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from airflow_flink_k8s.core.command import build_flink_command
from airflow_flink_k8s.core.configuration import configuration_file_name
from airflow_flink_k8s.core.kubernetes_objects import (
    LOGGING_FILES,
    render_kubernetes_objects,
    with_owner_references,
)
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from tests.fixtures.flink import flink_versions

CAPTURE_JAVA = r"""
import java.lang.reflect.Proxy;
import java.util.*;
import java.util.stream.Stream;
import org.apache.flink.client.cli.CliFrontend;
import org.apache.flink.client.deployment.ClusterClientFactory;
import org.apache.flink.client.deployment.ClusterClientServiceLoader;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.kubernetes.KubernetesClusterClientFactory;
import org.apache.flink.kubernetes.KubernetesClusterDescriptor;
import org.apache.flink.kubernetes.artifact.DefaultKubernetesArtifactUploader;
import org.apache.flink.kubernetes.kubeclient.*;
import org.apache.flink.kubernetes.shaded.io.fabric8.kubernetes.client.utils.Serialization;

public class Capture {
  public static void main(String[] args) throws Exception {
    String confDir = System.getenv("FLINK_CONF_DIR");
    Configuration global = GlobalConfiguration.loadConfiguration(confDir);
    FlinkKubeClientFactory kubeFactory = new FlinkKubeClientFactory() {
      @Override public FlinkKubeClient fromConfiguration(Configuration conf, String useCase) {
        FlinkKubeClient real = super.fromConfiguration(conf, useCase);
        return (FlinkKubeClient) Proxy.newProxyInstance(Capture.class.getClassLoader(),
            new Class<?>[] {FlinkKubeClient.class}, (p, m, a) -> {
              switch (m.getName()) {
                case "getService": return Optional.empty();
                case "loadPodFromTemplateFile": return real.loadPodFromTemplateFile((java.io.File) a[0]);
                case "close": return null;
                case "createJobManagerComponent":
                  KubernetesJobManagerSpecification s = (KubernetesJobManagerSpecification) a[0];
                  List<Object> all = new ArrayList<>();
                  all.add(s.getDeployment());
                  all.addAll(s.getAccompanyingResources());
                  System.out.println("CAPTURED" + Serialization.asJson(all));
                  System.out.flush();
                  Runtime.getRuntime().halt(0);
                default: throw new UnsupportedOperationException(m.getName());
              }
            });
      }
    };
    ClusterClientServiceLoader loader = new ClusterClientServiceLoader() {
      @SuppressWarnings("unchecked")
      public <C> ClusterClientFactory<C> getClusterClientFactory(Configuration c) {
        return (ClusterClientFactory<C>) new KubernetesClusterClientFactory() {
          @Override public KubernetesClusterDescriptor createClusterDescriptor(Configuration cc) {
            return new KubernetesClusterDescriptor(cc, kubeFactory, new DefaultKubernetesArtifactUploader());
          }
        };
      }
      public Stream<String> getApplicationModeTargetNames() { return Stream.of("kubernetes-application"); }
    };
    System.exit(new CliFrontend(global, loader, CliFrontend.loadCustomCommandLines(global, confDir)).parseAndRun(args));
  }
}
"""

TM_POD_TEMPLATE = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "taskmanager-template"},
    "spec": {"containers": [{"name": "flink-main-container", "env": [{"name": "FOO", "value": "bar"}]}]},
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


def write_client_conf(conf_dir: Path, home: Path, spec: FlinkApplicationSpec) -> None:
    """A client conf holding what the distribution's default conf sets for the cluster: its Java 17 flags."""
    flags = yaml.safe_load((home / "conf" / "config.yaml").read_text())["env"]["java"]["opts"]["all"]
    (conf_dir / configuration_file_name(spec.version)).write_text(f"env.java.opts.all: {flags}\n")


@pytest.fixture(scope="session")
def real_client(flink_home: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Callable[..., list]:
    """``real_client(spec, conf_dir=None)``: the objects the real Flink client of ``spec`` builds. Its default conf
    dir holds only what every distribution's default conf sets for the cluster: the Java 17 module flags."""
    compiled: dict[str, Path] = {}

    def run(spec: FlinkApplicationSpec, conf_dir: Path | None = None) -> list[dict[str, Any]]:
        version = str(spec.version)
        lib = flink_home(version) / "lib"
        if version not in compiled:
            out = tmp_path_factory.mktemp(f"capture-{version}")
            (out / "Capture.java").write_text(CAPTURE_JAVA)
            subprocess.run(["javac", "-cp", f"{lib}/*", "-d", str(out), str(out / "Capture.java")], check=True)
            compiled[version] = out
        work = tmp_path_factory.mktemp("client")
        if conf_dir is None:
            conf_dir = work / "conf"
            conf_dir.mkdir()
            write_client_conf(conf_dir, flink_home(version), spec)
        template_file = None
        if spec.taskmanager_pod_template is not None:
            template_file = work / "tm-pod.yaml"
            template_file.write_text(yaml.safe_dump(dict(spec.taskmanager_pod_template), sort_keys=False))
        argv = build_flink_command(spec, "flink", str(template_file) if template_file else None)[1:]
        proc = subprocess.run(
            ["java", "-cp", f"{compiled[version]}:{lib}/*", "Capture", *argv],
            env={"FLINK_CONF_DIR": str(conf_dir), "PATH": "/usr/bin:/bin", "HOME": str(work)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("CAPTURED")]
        assert lines, f"the Flink client created nothing:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        return json.loads(lines[0][len("CAPTURED") :])

    return run


def parse_configuration(name: str, text: str) -> dict[str, Any]:
    """A Flink configuration file as flat ``key → value`` with values as Flink reads them back."""
    if name == "flink-conf.yaml":
        return dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in text.splitlines())
    flat: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}{key}.", value)
        else:
            flat[prefix[:-1]] = node

    walk("", yaml.safe_load(text))
    return flat


def normalised(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Configuration files parsed; the client-local pod template path dropped; templates parsed."""
    out = json.loads(json.dumps(objects))
    for obj in out:
        if obj["kind"] != "ConfigMap":
            continue
        for name, text in list(obj["data"].items()):
            if name in ("config.yaml", "flink-conf.yaml"):
                conf = parse_configuration(name, text)
                conf.pop("kubernetes.pod-template-file.taskmanager", None)
                obj["data"][name] = conf
            elif name.endswith("pod-template.yaml"):
                obj["data"][name] = yaml.safe_load(text)
    return out


@flink_versions
@pytest.mark.parametrize("make_spec", [minimal_spec, full_spec], ids=["minimal", "full"])
def test_rendered_objects_equal_what_the_real_client_builds(
    flink_version: str, make_spec: Callable[..., FlinkApplicationSpec], real_client: Callable[..., list]
) -> None:
    spec = make_spec(flink_version)
    assert normalised(render_kubernetes_objects(spec)) == normalised(real_client(spec))


@flink_versions
@pytest.mark.parametrize(
    "variant",
    [
        {"ha": "kubernetes", "ha_storage_dir": "file:///flink/ha", "jobmanager_replicas": 2},
        {"rest_service_type": "LoadBalancer", "program_args": [], "entry_class": None, "parallelism": None},
    ],
    ids=["kubernetes-ha", "no-args-loadbalancer"],
)
def test_variants_equal_what_the_real_client_builds(
    flink_version: str, variant: dict[str, Any], real_client: Callable[..., list]
) -> None:
    base = {"ha": "none", "jobmanager_replicas": 1, "zookeeper_quorum": None, "restore": "none"}
    spec = full_spec(flink_version, **{**base, **variant})
    assert normalised(render_kubernetes_objects(spec)) == normalised(real_client(spec))


@flink_versions
def test_logging_files_are_shipped_as_the_client_ships_them_from_its_conf_dir(
    flink_version: str, real_client: Callable[..., list], flink_home: Callable[[str], Path], tmp_path: Path
) -> None:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    spec = minimal_spec(flink_version)
    write_client_conf(conf_dir, flink_home(flink_version), spec)
    logging = {name: (flink_home(flink_version) / "conf" / name).read_text() for name in LOGGING_FILES}
    for name, text in logging.items():
        (conf_dir / name).write_text(text)
    assert normalised(render_kubernetes_objects(spec, logging)) == normalised(real_client(spec, conf_dir))


@pytest.mark.parametrize("version", ["1.16.3", "1.18.1", "1.19.1", "1.20.3", "2.0.0", "2.3.0"])
@pytest.mark.parametrize("make_spec", [minimal_spec, full_spec], ids=["minimal", "full"])
def test_every_rendered_object_is_valid_for_the_kubernetes_api(
    version: str, make_spec: Callable[..., FlinkApplicationSpec]
) -> None:
    objects = with_owner_references(render_kubernetes_objects(make_spec(version)), "5f0c1a2e-0000-4000-8000-000000000001")
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30", strict=True)


def test_the_configuration_file_and_artifacts_volume_follow_the_flink_release() -> None:
    old, new = render_kubernetes_objects(minimal_spec("1.18.1")), render_kubernetes_objects(minimal_spec("1.19.0"))
    assert list(old[-1]["data"]) == ["flink-conf.yaml"] and list(new[-1]["data"]) == ["config.yaml"]
    volumes = lambda objs: [v["name"] for v in objs[0]["spec"]["template"]["spec"]["volumes"]]
    assert volumes(old) == ["flink-config-volume"]
    assert volumes(new) == ["user-artifacts-volume", "flink-config-volume"]


def test_only_the_owned_objects_get_the_deployment_as_controller() -> None:
    objects = with_owner_references(render_kubernetes_objects(minimal_spec("2.3.0")), "uid-1")
    assert "ownerReferences" not in objects[0]["metadata"]
    for obj in objects[1:]:
        (ref,) = obj["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == ("Deployment", "probe", "uid-1", True)


def test_headless_internal_service_exists_only_without_ha() -> None:
    names = lambda spec: [(o["kind"], o["metadata"]["name"]) for o in render_kubernetes_objects(spec)]
    assert ("Service", "probe") in names(minimal_spec("2.3.0"))
    with_ha = minimal_spec("2.3.0", ha="kubernetes", ha_storage_dir="s3://b/ha")
    assert ("Service", "probe") not in names(with_ha)
