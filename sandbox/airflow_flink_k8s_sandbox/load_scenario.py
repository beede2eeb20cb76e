"""The load scenario shared by ``tests/test_load.py`` and ``bench/load.py``: N clusters launched at once through the
real operators (``FlinkApplicationOperator`` with ``wait_until``, then ``FlinkApplicationTeardownOperator``), one
thread per cluster, against the sandbox with the JobManager stand-in, optionally under injected API faults.

It returns what happened (each launch's outcome) and what it left (every object in the emulator and every process
still alive after ``LocalKubernetes.stop()``), with the figures a report needs: wall time, requests served, faults
fired per rule, client retries, peak RSS of the kubelet, the emulator, the stand-ins and this process.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import resource
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_flink_k8s_sandbox.concurrent_tasks import TaskOutcome, run_concurrently
from airflow_flink_k8s_sandbox.emulator import KUBELET_USER
from airflow_flink_k8s_sandbox.jobmanager_standin import IMAGE
from airflow_flink_k8s_sandbox.local_kubernetes import LocalKubernetes

NAMESPACE = "flink"
VERSIONS = ("2.3.0", "1.20.3")
#: The fault plan: 5xx on 2 % of API requests and on 5 % of POSTs, a 409 on every 4th ConfigMap PUT (the HA
#: leader compare-and-swap and checkpoint writes), 200 ms latency on 30 % of requests, and watch streams ended after
#: 10 s at most (plus ``drop_watches`` every 5 s, see ``run_load``). Seeded, so a run is repeatable. The faults hit
#: the provider (the Airflow tasks) and the JobManagers, not the sandbox kubelet: it is one process starting every pod
#: of the sandbox in turn, where a real cluster has a kubelet per node working in parallel, so its delays would add
#: up into the wall time of the run and measure the sandbox, not the provider.
FAULTS: tuple[dict[str, Any], ...] = tuple({**rule, "spare_users": [KUBELET_USER]} for rule in (
    {"status": 503, "probability": 0.02},
    {"status": 500, "methods": ["POST"], "probability": 0.05},
    {"status": 409, "methods": ["PUT"], "resource": "configmaps", "every": 4},
    {"delay_ms": 200, "probability": 0.3},
))
DROP_WATCHES_EVERY = 5.0
#: Airflow task retries of each launch and teardown: the provider's calls retry transient errors on writes, but a
#: failed read (a 503 on GET) fails the try, and the next try must then find a consistent state and finish the job.
LAUNCH_RETRIES, TEARDOWN_RETRIES = 2, 4
#: Log lines that count as client-side retries, by logger.
_RETRY_LINES = {
    "airflow_flink_k8s.hooks.retry": re.compile(r"retrying \(\d+/\d+\)"),
    "airflow_flink_k8s.hooks.configmap_watch": re.compile(r"listing again"),
}


@dataclass
class LoadResult:
    """What one run did and left behind."""

    clusters: int
    faults_on: bool
    wall_seconds: float
    launches: list[TaskOutcome]
    teardowns: list[TaskOutcome]
    leftovers: list[str]
    survivors: list[int]
    requests: dict[str, int]
    faults: list[dict[str, Any]]
    retries: dict[str, int]
    peak_rss_mb: dict[str, float]
    watch_drops: int = 0
    job_ids: list[str] = field(default_factory=list)

    @property
    def running(self) -> list[TaskOutcome]:
        return [o for o in self.launches if o.ok and (o.result.get("ready") or {}).get("job_state") == "RUNNING"]

    @property
    def failed(self) -> list[TaskOutcome]:
        return [o for o in self.launches if not o.ok]

    def report(self) -> list[str]:
        """Human-readable lines with the figures."""
        served = sum(self.requests.values())
        fired = ", ".join(f"{_rule_name(rule)} fired {rule['fired']}/{rule['seen']}" for rule in self.faults)
        lines = [
            (f"{self.clusters} launches + waits + teardowns, faults {'on' if self.faults_on else 'off'}: "
             f"wall {self.wall_seconds:.1f} s; {len(self.running)} running, {len(self.failed)} failed cleanly"),
            f"requests served: {served} ({', '.join(f'{k} {v}' for k, v in sorted(self.requests.items()))})",
            f"faults fired: {fired or 'none'}; watch streams dropped {self.watch_drops} times",
            (f"retries: {', '.join(f'{k} {v}' for k, v in self.retries.items())}; task retries "
             f"{sum(o.tries - 1 for o in self.launches + self.teardowns)}"),
            "peak RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in self.peak_rss_mb.items()),
        ]
        lines += [f"failed: {o.dag_id}: {str(o.error).splitlines()[0]}" for o in self.failed]
        return lines


def _rule_name(rule: dict[str, Any]) -> str:
    what = f"{rule['status']}" if rule.get("status") else f"+{rule.get('delay_ms')} ms"
    where = " ".join(str(x) for x in (",".join(rule.get("methods") or ()), rule.get("resource")) if x)
    return f"{what} {where}".strip()


class _RetryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        pattern = _RETRY_LINES.get(record.name)
        if pattern is not None and pattern.search(record.getMessage()):
            self.counts[record.name.rsplit(".", 1)[-1]] += 1


@contextmanager
def _counting_retries() -> Iterator[_RetryCounter]:
    counter = _RetryCounter()
    loggers = [logging.getLogger(name) for name in _RETRY_LINES]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(counter)
        lg.setLevel(min(lg.getEffectiveLevel(), logging.INFO))
    try:
        yield counter
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(counter)
            lg.setLevel(level)


def _rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _operators(index: int, workdir: Path, *, wait_timeout: float) -> tuple[Any, Any]:
    from airflow.sdk import DAG

    from airflow_flink_k8s.operators import FlinkApplicationOperator, FlinkApplicationTeardownOperator

    version, cid = VERSIONS[index % len(VERSIONS)], f"load-{index:02d}"
    with DAG(f"load_{index:02d}", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
        launch = FlinkApplicationOperator(
            task_id="launch", cluster_id=cid, namespace=NAMESPACE, image=f"{IMAGE}:{version}", flink_version=version,
            jar_uri="local:///opt/flink/usrlib/job.jar", ha="kubernetes", ha_storage_dir=f"file://{workdir}/ha",
            checkpoint_base_dir=f"file://{workdir}/checkpoints", checkpoint_interval="2 s", wait_until="running",
            wait_timeout=wait_timeout, wait_poll_interval=2.0, deferrable=False, retries=LAUNCH_RETRIES)
        teardown = FlinkApplicationTeardownOperator(task_id="teardown", cluster_id=cid, namespace=NAMESPACE,
                                                    delete_timeout=120, retries=TEARDOWN_RETRIES)
    return launch, teardown


def inventory(k8s: LocalKubernetes) -> list[str]:
    """Every namespaced object in the emulator (kind/namespace/name), but the default ServiceAccounts."""
    found = []
    for kind, path in (("deployment", "/apis/apps/v1/deployments"), ("service", "/api/v1/services"),
                       ("configmap", "/api/v1/configmaps"), ("pod", "/api/v1/pods"), ("secret", "/api/v1/secrets"),
                       ("lease", "/apis/coordination.k8s.io/v1/leases")):
        for item in (k8s.get(path) or {}).get("items") or []:
            meta = item["metadata"]
            found.append(f"{kind}/{meta.get('namespace')}/{meta['name']}")
    return found


def run_load(workdir: Path, *, clusters: int = 50, faults: bool = True, seed: int = 7,
             wait_timeout: float = 150) -> LoadResult:
    """Launch, wait for and tear down ``clusters`` clusters at once; see the module docstring."""
    k8s = LocalKubernetes.start(workdir / "k8s", namespaces=("default", NAMESPACE))
    survivors: list[int] = []
    stop_dropping = threading.Event()
    drops = 0
    stand_in_peak = 0.0
    previous = os.environ.get("AIRFLOW_CONN_KUBERNETES_DEFAULT")
    os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": str(k8s.kubeconfig)}})
    try:
        chains = [_operators(i, workdir, wait_timeout=wait_timeout) for i in range(clusters)]
        if faults:
            k8s.emulator.set_faults(*FAULTS, watch_max_seconds=10, seed=seed)

        def disturb() -> None:
            nonlocal drops, stand_in_peak
            next_drop = time.monotonic() + DROP_WATCHES_EVERY
            while not stop_dropping.wait(1.0):
                pids = [int(pid) for pod in _pods(k8s) if (pid := pod["metadata"].get("annotations", {}).get(
                    "sandbox.airflow-flink-k8s/pid"))]
                stand_in_peak = max(stand_in_peak, sum(_rss_mb(pid) for pid in pids))
                if faults and time.monotonic() >= next_drop:
                    k8s.emulator.drop_watches()
                    drops += 1
                    next_drop += DROP_WATCHES_EVERY

        disturber = threading.Thread(target=disturb, daemon=True)
        disturber.start()
        began = time.monotonic()
        with _counting_retries() as retries:
            outcomes = run_concurrently(chains, [f"load__{i:02d}" for i in range(clusters)],
                                        timeout=wait_timeout + 600)
        wall = time.monotonic() - began
        stop_dropping.set()
        disturber.join()
        stats = k8s.emulator.stats()
        k8s.emulator.clear_faults()
        fault_rules = stats["faults"] if faults else []
        leftovers = inventory(k8s)
        rss = {"kubelet": _rss_mb(k8s.kubelet.pid, "VmHWM"), "emulator": _rss_mb(k8s.emulator.pid, "VmHWM"),
               "stand-ins (sum)": stand_in_peak,
               "test process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    finally:
        stop_dropping.set()
        if previous is None:
            os.environ.pop("AIRFLOW_CONN_KUBERNETES_DEFAULT", None)
        else:
            os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = previous
        survivors = k8s.stop()
    launches, teardowns = outcomes[0::2], outcomes[1::2]
    return LoadResult(
        clusters=clusters, faults_on=faults, wall_seconds=wall, launches=launches, teardowns=teardowns,
        leftovers=leftovers, survivors=survivors, requests=dict(stats["requests"]), faults=fault_rules,
        retries=dict(retries.counts), peak_rss_mb=rss, watch_drops=drops,
        job_ids=[o.result["job_id"] for o in launches if o.ok])


def _pods(k8s: LocalKubernetes) -> list[dict[str, Any]]:
    try:
        return k8s.pods(NAMESPACE)
    except OSError:
        return []
