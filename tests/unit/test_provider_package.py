"""The package as Airflow and a DAG author meet it: provider registration and cheap imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("kubernetes", "kubernetes_asyncio", "kazoo", "aiohttp", "requests", "urllib3")


def test_airflow_providers_list_shows_the_provider() -> None:
    done = subprocess.run([sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
                          capture_output=True, text=True, env=dict(os.environ), check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    listing = next(line for line in done.stdout.splitlines() if line.startswith("[{"))
    providers = {p["package_name"]: p for p in json.loads(listing)}
    assert "airflow-flink-k8s" in providers


def test_airflow_registers_the_zookeeper_connection_type_and_the_web_ui_link() -> None:
    script = (
        "from airflow.providers_manager import ProvidersManager as P\n"
        "m = P()\n"
        "hook = m.hooks['zookeeper'].hook_class_name if 'zookeeper' in m.hooks else None\n"
        "link = 'airflow_flink_k8s.links.FlinkWebUILink' in m.extra_links_class_names\n"
        "print('RESULT', hook, link)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # Airflow may log to stdout while it loads plugins (3.2 does): only the script's own line counts.
    (result,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert result == "RESULT airflow_flink_k8s.hooks.zookeeper.FlinkZooKeeperHook True"


def test_importing_the_package_operators_and_sensors_loads_no_kubernetes_zookeeper_or_http_client() -> None:
    # airflow.sdk itself loads httpx (the task SDK's client); what matters is what this provider adds on top.
    script = (
        "import sys, json\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        "import airflow_flink_k8s, airflow_flink_k8s.operators, airflow_flink_k8s.sensors\n"
        "added = sorted(set(sys.modules) - before)\n"
        "print(json.dumps({'added': added, 'all': sorted(sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    loaded_heavy = [m for m in report["all"] if m.split(".")[0] in HEAVY]
    assert loaded_heavy == [], loaded_heavy
    added_http = [m for m in report["added"] if m.split(".")[0] in ("httpx", "http", "aiohttp")]
    assert added_http == [], added_http
    assert any(m == "airflow_flink_k8s.operators" for m in report["added"])
