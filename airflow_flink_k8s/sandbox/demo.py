"""``make demo``: the example DAG ``flink_state_machine`` end to end on the local sandbox, with a summary.

It starts the Kubernetes API emulator, the local kubelet and ZooKeeper, runs ``airflow dags test flink_state_machine``
once with Kubernetes HA and once with ZooKeeper HA (real Airflow on SQLite, real Flink JobManagers and
TaskManagers as local processes), prints per run the cluster id, job id, HA leader address, time to each readiness
level and the checkpoint paths on disk, and stops every process it started. A failed step says which and where its
log is. This is an emulator for local development, not a Kubernetes cluster.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_flink_k8s.sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s.sandbox.zookeeper import ZooKeeperServer

REPO = Path(__file__).resolve().parents[2]
CLUSTER_ID = "state-machine-cluster"
NAMESPACE = "hke-flink"
#: The reference platform's image name; the kubelet runs it as Flink 2.3.0 from PyPI.
IMAGE = "harbor.example/flink/statemachine:v0.0.6"
FLINK_VERSION = "2.3.0"


class StepFailed(RuntimeError):
    """A demo step failed; the message names the step and its log."""


@dataclass
class Timeline:
    """When each readiness level was first seen, in seconds from the launch."""

    started: float = field(default_factory=time.monotonic)
    seen: dict[str, float] = field(default_factory=dict)

    def mark(self, level: str) -> None:
        self.seen.setdefault(level, time.monotonic() - self.started)


def _current_job(k8s: LocalKubernetes) -> str | None:
    deployment = k8s.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{CLUSTER_ID}") or {}
    return ((deployment.get("metadata") or {}).get("annotations") or {}).get("airflow-flink-k8s.apache.org/job-id")


def _watch_levels(k8s: LocalKubernetes, has_leader: Any, timeline: Timeline, checkpoints: Path,
                  stop: threading.Event) -> None:
    """Observe the levels from outside, as a user would: HA leader, REST, job RUNNING, checkpoint on disk.
    Nothing counts until the cluster launched by this run exists (the previous run's is replaced first)."""
    base = f"/api/v1/namespaces/{NAMESPACE}"
    previous = _current_job(k8s)
    while not stop.is_set() and len(timeline.seen) < 4:
        try:
            job_id = _current_job(k8s)
            if job_id is None or job_id == previous:
                stop.wait(0.5)
                continue
            if has_leader():
                timeline.mark("leader")
            if "leader" in timeline.seen and k8s.get(f"{base}/services/{CLUSTER_ID}-rest:rest/proxy/config"):
                timeline.mark("rest")
            job = job_id and k8s.get(f"{base}/services/{CLUSTER_ID}-rest:rest/proxy/jobs/{job_id}")
            if job and job.get("state") == "RUNNING":
                timeline.mark("running")
            if job_id and list((checkpoints / CLUSTER_ID / job_id).glob("chk-*")):
                timeline.mark("checkpointed")
        except OSError:
            pass  # the REST proxy answers 503 until the JobManager is up
        stop.wait(0.5)


def _run(step: str, argv: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
    with log.open("w") as out:
        done = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-25:])
        raise StepFailed(f"step '{step}' failed (exit {done.returncode}); log: {log}\n{tail}")


def _leader(k8s: LocalKubernetes, ha: str, zookeeper: ZooKeeperServer) -> str | None:
    """The REST leader address Flink published in its HA data (parsed by the provider's own readers)."""
    from airflow_flink_k8s.leader import parse_kubernetes_leader

    if ha == "kubernetes":
        cm = k8s.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps/{CLUSTER_ID}-cluster-config-map")
        found = parse_kubernetes_leader(cm) if cm else None
    else:
        from kazoo.client import KazooClient

        from airflow_flink_k8s.leader import decode_zookeeper_leader
        from airflow_flink_k8s.zookeeper_paths import zookeeper_leader_path

        client = KazooClient(hosts=zookeeper.hosts, logger=logging.getLogger("demo.kazoo"))
        client.start(timeout=10)
        try:
            path = zookeeper_leader_path(FLINK_VERSION, CLUSTER_ID, "restserver")
            found = decode_zookeeper_leader(client.get(path)[0]) if client.exists(path) else None
        finally:
            client.stop()
            client.close()
    return found.address if found else None


