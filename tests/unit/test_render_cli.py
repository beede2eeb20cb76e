"""``python -m airflow_flink_k8s render <spec>``: prints a launch's objects and argv, creates nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from airflow_flink_k8s.__main__ import main
from tests.paths import REPO_ROOT

SPEC = {"cluster_id": "orders", "image": "flink:2.3.0", "jar_uri": "local:///opt/flink/usrlib/job.jar",
        "flink_version": "2.3.0", "namespace": "flink", "ha": "zookeeper", "ha_storage_dir": "s3://bucket/ha",
        "zookeeper_quorum": "zk:2181", "job_id": "0123456789abcdef0123456789abcdef",
        "flink_conf": {"s3.secret-key": "hunter2-secret"}}


def test_render_prints_the_objects_as_a_yaml_stream_and_the_command(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    assert main(["render", str(path), "--dag-id", "d", "--task-id", "t", "--run-id", "r"]) == 0
    out = capsys.readouterr().out
    objects = list(yaml.safe_load_all(out))
    assert [o["metadata"]["name"] for o in objects] == ["orders", "orders-rest", "flink-config-orders"]
    assert objects[0]["metadata"]["labels"]["dag_id"] == "d"
    (command,) = [line for line in out.splitlines() if line.startswith("# Equivalent flink command: ")]
    assert "-Dhigh-availability.type=zookeeper" in command and "hunter2-secret" not in out


def test_render_json_is_the_operators_xcom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(SPEC))
    assert main(["render", str(path), "--launcher", "cli", "--flink-bin", "/opt/flink/bin/flink",
                 "--output", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["dry_run"] is True and shown["launcher"] == "cli"
    assert shown["argv"][:4] == ["/opt/flink/bin/flink", "run", "-t", "kubernetes-application"]
    assert shown["conf_dir_options"] == ["s3.secret-key"] and shown["job_id"] == SPEC["job_id"]


@pytest.mark.parametrize(("content", "args", "message"), [
    ({**SPEC, "paralelism": 2}, [], "paralelism: is not a FlinkApplicationSpec field"),
    ({**SPEC, "cluster_id": "Orders_1"}, [], "cluster_id:"),
    (["not", "a", "mapping"], [], "must hold a mapping of FlinkApplicationSpec fields"),
    (SPEC, ["--dag-id", "d"], "--dag-id/--task-id/--run-id: must be given together"),
])
def test_a_bad_spec_exits_2_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object,
                                            args: list[str], message: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(content))
    assert main(["render", str(path), *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_python_dash_m_runs_it_and_stdout_holds_only_the_stream(tmp_path: Path) -> None:
    # The test session runs Airflow in unit-test mode, whose config load logs a line: not onto the stream.
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in SPEC.items() if k != "namespace"}))
    done = subprocess.run([sys.executable, "-m", "airflow_flink_k8s", "render", str(path)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert [o["metadata"]["namespace"] for o in yaml.safe_load_all(done.stdout)] == ["default"] * 3
    assert "# Note: namespace: not set, shown as 'default'" in done.stdout
