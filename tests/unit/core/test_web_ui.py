"""``core.web_ui``: the Web UI URL template is checked at construction, naming the field and the rule, and filled
with the cluster's values."""

from __future__ import annotations

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.web_ui import check_web_ui_url_template, web_ui_url

JOB = "a" * 32


@pytest.mark.parametrize(("template", "url"), [
    ("https://flink.example.com/{namespace}/{cluster_id}/", "https://flink.example.com/etl/orders/"),
    ("https://{cluster_id}.{namespace}.flink.example.com/#/job/running/{job_id}/overview",
     f"https://orders.etl.flink.example.com/#/job/running/{JOB}/overview"),
    ("http://127.0.0.1:8080/flink/", "http://127.0.0.1:8080/flink/"),
    ("https://ui.example.com/?q={{literal}}&c={cluster_id}", "https://ui.example.com/?q={literal}&c=orders"),
])
def test_a_valid_template_is_filled_with_the_clusters_values(template: str, url: str) -> None:
    assert check_web_ui_url_template(template) == template
    assert web_ui_url(template, namespace="etl", cluster_id="orders", job_id=JOB) == url


@pytest.mark.parametrize(("template", "rule"), [
    ("https://flink.example.com/{name}/", "placeholder {name} is not allowed: use only {namespace}, {cluster_id}, "
                                          "{job_id}"),
    ("https://flink.example.com/{}/", "placeholder {} is not allowed"),
    ("https://flink.example.com/{0}/", "placeholder {0} is not allowed"),
    ("https://flink.example.com/{namespace!r}/", "placeholder {namespace!r} is not allowed"),
    ("https://flink.example.com/{cluster_id:>10}/", "placeholder {cluster_id:>10} is not allowed"),
    ("https://flink.example.com/{namespace.upper}/", "placeholder {namespace.upper} is not allowed"),
    ("https://flink.example.com/{namespace[0]}/", "placeholder {namespace[0]} is not allowed"),
    ("https://flink.example.com/{{ var.value.x }}/{{cluster_id}/", "is not a valid template"),
    ("https://flink.example.com/{namespace/", "is not a valid template"),
    ("https://flink.example.com/}/", "is not a valid template"),
    ("flink.example.com/{namespace}/", "must be an absolute http:// or https:// URL"),
    ("/{namespace}/{cluster_id}/", "must be an absolute http:// or https:// URL"),
    ("ftp://flink.example.com/{namespace}/", "must be an absolute http:// or https:// URL"),
    ("https:///{namespace}/", "must be an absolute http:// or https:// URL"),
    ("https://flink.example.com/{namespace} /", "without spaces"),
    ("", "must be a non-empty URL template string"),
    ("  ", "must be a non-empty URL template string"),
    (42, "must be a non-empty URL template string"),
])
def test_a_bad_template_is_refused_naming_the_field_and_the_rule(template: object, rule: str) -> None:
    with pytest.raises(FlinkSpecError) as caught:
        check_web_ui_url_template(template, "flink_web_ui_url_template (extra of connection 'k8s')")
    assert caught.value.field == "flink_web_ui_url_template (extra of connection 'k8s')"
    assert rule in caught.value.rule
    assert str(caught.value).startswith("flink_web_ui_url_template (extra of connection 'k8s'): ")


def test_a_template_needing_the_job_id_gives_no_url_without_one() -> None:
    template = "https://flink.example.com/{cluster_id}/#/job/running/{job_id}/overview"
    assert web_ui_url(template, namespace="etl", cluster_id="orders", job_id=None) is None
    assert web_ui_url("https://flink.example.com/{cluster_id}/", namespace="etl", cluster_id="orders",
                      job_id=None) == "https://flink.example.com/orders/"


def test_the_operator_checks_its_template_at_construction() -> None:
    from airflow_flink_k8s.operators import FlinkApplicationOperator

    required = {"task_id": "launch", "cluster_id": "orders", "image": "flink:2.3.0", "flink_version": "2.3.0",
                "jar_uri": "local:///opt/flink/usrlib/job.jar"}
    with pytest.raises(FlinkSpecError, match=r"^web_ui_url_template: placeholder \{cid\} is not allowed"):
        FlinkApplicationOperator(**required, web_ui_url_template="https://flink.example.com/{cid}/")
    good = "https://flink.example.com/{namespace}/{cluster_id}/"
    assert FlinkApplicationOperator(**required, web_ui_url_template=good).web_ui_url_template == good
    assert FlinkApplicationOperator(**required).web_ui_url_template is None


def test_launch_settings_check_their_template() -> None:
    from airflow_flink_k8s.flows.launch import LaunchSettings

    with pytest.raises(FlinkSpecError, match=r"^web_ui_url_template: must be an absolute http"):
        LaunchSettings(web_ui_url_template="flink/{cluster_id}")
