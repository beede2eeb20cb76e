"""Record JobManager pods as the sandbox kubelet reports them, and a failed job's root cause, as test data for
``failure_report``.

It launches three application clusters natively onto the sandbox (Kubernetes API emulator + local kubelet) with a
short restart back-off and writes what the API returns to ``tests/data/failure/``:

* ``pod-crashloop-waiting.json``: the pod of a real JobManager that exits at start (an entry class the jar does
  not have), in ``CrashLoopBackOff`` after ``RESTARTS`` restarts; ``pod-crashloop-running.json``: the same pod
  running again; ``crashloop-previous.log``: the crashed container's log (``previous=true``, last 60 lines);
* ``pod-running.json``: the JobManager of a job that failed on purpose (it keeps running:
  ``execution.shutdown-on-application-finish: false``), and ``job-exceptions.json``: that job's
  ``/jobs/<id>/exceptions`` answer;
* ``pod-image-unknown.json``: an image whose Flink version the sandbox cannot tell (``ErrImagePull``).

    .venv/bin/python scripts/record_jobmanager_pods.py
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_flink_k8s.core.failure_report import jobmanager_selector, main_container_status
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.native_launcher import NativeLauncher
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.emulator_process import ADMIN_AUTHORIZATION
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "failure"
NAMESPACE = "flink"
VERSION = "2.3.0"
RESTARTS = 3
JOB_ID = "0" * 31 + "1"


def _launch(tmp: Path, cluster_id: str, **fields: Any) -> None:
    spec = FlinkApplicationSpec.from_dict({
        "cluster_id": cluster_id, "namespace": NAMESPACE, "image": f"flink:{VERSION}", "flink_version": VERSION,
        "jar_uri": "local:///opt/flink/usrlib/checkpointing-job.jar", "ha": "kubernetes",
        "ha_storage_dir": f"file://{tmp}/ha", "checkpoint_base_dir": f"file://{tmp}/checkpoints",
        "job_id": JOB_ID, **fields})
    NativeLauncher(FlinkKubernetesHook()).launch(spec, {}, {}, before_owned=lambda: None)


def _pod_when(k8s: LocalKubernetes, cluster_id: str, what: str,
              condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        pods = k8s.pods(NAMESPACE, jobmanager_selector(cluster_id))
        return next((pod for pod in pods if condition(main_container_status(pod))), None)

    return k8s.wait_for(f"{cluster_id}: {what}", probe, timeout=300, interval=0.2)


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="record-pods-") as tmp, \
            LocalKubernetes.start(Path(tmp) / "k8s", namespaces=("default", NAMESPACE), restart_backoff=1.0) as k8s:
        os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config_path": str(k8s.kubeconfig)}})
        _launch(Path(tmp), "crashloop", entry_class="com.example.DoesNotExist")
        _launch(Path(tmp), "failing", program_args=["--fail-after-seconds", "0"],
                flink_conf={"restart-strategy.type": "none", "execution.shutdown-on-application-finish": "false"})
        _launch(Path(tmp), "unknown-image", image="registry.example/flink:latest")
        recorded = {
            "pod-crashloop-waiting": _pod_when(k8s, "crashloop", f"CrashLoopBackOff after {RESTARTS} restarts",
                                               lambda s: s.get("restartCount", 0) >= RESTARTS and (
                                                   s["state"].get("waiting") or {}).get("reason")
                                               == "CrashLoopBackOff"),
        }
        crashed = recorded["pod-crashloop-waiting"]["metadata"]["name"]
        with urllib.request.urlopen(urllib.request.Request(
                f"{k8s.url}/api/v1/namespaces/{NAMESPACE}/pods/{crashed}/log?previous=true&tailLines=60",
                headers=ADMIN_AUTHORIZATION), timeout=30) as answer:
            (OUT_DIR / "crashloop-previous.log").write_bytes(answer.read())
        recorded["pod-crashloop-running"] = _pod_when(k8s, "crashloop", "running again after a crash",
                                                      lambda s: s.get("restartCount", 0) >= 1
                                                      and "running" in s["state"])
        proxy = f"/api/v1/namespaces/{NAMESPACE}/services/failing-rest:rest/proxy/jobs/{JOB_ID}"
        k8s.wait_for("the job failing on purpose", lambda: (k8s.get(proxy) or {}).get("state") == "FAILED", 300, 1)
        recorded["job-exceptions"] = k8s.get(f"{proxy}/exceptions")
        recorded["pod-running"] = _pod_when(k8s, "failing", "running", lambda s: "running" in (s.get("state") or {}))
        recorded["pod-image-unknown"] = _pod_when(k8s, "unknown-image", "ErrImagePull",
                                                  lambda s: (s.get("state", {}).get("waiting") or {}).get("reason")
                                                  == "ErrImagePull")
        for name, obj in recorded.items():
            path = OUT_DIR / f"{name}.json"
            path.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
