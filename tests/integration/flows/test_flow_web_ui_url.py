"""``flows.launch``'s ``web_ui_url``: the operator's template, else the connection's ``flink_web_ui_url_template``
extra, else the API server's service-proxy URL (against the Kubernetes API emulator)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.launch_plan import RunIdentity
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.launch import LaunchSettings, launch
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from tests.integration.flows.conftest import NAMESPACE, RecordingLog, names

RUN = RunIdentity("etl", "launch", "manual__2026-01-01", 1)
SpecFactory = Callable[..., FlinkApplicationSpec]


@pytest.fixture
def with_extra(k8s: FlinkKubernetesHook, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], FlinkKubernetesHook]:
    """Give ``kubernetes_default`` a ``flink_web_ui_url_template`` extra; returns a fresh hook reading it."""

    def set_template(template: str) -> FlinkKubernetesHook:
        connection = json.loads(os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"])
        connection["extra"]["flink_web_ui_url_template"] = template
        monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(connection))
        return FlinkKubernetesHook()

    return set_template


def test_the_connection_extra_makes_the_url_and_reattaching_keeps_it(
        with_extra: Callable[[str], FlinkKubernetesHook], make_spec: SpecFactory, log: RecordingLog) -> None:
    k8s = with_extra("https://flink.example.com/{namespace}/{cluster_id}/#/job/running/{job_id}/overview")
    first = launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    job_id = first.spec.job_id
    assert first.xcom["web_ui_url"] == f"https://flink.example.com/{NAMESPACE}/orders/#/job/running/{job_id}/overview"
    again = launch(k8s, make_spec(), RunIdentity(RUN.dag_id, RUN.task_id, RUN.run_id, 2), LaunchSettings(), log)
    assert not again.created and again.xcom["web_ui_url"] == first.xcom["web_ui_url"]


def test_the_operators_template_wins_over_the_connections(
        with_extra: Callable[[str], FlinkKubernetesHook], make_spec: SpecFactory, log: RecordingLog) -> None:
    k8s = with_extra("https://from-connection.example.com/{cluster_id}/")
    settings = LaunchSettings(web_ui_url_template="https://from-task.example.com/{namespace}/{cluster_id}/")
    result = launch(k8s, make_spec(), RUN, settings, log)
    assert result.xcom["web_ui_url"] == f"https://from-task.example.com/{NAMESPACE}/orders/"


def test_without_a_template_the_link_is_the_service_proxy_url(
        k8s: FlinkKubernetesHook, make_spec: SpecFactory, log: RecordingLog) -> None:
    result = launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    assert result.xcom["web_ui_url"] == (
        f"{k8s.api_server().url}/api/v1/namespaces/{NAMESPACE}/services/orders-rest:rest/proxy/")


def test_a_bad_connection_template_fails_before_anything_is_created(
        with_extra: Callable[[str], FlinkKubernetesHook], make_spec: SpecFactory, log: RecordingLog) -> None:
    k8s = with_extra("https://flink.example.com/{ns}/{cluster_id}/")
    with pytest.raises(FlinkSpecError) as caught:
        launch(k8s, make_spec(), RUN, LaunchSettings(), log)
    assert caught.value.field == "flink_web_ui_url_template (extra of connection 'kubernetes_default')"
    assert "placeholder {ns} is not allowed" in caught.value.rule
    assert names(k8s, "Deployment") == [] and names(k8s, "ConfigMap") == []
