"""The launch task's OpenLineage facet as Airflow's OpenLineage provider gets it from the operator (the provider's
own extractor calls ``get_openlineage_facets_on_complete``); skipped where the provider is not installed (the floor
venv)."""

from __future__ import annotations

import pytest

pytest.importorskip("airflow.providers.openlineage")

from airflow.providers.openlineage.extractors.base import DefaultExtractor
from openlineage.client.serde import Serde

from airflow_flink_k8s.core.lineage_facet import FACET_NAME
from airflow_flink_k8s.operators import FlinkApplicationOperator

LAUNCH = {"cluster_id": "orders", "namespace": "flink", "job_id": "f692ee5742f34d62051251f2edef9063"}


def _operator() -> FlinkApplicationOperator:
    return FlinkApplicationOperator(task_id="launch", cluster_id="orders", image="flink:2.3.0",
                                    jar_uri="local:///opt/flink/usrlib/job.jar", flink_version="2.3.0")


def test_the_providers_extractor_gets_the_facet_of_the_launched_job_on_complete_and_on_failure() -> None:
    operator = _operator()
    operator._launch_result = LAUNCH  # what execute / execute_complete keep
    extractor = DefaultExtractor(operator)
    for lineage in (extractor.extract_on_complete(None), extractor.extract_on_failure(None)):
        assert lineage is not None
        facet = Serde.to_dict(lineage.run_facets[FACET_NAME])
        assert {k: facet[k] for k in ("jobId", "clusterId", "namespace")} == {
            "jobId": LAUNCH["job_id"], "clusterId": "orders", "namespace": "flink"}


def test_before_a_launch_or_on_a_dry_run_there_is_no_facet() -> None:
    lineage = DefaultExtractor(_operator()).extract_on_complete(None)
    assert lineage is not None and lineage.run_facets == {}
