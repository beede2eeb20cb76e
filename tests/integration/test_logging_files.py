"""Logging files on real Flink: the defaults are the distribution's own, both launchers ship the spec's, and the
JobManager writes the log file the Web UI's log tab lists (REST ``/jobmanager/logs``) in the format the user chose."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.logging_files import distribution_logging_files, shipped_logging_files
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.core.versions import FlinkVersion
from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION, EmulatorProcess
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.fixtures.flink import flink_versions

NS = "flink"
#: A distinctive layout on both appenders: every line the JobManager logs starts with the marker.
MARKER = "AFK8S-LOG"
CUSTOM_LOG4J = f"""\
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
rootLogger.appenderRef.file.ref = FileAppender
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = {MARKER} %p %c{{1}} - %m%n
appender.file.name = FileAppender
appender.file.type = File
appender.file.fileName = ${{sys:log.file}}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = {MARKER} %p %c{{1}} - %m%n
"""
#: What every JobManager of an application cluster logs when it starts (ClusterEntrypoint).
STARTUP_LINE = "Starting KubernetesApplicationClusterEntrypoint"


def _spec(version: str, cluster_id: str, **overrides: Any) -> FlinkApplicationSpec:
    return FlinkApplicationSpec(
        cluster_id=cluster_id, namespace=NS, image=f"flink:{version}", flink_version=version,
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", jobmanager_memory="1024m",
        taskmanager_memory="1024m", job_id="0123456789abcdef0123456789abcdef", **overrides)


@flink_versions
def test_the_default_logging_files_are_the_distributions_own(
    flink_version: str, flink_home: Callable[[str], Path]
) -> None:
    conf, version = flink_home(flink_version) / "conf", FlinkVersion.parse(flink_version)
    assert distribution_logging_files(version) == {
        name: (conf / name).read_text() for name in shipped_logging_files(version)}


def _logging_shipped(emulator: EmulatorProcess, cluster_id: str) -> tuple[dict[str, str], list[str]]:
    """The logging files in ``flink-config-<cid>`` and the keys the Deployment's config volume mounts."""
    data = emulator.api_get(f"/api/v1/namespaces/{NS}/configmaps/flink-config-{cluster_id}")["data"]
    deployment = emulator.api_get(f"/apis/apps/v1/namespaces/{NS}/deployments/{cluster_id}")
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "flink-config-volume")
    return ({name: text for name, text in data.items() if name.startswith(("log4j", "logback"))},
            [item["key"] for item in volume["configMap"]["items"]])


@pytest.mark.flink
@flink_versions
def test_the_cli_launcher_ships_the_specs_logging_files_as_the_native_launcher_does(
    flink_version: str, flink_home: Callable[[str], Path], k8s_emulator: EmulatorProcess, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_flink_k8s.flows.cli_launcher import CliLauncher
    from airflow_flink_k8s.flows.native_launcher import NativeLauncher
    from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}))
    home = flink_home(flink_version)
    files = {"log4j-console.properties": CUSTOM_LOG4J}
    lines: list[str] = []
    # The real client, with the distribution's own conf dir as its FLINK_CONF_DIR.
    CliLauncher(FlinkKubernetesHook(), str(home / "bin" / "flink"), timeout=180, flink_conf_dir=str(home / "conf"),
                on_line=lines.append).launch(_spec(flink_version, "logs-cli", logging_files=files), {}, {},
                                             before_owned=lambda: None)
    NativeLauncher(FlinkKubernetesHook()).launch(_spec(flink_version, "logs-native", logging_files=files), {}, {},
                                                 before_owned=lambda: None)
    by_client, by_launcher = _logging_shipped(k8s_emulator, "logs-cli"), _logging_shipped(k8s_emulator, "logs-native")
    assert by_launcher == by_client
    shipped, mounted = by_client
    # The distribution's files the client ships, the spec's replacing its own.
    assert shipped == {**distribution_logging_files(FlinkVersion.parse(flink_version)), **files}
    assert mounted[:-1] == list(shipped_logging_files(FlinkVersion.parse(flink_version)))
    assert (home / "conf" / "log4j-console.properties").read_text() != CUSTOM_LOG4J, "the client's conf was changed"
    assert any("shipping log4j-console.properties from a copy of the client conf dir" in line for line in lines)


