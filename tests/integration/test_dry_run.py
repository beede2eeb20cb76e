"""Dry-run against what a launch really does: ``FlinkApplicationOperator(dry_run=True)`` under ``dag.test()``.

A dry run reads no connection and creates nothing. What it shows is what a launch then creates: the same task try
dry-runs, then launches natively onto the Kubernetes API emulator, and the objects the emulator stored equal the
preview once the fields only the server fills are removed (``_server_filled`` names each, and why; each is checked
absent from the preview, so the removal never hides a difference). And the argv it shows is the one the ``cli``
launcher executes, recorded by a wrapper around the real ``flink`` client.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from airflow_flink_k8s_sandbox.flink_dist import ensure_flink_home
from tests.fixtures.airflow_db import DagRunner, task_states, xcom_value
from tests.flink_client_support import parse_configuration

JOB_ID = "0123456789abcdef0123456789abcdef"
WHEN = datetime(2026, 3, 1, tzinfo=UTC)
DAG = """
import datetime
from airflow.sdk import DAG
from airflow_flink_k8s.operators import FlinkApplicationOperator


class DryRunThenLaunch(FlinkApplicationOperator):
    \"\"\"One task try dry-runs, then launches: the same run identity, so the launch's marks must match too.\"\"\"

    def execute(self, context):
        self.is_dry_run = True
        context["ti"].xcom_push(key="preview", value=super().execute(context))
        self.is_dry_run = False
        return super().execute(context)


