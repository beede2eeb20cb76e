"""Conformance on the API server: the real Flink client and the native launcher create the same objects.

Both launch the same spec against the Kubernetes API emulator. The real client runs the way a user runs it: the
distribution's ``bin/flink`` with a conf dir that holds the distribution's Java 17 flags and its own logging files
(which the native launcher ships as its defaults). What the emulator then stores is compared after normalising only
what the server assigns (uid, resourceVersion, creation time, cluster IP, node ports) and parsing the Flink
configuration file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_flink_k8s.core.command import build_flink_command, template_files
from airflow_flink_k8s.core.configuration import configuration_file_name
from airflow_flink_k8s.core.logging_files import shipped_logging_files
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.hooks.flink_cli import run_flink_cli
from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION, EmulatorProcess
from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home
from tests.fixtures.flink import flink_versions
from tests.flink_client_support import normalised, write_client_conf
from tests.integration.test_kubernetes_objects_against_flink_client import JOBMANAGER_OPTIONS
from tests.spec_support import DEFAULT_POD_TEMPLATE, JM_POD_TEMPLATE, full_spec, minimal_spec

pytestmark = pytest.mark.flink
SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


def _stored(emulator: EmulatorProcess, spec: FlinkApplicationSpec) -> list[dict[str, Any]]:
    """The cluster's objects as the API returns them, server-assigned values normalised."""
    ns, cid = spec.namespace, spec.cluster_id
    paths = [f"/apis/apps/v1/namespaces/{ns}/deployments/{cid}", f"/api/v1/namespaces/{ns}/services/{cid}-rest",
             f"/api/v1/namespaces/{ns}/configmaps/flink-config-{cid}"]
    if spec.ha == "none":
        paths.insert(1, f"/api/v1/namespaces/{ns}/services/{cid}")
    if spec.taskmanager_pod_template is not None:
        paths.append(f"/api/v1/namespaces/{ns}/configmaps/pod-template-{cid}")
    objects = [emulator.api_get(path) for path in paths]
    for obj in objects:
        meta = obj["metadata"]
        for name in SERVER_FIELDS:
            meta.pop(name, None)
        for ref in meta.get("ownerReferences") or []:
            ref["uid"] = "<deployment uid>"
        obj.pop("status", None)
        if obj["kind"] == "Service":
            obj["spec"].pop("clusterIP", None)
            obj["spec"].pop("clusterIPs", None)
            for port in obj["spec"].get("ports") or []:
                port.pop("nodePort", None)
    return normalised(objects)


def _create_owner(emulator: EmulatorProcess) -> str:
    """The uid of a new ConfigMap ``owner`` in ``default``."""
    import urllib.request

    request = urllib.request.Request(f"{emulator.url}/api/v1/namespaces/default/configmaps", method="POST",
                                     data=json.dumps({"metadata": {"name": "owner"}}).encode(),
                                     headers={"Content-Type": "application/json", **ADMIN_AUTHORIZATION})
    with urllib.request.urlopen(request, timeout=30) as response:
        uid: str = json.loads(response.read())["metadata"]["uid"]
    return uid


def _delete(emulator: EmulatorProcess, spec: FlinkApplicationSpec) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"{emulator.url}/apis/apps/v1/namespaces/{spec.namespace}/deployments/{spec.cluster_id}", method="DELETE")
    urllib.request.urlopen(request, timeout=30).close()


def _full_spec_with_jobmanager_pod_template(version: str, **overrides: Any) -> FlinkApplicationSpec:
    return full_spec(version, jobmanager_pod_template=JM_POD_TEMPLATE, **overrides)


def _minimal_spec_with_jobmanager_options(version: str, owner_uid: str, **overrides: Any) -> FlinkApplicationSpec:
    """Every option of docs/compatibility.md's table the native launcher renders (HA off: the internal Service
    too), owned by a ConfigMap that exists (a Deployment whose owners are all gone is garbage-collected)."""
    owner = f"apiVersion:v1,kind:ConfigMap,name:owner,uid:{owner_uid},controller:true"
    conf = {**JOBMANAGER_OPTIONS, "kubernetes.jobmanager.owner.reference": owner}
    return minimal_spec(version, flink_conf=conf, **overrides)


def _minimal_spec_with_default_pod_template(version: str, **overrides: Any) -> FlinkApplicationSpec:
    return minimal_spec(version, pod_template=DEFAULT_POD_TEMPLATE, **overrides)


@flink_versions
@pytest.mark.parametrize("make_spec", [minimal_spec, full_spec, _full_spec_with_jobmanager_pod_template,
                                       _minimal_spec_with_jobmanager_options, _minimal_spec_with_default_pod_template],
                         ids=["minimal", "full", "full-jobmanager-pod-template", "jobmanager-options",
                              "default-pod-template"])
def test_the_real_client_and_the_native_launcher_create_the_same_objects(
    flink_version: str, make_spec: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = EmulatorProcess.start(tmp_path / "emulator", namespaces=("default", "hke-flink"))
    try:
        fields: dict[str, Any] = {"job_id": "0123456789abcdef0123456789abcdef"}
        if make_spec is _minimal_spec_with_jobmanager_options:
            fields["owner_uid"] = _create_owner(emulator)
        spec = make_spec(flink_version, **fields)
        kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                           json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}))
        home = ensure_flink_home(flink_version)
        conf_dir = tmp_path / "conf"
        conf_dir.mkdir()
        write_client_conf(conf_dir, home, spec)
        for name in shipped_logging_files(spec.version):
            (conf_dir / name).write_text((home / "conf" / name).read_text())
        templates: list[str | None] = []
        for name, template in template_files(spec).items():
            templates.append(None if template is None else str(tmp_path / f"{name}-pod-template.yaml"))
            if template is not None:
                (tmp_path / f"{name}-pod-template.yaml").write_text(yaml.safe_dump(dict(template)))
        run_flink_cli(build_flink_command(spec, str(home / "bin" / "flink"), *templates),
                      env={**os.environ, "FLINK_CONF_DIR": str(conf_dir), "KUBECONFIG": str(kubeconfig)},
                      timeout=180)
        by_client = _stored(emulator, spec)
        _delete(emulator, spec)

        from airflow_flink_k8s.flows.native_launcher import NativeLauncher
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

        NativeLauncher(FlinkKubernetesHook()).launch(spec, {}, {}, before_owned=lambda: None)
        by_launcher = _stored(emulator, spec)
    finally:
        emulator.stop()
    assert configuration_file_name(spec.version) in by_client[-1 if spec.taskmanager_pod_template is None
                                                              else -2]["data"]
    assert by_launcher == by_client
