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

Beyond the three rules, keys that hold key material under names none of them knows: encryption keys
(``fs.s3a.encryption.key``, ``fs.s3a.server-side-encryption.key``), SSL keys of connector ``properties.*``, and
environment variables ``containerized.master.env.*`` / ``containerized.taskmanager.env.*`` whose name looks like
a credential (``PASS``, ``SECRET``, ``TOKEN``, ``KEY``). JVM options (``env.java.opts.*``) are not secret as a
whole, but a ``-D<name>=<value>`` with a sensitive name carries one (:func:`embedded_secrets`); so does a URI's
user-info (``s3://KEY:SECRET@bucket``, :func:`uri_credentials`) in any value.

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
_ENCRYPTION_KEY = re.compile(r"encryption[._-]?key")
_SSL_KEY_PROPERTY = re.compile(r"(^|\.)properties\..*ssl.*key")
_CONTAINER_ENV = re.compile(r"containerized\.(master|taskmanager)\.env\.(?P<name>.+)", re.IGNORECASE)
#: Parts of an environment variable's name (upper case) that mark it as a credential.
CREDENTIAL_ENV_PARTS = ("PASS", "SECRET", "TOKEN", "KEY")
#: ``-D<name>=<value>`` in JVM options; the value may be quoted.
JVM_OPTION = re.compile(r"""-D(?P<name>[^\s=]+)=(?P<value>"[^"]*"|'[^']*'|\S*)""")
#: ``scheme://user-info@`` in a URI.
URI_USER_INFO = re.compile(r"\b[A-Za-z][\w+.-]*://(?P<userinfo>[^/\s@?#]+)@")


def normalised_name(key: str) -> str:
    """``key`` as Airflow compares it with its sensitive names: lower case, non-word runs become ``_``."""
    return _NON_WORD.sub("_", key.strip().lower())


def is_sensitive_key(key: str, airflow_fields: Iterable[str] = ()) -> bool:
    """True when ``key`` holds a credential by Flink's rule, Airflow's names ``airflow_fields`` or an access key id."""
    lowered = key.strip().lower()
    if any(part in lowered for part in FLINK_SENSITIVE_KEYS):
        return True
    if _ENCRYPTION_KEY.search(lowered) or _SSL_KEY_PROPERTY.search(lowered):
        return True
    env = _CONTAINER_ENV.fullmatch(key.strip())
    if env and any(part in env.group("name").upper() for part in CREDENTIAL_ENV_PARTS):
        return True
    name = normalised_name(key)
    return any(part in name for part in ACCESS_KEY_PARTS) or any(
        field.strip().lower() in name for field in airflow_fields if field.strip())


def worth_masking(value: str) -> bool:
    """A credential's value that masking can hide: not empty, not a ``true``/``false`` switch."""
    return bool(value.strip()) and value.strip().lower() not in _NOT_MASKED


def embedded_secrets(key: str, value: str, airflow_fields: Iterable[str] = ()) -> list[str]:
    """The credentials inside the value of a key that is not secret as a whole: the values of sensitive
    ``-D<name>=<value>`` options in ``env.java.*`` (quotes stripped), and URI user-info (whole, and its password)."""
    fields = tuple(airflow_fields)
    found: list[str] = []
    if key.strip().lower().startswith("env.java."):
        for option in JVM_OPTION.finditer(value):
            if is_sensitive_key(option.group("name"), fields):
                found.append(option.group("value").strip("\"'"))
    found.extend(uri_credentials(value))
    return [secret for secret in dict.fromkeys(found) if worth_masking(secret)]


def uri_credentials(value: str) -> list[str]:
    """The user-info of every URI in ``value`` (``user:password``), and the password part on its own."""
    found: list[str] = []
    for match in URI_USER_INFO.finditer(value):
        userinfo = match.group("userinfo")
        found.append(userinfo)
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    return found


def sensitive_options(conf: Mapping[str, Any], airflow_fields: Iterable[str] = ()) -> dict[str, str]:
    """The options of a Flink configuration that hold a credential, whole or inside their value; values as
    strings."""
    fields = tuple(airflow_fields)
    return {key: str(value) for key, value in conf.items() if isinstance(key, str) and (
        is_sensitive_key(key, fields) or embedded_secrets(key, str(value), fields))}


def values_to_mask(conf: Mapping[str, Any], airflow_fields: Iterable[str] = ()) -> list[str]:
    """What to mask in logs: the values of sensitive keys and the credentials inside other values, each worth
    masking."""
    fields = tuple(airflow_fields)
    masked: list[str] = []
    for key, value in conf.items():
        if not isinstance(key, str):
            continue
        text = str(value)
        if is_sensitive_key(key, fields):
            masked.append(text)
        else:
            masked.extend(embedded_secrets(key, text, fields))
    return [value for value in dict.fromkeys(masked) if worth_masking(value)]
