"""JobManager and client log lines lose the values of sensitive options (by key) and URI user-info; everything
else is kept as Flink printed it."""

from __future__ import annotations

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.log_redaction import HIDDEN, redact_line, redact_log
from tests.spec_support import spec

PREFIX = "2026-04-01 10:00:00,000 INFO  org.apache.flink.configuration.GlobalConfiguration           [] - "


@pytest.mark.parametrize(("line", "secret"), [
    (f"{PREFIX}Loading configuration property: s3.access-key, AKIAEXAMPLE", "AKIAEXAMPLE"),
    (f"{PREFIX}Loading configuration property: fs.s3a.encryption.key, c2VjcmV0 a", "c2VjcmV0 a"),
    (f"{PREFIX}Loading configuration property: containerized.master.env.DB_PASSWORD, pw-1", "pw-1"),
    (f"{PREFIX}Loading configuration property: env.java.opts.jobmanager, -Xmx1g -Daws.secretKey=sk-2", "sk-2"),
    (f"{PREFIX}Loading configuration property: state.checkpoints.dir, s3://AKIA:sk-3@bucket/c", "AKIA:sk-3"),
    ("    s3.access-key: AKIA-yaml", "AKIA-yaml"),
    ("    -Dsome.password=\"pw 4\"", "\"pw 4\""),
    ("    -D s3.secret-key=sk-5", "sk-5"),
    ("    fs.oss.accessKeyId=ossid-6", "ossid-6"),
    ("JVM Options: -Dx.token='tk-7' -Dlog.file=/opt/flink/log/jm.log", "'tk-7'"),
    ("fetching https://user:tok-8@repo.example/job.jar", "user:tok-8"),
])
def test_a_sensitive_value_is_hidden_in_every_form_flink_and_the_jvm_print(line: str, secret: str) -> None:
    redacted = redact_line(line)
    assert secret not in redacted and HIDDEN in redacted
    assert redacted.split(HIDDEN)[0] == line.split(secret)[0]  # everything before the value is kept


@pytest.mark.parametrize("line", [
    f"{PREFIX}Loading configuration property: pipeline.name, etl: orders=1",
    f"{PREFIX}Loading configuration property: security.delegation.tokens.enabled, true",
    f"{PREFIX}Loading configuration property: s3.secret-key, ******",
    f"{PREFIX}Loading configuration property: env.java.opts.all, -Dlog4j2.formatMsgNoLookups=true",
    "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy",
    "Caused by: java.io.IOException: Error: token expired",  # no value after the sensitive word's separator
    "file:///opt/flink/usrlib/job.jar and s3://bucket/ckpt",
])
def test_lines_without_a_credential_are_unchanged(line: str) -> None:
    assert redact_line(line) == line


def test_airflow_field_names_widen_the_rule_and_line_breaks_are_kept() -> None:
    text = f"{PREFIX}Loading configuration property: jdbc.sink.dsn, postgresql://db/x\r\nnext line\n"
    assert redact_log(text) == text
    assert redact_log(text, ("dsn",)) == (f"{PREFIX}Loading configuration property: jdbc.sink.dsn, {HIDDEN}\r\n"
                                          "next line\n")


@pytest.mark.parametrize("field", ["jar_uri", "ha_storage_dir", "checkpoint_base_dir", "savepoint_base_dir",
                                   "restore"])
def test_a_uri_with_user_info_is_refused_naming_the_field_and_never_echoed(field: str) -> None:
    uri = "s3://AKIAEXAMPLE:sk-uri@bucket/path" if field != "jar_uri" else "https://user:tok-uri@repo/job.jar"
    extra = {"ha": "kubernetes", "ha_storage_dir": "s3://bucket/ha"}
    with pytest.raises(FlinkSpecError) as caught:
        spec("2.3.0", **{**extra, field: uri})
    assert caught.value.field == field
    assert "credentials in a URI's user-info are not allowed" in caught.value.rule
    assert "AKIAEXAMPLE" not in str(caught.value) and "tok-uri" not in str(caught.value)


def test_a_root_cause_quoting_a_credential_is_redacted() -> None:
    from airflow_flink_k8s.core.rest_api import parse_root_cause

    body = {"exceptionHistory": {"entries": [{"timestamp": 1, "stacktrace":
            "java.io.IOException: cannot open s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/ckpt "
            "(s3.secret-key=wJalrXUtnFEMI)"}]}}
    cause = parse_root_cause(body)
    assert cause is not None and "java.io.IOException: cannot open s3://" in cause
    assert "wJalrXUtnFEMI" not in cause and "AKIAEXAMPLE" not in cause
