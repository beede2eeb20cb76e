"""OpenLineage glue: the launch task's run facet (:mod:`airflow_flink_k8s.core.lineage_facet`) as Airflow's
OpenLineage provider expects it. Imported only by ``get_openlineage_facets_on_complete``, which only that provider
calls, so DAG parsing never imports OpenLineage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attr
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.facet_v2 import RunFacet

from airflow_flink_k8s.core.lineage_facet import FACET_NAME, launch_facet_fields


@attr.define
class FlinkLaunchRunFacet(RunFacet):
    """The Flink job (``jobId``, the join key with the Flink integration's ``flink_job`` facet) a task launched."""

    jobId: str  # OpenLineage facet fields are camelCase
    clusterId: str
    namespace: str


def launch_lineage(launch: Mapping[str, Any] | None) -> OperatorLineage:
    """The task's lineage: the launch facet when a cluster was launched or reattached, else nothing."""
    fields = launch_facet_fields(launch)
    if fields is None:
        return OperatorLineage()
    return OperatorLineage(run_facets={FACET_NAME: FlinkLaunchRunFacet(**fields)})
