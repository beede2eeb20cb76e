"""render_kubernetes_objects against the objects the real Flink client builds.

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

import pytest
import yaml

from airflow_flink_k8s.core.command import build_flink_command, template_files
from airflow_flink_k8s.core.jobmanager_options import NATIVE_REFUSED, unrendered_options
from airflow_flink_k8s.core.kubernetes_objects import render_kubernetes_objects
from airflow_flink_k8s.core.logging_files import distribution_logging_files
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from tests.fixtures.flink import flink_versions
from tests.flink_client_support import normalised, write_client_conf
from tests.spec_support import DEFAULT_POD_TEMPLATE, JM_POD_TEMPLATE, TM_POD_TEMPLATE, full_spec, minimal_spec
from tests.unit.core.test_jobmanager_options import REFUSED_VALUES

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
        files: list[str | None] = []
        for name, template in template_files(spec).items():
            files.append(None if template is None else str(work / f"{name}-pod.yaml"))
            if template is not None:
                (work / f"{name}-pod.yaml").write_text(yaml.safe_dump(dict(template), sort_keys=False))
        argv = build_flink_command(spec, "flink", *files)[1:]
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
    for name in ("log4j.properties", "logback-console.xml", "log4j-console.properties", "log4j-cli.properties"):
        (conf_dir / name).write_text((flink_home(flink_version) / "conf" / name).read_text())
    # The native launcher's defaults are the distribution's files the client ships; with a full distribution conf
    # dir the real client ships the same (the 2.3 client also ships logback.xml, log4j.properties, the session and
    # the cli files; up to 1.20 only the two console files).
    distribution = distribution_logging_files(spec.version)
    shipped = {name: text for name, text in distribution.items() if (conf_dir / name).exists()}
    assert normalised(render_kubernetes_objects(spec, shipped)) == normalised(real_client(spec, conf_dir))
    for name, text in distribution.items():
        (conf_dir / name).write_text(text)
    user = minimal_spec(flink_version, logging_files={"log4j-console.properties": "rootLogger.level = WARN\n"})
    (conf_dir / "log4j-console.properties").write_text(user.logging_files["log4j-console.properties"])
    assert normalised(render_kubernetes_objects(user, distribution)) == normalised(real_client(user, conf_dir))




@flink_versions
@pytest.mark.parametrize("make_spec", [minimal_spec, full_spec], ids=["minimal", "full"])
def test_jobmanager_pod_template_is_merged_as_the_real_client_merges_it(
    flink_version: str, make_spec: Callable[..., FlinkApplicationSpec], real_client: Callable[..., list]
) -> None:
    """A sidecar, an init container, volumes and mounts, env colliding with Flink's (``_POD_IP_ADDRESS``, a
    ``secret_env`` name), resources Flink overrides, and overwritten fields; ``minimal`` leaves the service
    account to the template, ``full`` sets it (and adds secret mounts, pull secrets, labels, tolerations)."""
    spec = make_spec(flink_version, jobmanager_pod_template=JM_POD_TEMPLATE)
    rendered, real = normalised(render_kubernetes_objects(spec)), normalised(real_client(spec))
    pod, real_pod = rendered[0]["spec"]["template"], real[0]["spec"]["template"]
    # What the real client did with the template: sidecar first, main container last, both env entries kept.
    assert [c["name"] for c in real_pod["spec"]["containers"]] == ["log-shipper", "flink-main-container"]
    assert [c["name"] for c in real_pod["spec"]["initContainers"]] == ["fetch-jar"]
    real_env = [e["name"] for e in real_pod["spec"]["containers"][1]["env"]]
    assert real_env.count("_POD_IP_ADDRESS") == 2 and real_env.index("FROM_TEMPLATE") == 1
    assert real_pod["spec"]["containers"][1]["resources"]["requests"]["ephemeral-storage"] == "1Gi"
    assert pod["metadata"] == real_pod["metadata"]
    for key in sorted({*pod["spec"], *real_pod["spec"]} - {"containers"}):
        assert (key, pod["spec"].get(key)) == (key, real_pod["spec"].get(key))
    assert [c["name"] for c in pod["spec"]["containers"]] == [c["name"] for c in real_pod["spec"]["containers"]]
    for container, real_container in zip(pod["spec"]["containers"], real_pod["spec"]["containers"], strict=True):
        for key in sorted({*container, *real_container}):
            assert (key, container.get(key)) == (key, real_container.get(key))
    assert rendered == real


@flink_versions
@pytest.mark.parametrize(
    "template",
    [
        {},
        {"kind": "Pod", "spec": {"containers": [{"name": "sidecar", "image": "busybox:1"}]}},
        {"spec": {"serviceAccount": "legacy-sa", "restartPolicy": "Always", "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a"]}]}]}}}}},
        {"metadata": {"annotations": {"only": "template"}}, "spec": {"containers": [
            {"name": "flink-main-container", "resources": {"limits": {"cpu": 0.25}},
             "envFrom": [{"configMapRef": {"name": "settings"}}]}]}},
    ],
    ids=["empty", "no-main-container", "deprecated-service-account-affinity", "cpu-limit-envfrom"],
)
def test_small_jobmanager_pod_templates_are_merged_as_the_real_client_merges_them(
    flink_version: str, template: dict[str, Any], real_client: Callable[..., list]
) -> None:
    spec = minimal_spec(flink_version, jobmanager_pod_template=template)
    assert normalised(render_kubernetes_objects(spec)) == normalised(real_client(spec))


@flink_versions
@pytest.mark.parametrize("own", [{}, {"jobmanager_pod_template": JM_POD_TEMPLATE},
                                 {"taskmanager_pod_template": TM_POD_TEMPLATE}], ids=["default", "own-jm", "own-tm"])
def test_the_default_pod_template_is_the_clients_fallback_for_both(
    flink_version: str, own: dict[str, Any], real_client: Callable[..., list]
) -> None:
    """``pod_template`` goes to the real client as ``kubernetes.pod-template-file.default`` alone (an own template as
    its ``.jobmanager``/``.taskmanager``): the JobManager pod and the TaskManager template ConfigMap match."""
    spec = minimal_spec(flink_version, pod_template=DEFAULT_POD_TEMPLATE, **own)
    real = normalised(real_client(spec))
    assert real[0]["spec"]["template"]["spec"]["containers"][0]["name"] == (
        "log-shipper" if own.get("jobmanager_pod_template") else "agent")
    assert normalised(render_kubernetes_objects(spec)) == real


#: Every option ``jobmanager_options.RENDERED`` lists, with values that need Flink's map quoting, labels that
#: override Flink's, and env names two of which (V0, V16) share a bucket of the client's env HashMap.
JOBMANAGER_OPTIONS = {
    **{f"containerized.master.env.{name}": name.lower() + " value" for name in
       ["ENABLE_BUILT_IN_PLUGINS", "B_VAR", "A_VAR", "V0", "V16", *(f"W{i}" for i in range(10))]},
    "containerized.taskmanager.env.TM_ONLY": "t",
    "kubernetes.jobmanager.cpu.limit-factor": "2.5",
    "kubernetes.jobmanager.memory.limit-factor": "1.33",
    "kubernetes.rest-service.annotations": "service.beta.kubernetes.io/aws-load-balancer-internal:true,"
                                           "'\"example.com/r\":\"x:y,z\"'",
    "kubernetes.rest-service.labels": "rl:1,type:mine",
    "kubernetes.internal-service.annotations": "ia:1",
    "kubernetes.internal-service.labels": "il:1,app:other",
    "kubernetes.entry.path": "/my-entry.sh",
    "kubernetes.jobmanager.entrypoint.args": "-Dfoo=bar",
    "kubernetes.flink.log.dir": "/opt/flink/mylog",
    "kubernetes.hostnetwork.enabled": "true",
    "kubernetes.jobmanager.owner.reference": "apiVersion:v1,kind:ConfigMap,name:owner,uid:u-1,controller:true;"
                                             "apiVersion:batch/v1,kind:Job,name:j,uid:u-2",
    "kubernetes.flink.conf.dir": "/etc/flink",
    "kubernetes.hadoop.conf.config-map.name": "hadoop-conf",
    "kubernetes.persistent-volume-claims": "zz:/z,x-.-y:/x,q1:/q1",  # 2.3+; the 1.20.3 client ignores it
    "user.artifacts.base-dir": "/opt/flink/my-artifacts",
}
#: Other values of the options rendered since issue 12: keys and booleans in other cases, read-only claims, the
#: Hadoop decorator switched off, host network off.
JOBMANAGER_OPTION_VARIANTS = {
    "kubernetes.hostnetwork.enabled": "False",
    "kubernetes.jobmanager.owner.reference": "APIVERSION:v1,Kind:ConfigMap,name:owner,UID:u-1,Controller:TRUE,"
                                             "blockownerdeletion:yes,unknown:ignored",
    "kubernetes.hadoop.conf.config-map.name": "hadoop-conf",
    "kubernetes.decorator.hadoop-conf-mount.enabled": "false",
    "kubernetes.persistent-volume-claims": ",".join(f"{name}:/{name}" for name in
                                                    ["x-.-y", "zz", "q1", "abc", "d.e.f", "claim-17", "aa", "b7",
                                                     "c9", "z0", "k", "l", "m", "n"]),
    "kubernetes.persistent-volume-claim-read-only": "true",
}


@flink_versions
@pytest.mark.parametrize("make_spec", [minimal_spec, full_spec], ids=["minimal", "full"])
def test_jobmanager_options_are_rendered_as_the_real_client_renders_them(
    flink_version: str, make_spec: Callable[..., FlinkApplicationSpec], real_client: Callable[..., list]
) -> None:
    """``full`` adds HA (no internal Service), secret env after the master env, and a JobManager pod template."""
    extra = {} if make_spec is minimal_spec else {"jobmanager_pod_template": JM_POD_TEMPLATE}
    conf = {**make_spec(flink_version).flink_conf, **JOBMANAGER_OPTIONS}
    spec = make_spec(flink_version, flink_conf=conf, jobmanager_cpu=0.3, **extra)
    assert normalised(render_kubernetes_objects(spec)) == normalised(real_client(spec))


@flink_versions
def test_other_values_of_the_jobmanager_options_are_rendered_as_the_real_client_renders_them(
    flink_version: str, real_client: Callable[..., list]
) -> None:
    """Fourteen claims: the client's HashMap grows to 32 buckets, which orders the volumes."""
    spec = minimal_spec(flink_version, flink_conf=JOBMANAGER_OPTION_VARIANTS)
    assert normalised(render_kubernetes_objects(spec)) == normalised(real_client(spec))


