"""``flink_conf`` options the Flink client applies to the JobManager's objects, and how the native launcher treats them.

Inventory: the options of ``KubernetesConfigOptions`` and ``ResourceManagerOptions`` read by
``KubernetesJobManagerFactory`` and its decorators, listed from the released 1.20.3 and 2.3.0 jars (an option the
spec manages is refused for both launchers by ``flink_keys.MANAGED_KEYS``). Every other one is either

* rendered by ``kubernetes_objects`` exactly as the client renders it (``RENDERED``; the values are read here), or
* refused by the native launcher (``NATIVE_REFUSED``, ``check_native_options``): the ``cli`` launcher passes it to
  the real client, which applies it.

Options that shape no object (client runtime, JobManager runtime, TaskManager pods) only go into the ConfigMap.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.job_id import java_string_hash

if TYPE_CHECKING:
    from airflow_flink_k8s.core.spec import FlinkApplicationSpec

#: ``ResourceManagerOptions.CONTAINERIZED_MASTER_ENV_PREFIX``: each ``<prefix><NAME>`` is an env var of the JobManager.
MASTER_ENV_PREFIX = "containerized.master.env."
CPU_LIMIT_FACTOR = "kubernetes.jobmanager.cpu.limit-factor"
MEMORY_LIMIT_FACTOR = "kubernetes.jobmanager.memory.limit-factor"
REST_SERVICE_ANNOTATIONS = "kubernetes.rest-service.annotations"
REST_SERVICE_LABELS = "kubernetes.rest-service.labels"
INTERNAL_SERVICE_ANNOTATIONS = "kubernetes.internal-service.annotations"
INTERNAL_SERVICE_LABELS = "kubernetes.internal-service.labels"
ENTRY_PATH = "kubernetes.entry.path"
ENTRYPOINT_ARGS = "kubernetes.jobmanager.entrypoint.args"
LOG_DIR = "kubernetes.flink.log.dir"

#: Rendered options → the first release whose client has them. An older client does not know the option and only
#: writes it into the configuration, as this provider does: ``kubernetes.internal-service.annotations`` came with
#: FLINK-34429 (1.20), the Services' ``.labels`` with FLINK-37478 (2.1); the 1.20.3 jar has the former only.
RENDERED: dict[str, tuple[int, int]] = {
    f"{MASTER_ENV_PREFIX}<NAME>": (1, 16),
    CPU_LIMIT_FACTOR: (1, 16),
    MEMORY_LIMIT_FACTOR: (1, 16),
    REST_SERVICE_ANNOTATIONS: (1, 16),
    REST_SERVICE_LABELS: (2, 1),
    INTERNAL_SERVICE_ANNOTATIONS: (1, 20),
    INTERNAL_SERVICE_LABELS: (2, 1),
    ENTRY_PATH: (1, 16),
    ENTRYPOINT_ARGS: (1, 16),
    LOG_DIR: (1, 16),
}

#: Options the native launcher refuses → (first release whose client has them, the spec field or other way to get
#: the same). Checked in the 1.20.3 and 2.3.0 jars: ``kubernetes.persistent-volume-claims`` is in 2.3.0 only, so it
#: is refused from 2.0 (2.0-2.2 not checked); the artifact options came with 1.19's user-artifacts volume.
NATIVE_REFUSED: dict[str, tuple[tuple[int, int], str]] = {
    "kubernetes.hostnetwork.enabled": ((1, 16), "none (the client also drops the container ports)"),
    "kubernetes.jobmanager.owner.reference": ((1, 16), "none"),
    "kubernetes.flink.conf.dir": ((1, 16), "none (the configuration stays mounted at /opt/flink/conf)"),
    "kubernetes.hadoop.conf.config-map.name": ((1, 16), "jobmanager_pod_template (a configMap volume and mount) "
                                                        "plus containerized.master.env.HADOOP_CONF_DIR"),
    "kubernetes.persistent-volume-claims": ((2, 0), "jobmanager_pod_template (a volume and a mount of "
                                                    "flink-main-container)"),
    "security.kerberos.login.keytab": ((1, 16), "secret_mounts (the client ships its local keytab in a Secret)"),
    "security.kerberos.krb5-conf.path": ((1, 16), "secret_mounts (the client ships its local krb5.conf in a "
                                                  "ConfigMap)"),
    "user.artifacts.base-dir": ((1, 19), "none (the user-artifacts-volume stays at /opt/flink/artifacts)"),
    "kubernetes.artifacts.local-upload-enabled": ((1, 19), "a jar_uri the JobManager can read (local:// in the "
                                                           "image, or a remote URI)"),
}

#: Refused boolean options whose default, ``false``, is accepted.
_OFF_BY_DEFAULT = ("kubernetes.hostnetwork.enabled", "kubernetes.artifacts.local-upload-enabled")
_JAVA_TRIM = "".join(map(chr, range(0x21)))
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def check_native_options(spec: FlinkApplicationSpec) -> None:
    """Raise ``FlinkSpecError`` for the first ``flink_conf`` key the native launcher does not render."""
    for key in unrendered_options(spec):
        raise FlinkSpecError(f"flink_conf[{key!r}]", "is not rendered by the native launcher: use launcher='cli' "
                             f"(the real client applies it) or {NATIVE_REFUSED[key][1]}")


def unrendered_options(spec: FlinkApplicationSpec) -> list[str]:
    """The ``flink_conf`` keys (as Flink reads them) that shape objects the native launcher does not render; a
    boolean option set to its default (``false``) shapes nothing."""
    keys = [name.strip(_JAVA_TRIM) for name in spec.flink_conf]
    return [key for key in keys if key in NATIVE_REFUSED and spec.version.at_least(*NATIVE_REFUSED[key][0])
            and (key not in _OFF_BY_DEFAULT or str(conf_value(spec, key)).strip(_JAVA_TRIM).lower() != "false")]


def check_jobmanager_options(spec: FlinkApplicationSpec) -> None:
    """Raise ``FlinkSpecError`` for a rendered option the Flink client would refuse (both launchers)."""
    cpu_limit(spec)
    _factor(spec, MEMORY_LIMIT_FACTOR)
    for key in (REST_SERVICE_ANNOTATIONS, REST_SERVICE_LABELS, INTERNAL_SERVICE_ANNOTATIONS, INTERNAL_SERVICE_LABELS):
        option_map(spec, key)


def conf_value(spec: FlinkApplicationSpec, key: str) -> str | None:
    """``flink_conf``'s value of ``key``, the key compared as Flink reads it (stripped), or None."""
    for name, value in spec.flink_conf.items():
        if name.strip(_JAVA_TRIM) == key:
            return str(value)
    return None


