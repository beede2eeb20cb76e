"""Benchmark: 50 clusters launched, waited for (``wait_until="running"``) and torn down at once through the real
operators, on the sandbox with the JobManager stand-in (``sandbox.load_scenario``), with the API fault plan
(``load_scenario.FAULTS``: 5xx, 409 storms on ConfigMap PUTs, 200 ms latency, dropped watches) and, as the anchor
in the same run, without it. It prints the wall time of each and their ratio, requests served, faults fired,
retries, and peak RSS; a run that left objects or processes behind says so.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

if "AIRFLOW_HOME" not in os.environ:  # run on its own; ``python -m bench`` sets a throw-away home
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bench-airflow-home-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

CLUSTERS = 50


def run() -> list[str]:
    from airflow_flink_k8s_sandbox.load_scenario import run_load

    lines: list[str] = []
    walls = {}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        for faults in (False, True):
            result = run_load(Path(tmp) / ("faults" if faults else "anchor"), clusters=CLUSTERS, faults=faults)
            walls[faults] = result.wall_seconds
            lines += result.report()
            if result.leftovers or result.survivors:
                lines.append(f"LEFT BEHIND: objects {result.leftovers}, processes {result.survivors}")
    lines.append(f"load: {CLUSTERS} launches+waits+teardowns wall {walls[True]:.1f} s with faults, "
                 f"{walls[False]:.1f} s without; faults/anchor = {walls[True] / walls[False]:.2f}x")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
