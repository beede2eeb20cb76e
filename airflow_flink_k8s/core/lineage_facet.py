"""The OpenLineage run facet a launch task adds to its own events: which Flink job, on which cluster, it launched.

Why a facet on the Airflow side and no parent keys in the Flink configuration (issue 14): the OpenLineage Flink
integration reads no parent job/run identity. Read at OpenLineage/OpenLineage commit
8f02abfb7a252783b95df79f443edb13959bf52c (2026-08-20, 1.53.0-SNAPSHOT):

* ``integration/flink/shared/src/main/java/io/openlineage/flink/config/FlinkConfigParser.java`` maps every Flink key
  ``openlineage.<path>`` onto the Java client's config (``FlinkOpenLineageConfig``: transport, facets, dataset,
  circuitBreaker, metrics, run, job, trackingIntervalInSeconds, flink.*); there is no parent field.
* The Flink 2 listener (``integration/flink/flink2/.../listener/OpenLineageJobStatusChangedListener.java``) takes the
  job's own namespace and name from ``openlineage.job.namespace`` / ``openlineage.job.name`` (default namespace
  ``flink-jobs``, name = the Flink job name); the Flink 1 listener (``integration/flink/flink1/.../
  OpenLineageFlinkJobListener.java``) from ``execution.job-listener.openlineage.namespace`` / ``.job-name``.
* Neither builds a ``ParentRunFacet`` (``EventEmitter.OPEN_LINEAGE_PARENT_FACET_URI`` is declared, never used); the
  parent keys Airflow injects for Spark (``spark.openlineage.parentRunId`` ...) exist only in the Spark integration
  (``integration/spark/app/.../ArgumentParser.java``). OpenLineage issues #563 and #4412 (parent propagation) are
  open.

What both sides do carry is the Flink job id: every Flink run event has the run facet ``flink_job`` with ``jobId``
(``integration/flink/shared/.../facets/FlinkJobDetailsFacet.java``). The launch task's COMPLETE event names the same
job id in the facet below, so a lineage consumer joins the Airflow task run to the Flink runs on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The run facet's key in the launch task's OpenLineage events.
FACET_NAME = "flink_launch"
#: The Flink integration's own run facet and field carrying the job id (FlinkJobDetailsFacet): the join key.
FLINK_JOB_FACET_NAME = "flink_job"
FLINK_JOB_ID_FIELD = "jobId"


def launch_facet_fields(launch: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The facet's fields from a launch result (the task's XCom): the job id Flink runs the application under, the
    cluster and its namespace; ``None`` when nothing was launched (a dry run, or no result yet)."""
    if not launch or not launch.get("job_id"):
        return None
    return {FLINK_JOB_ID_FIELD: str(launch["job_id"]), "clusterId": str(launch["cluster_id"]),
            "namespace": str(launch["namespace"])}
