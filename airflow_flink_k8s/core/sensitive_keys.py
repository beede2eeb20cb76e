"""Which Flink configuration keys hold credentials, and which of their values to mask (pure, no I/O).

A key is sensitive when any of three rules says so:

* **Flink's own rule** (``GlobalConfiguration.isSensitive``): the lower-cased key contains one of
  ``FLINK_SENSITIVE_KEYS``. Read from the released 1.20.3 and 2.3.0 jars: 2.x added ``api-key``; the union is
  applied to every version, since a credential does not stop being one on 1.20.
* **Airflow's rule** (``SecretsMasker.should_hide_value_for_key``): the key, lower-cased with each run of
  non-word characters turned into ``_``, contains one of Airflow's sensitive field names (``[core]
  sensitive_var_conn_names`` plus its defaults). The caller passes those names, read from the masker at run time.
* **Access key ids**, which neither Flink nor Airflow's defaults name when spelled ``accessKeyId`` (e.g.
  ``fs.oss.accessKeyId``): a normalised key containing ``access_key`` or ``accesskey``. ``s3.access-key`` is half
  of a credential pair; Airflow's default ``access_key`` catches it too, but only while
  ``hide_sensitive_var_conn_fields`` is on, so this rule keeps it sensitive regardless.

Values ``true``/``false`` of sensitive keys (switches such as ``security.delegation.tokens.enabled``) are not
masked: masking them would hide every ``true`` in the task log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

#: ``GlobalConfiguration.SENSITIVE_KEYS`` in Flink 1.20.3.
FLINK_1_20_SENSITIVE_KEYS = ("password", "secret", "fs.azure.account.key", "apikey", "auth-params", "service-key",
                             "token", "basic-auth", "jaas.config", "http-headers")
#: ``GlobalConfiguration.SENSITIVE_KEYS`` in Flink 2.3.0 (``api-key`` is new).
FLINK_2_SENSITIVE_KEYS = ("password", "secret", "fs.azure.account.key", "apikey", "api-key", "auth-params",
                          "service-key", "token", "basic-auth", "jaas.config", "http-headers")
FLINK_SENSITIVE_KEYS = tuple(dict.fromkeys(FLINK_1_20_SENSITIVE_KEYS + FLINK_2_SENSITIVE_KEYS))
#: Parts of a normalised key that name an access key id.
ACCESS_KEY_PARTS = ("access_key", "accesskey")
_NOT_MASKED = frozenset({"true", "false"})
_NON_WORD = re.compile(r"\W+")


def normalised_name(key: str) -> str:
    """``key`` as Airflow compares it with its sensitive names: lower case, non-word runs become ``_``."""
    return _NON_WORD.sub("_", key.strip().lower())


def is_sensitive_key(key: str, airflow_fields: Iterable[str] = ()) -> bool:
    """True when ``key`` holds a credential by Flink's rule, Airflow's names ``airflow_fields`` or an access key id."""
    lowered = key.lower()
    if any(part in lowered for part in FLINK_SENSITIVE_KEYS):
        return True
    name = normalised_name(key)
    return any(part in name for part in ACCESS_KEY_PARTS) or any(
        field.strip().lower() in name for field in airflow_fields if field.strip())


def sensitive_options(conf: Mapping[str, Any], airflow_fields: Iterable[str] = ()) -> dict[str, str]:
    """The sensitive subset of a Flink configuration, values as strings."""
    fields = tuple(airflow_fields)
    return {key: str(value) for key, value in conf.items()
            if isinstance(key, str) and is_sensitive_key(key, fields)}


def values_to_mask(conf: Mapping[str, Any], airflow_fields: Iterable[str] = ()) -> list[str]:
    """The values of ``sensitive_options`` worth masking in logs: not empty, not a ``true``/``false`` switch."""
    return [value for value in sensitive_options(conf, airflow_fields).values()
            if value.strip() and value.strip().lower() not in _NOT_MASKED]
