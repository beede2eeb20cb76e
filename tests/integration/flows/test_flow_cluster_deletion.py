"""``flows.cluster_deletion``: deleting a cluster by uid and rolling back, on the Kubernetes API emulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from airflow_flink_k8s.core.errors import LaunchRollbackError
from airflow_flink_k8s.core.launch_plan import RunIdentity
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.cluster_deletion import delete_cluster, roll_back
from airflow_flink_k8s.flows.launch import LaunchSettings, launch
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from tests.integration.flows.conftest import NAMESPACE, RecordingLog, names

SpecFactory = Callable[..., FlinkApplicationSpec]


def _launch(k8s: FlinkKubernetesHook, make_spec: SpecFactory, run_id: str) -> str:
    """Launch cluster ``orders``; its Deployment's uid."""
    launch(k8s, make_spec(), RunIdentity("etl", "launch", run_id, 1), LaunchSettings(), RecordingLog())
    deployment = k8s.get("Deployment", "orders", NAMESPACE)
    assert deployment is not None
    return str(deployment["metadata"]["uid"])


def test_the_cluster_and_what_it_owns_are_gone_when_it_returns(k8s: FlinkKubernetesHook,
                                                               make_spec: SpecFactory) -> None:
    uid = _launch(k8s, make_spec, "manual__1")
    delete_cluster(k8s, "orders", NAMESPACE, timeout=30, uid=uid)
    assert names(k8s, "Deployment") == [] and names(k8s, "Service") == [] and names(k8s, "ConfigMap") == []


def test_a_newer_cluster_of_the_same_name_is_not_touched(k8s: FlinkKubernetesHook, make_spec: SpecFactory) -> None:
    old = _launch(k8s, make_spec, "manual__1")
    delete_cluster(k8s, "orders", NAMESPACE, timeout=30, uid=old)
    new = _launch(k8s, make_spec, "manual__2")
    delete_cluster(k8s, "orders", NAMESPACE, timeout=30, uid=old)
    deployment = k8s.get("Deployment", "orders", NAMESPACE)
    assert deployment is not None and deployment["metadata"]["uid"] == new
    assert "flink-config-orders" in names(k8s, "ConfigMap")


def test_a_refused_roll_back_names_the_launch_failure_and_what_is_left(
        k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess, make_spec: SpecFactory) -> None:
    uid = _launch(k8s, make_spec, "manual__1")
    k8s_emulator.set_faults({"status": 403, "methods": ["DELETE"], "resource": "deployments"})
    with pytest.raises(LaunchRollbackError) as raised:
        roll_back(k8s, "orders", NAMESPACE, RuntimeError("the launch broke"), uid=uid)
    message = str(raised.value)
    assert message.startswith(f"launching Flink cluster {NAMESPACE}/orders failed: the launch broke")
    assert f"Deployment {NAMESPACE}/orders" in message and "403" in message
    assert names(k8s, "Deployment") == ["orders"]
