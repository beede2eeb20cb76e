"""Launch Apache Flink application clusters natively on Kubernetes from Airflow.

The names exported here are the pure core. They load on first use: Airflow imports this package in every process
through the provider entry point, and importing it never loads ``kubernetes``, ``kazoo`` or an HTTP client. The
Airflow classes live in ``airflow_flink_k8s.operators``, ``.sensors`` and ``.triggers``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "FlinkApplicationSpec": "airflow_flink_k8s.spec",
    "FlinkSpecError": "airflow_flink_k8s.spec",
    "LeaderDataError": "airflow_flink_k8s.leader",
    "LeaderInfo": "airflow_flink_k8s.leader",
    "build_flink_command": "airflow_flink_k8s.command",
    "decode_zookeeper_leader": "airflow_flink_k8s.leader",
    "flink_configuration": "airflow_flink_k8s.configuration",
    "parse_kubernetes_leader": "airflow_flink_k8s.leader",
    "render_kubernetes_objects": "airflow_flink_k8s.kubernetes_objects",
}

__all__ = [
    "FlinkApplicationSpec",
    "FlinkSpecError",
    "LeaderDataError",
    "LeaderInfo",
    "__version__",
    "build_flink_command",
    "decode_zookeeper_leader",
    "flink_configuration",
    "parse_kubernetes_leader",
    "render_kubernetes_objects",
]

if TYPE_CHECKING:
    from airflow_flink_k8s.command import build_flink_command
    from airflow_flink_k8s.configuration import flink_configuration
    from airflow_flink_k8s.kubernetes_objects import render_kubernetes_objects
    from airflow_flink_k8s.leader import (
        LeaderDataError,
        LeaderInfo,
        decode_zookeeper_leader,
        parse_kubernetes_leader,
    )
    from airflow_flink_k8s.spec import FlinkApplicationSpec, FlinkSpecError


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'airflow_flink_k8s' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
