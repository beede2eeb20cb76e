"""Launch Apache Flink application clusters natively on Kubernetes from Airflow.

The names exported here are the pure core: importing this package never imports ``kubernetes``,
``kazoo`` or an HTTP client, so DAG files stay cheap to parse. The Airflow classes live in
``airflow_flink_k8s.operators``, ``.sensors`` and ``.triggers``.
"""

from __future__ import annotations

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

__version__ = "0.1.0"

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
