"""Which Flink configuration keys are sensitive (masked) and which are not (Flink's own rule is compared in
``tests/integration/test_secrets.py``)."""

from __future__ import annotations

import pytest

from airflow_flink_k8s.core.sensitive_keys import (
    is_sensitive_key,
    sensitive_options,
    values_to_mask,
)

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
