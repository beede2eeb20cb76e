"""The Flink distributions assembled from PyPI and the example job compiled against them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from airflow_flink_k8s_sandbox import flink_dist
from airflow_flink_k8s_sandbox.flink_dist import (
    EXAMPLE_JOB_CLASS,
    FLINK_VERSIONS_UNDER_TEST,
    ensure_example_job,
    ensure_flink_home,
)
from tests.fixtures.flink import flink_versions

JAVA_11_CLASS_MAJOR = 55


@flink_versions
def test_flink_home_has_real_dirs_of_per_file_symlinks(flink_version: str) -> None:
    home = ensure_flink_home(flink_version)
    for name in ("lib", "opt", "plugins"):
        directory = home / name
        assert directory.is_dir() and not directory.is_symlink(), f"{name}/ must be a real directory"
        files = [p for p in directory.rglob("*") if not p.is_dir()]
        assert files and all(p.is_symlink() and p.resolve().is_file() for p in files), name
    assert (home / "lib" / f"flink-dist-{flink_version}.jar").is_file()
    for script in ("flink", "standalone-job.sh", "taskmanager.sh", "kubernetes-jobmanager.sh"):
        assert os.access(home / "bin" / script, os.X_OK), script
    assert (home / "conf" / "config.yaml").is_file()
    assert (home / "log").is_dir()


@pytest.mark.flink
@flink_versions
def test_flink_cli_of_assembled_home_reports_its_version(flink_version: str) -> None:
    home = ensure_flink_home(flink_version)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLINK_")}
    result = subprocess.run([home / "bin" / "flink", "--version"], env=env, check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Version: {flink_version}" in result.stdout


@flink_versions
def test_example_job_is_java_11_bytecode_with_the_job_class(flink_version: str) -> None:
    jar = ensure_example_job(flink_version)
    assert jar == ensure_flink_home(flink_version).parent / "usrlib" / "checkpointing-job.jar"
    with zipfile.ZipFile(jar) as archive:
        class_bytes = archive.read(EXAMPLE_JOB_CLASS.replace(".", "/") + ".class")
    assert int.from_bytes(class_bytes[6:8], "big") == JAVA_11_CLASS_MAJOR


def test_second_run_reuses_the_cache() -> None:
    homes = {v: ensure_flink_home(v) for v in FLINK_VERSIONS_UNDER_TEST}
    before = {v: (h.stat().st_ino, ensure_example_job(v).stat().st_ino) for v, h in homes.items()}
    result = subprocess.run([sys.executable, "-m", "airflow_flink_k8s_sandbox.flink_dist",
                             *FLINK_VERSIONS_UNDER_TEST], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing" not in result.stdout and "compiled" not in result.stdout
    after = {v: (h.stat().st_ino, ensure_example_job(v).stat().st_ino) for v, h in homes.items()}
    assert after == before


def test_fresh_cache_is_assembled_atomically_and_job_recompiles_on_source_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = "2.3.0"  # ships as wheels, so assembling it again is quick
    cache = tmp_path / "cache"
    (cache / "wheels").mkdir(parents=True)
    shared_wheels = ensure_flink_home(version).parents[2] / "wheels"
    for wheel in shared_wheels.glob(f"apache_flink*-{version}-*.whl"):
        os.symlink(wheel, cache / "wheels" / wheel.name)
    monkeypatch.setenv("AIRFLOW_FLINK_K8S_CACHE", str(cache))

    home = ensure_flink_home(version)
    assert home == cache / "flink" / version / "home"
    assert sorted(p.name for p in (cache / "flink").iterdir()) == [version], "staging dir left behind"

    source = tmp_path / "CheckpointingJob.java"
    shutil.copy(flink_dist.EXAMPLE_JOB_SOURCE, source)
    monkeypatch.setattr(flink_dist, "EXAMPLE_JOB_SOURCE", source)
    jar = ensure_example_job(version)
    source.write_text(source.read_text().replace('": start offset "', '": edited start offset "'))
    rebuilt = ensure_example_job(version)
    assert rebuilt == jar
    with zipfile.ZipFile(rebuilt) as archive:
        assert b"edited start offset" in archive.read(EXAMPLE_JOB_CLASS.replace(".", "/") + ".class")
    inode = rebuilt.stat().st_ino
    assert ensure_example_job(version).stat().st_ino == inode, "unchanged source must not recompile"


