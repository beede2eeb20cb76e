"""The launch facet's fields: the Flink job id (the join key with the Flink integration's ``flink_job`` facet), the
cluster and its namespace, taken from the launch result; nothing when nothing was launched."""

from __future__ import annotations

from airflow_flink_k8s.core.lineage_facet import FLINK_JOB_ID_FIELD, launch_facet_fields

LAUNCH = {"cluster_id": "orders", "namespace": "flink", "job_id": "f692ee5742f34d62051251f2edef9063",
          "launched": False, "web_ui_url": "http://x/"}


def test_the_fields_name_the_job_the_cluster_and_its_namespace() -> None:
    assert launch_facet_fields(LAUNCH) == {FLINK_JOB_ID_FIELD: "f692ee5742f34d62051251f2edef9063",
                                           "clusterId": "orders", "namespace": "flink"}


def test_no_launch_result_gives_no_facet() -> None:
    assert launch_facet_fields(None) is None
    assert launch_facet_fields({}) is None
    assert launch_facet_fields({**LAUNCH, "job_id": None}) is None
