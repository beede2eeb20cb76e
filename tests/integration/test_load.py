"""Load: 50 clusters launched, waited for and torn down at once through the real operators, under injected API faults
(5xx, 409 storms on the HA compare-and-swap, 200 ms latency, dropped watches; ``sandbox.load_scenario.FAULTS``),
with the JobManager stand-in, not real Flink (50 JVMs do not fit on 2 cores). And the stand-in's HA data checked
against what real Flink 2.3.0 and 1.20.3 wrote. How long the load takes is a benchmark (``bench/load.py``).
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s_sandbox.concurrent_tasks import execute
from airflow_flink_k8s_sandbox.jobmanager_standin import IMAGE
from airflow_flink_k8s_sandbox.load_scenario import run_load
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes
from tests.paths import DATA_DIR

RECORDED = DATA_DIR / "ha"
NS = "flink"


def test_fifty_concurrent_launches_under_faults_all_end_running_then_torn_down(tmp_path: Path) -> None:
    # What the README claims: 50/50 running (within the launch task's Airflow retries), then torn down, nothing left.
    result = run_load(tmp_path, clusters=50, faults=True)
    print("\n".join(result.report()))
    assert len(result.launches) == 50
    assert [str(o.error).splitlines()[0] for o in result.failed] == [], "a launch failed under the faults"
    for outcome in result.launches:
        cid = f"load-{outcome.dag_id[-2:]}"
        assert (outcome.result["cluster_id"], outcome.result["ready"]["job_state"]) == (cid, "RUNNING")
    assert len(result.running) == 50
    assert all(o.ok for o in result.teardowns), [str(o.error) for o in result.teardowns if not o.ok]
    assert result.leftovers == [], "objects or HA data left in the emulator"
    assert result.survivors == [], "processes outlived the sandbox"
    assert [job for job, n in Counter(result.job_ids).items() if n > 1] == []
    fired = {(rule["status"], rule["delay_ms"]): rule["fired"] for rule in result.faults}
    assert all(fired.values()), f"a fault rule never fired: {result.faults}"
    assert result.watch_drops > 0


@pytest.fixture(scope="module")
def sandbox(module_sandbox: LocalKubernetes) -> LocalKubernetes:
    return module_sandbox


def _shape(configmap: dict[str, Any], cluster_id: str, job_id: str) -> dict[str, Any]:
    """What must match real Flink: data keys and value formats, labels, the lease record's fields and types."""
    def norm(text: str) -> str:
        text = text.replace(job_id, "<job>").replace(cluster_id, "<cid>")
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
        return re.sub(r"\d+", "<n>", text)

    meta = configmap["metadata"]
    record = json.loads((meta.get("annotations") or {}).get("control-plane.alpha.kubernetes.io/leader", "{}"))
    data = configmap.get("data") or {}
    return {
        "keys": sorted(norm(k) for k in data),
        "leader values": {norm(k): norm(v) for k, v in data.items() if k.startswith("org.apache.flink.k8s.leader.")},
        "labels": {k: norm(v) for k, v in (meta.get("labels") or {}).items()},
        "lease record": [(name, type(value).__name__) for name, value in record.items()],
        "lease duration": record.get("leaseDuration"),
    }


@pytest.mark.parametrize("version", ["2.3.0", "1.20.3"])
def test_standin_writes_the_ha_configmaps_real_flink_writes(sandbox: LocalKubernetes, tmp_path: Path,
                                                            version: str) -> None:
    from airflow.sdk import DAG

    from airflow_flink_k8s.operators import FlinkApplicationOperator, FlinkApplicationTeardownOperator

    cid = f"standin-{version.replace('.', '-')}"
    with DAG(f"standin_{cid}", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
        launch = FlinkApplicationOperator(
            task_id="launch", cluster_id=cid, namespace=NS, image=f"{IMAGE}:{version}", flink_version=version,
            jar_uri="local:///opt/flink/usrlib/job.jar", ha="kubernetes", ha_storage_dir=f"file://{tmp_path}/ha",
            checkpoint_base_dir=f"file://{tmp_path}/checkpoints", checkpoint_interval="1 s",
            wait_until="checkpointed", wait_timeout=60, wait_poll_interval=0.5, deferrable=False)
        teardown = FlinkApplicationTeardownOperator(task_id="teardown", cluster_id=cid, namespace=NS)
    result = execute(launch, "standin")
    job_id = result["job_id"]
    assert result["ready"]["checkpoint_path"].endswith(f"/checkpoints/{cid}/{job_id}/chk-1")
    assert (tmp_path / "checkpoints" / cid / job_id / "chk-1" / "_metadata").is_file()
    meta = json.loads((RECORDED / f"configmap-{version}.meta.json").read_text())
    for suffix, recorded_file in (("cluster-config-map", f"configmap-{version}.json"),
                                  (f"{job_id}-config-map", f"configmap-{version}-job.json")):
        standin = sandbox.get(f"/api/v1/namespaces/{NS}/configmaps/{cid}-{suffix}")
        real = json.loads((RECORDED / recorded_file).read_text())
        assert _shape(standin, cid, job_id) == _shape(real, meta["cluster_id"], meta["job_id"]), suffix
    execute(teardown, "standin")
