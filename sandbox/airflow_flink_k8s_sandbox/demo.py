"""``make demo``: the example DAGs end to end on the local sandbox, with a summary.

It starts the Kubernetes API emulator, the local kubelet and ZooKeeper, runs ``airflow dags test`` for
``flink_state_machine`` (once with Kubernetes HA, once with ZooKeeper HA), ``batch_to_stream_handoff`` and
``backfill_rerun`` (real Airflow on SQLite, real Flink JobManagers and TaskManagers as local processes), prints
per run the cluster id, job id, HA leader address, time to each readiness level and the checkpoint paths on disk,
and stops every process it started. A failed step says which and where its log is. This is an emulator for local
development, not a Kubernetes cluster.
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

from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer

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
    jobs: dict[str, None] = field(default_factory=dict)
    leader: str | None = None

    def mark(self, level: str) -> None:
        self.seen.setdefault(level, time.monotonic() - self.started)


def _current_job(k8s: LocalKubernetes, cluster_id: str) -> str | None:
    deployment = k8s.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{cluster_id}") or {}
    return ((deployment.get("metadata") or {}).get("annotations") or {}).get("airflow-flink-k8s.apache.org/job-id")


def _watch_levels(k8s: LocalKubernetes, cluster_id: str, leader_of: Any, timeline: Timeline, checkpoints: Path,
                  stop: threading.Event) -> None:
    """Observe the levels from outside, as a user would: HA leader, REST, job RUNNING, checkpoint on disk.
    Nothing counts until the cluster launched by this run exists (the previous run's is replaced first)."""
    base = f"/api/v1/namespaces/{NAMESPACE}"
    previous = _current_job(k8s, cluster_id)
    while not stop.is_set() and len(timeline.seen) < 4:
        try:
            job_id = _current_job(k8s, cluster_id)
            if job_id is None or job_id == previous:
                stop.wait(0.5)
                continue
            timeline.jobs.setdefault(job_id, None)
            if (leader := leader_of()) is not None:
                timeline.mark("leader")
                timeline.leader = timeline.leader or leader
            if "leader" in timeline.seen and k8s.get(f"{base}/services/{cluster_id}-rest:rest/proxy/config"):
                timeline.mark("rest")
            job = k8s.get(f"{base}/services/{cluster_id}-rest:rest/proxy/jobs/{job_id}")
            if job and job.get("state") == "RUNNING":
                timeline.mark("running")
            if list((checkpoints / cluster_id / job_id).glob("chk-*")):
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


def _leader(k8s: LocalKubernetes, ha: str, zookeeper: ZooKeeperServer, cluster_id: str) -> str | None:
    """The REST leader address Flink published in its HA data (parsed by the provider's own readers)."""
    from airflow_flink_k8s.core.leader import parse_kubernetes_leader

    if ha == "kubernetes":
        cm = k8s.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps/{cluster_id}-cluster-config-map")
        found = parse_kubernetes_leader(cm) if cm else None
    else:
        from kazoo.client import KazooClient

        from airflow_flink_k8s.core.leader import decode_zookeeper_leader
        from airflow_flink_k8s.core.zookeeper_paths import zookeeper_leader_path

        client = KazooClient(hosts=zookeeper.hosts, logger=logging.getLogger("demo.kazoo"))
        client.start(timeout=10)
        try:
            path = zookeeper_leader_path(FLINK_VERSION, cluster_id, "restserver")
            found = decode_zookeeper_leader(client.get(path)[0]) if client.exists(path) else None
        finally:
            client.stop()
            client.close()
    return found.address if found else None


def _summary(dag_id: str, cluster_id: str, ha: str, timeline: Timeline, checkpoints: Path) -> dict[str, Any]:
    paths = sorted(str(p) for job in timeline.jobs for p in (checkpoints / cluster_id / job).glob("chk-*"))
    return {"dag": dag_id, "ha": ha, "cluster_id": cluster_id, "job_ids": list(timeline.jobs),
            "leader": timeline.leader or "(not observed)", "levels": {k: round(v, 1) for k, v in timeline.seen.items()},
            "checkpoints": paths}


#: (DAG, HA mode, logical date or None, cluster id) for each run of the demo.
RUNS = (
    ("flink_state_machine", "kubernetes", None, CLUSTER_ID),
    ("flink_state_machine", "zookeeper", None, CLUSTER_ID),
    ("batch_to_stream_handoff", "kubernetes", "2026-03-04", "orders-stream-20260304"),
    ("backfill_rerun", "kubernetes", "2026-03-04", "orders-20260304"),
)


def run_demo(workdir: Path) -> list[dict[str, Any]]:
    """Run the examples (flink_state_machine with both HA modes, the handoff, the backfill); one summary per run."""
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
        checkpoints = workdir / "checkpoints"
        for dag_id, ha, logical_date, cluster_id in RUNS:
            conf = {"namespace": NAMESPACE, "image": IMAGE, "flink_version": FLINK_VERSION,
                    "jar_uri": "local:///opt/flink/usrlib/checkpointing-job.jar", "ha": ha,
                    "ha_storage_dir": f"file://{workdir}/ha", "checkpoint_base_dir": f"file://{checkpoints}",
                    "zookeeper_quorum": zk.hosts if ha == "zookeeper" else None, "jobmanager_memory": "1024m"}
            if dag_id == "batch_to_stream_handoff":  # its batch side runs the bounded example job
                conf["batch_jar_uri"] = "local:///opt/flink/usrlib/bounded-job.jar"
            if dag_id == "backfill_rerun":
                conf.pop("ha")  # that example is Kubernetes HA only
                conf.pop("zookeeper_quorum")
                conf["savepoint_base_dir"] = f"file://{workdir}/savepoints"
            print(f"\n== airflow dags test {dag_id} {logical_date or ''} (ha={ha})", flush=True)
            timeline, stop = Timeline(), threading.Event()
            watcher = threading.Thread(target=_watch_levels, daemon=True,
                                       args=(k8s, cluster_id, lambda h=ha, c=cluster_id: _leader(k8s, h, zk, c),
                                             timeline, checkpoints, stop))
            watcher.start()
            argv = [*airflow, "dags", "test", dag_id, *([logical_date] if logical_date else []),
                    "--conf", json.dumps(conf)]
            try:
                _run(f"airflow dags test {dag_id} (ha={ha})", argv, env, workdir / f"dags-test-{dag_id}-{ha}.log", 900)
            finally:
                stop.set()
                watcher.join()
            summaries.append(_summary(dag_id, cluster_id, ha, timeline, checkpoints))
            _print(summaries[-1])
    return summaries


def _print(summary: dict[str, Any]) -> None:
    levels = ", ".join(f"{level} {seconds:.1f}s" for level, seconds in summary["levels"].items())
    print(f"   cluster {summary['cluster_id']}  job {', '.join(summary['job_ids']) or '?'}  ha {summary['ha']}")
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
