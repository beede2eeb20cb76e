"""Test-session set-up: an isolated AIRFLOW_HOME on SQLite, and the harness fixtures."""

from __future__ import annotations

import os
import tempfile

# Airflow reads its configuration at import time, so this runs before any test module imports it. Each pytest-xdist
# worker inherits the controller's environment, so a worker takes a home (and SQLite DB) of its own.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
_AIRFLOW_HOME = tempfile.mkdtemp(prefix=f"airflow-flink-k8s-home-{_WORKER or 'main'}-")
if _WORKER:
    os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
else:
    os.environ.setdefault("AIRFLOW_HOME", _AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

pytest_plugins = [
    "tests.fixtures.flink",
    "tests.fixtures.zookeeper",
    "tests.fixtures.kubernetes",
    "tests.fixtures.airflow_db",
    "tests.fixtures.browser",
]
