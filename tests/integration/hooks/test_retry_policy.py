"""``hooks.retry``: the one retry policy, against the Kubernetes API emulator's injected faults."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.errors import KubernetesApiError
from airflow_flink_k8s.hooks import retry
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s.hooks.retry import aretrying_call, retrying_call
from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess

NAMESPACE = "flink"


@pytest.fixture
def k8s(k8s_emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlinkKubernetesHook:
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}))
    return FlinkKubernetesHook()


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The retry lines the policy logs (Airflow's log set-up sends stdlib logs past ``caplog``)."""
    lines: list[str] = []
    monkeypatch.setattr(retry.log, "warning", lambda msg, *args: lines.append(msg % args))
    return lines


def _configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {}}


def _posts(emulator: EmulatorProcess) -> int:
    return sum(1 for r in emulator.requests() if r["method"] == "POST")


def test_a_transient_answer_is_tried_again_with_each_retry_logged(
        k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess, retries: list[str]) -> None:
    k8s_emulator.set_faults({"status": 503, "methods": ["POST"], "resource": "configmaps", "times": 2})
    created = retrying_call(lambda: k8s.create(_configmap("a"), NAMESPACE), "create ConfigMap a", first_wait=0.01)
    assert created["metadata"]["name"] == "a" and _posts(k8s_emulator) == 3
    assert len(retries) == 2 and retries[0].startswith("create ConfigMap a: Kubernetes API: POST create ConfigMap")
    assert retries[0].endswith("retrying (1/3)") and retries[1].endswith("retrying (2/3)")


def test_the_last_transient_answer_is_raised_after_the_last_attempt(
        k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess, retries: list[str]) -> None:
    k8s_emulator.set_faults({"status": 429, "methods": ["POST"], "resource": "configmaps"})
    with pytest.raises(KubernetesApiError) as raised:
        retrying_call(lambda: k8s.create(_configmap("a"), NAMESPACE), "create ConfigMap a", first_wait=0.01)
    assert raised.value.status == 429 and _posts(k8s_emulator) == retry.WRITE_ATTEMPTS
    assert len(retries) == retry.WRITE_ATTEMPTS - 1


def test_a_final_answer_is_raised_at_once(k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess,
                                          retries: list[str]) -> None:
    k8s.create(_configmap("a"), NAMESPACE)
    with pytest.raises(KubernetesApiError) as raised:
        retrying_call(lambda: k8s.create(_configmap("a"), NAMESPACE), "create ConfigMap a", first_wait=0.01)
    assert raised.value.status == 409 and _posts(k8s_emulator) == 2 and retries == []


def test_reads_of_the_hook_use_the_policy(k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess,
                                          retries: list[str]) -> None:
    k8s.create(_configmap("a"), NAMESPACE)
    k8s_emulator.set_faults({"status": 502, "methods": ["GET"], "resource": "configmaps", "times": 1})
    found = k8s.get("ConfigMap", "a", NAMESPACE)
    assert (found is not None and retries == [
        f"ConfigMap {NAMESPACE}/a: Kubernetes API: GET ConfigMap {NAMESPACE}/a failed with 502 BadGateway: "
        "injected fault; retrying (1/3)"]) or len(retries) == 1


def test_the_async_variant_has_the_same_policy(k8s: FlinkKubernetesHook, k8s_emulator: EmulatorProcess,
                                               retries: list[str]) -> None:
    k8s_emulator.set_faults({"status": 500, "methods": ["GET"], "resource": "pods", "times": 2})
    pods = asyncio.run(aretrying_call(lambda: k8s.alist_pods(NAMESPACE), f"list Pod in {NAMESPACE}",
                                      first_wait=0.01))
    assert pods == [] and len(retries) == 2 and retries[1].endswith("retrying (2/3)")


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^attempts: must be >= 1, got 0$"):
        retrying_call(lambda: None, "nothing", attempts=0)
