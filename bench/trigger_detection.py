"""Benchmark: how fast and how cheaply the deferrable trigger sees a new JobManager leader, beside poke mode.

Everything runs against the Kubernetes API emulator on 127.0.0.1 with the leader ConfigMap real Flink 2.3.0 wrote
(``tests/data/ha``), renamed per cluster. Measured:

* detection latency: from just before the emulator is asked to store the ``restserver`` key to the trigger's event
  (p50/p95 over many clusters), beside poke mode at Airflow's default ``poke_interval`` (60 s: on average a leader
  waits half an interval for the next poke, plus the poke's own cost, measured here);
* API requests per detection, trigger vs poke mode;
* 1,000 concurrent triggers in one event loop: watch connections open, RSS, and CPU while they all wait.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import resource
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "data" / "ha" / "configmap-2.3.0.json"
NAMESPACE = "flink"
DEFAULT_POKE_INTERVAL = 60.0  # BaseSensorOperator's default
LATENCY_SAMPLES = 40
CONCURRENT = 1000
IDLE_SECONDS = 10.0


def _leader_configmap(cluster_id: str, address: str) -> dict[str, Any]:
    cm = json.loads(RECORDED.read_text())
    metadata = cm["metadata"]
    annotations = dict(metadata["annotations"])
    lock = json.loads(annotations["control-plane.alpha.kubernetes.io/leader"])
    lock["renewTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    annotations["control-plane.alpha.kubernetes.io/leader"] = json.dumps(lock)
    data = copy.deepcopy(cm["data"])
    session = data["org.apache.flink.k8s.leader.restserver"].partition(",")[0]
    data["org.apache.flink.k8s.leader.restserver"] = f"{session},{address}"
    return {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
            "metadata": {"name": f"{cluster_id}-cluster-config-map", "annotations": annotations,
                         "labels": {**metadata["labels"], "app": cluster_id}}}


def _post(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{url}/api/v1/namespaces/{NAMESPACE}/configmaps", method="POST",
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def _requests(emulator: Any) -> int:
    return sum(emulator.stats()["requests"].values())


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _trigger(cluster_id: str) -> Any:
    from airflow_flink_k8s.triggers import FlinkJobManagerReadyTrigger

    return FlinkJobManagerReadyTrigger(cluster_id=cluster_id, namespace=NAMESPACE, target="leader",
                                       access_mode="direct", poll_interval=30.0)


async def _event_time(trigger: Any) -> float:
    generator = trigger.run()
    try:
        event = await anext(generator)
    finally:
        await generator.aclose()
    if event.payload["status"] != "success":
        raise RuntimeError(f"trigger event {event.payload}")
    return time.perf_counter()


async def _latency(emulator: Any) -> tuple[list[float], int]:
    """Per cluster: a waiting trigger, then the leader map stored; seconds until the event, and requests used."""
    latencies = []
    before = _requests(emulator)
    for n in range(LATENCY_SAMPLES):
        cluster_id = f"latency-{n}"
        waiting = asyncio.create_task(_event_time(_trigger(cluster_id)))
        await asyncio.sleep(0.05)  # subscribed, the namespace listed
        body = _leader_configmap(cluster_id, f"http://10.1.0.{n}:8081")
        started = time.perf_counter()
        await asyncio.to_thread(_post, emulator.url, body)
        latencies.append(await asyncio.wait_for(waiting, 10) - started)
    writes = LATENCY_SAMPLES  # the POSTs this benchmark made itself
    return latencies, _requests(emulator) - before - writes


def _poke_cost(emulator: Any) -> tuple[float, int]:
    """Median seconds and API requests of one poke at level ``leader`` (the leader is published)."""
    from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor

    _post(emulator.url, _leader_configmap("poked", "http://10.2.0.1:8081"))
    sensor = FlinkJobManagerReadySensor(task_id="poke", cluster_id="poked", namespace=NAMESPACE, target="leader",
                                        access_mode="direct")
    costs = []
    before = _requests(emulator)
    for _ in range(20):
        started = time.perf_counter()
        if not sensor.poke({}).is_done:
            raise RuntimeError("poke did not see the published leader")
        costs.append(time.perf_counter() - started)
    return statistics.median(costs), (_requests(emulator) - before) // 20


async def _many(emulator: Any) -> dict[str, Any]:
    """1,000 triggers waiting at once: watch streams, RSS and CPU while idle, then all released by their maps."""
    rss_before = _rss_mb()
    tasks = [asyncio.create_task(_event_time(_trigger(f"many-{n:04d}"))) for n in range(CONCURRENT)]
    await asyncio.sleep(2.0)
    watches = emulator.stats()["watches_open_by_resource"]
    rss_waiting = _rss_mb()
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    await asyncio.sleep(IDLE_SECONDS)
    idle_cpu = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    before = _requests(emulator)
    for n in range(CONCURRENT):
        address = f"http://10.3.{n // 250}.{n % 250}:8081"
        await asyncio.to_thread(_post, emulator.url, _leader_configmap(f"many-{n:04d}", address))
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    return {"watches": watches, "rss_before": rss_before, "rss_waiting": rss_waiting, "idle_cpu": idle_cpu,
            "requests": _requests(emulator) - before - CONCURRENT}


def run() -> list[str]:
    from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess

    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-trigger-") as workdir:
        emulator = EmulatorProcess.start(Path(workdir) / "emulator", namespaces=(NAMESPACE,))
        try:
            kubeconfig = emulator.write_kubeconfig(Path(workdir) / "kubeconfig")
            os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
                {"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}})
            latencies, trigger_requests = asyncio.run(_latency(emulator))
            poke_seconds, poke_requests = _poke_cost(emulator)
            many = asyncio.run(_many(emulator))
        finally:
            emulator.stop()
    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    poke_p50 = DEFAULT_POKE_INTERVAL / 2 + poke_seconds
    lines.append(f"trigger detection latency: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms "
                 f"(goal p50 <= 50 ms; {LATENCY_SAMPLES} clusters, watch event -> TriggerEvent)")
    lines.append(f"poke mode at poke_interval={DEFAULT_POKE_INTERVAL:.0f}s: p50 ~{poke_p50:.1f} s "
                 f"(half an interval + {poke_seconds * 1000:.1f} ms per poke); trigger/poke = {p50 / poke_p50:.5f}")
    lines.append(f"API requests per detection: trigger {trigger_requests / LATENCY_SAMPLES:.2f} "
                 f"(one at a time; {many['requests'] / CONCURRENT:.3f} with {CONCURRENT} sharing), poke "
                 f"{poke_requests} per poke x (1 + wait / poke_interval) pokes")
    lines.append(f"{CONCURRENT} concurrent triggers: {many['watches'].get('configmaps', 0)} watch connection(s) to "
                 f"the namespace for ConfigMaps (goal <= 1 per watched kind; JobManager pods: "
                 f"{many['watches'].get('pods', 0)}), "
                 f"RSS {many['rss_waiting']:.0f} MB total ({many['rss_waiting'] - many['rss_before']:+.0f} MB "
                 f"for the triggers; goal <= 100 MB), idle CPU {many['idle_cpu'] * 100:.1f}% of one core "
                 f"over {IDLE_SECONDS:.0f} s")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
