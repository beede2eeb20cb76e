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
from typing import TYPE_CHECKING, Any

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.java_text import JAVA_TRIM
from airflow_flink_k8s.core.job_id import java_string_hash
from airflow_flink_k8s.core.names import (
    FLINK_CONF_DIR_IN_POD,
    FLINK_CONFIG_VOLUME,
    POD_TEMPLATE_DIR,
    POD_TEMPLATE_VOLUME,
    USER_ARTIFACTS_DIR_IN_POD,
)

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
HOST_NETWORK = "kubernetes.hostnetwork.enabled"
OWNER_REFERENCE = "kubernetes.jobmanager.owner.reference"
CONF_DIR = "kubernetes.flink.conf.dir"
HADOOP_CONFIG_MAP = "kubernetes.hadoop.conf.config-map.name"
#: ``KUBERNETES_HADOOP_CONF_MOUNT_DECORATOR_ENABLED``: ``false`` switches the Hadoop volume off.
HADOOP_MOUNT_ENABLED = "kubernetes.decorator.hadoop-conf-mount.enabled"
PERSISTENT_VOLUME_CLAIMS = "kubernetes.persistent-volume-claims"
PERSISTENT_VOLUME_CLAIM_READ_ONLY = "kubernetes.persistent-volume-claim-read-only"
ARTIFACTS_DIR = "user.artifacts.base-dir"

#: ``Constants``: the Hadoop configuration volume, its mount path and the env var naming it.
HADOOP_CONF_VOLUME = "hadoop-config-volume"
HADOOP_CONF_DIR_IN_POD = "/opt/hadoop/conf"
HADOOP_CONF_DIR_ENV = "HADOOP_CONF_DIR"

#: Rendered options → the first release whose client has them. An older client does not know the option and only
#: writes it into the configuration, as this provider does: ``kubernetes.internal-service.annotations`` came with
#: FLINK-34429 (1.20), the Services' ``.labels`` with FLINK-37478 (2.1); the 1.20.3 jar has the former only.
#: ``kubernetes.persistent-volume-claims`` is in the 2.3.0 jar and not in 1.20.3: rendered from 2.3, refused by
#: name for 2.0-2.2 (not checked against those clients); ``user.artifacts.base-dir`` came with 1.19's
#: user-artifacts volume.
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
    HOST_NETWORK: (1, 16),
    OWNER_REFERENCE: (1, 16),
    CONF_DIR: (1, 16),
    HADOOP_CONFIG_MAP: (1, 16),
    PERSISTENT_VOLUME_CLAIMS: (2, 3),
    PERSISTENT_VOLUME_CLAIM_READ_ONLY: (2, 3),
    ARTIFACTS_DIR: (1, 19),
}

#: Options the native launcher refuses → (first release whose client has them, the release from which it is
#: rendered instead or None, the spec field or other way to get the same). The client applies them from its own
#: local files, which a launch from a worker does not have.
NATIVE_REFUSED: dict[str, tuple[tuple[int, int], tuple[int, int] | None, str]] = {
    PERSISTENT_VOLUME_CLAIMS: ((2, 0), RENDERED[PERSISTENT_VOLUME_CLAIMS],
                               "jobmanager_pod_template (a volume and a mount of flink-main-container); "
                               "rendered from Flink 2.3, whose client was checked"),
    "security.kerberos.login.keytab": ((1, 16), None, "secret_mounts (the client ships its local keytab in a "
                                                      "Secret)"),
    "security.kerberos.krb5-conf.path": ((1, 16), None, "secret_mounts (the client ships its local krb5.conf in a "
                                                        "ConfigMap)"),
    "kubernetes.artifacts.local-upload-enabled": ((1, 19), None, "a jar_uri the JobManager can read (local:// in "
                                                                 "the image, or a remote URI)"),
}

#: Refused boolean options whose default, ``false``, is accepted.
_OFF_BY_DEFAULT = ("kubernetes.artifacts.local-upload-enabled",)
#: ``PersistentVolumeClaimMountDecorator.DNS_1123_SUBDOMAIN_PATTERN``: the claim names the client accepts.
_CLAIM_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
#: ``KubernetesOwnerReference.fromMap``'s keys (lower case) → the ownerReference field.
_OWNER_FIELDS = {"apiversion": "apiVersion", "kind": "kind", "name": "name", "uid": "uid", "controller": "controller",
                 "blockownerdeletion": "blockOwnerDeletion"}
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def check_native_options(spec: FlinkApplicationSpec) -> None:
    """Raise ``FlinkSpecError`` for the first ``flink_conf`` key the native launcher does not render."""
    for key in unrendered_options(spec):
        raise FlinkSpecError(f"flink_conf[{key!r}]", "is not rendered by the native launcher: use launcher='cli' "
                             f"(the real client applies it) or {NATIVE_REFUSED[key][2]}")


