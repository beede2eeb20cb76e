"""The CLI argv: per-version action, deterministic, no shell (the real CLI parses it: see
``tests/integration/test_command_against_flink_client.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_flink_k8s.core.command import build_flink_command
from airflow_flink_k8s.core.configuration import flink_configuration
from airflow_flink_k8s.core.spec import FlinkApplicationSpec

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


