"""Bounded jobs: what one ended with (its times, accumulators and, on 2.3+, application, as the wait for
``finished`` reads them from the JobManager, :mod:`airflow_flink_k8s.core.readiness`), and the option that keeps
its cluster up after it ended so that can be read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.rest_api import ApplicationSummary

#: ``DeploymentOptions.SHUTDOWN_ON_APPLICATION_FINISH`` (default true: an application cluster deletes its Deployment
#: and ConfigMaps once its job is globally terminal). Added in 1.15 (FLINK-24113), so every supported release
#: (1.16-2.3) has it under this name; checked in the released 1.20.3 and 2.3.0 jars.
SHUTDOWN_ON_APPLICATION_FINISH = "execution.shutdown-on-application-finish"
SHUTDOWN_ON_APPLICATION_FINISH_SINCE = (1, 15)

#: The first Flink release with applications (``/applications/<id>``; checked against the real 2.3.0 and 1.20.3).
APPLICATIONS_SINCE = (2, 3)


@dataclass(frozen=True)
class JobResult:
    """A FINISHED job: its times, accumulators (name → value as Flink prints it) and, on 2.3+, its application."""

    job_id: str
    state: str
    start_time: datetime | None
    end_time: datetime | None
    duration_ms: int
    accumulators: dict[str, str]
    application: ApplicationSummary | None = None

    def to_xcom(self) -> dict[str, Any]:
        """Plain JSON: times as ISO-8601 strings."""
        app = self.application
        return {
            "job_id": self.job_id, "state": self.state, "start_time": _iso(self.start_time),
            "end_time": _iso(self.end_time), "duration_ms": self.duration_ms, "accumulators": dict(self.accumulators),
            "application": None if app is None else {
                "id": app.application_id, "status": app.status.value, "start_time": _iso(app.start),
                "end_time": _iso(app.end)},
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def keep_cluster_after_finish(flink_conf: Mapping[str, Any]) -> dict[str, Any]:
    """``flink_conf`` with :data:`SHUTDOWN_ON_APPLICATION_FINISH` false, for ``wait_until="finished"``: the cluster
    stays after the job ends, so its outcome can be read; refuses the key set to anything else."""
    for key, value in flink_conf.items():
        if isinstance(key, str) and key.strip() == SHUTDOWN_ON_APPLICATION_FINISH and \
                str(value).strip().lower() != "false":
            raise FlinkSpecError(f"flink_conf[{key!r}]", "must be false or absent with wait_until='finished': the "
                                 "cluster is kept after the job ends so its outcome can be read (then deleted, "
                                 "unless keep_cluster)", value)
    return {**flink_conf, SHUTDOWN_ON_APPLICATION_FINISH: "false"}
