"""Record the raw ZooKeeper leader data real Flink clusters publish, as test data for the znode decoder.

For each Flink version it runs a standalone application cluster (the example job) with ZooKeeper HA against a
real ZooKeeper, waits until the job is RUNNING, and writes the ``connection_info`` bytes of the REST server,
dispatcher, resource manager and the job's leader to ``tests/data/ha/zookeeper-<version>-<component>.bin``, each
with a ``.json`` beside it describing what the cluster really used.

    .venv/bin/python scripts/record_zookeeper_fixtures.py [VERSION ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from kazoo.client import KazooClient

from airflow_flink_k8s_sandbox.flink_dist import (
    EXAMPLE_JOB_CLASS,
    FLINK_VERSIONS_UNDER_TEST,
    ensure_example_job,
)
from airflow_flink_k8s_sandbox.standalone import StandaloneApplicationCluster
from airflow_flink_k8s_sandbox.zookeeper import ZooKeeperServer

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "ha"
CLUSTER_ID = "recorded-cluster"
ROOT = "/flink"


def record(version: str, out_dir: Path) -> list[Path]:
    """Run one cluster for ``version`` and write its leader znodes; return the files written."""
    written = []
    with tempfile.TemporaryDirectory(prefix=f"record-zk-{version}-") as tmp, ZooKeeperServer(Path(tmp) / "zk") as zk:
        config = {
            "high-availability.type": "zookeeper",
            "high-availability.zookeeper.quorum": zk.hosts,
            "high-availability.zookeeper.path.root": ROOT,
            "high-availability.storageDir": f"file://{tmp}/ha",
            "high-availability.cluster-id": CLUSTER_ID,
            "execution.checkpointing.dir": f"file://{tmp}/checkpoints",
        }
        cluster = StandaloneApplicationCluster(version, ensure_example_job(version), EXAMPLE_JOB_CLASS, (),
                                               config, work_dir=Path(tmp) / "cluster")
        client = KazooClient(hosts=zk.hosts)
        client.start(timeout=10)
        try:
            cluster.start()
            job_id = cluster.wait_for_job("RUNNING")["jid"]
            leader_dir = f"{ROOT}/{CLUSTER_ID}/leader"
            components = {
                "rest_server": f"{leader_dir}/rest_server/connection_info",
                "dispatcher": f"{leader_dir}/dispatcher/connection_info",
                "resource_manager": f"{leader_dir}/resource_manager/connection_info",
                "job": f"{leader_dir}/job-{job_id}/connection_info",
            }
            rpc = f"127.0.0.1:{cluster.effective_config()['jobmanager.rpc.port']}"
            for component, path in components.items():
                data = _wait_for_data(client, path, timeout=30.0)
                if data is None:
                    print(f"  {path}: no leader data, skipped", flush=True)
                    continue
                name = f"zookeeper-{version}-{component}"
                raw, meta = out_dir / f"{name}.bin", out_dir / f"{name}.json"
                raw.write_bytes(data)
                meta.write_text(json.dumps({
                    "flink_version": version,
                    "component": component,
                    "zookeeper_path": path,
                    "cluster_id": CLUSTER_ID,
                    "job_id": job_id,
                    "rest_url": cluster.rest_url,
                    "jobmanager_rpc_address": rpc,
                    "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }, indent=2) + "\n")
                written += [raw, meta]
                print(f"  {path}: {len(data)} bytes -> {raw.name}", flush=True)
        finally:
            cluster.stop()
            client.stop()
            client.close()
    return written


def _wait_for_data(client: KazooClient, path: str, timeout: float) -> bytes | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.exists(path):
            data = client.get(path)[0]
            if data:
                return data
        time.sleep(0.2)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=list(FLINK_VERSIONS_UNDER_TEST))
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for version in args.versions:
        print(f"recording Flink {version}", flush=True)
        record(version, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
