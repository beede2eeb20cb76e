"""The provider wheel every Airflow worker installs holds the provider and nothing of the sandbox."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _build(project: Path, out: Path) -> zipfile.ZipFile:
    """Build ``project`` from a copy of its sources (setuptools writes ``build/`` next to them)."""
    source = out / "src"
    shutil.copytree(project, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "*.egg-info", "__pycache__", ".sandbox"))
    project = source
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(out), str(project)], check=True, cwd=out)
    (wheel,) = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def test_the_provider_wheel_holds_no_sandbox(tmp_path: Path) -> None:
    names = _build(REPO, tmp_path).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"airflow_flink_k8s", "airflow_flink_k8s-0.1.0.dist-info"}, top_level
    for module in ("operators.py", "sensors.py", "triggers.py", "core/spec.py", "hooks/kubernetes.py", "py.typed"):
        assert f"airflow_flink_k8s/{module}" in names
    assert not [name for name in names if "sandbox" in name or name.endswith((".java", ".jar"))]


def test_the_sandbox_is_a_wheel_of_its_own_with_its_console_script(tmp_path: Path) -> None:
    wheel = _build(REPO / "sandbox", tmp_path)
    names = wheel.namelist()
    assert "airflow_flink_k8s_sandbox/kubelet.py" in names
    assert "airflow_flink_k8s_sandbox/jobs/CheckpointingJob.java" in names
    assert not [name for name in names if name.startswith("airflow_flink_k8s/")]
    entry_points = wheel.read("airflow_flink_k8s_sandbox-0.1.0.dist-info/entry_points.txt").decode()
    assert "flink-k8s-sandbox = airflow_flink_k8s_sandbox.__main__:main" in entry_points
