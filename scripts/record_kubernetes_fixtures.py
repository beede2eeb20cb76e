"""Record the HA ConfigMaps real Flink JobManagers write, as test data for the leader parser.

For each Flink version it deploys the example job with the real Flink client onto the sandbox (Kubernetes API
emulator + local kubelet) with Kubernetes HA, waits for the first completed checkpoint, and writes what the API
returns for ``<cid>-cluster-config-map`` and the per-job ``<cid>-<jobid>-config-map`` to
``tests/data/ha/configmap-<version>.json`` and ``configmap-<version>-job.json``, with a ``.meta.json`` beside
them saying what the cluster really used (REST URL, job id, time of recording).

    .venv/bin/python scripts/record_kubernetes_fixtures.py [VERSION ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from airflow_flink_k8s_sandbox.flink_client import run_flink_application
from airflow_flink_k8s_sandbox.flink_dist import FLINK_VERSIONS_UNDER_TEST
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "ha"
CLUSTER_ID = "recorded-cluster"
NAMESPACE = "default"


def record(version: str, out_dir: Path) -> list[Path]:
    """Run one application cluster for ``version``; write its HA ConfigMaps; return the files written."""
    with tempfile.TemporaryDirectory(prefix=f"record-k8s-{version}-") as tmp, \
            LocalKubernetes.start(Path(tmp) / "k8s") as k8s:
        options = {
            "kubernetes.cluster-id": CLUSTER_ID, "kubernetes.namespace": NAMESPACE,
            "kubernetes.container.image.ref": f"flink:{version}",
            "high-availability.type": "kubernetes", "high-availability.storageDir": f"file://{tmp}/ha",
            "execution.checkpointing.dir": f"file://{tmp}/checkpoints", "execution.checkpointing.interval": "2 s",
            "jobmanager.memory.process.size": "1024m", "taskmanager.memory.process.size": "1024m",
        }
        result = run_flink_application(version, k8s.kubeconfig, Path(tmp), options,
                                       "local:///opt/flink/usrlib/checkpointing-job.jar")
        if result.returncode != 0:
            raise SystemExit(f"flink client failed:\n{result.output[-3000:]}")
        base = f"/api/v1/namespaces/{NAMESPACE}/configmaps"

        def job_map() -> dict | None:
            maps = k8s.get(f"{base}?labelSelector=app%3D{CLUSTER_ID}")["items"]
            return next((m for m in maps if m["metadata"]["name"].endswith("-config-map")
                         and m["metadata"]["name"] != f"{CLUSTER_ID}-cluster-config-map"
                         and any(k.startswith("checkpointID-") for k in m.get("data") or {})), None)

        job = k8s.wait_for("a completed checkpoint in the job's HA ConfigMap", job_map, 180)
        cluster = k8s.get(f"{base}/{CLUSTER_ID}-cluster-config-map")
        job_id = job["metadata"]["name"][len(CLUSTER_ID) + 1:-len("-config-map")]
        address = cluster["data"]["org.apache.flink.k8s.leader.restserver"].partition(",")[2]
        written = []
        for suffix, obj in (("", cluster), ("-job", job)):
            path = out_dir / f"configmap-{version}{suffix}.json"
            path.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")
            written.append(path)
        meta = out_dir / f"configmap-{version}.meta.json"
        meta.write_text(json.dumps({"flink_version": version, "cluster_id": CLUSTER_ID, "namespace": NAMESPACE,
                                    "rest_url": address, "job_id": job_id,
                                    "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                                   indent=1) + "\n")
        return [*written, meta]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=list(FLINK_VERSIONS_UNDER_TEST))
    args = parser.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for version in args.versions:
        for path in record(version, OUT_DIR):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
