"""Dry-run (``core.dry_run.render_launch``): the objects and argv of a launch, for both launchers and HA modes,
with nothing created. That a launch then creates exactly these objects and runs exactly this argv is checked
against the sandbox emulator and the real Flink client in ``tests/integration/test_dry_run.py``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from airflow_flink_k8s.core.command import build_flink_command
from airflow_flink_k8s.core.dry_run import CLI_JOBMANAGER_TEMPLATE_FILE, CLI_TEMPLATE_FILE, REDACTED, render_launch
from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.launch_plan import RunIdentity
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from tests.flink_client_support import parse_configuration
from tests.spec_support import JM_POD_TEMPLATE, TM_POD_TEMPLATE, full_spec, minimal_spec

RUN = RunIdentity("orders_dag", "launch", "manual__2026-03-01T00:00:00+00:00", 2)
JOB_ID = "0123456789abcdef0123456789abcdef"
NONCE = bytes(range(16))
HA = {
    "kubernetes": {"ha": "kubernetes", "ha_storage_dir": "s3://bucket/ha"},
    "zookeeper": {"ha": "zookeeper", "ha_storage_dir": "s3://bucket/ha", "zookeeper_quorum": "zk-0:2181,zk-1:2181"},
}


def _names(objects: list[dict[str, Any]]) -> list[str]:
    return [f"{obj['kind']}/{obj['metadata']['name']}" for obj in objects]


def _conf(obj: dict[str, Any]) -> dict[str, Any]:
    (name,) = [n for n in obj["data"] if n in ("config.yaml", "flink-conf.yaml")]
    return parse_configuration(name, obj["data"][name])


@pytest.mark.parametrize("ha", ["kubernetes", "zookeeper"])
def test_native_shows_the_objects_in_creation_order_marked_as_the_launch_marks_them(ha: str) -> None:
    spec = minimal_spec("2.3.0", namespace="flink", job_id=JOB_ID, **HA[ha])
    preview = render_launch(spec, "native", run=RUN, nonce=NONCE)
    # With HA there is no internal Service (Flink creates it only with HA off).
    assert _names(preview.objects) == ["Deployment/probe", "Service/probe-rest", "ConfigMap/flink-config-probe"]
    for obj in preview.objects:
        meta = obj["metadata"]
        assert meta["namespace"] == "flink"
        assert (meta["labels"]["dag_id"], meta["labels"]["task_id"], meta["labels"]["try_number"]) == (
            "orders_dag", "launch", "2")
        assert meta["annotations"]["airflow-flink-k8s.apache.org/job-id"] == JOB_ID
        assert "uid" not in meta and "status" not in obj
    for owned in preview.objects[1:]:
        # Owned by the Deployment; its uid exists only once it is created.
        assert owned["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                         "name": "probe", "controller": True,
                                                         "blockOwnerDeletion": True}]
    conf = _conf(preview.objects[-1])
    assert conf["high-availability.type"] == ha and conf["$internal.pipeline.job-id"] == JOB_ID
    if ha == "zookeeper":
        assert conf["high-availability.zookeeper.quorum"] == "zk-0:2181,zk-1:2181"
    # The native launcher ships its console logging file in the ConfigMap.
    assert "log4j-console.properties" in preview.objects[-1]["data"]
    assert preview.argv == build_flink_command(spec)
    assert f"-Dhigh-availability.type={ha}" in preview.argv and preview.argv[1] == "run"
    assert (preview.job_id, preview.job_id_generated, preview.files) == (JOB_ID, False, {})


def test_without_ha_the_internal_service_is_shown() -> None:
    preview = render_launch(minimal_spec("1.20.3", job_id=JOB_ID), "native", run=RUN, nonce=NONCE)
    assert _names(preview.objects) == ["Deployment/probe", "Service/probe", "Service/probe-rest",
                                       "ConfigMap/flink-config-probe"]
    assert preview.argv[1] == "run-application"


@pytest.mark.parametrize("ha", ["kubernetes", "zookeeper"])
def test_cli_shows_the_argv_the_cli_launcher_runs_and_marks_what_it_labels(ha: str) -> None:
    spec = minimal_spec("1.20.3", job_id=JOB_ID, taskmanager_pod_template=TM_POD_TEMPLATE, **HA[ha])
    preview = render_launch(spec, "cli", run=RUN, nonce=NONCE, flink_bin="/opt/flink/bin/flink")
    assert preview.argv == build_flink_command(spec, "/opt/flink/bin/flink", CLI_TEMPLATE_FILE)
    assert f"-Dkubernetes.pod-template-file.taskmanager={CLI_TEMPLATE_FILE}" in preview.argv
    # The template file the launcher writes for the client, shown with its content.
    assert yaml.safe_load(preview.files[CLI_TEMPLATE_FILE]) == TM_POD_TEMPLATE
    by_name = {f"{o['kind']}/{o['metadata']['name']}": o for o in preview.objects}
    # The cli launcher labels the Deployment, the rest Service and the configuration; the client's template
    # ConfigMap keeps only Flink's labels.
    marked = [name for name, obj in by_name.items() if "dag_id" in obj["metadata"]["labels"]]
    assert marked == ["Deployment/probe", "Service/probe-rest", "ConfigMap/flink-config-probe"]
    assert "pod-template-probe" in by_name["ConfigMap/pod-template-probe"]["metadata"]["name"]
    # The client takes logging files from its own conf dir, which a dry run does not read: none are shown.
    assert list(by_name["ConfigMap/flink-config-probe"]["data"]) == ["config.yaml"]
    assert any("FLINK_CONF_DIR" in note for note in preview.notes)
    assert any("kubernetes.context" in note for note in preview.notes)


@pytest.mark.parametrize("launcher", ["native", "cli"])
def test_credentials_are_redacted_in_the_objects_and_kept_off_the_argv(launcher: str) -> None:
    secret = "hunter2-very-secret"
    spec = minimal_spec("2.3.0", job_id=JOB_ID, flink_conf={"s3.secret-key": secret, "s3.endpoint": "http://s3:9000",
                                                            "my.conn.passphrase": "second-secret"})
    preview = render_launch(spec, launcher, run=RUN, nonce=NONCE, sensitive_fields=("passphrase",))
    shown = json.dumps(preview.to_dict()) + preview.to_text()
    assert secret not in shown and "second-secret" not in shown
    conf = _conf(preview.objects[-1])
    assert (conf["s3.secret-key"], conf["my.conn.passphrase"], conf["s3.endpoint"]) == (
        REDACTED, REDACTED, "http://s3:9000")
    assert preview.conf_dir_options == ["my.conn.passphrase", "s3.secret-key"]
    assert [a for a in preview.argv if a.startswith("-Ds3.")] == ["-Ds3.endpoint=http://s3:9000"]
    # The spec hash is the real spec's, as the launch writes it (the cluster is recognised on reattach).
    launched = render_launch(minimal_spec("2.3.0", job_id=JOB_ID, flink_conf={"s3.secret-key": "other"}), launcher,
                             run=RUN, nonce=NONCE)
    hash_key = "airflow-flink-k8s.apache.org/spec-hash"
    assert preview.objects[0]["metadata"]["annotations"][hash_key] != \
        launched.objects[0]["metadata"]["annotations"][hash_key]


def test_without_a_job_id_each_dry_run_shows_an_example_id_a_launch_would_draw() -> None:
    spec = minimal_spec("2.3.0")
    first = render_launch(spec, "native", run=RUN, nonce=NONCE)
    second = render_launch(spec, "native", run=RUN, nonce=bytes(16))
    assert first.job_id_generated and first.job_id != second.job_id
    assert f"-D$internal.pipeline.job-id={first.job_id}" in first.argv
    assert any(note.startswith("job_id: not set") for note in first.notes)


def test_resuming_latest_needs_the_job_id_since_a_dry_run_reads_no_ha_data() -> None:
    spec = minimal_spec("2.3.0", restore="latest", **HA["kubernetes"])
    with pytest.raises(FlinkSpecError, match=r"^job_id: must be set for a dry run with restore='latest'") as raised:
        render_launch(spec, "native", run=RUN, nonce=NONCE)
    assert raised.value.field == "job_id"
    resumed = render_launch(minimal_spec("2.3.0", restore="latest", job_id=JOB_ID, **HA["kubernetes"]), "native",
                            run=RUN, nonce=NONCE)
    assert resumed.job_id == JOB_ID


def test_without_a_run_the_launch_marks_are_left_out_and_said_so() -> None:
    preview = render_launch(minimal_spec("2.3.0", job_id=JOB_ID), "native", run=None, nonce=NONCE,
                            namespace_given=False)
    assert all(set(obj["metadata"]["labels"]) <= {"app", "component", "type"} for obj in preview.objects)
    assert all("annotations" not in obj["metadata"] for obj in preview.objects)
    assert any("launch labels" in note for note in preview.notes)
    assert any(note.startswith("namespace: not set") for note in preview.notes)


def test_an_unknown_launcher_is_refused_by_name() -> None:
    with pytest.raises(FlinkSpecError, match=r"^launcher: must be one of native, cli"):
        render_launch(minimal_spec("2.3.0"), "kubectl", run=RUN, nonce=NONCE)


@pytest.mark.parametrize("launcher", ["native", "cli"])
def test_the_printed_text_holds_the_command_and_the_returned_objects(launcher: str) -> None:
    spec: FlinkApplicationSpec = full_spec("1.18.1", job_id=JOB_ID)
    preview = render_launch(spec, launcher, run=RUN, nonce=NONCE)
    text = preview.to_text()
    assert list(yaml.safe_load_all(text)) == preview.objects  # a YAML stream of exactly the returned objects
    assert f"# Equivalent flink command: {preview.to_dict()['command']}" in text.splitlines()
    # 1.18 ships flink-conf.yaml (flat lines), as the client of that release does.
    assert "flink-conf.yaml" in preview.objects[-2 if spec.taskmanager_pod_template else -1]["data"]


def test_cli_shows_the_jobmanager_template_file_and_the_merged_deployment() -> None:
    spec = minimal_spec("2.3.0", job_id=JOB_ID, jobmanager_pod_template=JM_POD_TEMPLATE)
    preview = render_launch(spec, "cli", run=RUN, nonce=NONCE, flink_bin="/opt/flink/bin/flink")
    assert preview.argv == build_flink_command(spec, "/opt/flink/bin/flink", None, CLI_JOBMANAGER_TEMPLATE_FILE)
    assert yaml.safe_load(preview.files[CLI_JOBMANAGER_TEMPLATE_FILE]) == JM_POD_TEMPLATE
    containers = preview.objects[0]["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["log-shipper", "flink-main-container"]
