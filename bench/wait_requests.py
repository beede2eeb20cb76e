"""Benchmark: the API server's load while 1,000 deferred waits sit on clusters that are not ready.

1,000 triggers (``target="leader"``, no leader map yet) wait in one event loop against the Kubernetes API emulator;
their leader ConfigMaps and JobManager pods come from the process's shared watches (``hooks.namespace_watch``).
Measured over one pod-check interval (``flows.wait.POD_CHECK_INTERVAL``) plus a margin, after start-up:

* API requests per second with the shared pod watch (goal <= 1 req/s);
* the same for the previous design, in the same run: each waiting trigger listing its JobManager pods every
  ``POD_CHECK_INTERVAL`` with the async hook (``FlinkKubernetesHook.alist_pods``), started at staggered times as
  triggers are; its ConfigMap side was already a shared watch, so only the pod lists differ.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

NAMESPACE = "flink"
CONCURRENT = 1000
MARGIN_SECONDS = 5.0


def _requests(emulator: Any) -> int:
    return sum(emulator.stats()["requests"].values())


async def _steady_rate(emulator: Any, window: float) -> float:
    before = _requests(emulator)
    await asyncio.sleep(window)
    return (_requests(emulator) - before) / window


async def _shared_watch(emulator: Any, window: float) -> tuple[float, int, dict[str, int]]:
    """(requests/s while waiting, requests at start-up, open watches by resource) for 1,000 waiting triggers."""
    from airflow_flink_k8s.hooks.namespace_watch import CONFIGMAPS, JOBMANAGER_PODS, shared_watches
    from airflow_flink_k8s.triggers import FlinkJobManagerReadyTrigger

    started = _requests(emulator)
    triggers = [FlinkJobManagerReadyTrigger(cluster_id=f"waiting-{n:04d}", namespace=NAMESPACE, target="leader",
                                            access_mode="direct", poll_interval=30.0) for n in range(CONCURRENT)]
    tasks = [asyncio.create_task(anext(trigger.run())) for trigger in triggers]
    deadline = time.monotonic() + 120
    while not all(sum(w.subscriber_count for w in shared_watches(kind).values()) == CONCURRENT
                  for kind in (CONFIGMAPS, JOBMANAGER_PODS)):
        if time.monotonic() > deadline:
            raise RuntimeError("the triggers never all subscribed")
        await asyncio.sleep(0.2)
    startup = _requests(emulator) - started
    rate = await _steady_rate(emulator, window)
    watches = emulator.stats()["watches_open_by_resource"]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return rate, startup, watches


async def _per_trigger_listing(emulator: Any, window: float) -> float:
    """Requests/s of the previous design's pod checks: one list per waiting trigger per ``POD_CHECK_INTERVAL``."""
    from airflow_flink_k8s.core.names import jobmanager_pods_selector
    from airflow_flink_k8s.flows.wait import POD_CHECK_INTERVAL
    from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

    hook = FlinkKubernetesHook()
    rng = random.Random(7)

    async def checks(cluster_id: str) -> None:
        await asyncio.sleep(rng.uniform(0, POD_CHECK_INTERVAL))  # triggers start at different times
        while True:
            await hook.alist_pods(NAMESPACE, jobmanager_pods_selector(cluster_id))
            await asyncio.sleep(POD_CHECK_INTERVAL)

    tasks = [asyncio.create_task(checks(f"waiting-{n:04d}")) for n in range(CONCURRENT)]
    try:
        return await _steady_rate(emulator, window)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run() -> list[str]:
    from airflow_flink_k8s.flows.wait import POD_CHECK_INTERVAL
    from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess

    window = POD_CHECK_INTERVAL + MARGIN_SECONDS
    with tempfile.TemporaryDirectory(prefix="bench-wait-") as workdir:
        emulator = EmulatorProcess.start(Path(workdir) / "emulator", namespaces=(NAMESPACE,))
        try:
            kubeconfig = emulator.write_kubeconfig(Path(workdir) / "kubeconfig")
            os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
                {"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}})
            shared, startup, watches = asyncio.run(_shared_watch(emulator, window))
            old = asyncio.run(_per_trigger_listing(emulator, window))
        finally:
            emulator.stop()
    floor = 1 / window  # one request in the window: the ratio's bound when the shared watches made none
    nominal = CONCURRENT / POD_CHECK_INTERVAL  # what the old design asks for: one list per trigger per interval
    ratio = nominal / max(shared, floor)
    return [
        f"{CONCURRENT} triggers waiting on not-ready clusters, over {window:.0f} s: steady API load: "
        f"{shared:.3f} req/s with the shared pod watch (goal <= 1 req/s; start-up {startup} requests, open watches "
        f"{watches}); old per-trigger pod listing: {nominal:.1f} req/s asked for, {old:.1f} req/s measured (the "
        f"client, which builds an API client per list, cannot keep up on this machine), nominal old/new "
        f"{'>= ' if shared < floor else ''}{ratio:.0f}x",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
