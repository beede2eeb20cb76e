"""The CLI argv: accepted by the real Flink CLI parser of each version, deterministic, no shell."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.command import build_flink_command
from airflow_flink_k8s.core.configuration import flink_configuration
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from tests.fixtures.flink import flink_versions

BASE: dict[str, Any] = {
    "cluster_id": "orders",
    "image": "registry.example/flink:job",
    "jar_uri": "local:///opt/flink/usrlib/job.jar",
}


def spec(version: str, **overrides: Any) -> FlinkApplicationSpec:
    return FlinkApplicationSpec(**{**BASE, "flink_version": version, **overrides})


def test_action_is_run_application_up_to_1_20_and_run_in_2_x() -> None:
    assert build_flink_command(spec("1.20.3"))[1:4] == ["run-application", "-t", "kubernetes-application"]
    assert build_flink_command(spec("1.16.3"))[1] == "run-application"
    assert build_flink_command(spec("2.0.0"))[1:4] == ["run", "-t", "kubernetes-application"]


def test_options_are_sorted_and_program_comes_last() -> None:
    argv = build_flink_command(
        spec("2.3.0", parallelism=4, entry_class="org.example.Main", program_args=["--in", "a b", "$HOME;rm"]),
        flink_bin="/opt/flink/bin/flink",
    )
    options = [a for a in argv if a.startswith("-D")]
    assert options == sorted(options)
    assert options == [f"-D{k}={v}" for k, v in sorted(flink_configuration(spec("2.3.0")).items())]
    assert argv[0] == "/opt/flink/bin/flink"
    assert argv[-8:] == [
        "-p", "4", "-c", "org.example.Main", "local:///opt/flink/usrlib/job.jar", "--in", "a b", "$HOME;rm"
    ]


def test_the_pod_template_file_is_required_exactly_with_a_template() -> None:
    with_template = spec("2.3.0", taskmanager_pod_template={"apiVersion": "v1", "kind": "Pod"})
    with pytest.raises(ValueError, match="taskmanager_pod_template_file"):
        build_flink_command(with_template)
    with pytest.raises(ValueError, match="taskmanager_pod_template_file"):
        build_flink_command(spec("2.3.0"), taskmanager_pod_template_file="/tmp/tm.yaml")
    argv = build_flink_command(with_template, taskmanager_pod_template_file="/tmp/tm.yaml")
    assert "-Dkubernetes.pod-template-file.taskmanager=/tmp/tm.yaml" in argv


@flink_versions
def test_the_real_flink_cli_accepts_the_argv_and_reaches_the_kubernetes_api(
    flink_version: str, flink_home: Callable[[str], Path], tmp_path: Path
) -> None:
    """Run bin/flink itself against a closed loopback port: it must parse everything and fail only on the API."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\nusers: [{name: u, user: {}}]\n"
    )
    s = spec(flink_version, parallelism=2, entry_class="org.example.Main", program_args=["a b"],
             ha="kubernetes", ha_storage_dir="file:///tmp/ha", checkpoint_base_dir="file:///tmp/cp")
    argv = build_flink_command(s, str(flink_home(flink_version) / "bin" / "flink"))
    argv.insert(4, f"-Dkubernetes.config.file={kubeconfig}")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "127.0.0.1" in output or "Connection refused" in output, output[-3000:]
    assert "Unrecognized option" not in output and "Could not parse" not in output
