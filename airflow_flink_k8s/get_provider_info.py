"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_flink_k8s import __version__
from airflow_flink_k8s.core.zookeeper_connection import (
    ZOOKEEPER_CONN_FIELDS,
    ZOOKEEPER_CONN_TYPE,
    ZOOKEEPER_HOOK_NAME,
    ZOOKEEPER_UI_FIELD_BEHAVIOUR,
)

INTEGRATION = "Apache Flink on Kubernetes"


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow's ProvidersManager."""
    return {
        "package-name": "airflow-flink-k8s",
        "name": "Apache Flink on Kubernetes (native application mode)",
        "description": "Launch Flink application clusters natively on Kubernetes, with HA, per-cluster "
        "checkpoint dirs and JobManager readiness from Flink's HA leader data.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://nightlies.apache.org/flink/flink-docs-stable/docs/deployment/"
                "resource-providers/native_kubernetes/",
                "tags": ["apache"],
            }
        ],
        "operators": [{"integration-name": INTEGRATION, "python-modules": ["airflow_flink_k8s.operators"]}],
        "sensors": [{"integration-name": INTEGRATION, "python-modules": ["airflow_flink_k8s.sensors"]}],
        "triggers": [{"integration-name": INTEGRATION, "python-modules": ["airflow_flink_k8s.triggers"]}],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_flink_k8s.hooks.kubernetes",
                    "airflow_flink_k8s.hooks.zookeeper",
                    "airflow_flink_k8s.hooks.flink_rest",
                ],
            }
        ],
        "extra-links": ["airflow_flink_k8s.links.FlinkWebUILink"],
        "connection-types": [
            {
                "hook-class-name": "airflow_flink_k8s.hooks.zookeeper.FlinkZooKeeperHook",
                "connection-type": ZOOKEEPER_CONN_TYPE,
                "hook-name": ZOOKEEPER_HOOK_NAME,
                "conn-fields": ZOOKEEPER_CONN_FIELDS,
                "ui-field-behaviour": ZOOKEEPER_UI_FIELD_BEHAVIOUR,
            }
        ],
    }