with DAG({dag_id!r}, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
    {operator}(
        task_id="launch", cluster_id={cluster_id!r}, image="flink:{version}", flink_version="{version}",
        jar_uri="local:///opt/flink/usrlib/checkpointing-job.jar", retries=0, **{options!r},
    )
"""


def _dag(dag_id: str, cluster_id: str, version: str, operator: str = "DryRunThenLaunch", **options: Any) -> str:
    return DAG.format(dag_id=dag_id, cluster_id=cluster_id, version=version, operator=operator, options=options)


def _use_emulator(emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT",
                       json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}))


def _server_filled(obj: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Where the API server (here the emulator) fills fields in on create, as (parent, key); none can be in a
    preview: identity and bookkeeping (uid, resourceVersion, creationTimestamp, generation, managedFields); the
    Deployment's uid in ownerReferences, which exists only once it is created; observed ``status``; Service
    allocations and defaults (cluster IPs, node ports, sessionAffinity, port protocol); Deployment defaults
    (strategy, revisionHistoryLimit, progressDeadlineSeconds)."""
    meta, spec = obj["metadata"], obj.get("spec", {})
    spots = [(meta, key) for key in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")]
    spots += [(ref, "uid") for ref in meta.get("ownerReferences", [])]
    spots.append((obj, "status"))
    if obj["kind"] == "Service":
        spots += [(spec, key) for key in ("clusterIP", "clusterIPs", "sessionAffinity")]
        spots += [(port, key) for port in spec["ports"] for key in ("nodePort", "protocol")]
    if obj["kind"] == "Deployment":
        spots += [(spec, key) for key in ("strategy", "revisionHistoryLimit", "progressDeadlineSeconds")]
    return spots


def _without_server_filled(stored: dict[str, Any], shown: dict[str, Any]) -> dict[str, Any]:
    """``stored`` minus ``_server_filled``, after checking ``shown`` has none of them (removing them never hides a
    difference)."""
    for parent, key in _server_filled(shown):
        assert key not in parent, f"the preview of {shown['metadata']['name']} shows server-filled {key!r}"
    for parent, key in _server_filled(stored):
        parent.pop(key, None)
    return stored


def test_dry_run_reads_no_connection_creates_nothing_and_shows_rendered_templates(run_dag: DagRunner) -> None:
    # The connection does not exist: reading it would fail the task, and without it no API request can be made.
    source = _dag("dry_run_only", "{{ dag.dag_id | replace('_', '-') }}", "2.3.0", operator="FlinkApplicationOperator",
                  dry_run=True, kubernetes_conn_id="no_such_connection", namespace="flink", ha="kubernetes",
                  ha_storage_dir="file:///tmp/unused-ha", program_args=["--date", "{{ ds }}"])
    dag_run = run_dag(source, logical_date=WHEN, run_after=WHEN)
    assert task_states(dag_run) == {"launch": "success"}
    preview = xcom_value(dag_run, "launch")
    assert preview["dry_run"] is True and preview["job_id_generated"] is True
    assert [f"{o['kind']}/{o['metadata']['name']}" for o in preview["objects"]] == [
        "Deployment/dry-run-only", "Service/dry-run-only-rest", "ConfigMap/flink-config-dry-run-only"]
    assert preview["argv"][-2:] == ["--date", "2026-03-01"]
    conf = parse_configuration("config.yaml", preview["objects"][-1]["data"]["config.yaml"])
    assert conf["$internal.application.program-args"] == ["--date", "2026-03-01"]
    assert conf["kubernetes.cluster-id"] == "dry-run-only"
    assert preview["objects"][0]["metadata"]["labels"]["dag_id"] == "dry_run_only"


def test_the_native_launch_creates_exactly_what_the_dry_run_showed(
    run_dag: DagRunner, k8s_emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_emulator(k8s_emulator, tmp_path, monkeypatch)
    cid = "shown-then-made"
    dag_run = run_dag(_dag("dry_run_native", cid, "2.3.0", namespace="flink", ha="kubernetes", job_id=JOB_ID,
                           ha_storage_dir=f"file://{tmp_path}/ha", checkpoint_base_dir=f"file://{tmp_path}/chk",
                           jobmanager_labels={"team": "data"}, rest_service_type="NodePort"),
                      logical_date=WHEN, run_after=WHEN)
    assert task_states(dag_run) == {"launch": "success"}
    preview = xcom_value(dag_run, "launch", key="preview")
    assert xcom_value(dag_run, "launch")["launched"] is True
    paths = {"Deployment": "/apis/apps/v1/namespaces/flink/deployments",
             "Service": "/api/v1/namespaces/flink/services", "ConfigMap": "/api/v1/namespaces/flink/configmaps"}
    # Nothing beyond what was shown was created (no JobManager runs here, so no HA ConfigMaps either) ...
    created = sorted(f"{kind}/{item['metadata']['name']}" for kind, path in paths.items()
                     for item in k8s_emulator.api_get(path)["items"])
    assert created == sorted(f"{o['kind']}/{o['metadata']['name']}" for o in preview["objects"])
    # ... and each object is stored exactly as shown, save what only the server fills in.
    for shown in preview["objects"]:
        stored = k8s_emulator.api_get(f"{paths[shown['kind']]}/{shown['metadata']['name']}")
        assert _without_server_filled(stored, shown) == shown


@pytest.mark.flink
def test_the_cli_launcher_runs_exactly_the_argv_the_dry_run_showed(
    run_dag: DagRunner, k8s_emulator: EmulatorProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_emulator(k8s_emulator, tmp_path, monkeypatch)
    version, cid = "1.20.3", "cli-shown"
    home = ensure_flink_home(version)
    conf_dir = tmp_path / "flink-conf"
    shutil.copytree(home / "conf", conf_dir)
    # A wrapper that records the argv it is run with (NUL-separated), then runs the real client.
    recorded, wrapper = tmp_path / "argv.bin", tmp_path / "flink"
    wrapper.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$0\" \"$@\" > {recorded}\nexec {home / 'bin' / 'flink'} \"$@\"\n")
    wrapper.chmod(0o755)
    dag_run = run_dag(_dag("dry_run_cli", cid, version, launcher="cli", flink_bin=str(wrapper),
                           flink_conf_dir=str(conf_dir), namespace="flink", ha="kubernetes",
                           ha_storage_dir=f"file://{tmp_path}/ha", job_id=JOB_ID,
                           program_args=["--words", "two words", "it's"], parallelism=2),
                      logical_date=WHEN, run_after=WHEN)
    assert task_states(dag_run) == {"launch": "success"}
    preview = xcom_value(dag_run, "launch", key="preview")
    executed = recorded.read_bytes().decode().split("\0")[:-1]
    assert executed == preview["argv"]
    assert os.path.samefile(executed[0], wrapper) and executed[1] == "run-application"
    # The client created the cluster the preview names, marked as shown.
    deployment = k8s_emulator.api_get(f"/apis/apps/v1/namespaces/flink/deployments/{cid}")
    assert deployment["metadata"]["labels"] == preview["objects"][0]["metadata"]["labels"]
    assert deployment["metadata"]["annotations"] == preview["objects"][0]["metadata"]["annotations"]
