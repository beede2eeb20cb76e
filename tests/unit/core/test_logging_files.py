"""The ``logging_files`` spec field: what it accepts, and which logging files the ConfigMap then holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_flink_k8s.core.dry_run import render_launch
from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.kubernetes_objects import render_kubernetes_objects
from airflow_flink_k8s.core.logging_files import (
    LOGGING_FILES,
    LOGGING_FILES_MAX_BYTES,
    distribution_logging_files,
    shipped_logging_files,
)
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.core.versions import FlinkVersion
from airflow_flink_k8s.hooks.flink_cli import conf_dir_with
from tests.spec_support import minimal_spec

CUSTOM_LOG4J = "rootLogger.level = INFO\n# %highlight{%-5level} holds Jinja's block start\n"
JOB_ID = "0123456789abcdef0123456789abcdef"


def _config_map(spec: FlinkApplicationSpec, client_files: dict[str, str] | None) -> dict[str, Any]:
    return render_kubernetes_objects(spec, client_files)[-1]


def _volume_items(spec: FlinkApplicationSpec, client_files: dict[str, str] | None) -> list[str]:
    pod = render_kubernetes_objects(spec, client_files)[0]["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "flink-config-volume")
    return [item["key"] for item in volume["configMap"]["items"]]


@pytest.mark.parametrize("version", ["1.16.3", "1.20.3", "2.0.1", "2.3.0"])
def test_the_defaults_write_the_log_file_the_web_ui_lists(version: str) -> None:
    files = distribution_logging_files(FlinkVersion.parse(version))
    assert list(files) == list(shipped_logging_files(FlinkVersion.parse(version)))
    assert set(LOGGING_FILES) <= set(files)
    assert "appender.rolling.fileName = ${sys:log.file}" in files["log4j-console.properties"]
    assert "appender.console.type = CONSOLE" in files["log4j-console.properties"]
    assert "<file>${log.file}</file>" in files["logback-console.xml"]
    # PyFlink's worker logger is in the 2.x files only.
    assert ("PythonWorker" in files["log4j-console.properties"]) == version.startswith("2.")


def test_the_specs_files_replace_the_client_conf_dirs_files_of_the_same_name() -> None:
    spec = minimal_spec("2.3.0", logging_files={"log4j-console.properties": CUSTOM_LOG4J})
    defaults = distribution_logging_files(spec.version)
    data = _config_map(spec, defaults)["data"]
    assert data["log4j-console.properties"] == CUSTOM_LOG4J
    assert data["logback-console.xml"] == defaults["logback-console.xml"]
    # Mounted in the client's order (2.3 ships every logging file of its conf dir), the configuration file last.
    assert _volume_items(spec, defaults) == ["logback.xml", "log4j.properties", "logback-console.xml",
                                             "log4j-console.properties", "logback-session.xml",
                                             "log4j-session.properties", "log4j-cli.properties", "config.yaml"]
    # Without client files (a client conf dir with none) the spec's file is still shipped.
    assert list(_config_map(spec, None)["data"]) == ["log4j-console.properties", "config.yaml"]


def test_the_native_launch_ships_the_distribution_files_and_the_cli_launch_the_specs() -> None:
    spec = minimal_spec("1.20.3", job_id=JOB_ID)
    native = render_launch(spec, "native", run=None, nonce=b"n").objects[-1]["data"]
    assert {name: native[name] for name in LOGGING_FILES} == distribution_logging_files(spec.version)
    assert list(native) == [*LOGGING_FILES, "config.yaml"]  # the 1.20 client ships only the console files
    custom = minimal_spec("1.20.3", job_id=JOB_ID, logging_files={"logback-console.xml": "<configuration/>\n"})
    preview = render_launch(custom, "cli", run=None, nonce=b"n")
    assert list(preview.objects[-1]["data"]) == ["logback-console.xml", "config.yaml"]
    assert any(note.startswith("logging_files: logback-console.xml") for note in preview.notes)


@pytest.mark.parametrize(
    ("files", "field", "rule"),
    [
        ({"log4j.properties": "x"}, "logging_files", "keys must be among logback-console.xml, log4j-console"),
        ({"log4j-console.properties": ""}, "logging_files['log4j-console.properties']", "non-blank string"),
        ({"log4j-console.properties": 3}, "logging_files['log4j-console.properties']", "non-blank string"),
        ({"logback-console.xml": "a\x00b"}, "logging_files['logback-console.xml']", "without NUL"),
        ({"log4j-console.properties": "#" * (LOGGING_FILES_MAX_BYTES + 1)}, "logging_files", "must total at most"),
        ("rootLogger.level = INFO", "logging_files", "must be a mapping"),
    ],
)
def test_bad_logging_files_are_refused_by_field_and_rule(files: Any, field: str, rule: str) -> None:
    with pytest.raises(FlinkSpecError) as caught:
        minimal_spec("2.3.0", logging_files=files)
    assert caught.value.field == field and rule in caught.value.rule


def test_the_field_round_trips_and_is_not_a_jinja_template() -> None:
    from airflow_flink_k8s.operators import FlinkApplicationOperator

    spec = minimal_spec("2.3.0", logging_files={"log4j-console.properties": CUSTOM_LOG4J})
    assert FlinkApplicationSpec.from_dict(spec.to_dict()) == spec
    assert "logging_files" not in FlinkApplicationOperator.template_fields


def test_the_cli_conf_dir_copy_holds_the_specs_files_and_leaves_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "conf"
    source.mkdir()
    (source / "config.yaml").write_text("parallelism.default: 2  # the user's\n")
    (source / "log4j-console.properties").write_text("from the client\n")
    (source / "logback-console.xml").write_text("<configuration/>\n")
    copy = conf_dir_with(source, tmp_path / "copy", {}, {"log4j-console.properties": CUSTOM_LOG4J})
    assert (copy / "log4j-console.properties").read_text() == CUSTOM_LOG4J
    assert (copy / "logback-console.xml").read_text() == "<configuration/>\n"
    assert (copy / "config.yaml").read_text() == "parallelism.default: 2  # the user's\n"
    assert (source / "log4j-console.properties").read_text() == "from the client\n"