@flink_versions
@pytest.mark.parametrize("key", sorted(NATIVE_REFUSED))
def test_each_option_the_native_launcher_refuses_shapes_what_the_real_client_builds(
    flink_version: str, key: str, real_client: Callable[..., list], tmp_path: Path
) -> None:
    """The refusal is needed: with the option the real client builds other objects than the rendering without it
    (where the client of the version does not have the option, nothing is refused and nothing changes)."""
    conf = {key: REFUSED_VALUES[key]}
    fields: dict[str, Any] = {}
    if key.startswith("security.kerberos"):
        local = tmp_path / "krb-file"
        local.write_text("not checked by the client\n")
        conf = {key: str(local)}
        if key == "security.kerberos.login.keytab":
            conf["security.kerberos.login.principal"] = "flink@EXAMPLE.COM"
    if key == "kubernetes.artifacts.local-upload-enabled":
        jar = tmp_path / "job.jar"
        jar.write_bytes(b"PK")
        (tmp_path / "target").mkdir()
        conf["kubernetes.artifacts.local-upload-target"] = f"file://{tmp_path}/target"
        fields["jar_uri"] = f"local://{jar}"  # the client uploads local:// jars from its own disk
    spec = minimal_spec(flink_version, flink_conf=conf, **fields)
    real = normalised(real_client(spec))
    if key in unrendered_options(spec):
        assert normalised(render_kubernetes_objects(spec, partial=True)) != real
    else:
        assert normalised(render_kubernetes_objects(spec)) == real
