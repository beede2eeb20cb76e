"""The layering the flows rely on: the operators module does not load them (DAG parsing stays cheap), and they
import nothing from Airflow themselves."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import airflow_flink_k8s.flows

FLOWS = Path(airflow_flink_k8s.flows.__file__).parent
#: Modules a DAG file must not pay for when it imports the operators.
NOT_AT_PARSE = ("airflow_flink_k8s.flows", "airflow_flink_k8s.hooks", "airflow_flink_k8s.core.failure_report",
                "airflow_flink_k8s.core.launch_plan", "airflow_flink_k8s.core.readiness")


def test_importing_the_operators_loads_no_flow_hook_planning_or_reporting_module() -> None:
    code = ("import json, sys, airflow_flink_k8s.operators; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('airflow_flink_k8s'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if m.startswith(NOT_AT_PARSE)] == []


def test_no_flow_module_imports_airflow() -> None:
    found = []
    for path in sorted(FLOWS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "airflow"]
    assert found == []