def unrendered_options(spec: FlinkApplicationSpec) -> list[str]:
    """The ``flink_conf`` keys (as Flink reads them) that shape objects the native launcher does not render; a
    boolean option set to its default (``false``) shapes nothing."""
    keys = [name.strip(JAVA_TRIM) for name in spec.flink_conf]
    return [key for key in keys if key in NATIVE_REFUSED and _refused_for(spec, key)
            and (key not in _OFF_BY_DEFAULT or str(conf_value(spec, key)).strip(JAVA_TRIM).lower() != "false")]


def _refused_for(spec: FlinkApplicationSpec, key: str) -> bool:
    first, rendered_from, _ = NATIVE_REFUSED[key]
    return spec.version.at_least(*first) and (rendered_from is None or not spec.version.at_least(*rendered_from))


def check_jobmanager_options(spec: FlinkApplicationSpec) -> None:
    """Raise ``FlinkSpecError`` for a rendered option the Flink client would refuse, or that would make the API
    server refuse the JobManager Deployment (both launchers; the Services' keys and values: ``spec``)."""
    cpu_limit(spec)
    _factor(spec, MEMORY_LIMIT_FACTOR)
    for key in SERVICE_METADATA_OPTIONS:
        option_map(spec, key)
    host_network(spec)
    owner_references(spec)
    hadoop_config_map(spec)
    persistent_volume_claims(spec)
    for key in (CONF_DIR, ARTIFACTS_DIR):
        if key in _set_keys(spec) and spec.version.at_least(*RENDERED[key]):
            _check_container_path(key, conf_value(spec, key))
    paths: dict[str, str] = {}
    for volume, path in flink_volumes(spec):
        if path.rstrip("/") in paths:
            raise FlinkSpecError("flink_conf", f"Flink would mount {volume} and {paths[path.rstrip('/')]} at the "
                                 "same path (the API server refuses the Deployment)", path)
        paths[path.rstrip("/")] = volume


def flink_volumes(spec: FlinkApplicationSpec) -> list[tuple[str, str]]:
    """(volume name, mount path) of every volume Flink adds to the JobManager pod and its main container, in the
    order the client adds them, for the checks: the artifacts and pod template volumes are listed even where the
    version or the spec has none (their names and paths stay reserved)."""
    claims, _ = persistent_volume_claims(spec)
    hadoop = [(HADOOP_CONF_VOLUME, HADOOP_CONF_DIR_IN_POD)] if hadoop_config_map(spec) is not None else []
    return [("user-artifacts-volume", artifacts_dir(spec)),
            *((f"{name}-volume", path) for name, path in spec.secret_mounts.items()),
            *((volume, path) for volume, _, path in claims), *hadoop,
            (FLINK_CONFIG_VOLUME, conf_dir(spec)), (POD_TEMPLATE_VOLUME, POD_TEMPLATE_DIR)]


def host_network(spec: FlinkApplicationSpec) -> bool:
    """``kubernetes.hostnetwork.enabled``: the pod on the node's network, ``ClusterFirstWithHostNet``, no ports."""
    return _boolean(spec, HOST_NETWORK, default=False)


def owner_references(spec: FlinkApplicationSpec) -> list[dict[str, Any]]:
    """``kubernetes.jobmanager.owner.reference`` as ``KubernetesOwnerReference.fromMap`` builds each entry: keys
    matched case-insensitively, the booleans by ``Boolean.valueOf``, other keys ignored (the client logs them)."""
    text = conf_value(spec, OWNER_REFERENCE)
    if text is None:
        return []
    references: list[dict[str, Any]] = []
    try:
        items = _split_escaped(text, ";")
    except ValueError as exc:
        raise FlinkSpecError(f"flink_conf[{OWNER_REFERENCE!r}]", f"is not a Flink list of maps: {exc}") from None
    for item in items:
        reference: dict[str, Any] = {}
        for name, value in _parse_map(item, OWNER_REFERENCE).items():
            field = _OWNER_FIELDS.get(name.lower())
            if field in ("controller", "blockOwnerDeletion"):
                reference[field] = value.lower() == "true"
            elif field is not None:
                reference[field] = value
        missing = [name for name in ("apiVersion", "kind", "name", "uid") if not reference.get(name)]
        if missing:
            raise FlinkSpecError(f"flink_conf[{OWNER_REFERENCE!r}]", "each owner reference ('k1:v1,k2:v2', ';' "
                                 "between references) needs apiVersion, kind, name and uid (the API server refuses "
                                 f"the Deployment otherwise); missing {', '.join(missing)}", item)
        references.append(reference)
    if sum(1 for reference in references if reference.get("controller")) > 1:
        raise FlinkSpecError(f"flink_conf[{OWNER_REFERENCE!r}]", "may name one controller (controller:true) at "
                             "most: the API server refuses the Deployment otherwise", text)
    return references


def conf_dir(spec: FlinkApplicationSpec) -> str:
    """``kubernetes.flink.conf.dir``: where the configuration volume is mounted."""
    return conf_value(spec, CONF_DIR) or FLINK_CONF_DIR_IN_POD


def artifacts_dir(spec: FlinkApplicationSpec) -> str:
    """``user.artifacts.base-dir``: where the ``user-artifacts-volume`` is mounted (1.19+)."""
    value = conf_value(spec, ARTIFACTS_DIR)
    return value if value is not None and spec.version.at_least(*RENDERED[ARTIFACTS_DIR]) \
        else USER_ARTIFACTS_DIR_IN_POD