def _summary(k8s: LocalKubernetes, ha: str, zookeeper: ZooKeeperServer, timeline: Timeline,
             checkpoints: Path) -> dict[str, Any]:
    deployment = k8s.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{CLUSTER_ID}")
    job_id = deployment["metadata"]["annotations"]["airflow-flink-k8s.apache.org/job-id"]
    leader = _leader(k8s, ha, zookeeper) or "(none)"
    paths = sorted(str(p) for p in (checkpoints / CLUSTER_ID / job_id).glob("chk-*"))
    return {"ha": ha, "cluster_id": CLUSTER_ID, "job_id": job_id, "leader": leader,
            "levels": {k: round(v, 1) for k, v in timeline.seen.items()}, "checkpoints": paths}


def run_demo(workdir: Path) -> list[dict[str, Any]]:
    """Run the example for both HA modes; return one summary per run."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    airflow_home = workdir / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags")})
    airflow = [sys.executable, "-m", "airflow"]
    print(f"sandbox: {workdir}", flush=True)
    _run("airflow db migrate", [*airflow, "db", "migrate"], env, workdir / "airflow-db.log", 600)
    summaries = []
    with LocalKubernetes.start(workdir / "k8s", namespaces=("default", NAMESPACE),
                               images={IMAGE: FLINK_VERSION}) as k8s, ZooKeeperServer(workdir / "zk") as zk:
        env["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config_path": str(k8s.kubeconfig)}})
        print(f"kubernetes api emulator {k8s.url} · kubelet pid {k8s.kubelet.pid} · zookeeper {zk.hosts}",
              flush=True)
        for ha in ("kubernetes", "zookeeper"):
            checkpoints = workdir / "checkpoints"
            conf = {"namespace": NAMESPACE, "image": IMAGE, "flink_version": FLINK_VERSION,
                    "jar_uri": "local:///opt/flink/usrlib/checkpointing-job.jar", "ha": ha,
                    "ha_storage_dir": f"file://{workdir}/ha", "checkpoint_base_dir": f"file://{checkpoints}",
                    "zookeeper_quorum": zk.hosts if ha == "zookeeper" else None, "jobmanager_memory": "1024m"}
            print(f"\n== airflow dags test flink_state_machine (ha={ha})", flush=True)
            timeline, stop = Timeline(), threading.Event()
            watcher = threading.Thread(target=_watch_levels, daemon=True,
                                       args=(k8s, lambda h=ha: _leader(k8s, h, zk) is not None, timeline,
                                             checkpoints, stop))
            watcher.start()
            try:
                _run(f"airflow dags test flink_state_machine (ha={ha})",
                     [*airflow, "dags", "test", "flink_state_machine", "--conf", json.dumps(conf)], env,
                     workdir / f"dags-test-{ha}.log", 900)
            finally:
                stop.set()
                watcher.join()
            summaries.append(_summary(k8s, ha, zk, timeline, checkpoints))
            _print(summaries[-1])
    return summaries


def _print(summary: dict[str, Any]) -> None:
    levels = ", ".join(f"{level} {seconds:.1f}s" for level, seconds in summary["levels"].items())
    print(f"   cluster {summary['cluster_id']}  job {summary['job_id']}  ha {summary['ha']}")
    print(f"   leader  {summary['leader']}")
    print(f"   ready   {levels or '(not observed)'}  (seconds from the start of `airflow dags test`)")
    for path in summary["checkpoints"]:
        print(f"   checkpoint {path}")


def main() -> None:
    logging.getLogger("demo.kazoo").setLevel(logging.WARNING)
    workdir = Path(os.environ.get("AIRFLOW_FLINK_K8S_DEMO_DIR", REPO / ".sandbox" / "demo"))
    began = time.monotonic()
    try:
        summaries = run_demo(workdir)
    except StepFailed as failure:
        print(f"\nDEMO FAILED: {failure}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"\ndemo finished in {time.monotonic() - began:.0f}s: {len(summaries)} runs, every process stopped")


if __name__ == "__main__":
    main()
