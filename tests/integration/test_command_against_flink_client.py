"""The CLI argv accepted by the real Flink CLI parser of each version (``bin/flink`` in a JVM)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from airflow_flink_k8s.core.command import build_flink_command
from tests.fixtures.flink import flink_versions
from tests.spec_support import spec


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
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "127.0.0.1" in output or "Connection refused" in output, output[-3000:]
    assert "Unrecognized option" not in output and "Could not parse" not in output
