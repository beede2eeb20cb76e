"""Fixtures of the flow tests: the Kubernetes API emulator behind ``kubernetes_default``, and specs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess

NAMESPACE = "flink"


class RecordingLog:
    """A ``TaskLog`` that keeps the lines a flow reports (Airflow's log set-up sends stdlib logs past ``caplog``)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)

    def warning(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def log() -> RecordingLog:
    return RecordingLog()


@pytest.fixture
def k8s(k8s_emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlinkKubernetesHook:
    """A hook on the emulator through the ``kubernetes_default`` connection."""
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}))
    return FlinkKubernetesHook()


@pytest.fixture
def make_spec() -> Callable[..., FlinkApplicationSpec]:
    """A valid spec of cluster ``cid`` in namespace ``flink``; keyword arguments override fields."""

    def make(cid: str = "orders", **fields: Any) -> FlinkApplicationSpec:
        return FlinkApplicationSpec.from_dict({
            "cluster_id": cid, "namespace": NAMESPACE, "image": "flink:2.3.0", "flink_version": "2.3.0",
            "jar_uri": "local:///opt/flink/usrlib/checkpointing-job.jar", "ha": "kubernetes",
            "ha_storage_dir": "file:///tmp/ha", "checkpoint_base_dir": "file:///tmp/checkpoints", **fields})

    return make


def configmap(name: str, cid: str, data: dict[str, str] | None = None,
              labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A ConfigMap labelled ``app=<cid>, type=flink-native-kubernetes`` (as Flink 2.x labels its HA data), or
    with ``labels``."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "labels": {"app": cid, "type": "flink-native-kubernetes"} if labels is None else labels},
        "data": data or {}}


def names(k8s: FlinkKubernetesHook, kind: str) -> list[str]:
    """The names of every ``kind`` object in the namespace, sorted."""
    return sorted(obj["metadata"]["name"] for obj in k8s.list(kind, NAMESPACE))
