"""``python -m airflow_flink_k8s_sandbox up | status | down`` as a developer uses it, with a real Flink cluster."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s_sandbox.processes import pid_exists

pytestmark = pytest.mark.flink


def _sandbox(command: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "airflow_flink_k8s_sandbox", command], env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_up_status_down_with_a_running_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "AIRFLOW_FLINK_K8S_SANDBOX_DIR": str(tmp_path / "sandbox")}
    printed = _sandbox("up", env)
    connection = re.search(r"AIRFLOW_CONN_KUBERNETES_DEFAULT='(.+)'", printed)
    assert connection, printed
    state = json.loads((tmp_path / "sandbox" / "state.json").read_text())
    started = [state[name]["pid"] for name in ("emulator", "kubelet", "zookeeper")]
    pod_pids: list[int] = []
    try:
        assert all(pid_exists(pid) for pid in started)
        monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection.group(1))
        from airflow_flink_k8s.flows.native_launcher import NativeLauncher
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

        spec = FlinkApplicationSpec(cluster_id="cli-status", namespace="flink", image="flink:2.3.0",
                                    jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", flink_version="2.3.0",
                                    ha="kubernetes", ha_storage_dir=f"file://{tmp_path}/ha",
                                    jobmanager_memory="1024m", taskmanager_memory="1024m", job_id="cd" * 16)
        from airflow_flink_k8s.core.launch_plan import RunIdentity, launch_annotations, launch_labels

        run = RunIdentity("sandbox_cli", "launch", "manual__1", 1)
        NativeLauncher(FlinkKubernetesHook()).launch(spec, launch_labels(run), launch_annotations(spec, run, "cd" * 16),
                                                     before_owned=lambda: None)
        deadline = time.monotonic() + 150
        while True:
            shown = _sandbox("status", env)
            if re.search(r"leader http://127\.0\.0\.1:\d+", shown) and "taskmanager" in shown:
                break
            assert time.monotonic() < deadline, shown
            time.sleep(3)
        assert "cluster flink/cli-status job " + "cd" * 16 in shown
        assert "/api/v1/namespaces/flink/services/cli-status-rest:rest/proxy/" in shown
        pod_pids = [int(pid) for pid in re.findall(r"Running pid (\d+)", shown)]
        assert len(pod_pids) == 2 and all(pid_exists(pid) for pid in pod_pids), shown
    finally:
        stopped = _sandbox("down", env)
    assert "stopped" in stopped
    assert [pid for pid in started + pod_pids if pid_exists(pid)] == []
    assert _sandbox("status", env).strip() == "sandbox: down"