def _rest(sandbox: LocalKubernetes, cluster_id: str, path: str) -> bytes | None:
    """A JobManager REST answer through the API server's service proxy; None while it is not served yet."""
    url = f"{sandbox.url}/api/v1/namespaces/{NS}/services/{cluster_id}-rest:rest/proxy{path}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=ADMIN_AUTHORIZATION), timeout=30) as answer:
            return bytes(answer.read())
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 502, 503):
            return None
        raise
    except OSError:
        return None


def _served_log(sandbox: LocalKubernetes, cluster_id: str) -> tuple[str, str] | None:
    """(name, content) of the JobManager's ``.log`` file once the Web UI lists it non-empty with the startup line."""
    listing = _rest(sandbox, cluster_id, "/jobmanager/logs")
    logs = json.loads(listing)["logs"] if listing else []
    for entry in logs:
        if entry["name"].endswith(".log") and entry["size"] > 0:
            content = _rest(sandbox, cluster_id, f"/jobmanager/logs/{entry['name']}")
            if content and STARTUP_LINE in content.decode(errors="replace"):
                return entry["name"], content.decode(errors="replace")
    return None


def _jobmanager_pod(sandbox: LocalKubernetes, cluster_id: str) -> dict[str, Any]:
    [pod] = sandbox.pods(NS, f"app={cluster_id},component=jobmanager")
    return pod


def _pod_log(sandbox: LocalKubernetes, pod: dict[str, Any]) -> str:
    url = f"{sandbox.url}/api/v1/namespaces/{NS}/pods/{pod['metadata']['name']}/log"
    with urllib.request.urlopen(urllib.request.Request(url, headers=ADMIN_AUTHORIZATION), timeout=30) as answer:
        return str(answer.read().decode(errors="replace"))


def _log_file_on_disk(sandbox: LocalKubernetes, pod: dict[str, Any], name: str) -> Path:
    [path] = (sandbox.workdir / "kubelet" / "pods" / NS).glob(f"{pod['metadata']['name']}-*/log/{name}")
    return path


def _delete_cluster(sandbox: LocalKubernetes, cluster_id: str) -> None:
    request = urllib.request.Request(f"{sandbox.url}/apis/apps/v1/namespaces/{NS}/deployments/{cluster_id}",
                                     headers=ADMIN_AUTHORIZATION, method="DELETE")
    urllib.request.urlopen(request, timeout=30).close()
    sandbox.wait_for(f"the pods of {cluster_id} to be gone", lambda: not sandbox.pods(NS, f"app={cluster_id}"), 120)


@pytest.mark.flink
@flink_versions
def test_the_web_ui_lists_the_jobmanager_log_file_and_a_users_log4j_layout_shows(
    flink_version: str, local_kubernetes: LocalKubernetes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_flink_k8s.flows.native_launcher import NativeLauncher
    from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

    sandbox = local_kubernetes
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(sandbox.kubeconfig)}}))
    launcher = NativeLauncher(FlinkKubernetesHook())

    # Defaults: the distribution's console configuration, whose rolling file at ${sys:log.file} the Web UI lists.
    launcher.launch(_spec(flink_version, "logs-default"), {}, {}, before_owned=lambda: None)
    name, content = sandbox.wait_for("the JobManager log file listed by GET /jobmanager/logs",
                                     lambda: _served_log(sandbox, "logs-default"), 300)
    pod = _jobmanager_pod(sandbox, "logs-default")
    on_disk = _log_file_on_disk(sandbox, pod, name).read_text(errors="replace")
    assert on_disk.startswith(content.splitlines()[0]), "the Web UI served another file than the JobManager wrote"
    assert "INFO  org.apache.flink.runtime.entrypoint.ClusterEntrypoint" in content  # the distribution's layout
    assert STARTUP_LINE in _pod_log(sandbox, pod) and MARKER not in content
    _delete_cluster(sandbox, "logs-default")

    # The user's log4j-console.properties replaces it: its layout in the pod log and in the file the Web UI serves.
    launcher.launch(_spec(flink_version, "logs-custom", logging_files={"log4j-console.properties": CUSTOM_LOG4J}),
                    {}, {}, before_owned=lambda: None)
    name, content = sandbox.wait_for("the JobManager log file listed by GET /jobmanager/logs",
                                     lambda: _served_log(sandbox, "logs-custom"), 300)
    startup = re.compile(rf"^{MARKER} INFO ClusterEntrypoint - +{STARTUP_LINE}", re.MULTILINE)
    assert startup.search(content), content[:2000]
    assert startup.search(_pod_log(sandbox, _jobmanager_pod(sandbox, "logs-custom")))
    _delete_cluster(sandbox, "logs-custom")