def master_env(spec: FlinkApplicationSpec, configuration_size: int) -> list[tuple[str, str]]:
    """``containerized.master.env.*`` as the client lists it in the container's env: in the iteration order of the
    ``HashMap`` ``ConfigurationUtils.getPrefixedKeyValuePairs`` fills from ``Configuration.toMap()``.

    ``configuration_size`` is the number of keys of the client's configuration (``toMap`` is sized for it); names
    in one bucket of both maps keep the order of their ``-D`` options (``flink_conf``'s order)."""
    keys = [key for key in spec.flink_conf if key.startswith(MASTER_ENV_PREFIX) and len(key) > len(MASTER_ENV_PREFIX)]
    by_name = {key[len(MASTER_ENV_PREFIX):]: (index, key) for index, key in enumerate(keys)}
    outer = _table_size(-(-configuration_size * 4 // 3))
    inner = _grown_table_size(len(by_name))

    def place(name: str) -> tuple[int, int, int]:
        index, key = by_name[name]
        return _bucket(name, inner), _bucket(key, outer), index

    return [(name, str(spec.flink_conf[by_name[name][1]])) for name in sorted(by_name, key=place)]


def cpu_limit(spec: FlinkApplicationSpec) -> str:
    """The container's cpu limit: requested cores times the cpu limit factor, as Java's ``String.valueOf(double)``."""
    cores = float(spec.jobmanager_cpu if spec.jobmanager_cpu is not None else 1.0)
    limit = cores * _factor(spec, CPU_LIMIT_FACTOR)
    if limit >= 1e7:
        raise FlinkSpecError(f"flink_conf[{CPU_LIMIT_FACTOR!r}]", "must keep the cpu limit under 10 million cores")
    return repr(limit)


def memory_limit_mebibytes(spec: FlinkApplicationSpec, requested: int) -> int:
    """The container's memory limit: ``(int) (requested MiB * memory limit factor)``, as the client computes it."""
    return int(requested * _factor(spec, MEMORY_LIMIT_FACTOR))


def option_map(spec: FlinkApplicationSpec, key: str) -> dict[str, str]:
    """A map option (``k1:v1,k2:v2``) as Flink's ``StructuredOptionsSplitter`` reads it; {} when unset or when the
    client of ``spec.flink_version`` does not have the option (``RENDERED``)."""
    text = conf_value(spec, key)
    if text is None or not spec.version.at_least(*RENDERED[key]):
        return {}
    result: dict[str, str] = {}
    try:
        for item in _split_escaped(text, ","):
            pair = _split_escaped(item, ":")
            if len(pair) != 2:
                raise ValueError("Map item is not a key-value pair (missing ':'?)")
            if pair[0] in result:
                raise ValueError(f"the key {pair[0]!r} is given twice")
            result[pair[0]] = pair[1]
    except ValueError as exc:
        raise FlinkSpecError(f"flink_conf[{key!r}]", f"is not a Flink map ('k1:v1,k2:v2'): {exc}") from None
    return result


def _factor(spec: FlinkApplicationSpec, key: str) -> float:
    text = conf_value(spec, key)
    if text is None:
        return 1.0
    number = text.strip(_JAVA_TRIM)
    value = float(number) if _DECIMAL.fullmatch(number) else float("nan")
    if not 1.0 <= value < float("inf"):
        raise FlinkSpecError(f"flink_conf[{key!r}]", "must be a finite decimal number of at least 1 (Flink checks "
                             "it when it builds the JobManager's resources)", text)
    return value


def _bucket(key: str, table_size: int) -> int:
    h = java_string_hash(key) & 0xFFFFFFFF
    return (h ^ (h >> 16)) & (table_size - 1)


def _table_size(capacity: int) -> int:
    """``HashMap.tableSizeFor``: the power of two at least ``capacity``."""
    size = 1
    while size < capacity:
        size *= 2
    return size


def _grown_table_size(entries: int) -> int:
    """The table of a default ``HashMap`` after ``entries`` puts (16, doubled past load factor 0.75)."""
    size = 16
    while entries > size * 3 // 4:
        size *= 2
    return size


def _split_escaped(text: str, delimiter: str) -> list[str]:
    """``StructuredOptionsSplitter.splitEscaped``: split at ``delimiter`` outside '…' or "…" (a doubled quote escapes
    it), unquoted parts trimmed, an empty part kept only between two delimiters."""
    tokens: list[tuple[str, str]] = []  # (kind, text): kind is "q" quoted, "u" unquoted, "d" delimiter
    cursor = 0
    while cursor < len(text):
        char = text[cursor]
        if char in "'\"":
            part, cursor = _in_quotes(text, char, cursor)
            tokens.append(("q", part))
        elif char == delimiter:
            tokens.append(("d", char))
            cursor += 1
        elif char.isspace():
            cursor += 1
        else:
            end = text.find(delimiter, cursor)
            end = len(text) if end < 0 else end
            tokens.append(("u", text[cursor:end].strip(_JAVA_TRIM)))
            cursor = end
    parts: list[str] = []
    for index, (kind, part) in enumerate(tokens):
        following = tokens[index + 1][0] if index + 1 < len(tokens) else None
        if kind == "q" and following not in (None, "d"):
            raise ValueError("Could not split string. Illegal quoting")
        if kind != "d":
            parts.append(part)
        elif following == "d":
            parts.append("")
    return parts


def _in_quotes(text: str, quote: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    index = start + 1
    while index < len(text):
        if text[index] == quote:
            if index + 1 < len(text) and text[index + 1] == quote:
                out.append(quote)
                index += 2
                continue
            return "".join(out), index + 1
        out.append(text[index])
        index += 1
    raise ValueError("Could not split string. Quoting was not closed properly.")
