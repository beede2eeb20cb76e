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
    "FlinkApplicationSpec": "airflow_flink_k8s.core.spec",
    "FlinkSpecError": "airflow_flink_k8s.core.spec",
    "LeaderDataError": "airflow_flink_k8s.core.leader",
    "LeaderInfo": "airflow_flink_k8s.core.leader",
    "build_flink_command": "airflow_flink_k8s.core.command",
    "decode_zookeeper_leader": "airflow_flink_k8s.core.leader",
    "flink_configuration": "airflow_flink_k8s.core.configuration",
    "parse_kubernetes_leader": "airflow_flink_k8s.core.leader",
    "render_kubernetes_objects": "airflow_flink_k8s.core.kubernetes_objects",
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
    from airflow_flink_k8s.core.command import build_flink_command
    from airflow_flink_k8s.core.configuration import flink_configuration
    from airflow_flink_k8s.core.kubernetes_objects import render_kubernetes_objects
    from airflow_flink_k8s.core.leader import (
        LeaderDataError,
        LeaderInfo,
        decode_zookeeper_leader,
        parse_kubernetes_leader,
    )
    from airflow_flink_k8s.core.spec import FlinkApplicationSpec, FlinkSpecError


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'airflow_flink_k8s' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
