"""Which Flink configuration keys are sensitive (masked) and which are not (Flink's own rule is compared in
``tests/integration/test_secrets.py``)."""

from __future__ import annotations

import pytest
from airflow.sdk._shared.secrets_masker import redact, should_hide_value_for_key

from airflow_flink_k8s.core.sensitive_keys import (
    FLINK_SENSITIVE_KEYS,
    embedded_secrets,
    is_sensitive_key,
    sensitive_options,
    values_to_mask,
)
from airflow_flink_k8s.operators import airflow_sensitive_fields

AIRFLOW_DEFAULTS = ("access_key", "api_key", "password", "secret", "token", "dsn", "private_key", "passphrase")


@pytest.mark.parametrize(("key", "airflow_fields", "sensitive"), [
    ("s3.secret-key", (), True),                       # Flink: "secret"
    ("s3.access-key", (), True),                       # not Flink's; an access key id (Airflow: "access_key")
    ("fs.s3a.access.key", (), True),
    ("fs.oss.accessKeyId", (), True),                  # neither Flink's nor Airflow's default names
    ("fs.azure.account.key.acct.blob.core.windows.net", (), True),   # Flink's, not Airflow's
    ("security.ssl.internal.truststore-password", (), True),
    ("jdbc.sink.dsn", (), False),
    ("jdbc.sink.dsn", AIRFLOW_DEFAULTS, True),         # Airflow's names, normalised as Airflow does
    ("my.private-key.pem", AIRFLOW_DEFAULTS, True),
    ("pipeline.name", AIRFLOW_DEFAULTS, False),
    ("state.backend.type", AIRFLOW_DEFAULTS, False),
])
def test_a_key_is_sensitive_by_flink_airflow_or_the_access_key_rule(key: str, airflow_fields: tuple[str, ...],
                                                                    sensitive: bool) -> None:
    assert is_sensitive_key(key, airflow_fields) is sensitive


def test_switches_of_sensitive_keys_are_not_masked() -> None:
    conf = {"security.delegation.tokens.enabled": "true", "s3.secret-key": "abcdefgh", "pipeline.name": "etl",
            "rest.http-headers": ""}
    assert set(sensitive_options(conf)) == {"security.delegation.tokens.enabled", "s3.secret-key", "rest.http-headers"}
    assert values_to_mask(conf) == ["abcdefgh"]


#: Key material under names that neither Flink's rule nor Airflow's masker knows: the rules issue 10 added.
NEWLY_COVERED = [
    "fs.s3a.encryption.key", "fs.s3a.server-side-encryption.key", "s3.encryption-key",
    "properties.ssl.keystore.key", "sink.properties.ssl.truststore.key", "properties.ssl.key",
    "connector.properties.ssl.keystore.key",
    "containerized.master.env.PGPASS", "containerized.master.env.DB_PASS", "containerized.taskmanager.env.SIGNING_KEY",
    "containerized.taskmanager.env.SSH_KEY",
]


def flinks_rule(key: str) -> bool:
    """``GlobalConfiguration.isSensitive`` (1.20.3 and 2.3.0): the lower-cased key contains a sensitive word."""
    return any(part in key.lower() for part in FLINK_SENSITIVE_KEYS)


def test_the_two_existing_rules_catch_a_plain_secret_key() -> None:
    """The oracles below are live: Flink's rule and Airflow's masker do hide ``s3.secret-key``."""
    assert flinks_rule("s3.secret-key")
    assert should_hide_value_for_key("s3.secret-key")
    assert redact({"s3.secret-key": "hunter2-control"}) == {"s3.secret-key": "***"}


@pytest.mark.parametrize("key", NEWLY_COVERED)
def test_key_material_flink_and_airflow_miss_is_sensitive(key: str) -> None:
    value = f"material-of-{key}"
    # Harm first: Flink would print it (its rule misses the key) and Airflow's masker would leave it in clear.
    assert not flinks_rule(key)
    assert not should_hide_value_for_key(key)
    assert redact({key: value}) == {key: value}
    # Now: the provider's rule flags it, so its value is registered with the masker and redacted in log tails.
    assert is_sensitive_key(key, airflow_sensitive_fields())
    assert values_to_mask({key: value}, airflow_sensitive_fields()) == [value]


@pytest.mark.parametrize("key", [
    "properties.ssl.key.password", "containerized.master.env.AWS_SECRET_ACCESS_KEY",
    "containerized.taskmanager.env.DB_PASSWORD", "containerized.master.env.GITHUB_TOKEN",
    "containerized.taskmanager.env.API_KEY",
])
def test_key_material_the_issue_named_that_flink_or_airflow_already_catch_stays_sensitive(key: str) -> None:
    assert flinks_rule(key) or should_hide_value_for_key(key)
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", [
    "containerized.master.env.JAVA_HOME", "containerized.taskmanager.env.LD_LIBRARY_PATH",
    "properties.bootstrap.servers", "env.java.opts.jobmanager", "env.java.opts.all", "state.checkpoints.dir",
    "security.ssl.enabled",
])
def test_ordinary_keys_are_not_sensitive(key: str) -> None:
    assert not is_sensitive_key(key)


def test_credentials_inside_jvm_options_and_uris_are_masked_not_the_whole_value() -> None:
    conf = {"env.java.opts.jobmanager": "-Dsome.password=pw1 -Xmx1g -Daws.secretKey='sk 2' -Dfoo=bar",
            "env.java.opts.all": "-Dtrace.enabled=true -XX:+UseG1GC",
            "state.checkpoints.dir": "s3://AKIAX:topsecret@bucket/ckpt", "pipeline.name": "etl"}
    assert embedded_secrets("env.java.opts.jobmanager", conf["env.java.opts.jobmanager"]) == ["pw1", "sk 2"]
    assert values_to_mask(conf) == ["pw1", "sk 2", "AKIAX:topsecret", "topsecret"]
    # Whole options that carry one stay off the cli launcher's argv; others stay on it.
    assert set(sensitive_options(conf)) == {"env.java.opts.jobmanager", "state.checkpoints.dir"}
