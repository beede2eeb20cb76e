"""Record the JobManager REST answers the readiness evaluator reads, from real Flink, as test data.

For each Flink version under test it starts a standalone application cluster running the checkpointing example
job (no HA) and writes to ``tests/data/rest/<version>/``:

* ``config.json``: ``/config``; ``jobs-overview-running.json``: ``/jobs/overview`` with the job RUNNING;
* ``job-running.json``: ``/jobs/<id>`` at the first RUNNING answer (its tasks usually not running yet: Flink reports
  a job RUNNING before a TaskManager took its tasks); ``job-tasks-running.json``: once every task is RUNNING, and
  ``overview-running.json``: ``/overview`` then (a TaskManager registered);
* ``checkpoints-none.json``: ``/jobs/<id>/checkpoints`` as early as it
  can be read (usually no completed checkpoint yet); ``checkpoints-completed.json``: once one completed;
* ``job-canceled.json``, ``jobs-overview-canceled.json`` and ``exceptions-canceled.json`` after cancelling the
  job (the cluster stays up: ``execution.shutdown-on-application-finish: false``);
* ``meta.json``: the job id and the version;
* ``bounded-*.json``: the bounded example job run to its end (``execution.shutdown-on-application-finish: false``):
  ``bounded-job-finished.json`` (``/jobs/<id>``), ``bounded-accumulators.json``, and on 2.3+
  ``bounded-applications-overview.json`` and ``bounded-application-finished.json`` (``/applications/<id>``) once the
  application ended; ``bounded-meta.json``: its job id, application id and version.

    .venv/bin/python scripts/record_rest_bodies.py [VERSION ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from airflow_flink_k8s.core.job_result import APPLICATIONS_SINCE
from airflow_flink_k8s.core.versions import FlinkVersion
from airflow_flink_k8s_sandbox.flink_dist import (
    BOUNDED_JOB_CLASS,
    EXAMPLE_JOB_CLASS,
    FLINK_VERSIONS_UNDER_TEST,
    ensure_bounded_job,
    ensure_example_job,
)
from airflow_flink_k8s_sandbox.standalone import StandaloneApplicationCluster

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "rest"


def _poll(cluster: StandaloneApplicationCluster, path: str, done: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            body = cluster.rest_get(path)
        except (urllib.error.URLError, OSError, ValueError):
            body = None
        if body is not None and done(body):
            return body
        time.sleep(0.2)
    raise TimeoutError(f"{path}: no wanted answer within {timeout} s")


def record(version: str) -> None:
    out = OUT / version
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"record-rest-{version}-"))
    config = {"execution.checkpointing.dir": f"file://{work}/checkpoints", "execution.checkpointing.interval": "2s",
              "execution.shutdown-on-application-finish": "false"}
    with StandaloneApplicationCluster(version, ensure_example_job(version), EXAMPLE_JOB_CLASS, (), config,
                                      work_dir=work / "cluster") as cluster:
        job = cluster.wait_for_job("RUNNING")
        jid = job["jid"]
        bodies = {"checkpoints-none": cluster.rest_get(f"/jobs/{jid}/checkpoints"),
                  "config": cluster.rest_get("/config"),
                  "jobs-overview-running": cluster.rest_get("/jobs/overview"),
                  "job-running": cluster.rest_get(f"/jobs/{jid}")}
        bodies["job-tasks-running"] = _poll(cluster, f"/jobs/{jid}", lambda b: all(
            vertex["status"] == "RUNNING" and vertex["tasks"]["RUNNING"] == vertex["parallelism"]
            for vertex in b["vertices"]))
        bodies["overview-running"] = cluster.rest_get("/overview")
        bodies["checkpoints-completed"] = _poll(cluster, f"/jobs/{jid}/checkpoints",
                                                lambda b: b["counts"]["completed"] >= 1)
        urllib.request.urlopen(urllib.request.Request(f"{cluster.rest_url}/jobs/{jid}?mode=cancel", method="PATCH"),
                               timeout=5).close()
        bodies["job-canceled"] = _poll(cluster, f"/jobs/{jid}", lambda b: b["state"] == "CANCELED")
        bodies["jobs-overview-canceled"] = cluster.rest_get("/jobs/overview")
        bodies["exceptions-canceled"] = cluster.rest_get(f"/jobs/{jid}/exceptions")
        bodies["meta"] = {"flink_version": version, "job_id": jid}
    bodies |= _record_bounded(version, work)
    for name, body in bodies.items():
        (out / f"{name}.json").write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(bodies)} answers of Flink {version} in {out}")


def _record_bounded(version: str, work: Path) -> dict[str, Any]:
    config = {"execution.shutdown-on-application-finish": "false", "restart-strategy.type": "none"}
    with StandaloneApplicationCluster(version, ensure_bounded_job(version), BOUNDED_JOB_CLASS, (), config,
                                      work_dir=work / "bounded") as cluster:
        jid = cluster.wait_for_job("FINISHED")["jid"]
        bodies = {"bounded-job-finished": cluster.rest_get(f"/jobs/{jid}"),
                  "bounded-accumulators": cluster.rest_get(f"/jobs/{jid}/accumulators")}
        meta: dict[str, Any] = {"flink_version": version, "job_id": jid, "application_id": None}
        if FlinkVersion.parse(version).at_least(*APPLICATIONS_SINCE):
            apps = _poll(cluster, "/applications/overview",
                         lambda b: b["applications"] and b["applications"][0]["status"] == "FINISHED")
            meta["application_id"] = app = apps["applications"][0]["id"]
            bodies |= {"bounded-applications-overview": apps,
                       "bounded-application-finished": cluster.rest_get(f"/applications/{app}")}
        bodies["bounded-meta"] = meta
    return bodies


if __name__ == "__main__":
    for version in sys.argv[1:] or FLINK_VERSIONS_UNDER_TEST:
        record(version)