def hadoop_config_map(spec: FlinkApplicationSpec) -> str | None:
    """The existing ConfigMap mounted at ``/opt/hadoop/conf`` (``HadoopConfMountDecorator``): the option's value,
    trimmed, unless blank or the decorator is switched off."""
    name = (conf_value(spec, HADOOP_CONFIG_MAP) or "").strip(JAVA_TRIM)
    return name if name and _boolean(spec, HADOOP_MOUNT_ENABLED, default=True) else None


def persistent_volume_claims(spec: FlinkApplicationSpec) -> tuple[list[tuple[str, str, str]], bool]:
    """``PersistentVolumeClaimMountDecorator`` (2.3+): (volume name, claim, mount path) in the iteration order of
    the ``HashMap`` Flink reads the option into, and whether they are mounted read-only; what the client's
    validation refuses is refused."""
    if not spec.version.at_least(*RENDERED[PERSISTENT_VOLUME_CLAIMS]):
        return [], False
    key = f"flink_conf[{PERSISTENT_VOLUME_CLAIMS!r}]"
    claims: list[tuple[str, str, str]] = []
    text = conf_value(spec, PERSISTENT_VOLUME_CLAIMS)
    for claim, path in (_parse_map(text, PERSISTENT_VOLUME_CLAIMS) if text is not None else {}).items():
        if len(claim) > 253 or not _CLAIM_NAME.fullmatch(claim):
            raise FlinkSpecError(key, "claim names must be DNS-1123 subdomains (the client refuses others)", claim)
        _check_container_path(PERSISTENT_VOLUME_CLAIMS, path)
        volume = pvc_volume_name(claim)
        if len(volume) > 63:
            raise FlinkSpecError(key, f"claim names must give a volume name of at most 63 characters ({volume!r}; "
                                 "the client refuses longer ones)", claim)
        if any(path == p or volume == v for v, _, p in claims):
            raise FlinkSpecError(key, "mount paths and volume names (the claim with '.' as '-', plus '-pvc') must "
                                 "be unique (the client refuses them twice)", claim)
        claims.append((volume, claim, path))
    table = _grown_table_size(len(claims))
    order = {claim: (_bucket(claim, table), index) for index, (_, claim, _) in enumerate(claims)}
    claims.sort(key=lambda entry: order[entry[1]])
    return claims, _boolean(spec, PERSISTENT_VOLUME_CLAIM_READ_ONLY, default=False)


def pvc_volume_name(claim: str) -> str:
    """``PersistentVolumeClaimMountDecorator.getVolumeName`` (2.3.0): the claim with '.' as '-', plus ``-pvc``."""
    return claim.replace(".", "-") + "-pvc"


def conf_value(spec: FlinkApplicationSpec, key: str) -> str | None:
    """``flink_conf``'s value of ``key``, the key compared as Flink reads it (stripped), or None."""
    for name, value in spec.flink_conf.items():
        if name.strip(JAVA_TRIM) == key:
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


SERVICE_METADATA_OPTIONS = (REST_SERVICE_ANNOTATIONS, REST_SERVICE_LABELS, INTERNAL_SERVICE_ANNOTATIONS,
                            INTERNAL_SERVICE_LABELS)


def option_map(spec: FlinkApplicationSpec, key: str) -> dict[str, str]:
    """A map option (``k1:v1,k2:v2``) as Flink's ``StructuredOptionsSplitter`` reads it; {} when unset or when the
    client of ``spec.flink_version`` does not have the option (``RENDERED``)."""
    text = conf_value(spec, key)
    if text is None or not spec.version.at_least(*RENDERED[key]):
        return {}
    return _parse_map(text, key)


def _parse_map(text: str, key: str) -> dict[str, str]:
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


def _set_keys(spec: FlinkApplicationSpec) -> set[str]:
    return {name.strip(JAVA_TRIM) for name in spec.flink_conf}


def _boolean(spec: FlinkApplicationSpec, key: str, *, default: bool) -> bool:
    """A boolean option as Flink converts it (``true``/``false`` in any case, not trimmed); anything else is
    refused, as the client refuses it."""
    text = conf_value(spec, key)
    if text is None:
        return default
    value = text.lower()
    if value not in ("true", "false"):
        raise FlinkSpecError(f"flink_conf[{key!r}]", "must be true or false (the client refuses other values)",
                             text)
    return value == "true"


def _check_container_path(key: str, path: str | None) -> None:
    if not path or not path.startswith("/") or ":" in path or ".." in path.split("/"):
        raise FlinkSpecError(f"flink_conf[{key!r}]", "must be an absolute container path without ':' or '..' "
                             "(the API server refuses the mount otherwise)", path)


def _factor(spec: FlinkApplicationSpec, key: str) -> float:
    text = conf_value(spec, key)
    if text is None:
        return 1.0
    number = text.strip(JAVA_TRIM)
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
            tokens.append(("u", text[cursor:end].strip(JAVA_TRIM)))
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
