"""The launch spec of one Flink native-Kubernetes application cluster, validated before any API call.

``FlinkApplicationSpec`` holds every option of a ``flink run-application -t kubernetes-application`` launch
(cluster id, image, jar, resources, scheduling, HA, per-cluster checkpoint/savepoint dirs, job id, restore).
Bad input raises ``FlinkSpecError`` naming the field and the rule. Which Flink key each field becomes, per
Flink version, is the table in ``airflow_flink_k8s.core.configuration``.
"""

from __future__ import annotations

import copy
import functools
import math
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

from airflow_flink_k8s.core.arguments import cluster_id as cluster_id_rule
from airflow_flink_k8s.core.arguments import namespace as namespace_rule
from airflow_flink_k8s.core.errors import FlinkSpecError as FlinkSpecError
from airflow_flink_k8s.core.file_uris import FILE_SYSTEM_SCHEMES, JAR_SCHEMES, uri_problem
from airflow_flink_k8s.core.java_text import JAVA_TRIM
from airflow_flink_k8s.core.names import FLINK_DIST_DIRS, FLINK_MOUNT_PATHS, HA_MODES
from airflow_flink_k8s.core.pod_template import check_pod_template
from airflow_flink_k8s.core.sensitive_keys import URI_USER_INFO
from airflow_flink_k8s.core.versions import NEWEST_LAUNCHABLE, OLDEST_LAUNCHABLE, FlinkVersion

REST_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
PULL_POLICIES = ("IfNotPresent", "Always", "Never")
TOLERATION_FIELDS = ("key", "operator", "value", "effect", "tolerationSeconds")
TOLERATION_OPERATORS = ("Exists", "Equal")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

class _LazyPattern:
    """A regular expression compiled on first use: DAG files import this module, and validation may never run
    there (compiling these at import was most of its import cost)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)

    @functools.cached_property
    def _compiled(self) -> re.Pattern[str]:
        return re.compile(*self._args)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self._compiled.fullmatch(text)

    def match(self, text: str) -> re.Match[str] | None:
        return self._compiled.match(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self._compiled.search(text)


_DNS_1123_LABEL = _LazyPattern(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1123_SUBDOMAIN = _LazyPattern(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = _LazyPattern(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_URI_SCHEME = _LazyPattern(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
# Flink's MemorySize and TimeUtils parsers read ASCII digits only, into a Java long (at most 19 digits).
_MEMORY = _LazyPattern(
    r"[0-9]{1,19}\s*(b|bytes|k|kb|kibibytes|m|mb|mebibytes|g|gb|gibibytes|t|tb|tebibytes)?", re.IGNORECASE | re.ASCII
)
_DURATION = _LazyPattern(
    r"([0-9]{1,19})\s*(ns|nano|nanos|nanosecond|nanoseconds|µs|micro|micros|microsecond|microseconds|ms|milli|millis"
    r"|millisecond|milliseconds|s|sec|secs|second|seconds|m|min|minute|minutes|h|hour|hours|d|day|days)?",
    re.IGNORECASE | re.ASCII,
)
#: Flink's smallest checkpoint interval (CheckpointCoordinatorConfiguration.MINIMAL_CHECKPOINT_TIME).
MIN_CHECKPOINT_INTERVAL_MS = 10
#: Milliseconds per unit of a _DURATION.
_DURATION_MILLIS: dict[str, Fraction] = {
    label: Fraction(millis)
    for labels, millis in (("ns nano nanos nanosecond nanoseconds", Fraction(1, 1_000_000)),
                           ("µs micro micros microsecond microseconds", Fraction(1, 1000)),
                           ("ms milli millis millisecond milliseconds", 1), ("s sec secs second seconds", 1000),
                           ("m min minute minutes", 60_000), ("h hour hours", 3_600_000), ("d day days", 86_400_000))
    for label in labels.split()
}
_JOB_ID = _LazyPattern(r"[0-9a-f]{32}")
_JAVA_CLASS = _LazyPattern(r"[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*")
_ENV_NAME = _LazyPattern(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_SECRET_KEY = _LazyPattern(r"[-._a-zA-Z0-9]+")
# A container image reference as the registries' grammar (distribution/reference) has it: [domain[:port]/]path
# [:tag][@digest], the path in lower case.
_IMAGE = _LazyPattern(
    r"(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"(?::[0-9]+)?/|\[[0-9a-fA-F:]+\](?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?",
    re.ASCII,
)
#: Kubernetes' limit on the annotations of one object, keys plus values (TotalAnnotationSizeLimitB).
ANNOTATIONS_MAX_BYTES = 256 * 1024
#: Flink's upper bound of any max parallelism (KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM).
MAX_PARALLELISM = 1 << 15
_ZK_QUORUM = _LazyPattern(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}(,[A-Za-z0-9.\-\[\]:]+:\d{1,5})*", re.ASCII)



@dataclass(frozen=True, kw_only=True)
class FlinkApplicationSpec:
    """One Flink application cluster launched with ``-t kubernetes-application``.

    Mappings are stored as plain dicts and sequences as tuples; treat them as read-only.
    ``restore`` is ``"none"`` (fresh start), ``"latest"`` (resume from HA metadata; needs HA and the kept
    ``job_id``) or a savepoint/checkpoint path with a scheme. ``allow_non_restored_state`` lets a savepoint restore
    skip the state of operators the new program no longer has (Flink's ``--allowNonRestoredState``).
    ``secret_mounts`` maps Kubernetes Secret names to the path each is mounted at; ``secret_env`` lists
    ``{"env": NAME, "secret": SECRET, "key": KEY}`` entries, each an environment variable from a Secret's key.
    Both reach the JobManager and TaskManager pods without the values entering the Flink configuration.
    ``jobmanager_pod_template`` is a Pod manifest merged into the JobManager pod as the Flink client merges
    ``kubernetes.pod-template-file.jobmanager`` (``core.pod_template``). ``pod_template`` is Flink's
    ``kubernetes.pod-template-file.default``: the template of the JobManager and the TaskManagers that have no own
    (``jobmanager_pod_template``/``taskmanager_pod_template`` win, as the client's fallback); on construction it
    fills the fields it stands for, so the rest of the provider reads those two.
    ``logging_files`` maps ``log4j-console.properties`` / ``logback-console.xml`` to the text each pod's conf dir
    gets instead of the distribution's own file (``core.logging_files``).
    """

    cluster_id: str
    image: str
    jar_uri: str
    flink_version: FlinkVersion | str
    namespace: str = "default"
    image_pull_policy: str = "IfNotPresent"
    image_pull_secrets: Sequence[str] = ()
    service_account: str | None = None
    entry_class: str | None = None
    program_args: Sequence[str] = ()
    parallelism: int | None = None
    jobmanager_memory: str = "1600m"
    taskmanager_memory: str = "1728m"
    jobmanager_cpu: float | str | None = None
    taskmanager_cpu: float | str | None = None
    task_slots: int | None = None
    jobmanager_replicas: int = 1
    jobmanager_node_selector: Mapping[str, str] = field(default_factory=dict)
    taskmanager_node_selector: Mapping[str, str] = field(default_factory=dict)
    jobmanager_tolerations: Sequence[Mapping[str, Any]] = ()
    taskmanager_tolerations: Sequence[Mapping[str, Any]] = ()
    jobmanager_labels: Mapping[str, str] = field(default_factory=dict)
    taskmanager_labels: Mapping[str, str] = field(default_factory=dict)
    jobmanager_annotations: Mapping[str, str] = field(default_factory=dict)
    taskmanager_annotations: Mapping[str, str] = field(default_factory=dict)
    pod_template: Mapping[str, Any] | None = None
    taskmanager_pod_template: Mapping[str, Any] | None = None
    jobmanager_pod_template: Mapping[str, Any] | None = None
    rest_service_type: str = "ClusterIP"
    ha: str = "none"
    ha_storage_dir: str | None = None
    zookeeper_quorum: str | None = None
    zookeeper_root: str = "/flink"
    checkpoint_base_dir: str | None = None
    savepoint_base_dir: str | None = None
    checkpoint_interval: str | None = None
    job_id: str | None = None
    restore: str = "none"
    allow_non_restored_state: bool = False
    flink_conf: Mapping[str, Any] = field(default_factory=dict)
    secret_mounts: Mapping[str, str] = field(default_factory=dict)
    secret_env: Sequence[Mapping[str, str]] = ()
    logging_files: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _normalise(self)
        for check in _CHECKS:
            check(self)
        # Imported on first validation, not at import: DAG files import this module (the operator's fields), and
        # these rules pull in YAML and Flink's memory model. ``configuration`` imports this module for types only.
        from airflow_flink_k8s.core.configuration import check_configuration_file, check_managed_keys
        from airflow_flink_k8s.core.jobmanager_options import check_jobmanager_options

        check_managed_keys(self.flink_conf, self.version)
        check_configuration_file(self)
        check_jobmanager_options(self)
        _check_service_metadata(self)

    @property
    def version(self) -> FlinkVersion:
        """``flink_version`` as a ``FlinkVersion``."""
        assert isinstance(self.flink_version, FlinkVersion)
        return self.flink_version

    @property
    def checkpoint_dir(self) -> str | None:
        """``<checkpoint_base_dir>/<cluster_id>``; checkpoints land in ``<this>/<job_id>/chk-N``."""
        return _per_cluster(self.checkpoint_base_dir, self.cluster_id)

    @property
    def savepoint_dir(self) -> str | None:
        """``<savepoint_base_dir>/<cluster_id>``."""
        return _per_cluster(self.savepoint_base_dir, self.cluster_id)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FlinkApplicationSpec:
        """Build a spec from rendered operator arguments; unknown names raise ``FlinkSpecError``."""
        known = {f.name for f in fields(cls)}
        for name in values:
            if name not in known:
                raise FlinkSpecError(name, f"is not a FlinkApplicationSpec field (known: {', '.join(sorted(known))})")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values; ``from_dict(to_dict())`` gives an equal spec."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, FlinkVersion):
                value = str(value)
            elif isinstance(value, tuple):
                value = [dict(v) if isinstance(v, Mapping) else v for v in value]
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        return out


def _per_cluster(base: str | None, cluster_id: str) -> str | None:
    return None if base is None else f"{base.rstrip('/')}/{cluster_id}"


def _set(spec: FlinkApplicationSpec, name: str, value: Any) -> None:
    object.__setattr__(spec, name, value)


def _normalise(spec: FlinkApplicationSpec) -> None:
    """Coerce containers to tuples/dicts and flink_conf values to strings, so specs compare by value; fill the
    pod templates ``pod_template`` stands for (``kubernetes.pod-template-file.default``'s fallback)."""
    if spec.pod_template is not None:
        if not isinstance(spec.pod_template, Mapping) or spec.pod_template.get("kind", "Pod") != "Pod":
            raise FlinkSpecError("pod_template", "must be a Pod manifest as a mapping", spec.pod_template)
        _set(spec, "pod_template", copy.deepcopy(dict(spec.pod_template)))
        for name in ("jobmanager_pod_template", "taskmanager_pod_template"):
            if getattr(spec, name) is None:
                _set(spec, name, copy.deepcopy(spec.pod_template))
    for name in ("image_pull_secrets", "program_args"):
        value = getattr(spec, name)
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise FlinkSpecError(name, "must be a list of strings", value)
        _set(spec, name, tuple(value))
    for name in ("jobmanager_tolerations", "taskmanager_tolerations"):
        value = getattr(spec, name)
        if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence):
            raise FlinkSpecError(name, "must be a list of toleration mappings", value)
        if not all(isinstance(t, Mapping) for t in value):
            raise FlinkSpecError(name, "must be a list of toleration mappings", value)
        _set(spec, name, tuple(dict(t) for t in value))
    value = spec.secret_env
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence) or not all(
            isinstance(item, Mapping) for item in value):
        raise FlinkSpecError("secret_env", "must be a list of {'env': NAME, 'secret': SECRET, 'key': KEY} mappings",
                             value)
    _set(spec, "secret_env", tuple(dict(item) for item in value))
    for name in (
        "jobmanager_node_selector",
        "taskmanager_node_selector",
        "jobmanager_labels",
        "taskmanager_labels",
        "jobmanager_annotations",
        "taskmanager_annotations",
        "flink_conf",
        "secret_mounts",
        "logging_files",
    ):
        value = getattr(spec, name)
        if not isinstance(value, Mapping) and name == "flink_conf":
            # It may hold credentials: name the type, never echo the value.
            raise FlinkSpecError(name, f"must be a mapping, not a {type(value).__name__}")
        if not isinstance(value, Mapping):
            raise FlinkSpecError(name, "must be a mapping", value)
        _set(spec, name, dict(value))
    conf: dict[str, str] = {}
    for key, value in spec.flink_conf.items():
        if not isinstance(key, str) or not key.strip():
            raise FlinkSpecError("flink_conf", "keys must be non-empty strings", key)
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        elif not isinstance(value, str):
            raise FlinkSpecError(f"flink_conf[{key!r}]",
                                 f"must be a string, number or boolean, not a {type(value).__name__}")
        conf[key] = value
    _set(spec, "flink_conf", conf)
    try:
        _set(spec, "flink_version", FlinkVersion.parse(spec.flink_version))
    except ValueError:
        raise FlinkSpecError("flink_version", "must be MAJOR.MINOR[.PATCH]", spec.flink_version) from None


def _check_identity(spec: FlinkApplicationSpec) -> None:
    cluster_id_rule("cluster_id", spec.cluster_id)
    namespace_rule("namespace", spec.namespace)
    version = spec.version
    if not (OLDEST_LAUNCHABLE <= version <= NEWEST_LAUNCHABLE):
        raise FlinkSpecError(
            "flink_version",
            f"must be a launchable Flink release, {OLDEST_LAUNCHABLE.series} to {NEWEST_LAUNCHABLE.series}",
            str(version),
        )


def _check_image(spec: FlinkApplicationSpec) -> None:
    image = spec.image
    if not isinstance(image, str) or not image.strip() or re.search(r"\s", image):
        raise FlinkSpecError("image", "must be a non-empty image reference without whitespace", image)
    if image.startswith("-"):
        raise FlinkSpecError("image", "must not start with '-'", image)
    if not _IMAGE.fullmatch(image):
        rule = "repository name must be lower case" if _IMAGE.fullmatch(image.lower()) else \
            "must be an image reference [registry[:port]/]name[:tag][@digest]"
        raise FlinkSpecError("image", rule, image)
    if spec.image_pull_policy not in PULL_POLICIES:
        raise FlinkSpecError("image_pull_policy", f"must be one of {', '.join(PULL_POLICIES)}", spec.image_pull_policy)
    for secret in spec.image_pull_secrets:
        if not isinstance(secret, str) or len(secret) > 253 or not _DNS_1123_SUBDOMAIN.fullmatch(secret):
            raise FlinkSpecError("image_pull_secrets", "each must be a Secret name (DNS-1123 subdomain)", secret)
    sa = spec.service_account
    if sa is not None and (not isinstance(sa, str) or len(sa) > 253 or not _DNS_1123_SUBDOMAIN.fullmatch(sa)):
        raise FlinkSpecError("service_account", "must be a ServiceAccount name (DNS-1123 subdomain)", sa)


def _check_program(spec: FlinkApplicationSpec) -> None:
    jar = spec.jar_uri
    if not isinstance(jar, str) or not _URI_SCHEME.fullmatch(jar):
        raise FlinkSpecError("jar_uri", "must be a URI with a scheme, e.g. local:///opt/flink/usrlib/job.jar", jar)
    if not spec.version.at_least(1, 19) and not jar.startswith("local://"):
        raise FlinkSpecError("jar_uri", "must use the local:// scheme for Flink 1.18 and older", jar)
    problem = uri_problem(jar, JAR_SCHEMES)
    if problem:
        raise FlinkSpecError("jar_uri", problem, jar)
    if spec.entry_class is not None and (
        not isinstance(spec.entry_class, str) or not _JAVA_CLASS.fullmatch(spec.entry_class)
    ):
        raise FlinkSpecError("entry_class", "must be a fully qualified Java class name", spec.entry_class)
    for arg in spec.program_args:
        if not isinstance(arg, str) or "\x00" in arg:
            raise FlinkSpecError("program_args", "each must be a string without NUL characters", arg)
    for name in ("parallelism", "task_slots", "jobmanager_replicas"):
        value = getattr(spec, name)
        if value is None and name != "jobmanager_replicas":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise FlinkSpecError(name, "must be an integer of at least 1", value)


def _check_resources(spec: FlinkApplicationSpec) -> None:
    for name in ("jobmanager_memory", "taskmanager_memory"):
        value = getattr(spec, name)
        # At most 2**43 - 1 MiB: Flink's byte count is a Java long.
        if (
            not isinstance(value, str)
            or not _MEMORY.fullmatch(value.strip())
            or not 1 <= memory_mebibytes(value) < 1 << 43
        ):
            raise FlinkSpecError(
                name,
                "must be a Flink memory size of at least 1 MiB (and under 8 EiB), an integer with unit b/k/m/g/t, "
                "e.g. 1600m",
                value,
            )
    # Flink's memory model (the CLI refuses these before creating anything; a pod would crash-loop).
    from airflow_flink_k8s.core.memory_model import jobmanager_memory, taskmanager_memory  # see __post_init__

    # The sizes as the configuration renders them (stripped): what Flink reads.
    jobmanager_memory(spec.jobmanager_memory.strip(), spec.flink_conf, spec.version)
    taskmanager_memory(spec.taskmanager_memory.strip(), spec.flink_conf, spec.version)
    for name in ("jobmanager_cpu", "taskmanager_cpu"):
        value = getattr(spec, name)
        if value is None:
            continue
        try:
            amount = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            amount = math.nan
        if not (0.001 <= amount < 1e6):
            raise FlinkSpecError(name, "must be a number of cores between 0.001 and 1e6, e.g. 0.5", value)
        _set(spec, name, amount)


def _check_scheduling(spec: FlinkApplicationSpec) -> None:
    for name in ("jobmanager_node_selector", "taskmanager_node_selector", "jobmanager_labels", "taskmanager_labels"):
        for key, value in getattr(spec, name).items():
            if not _is_label_key(key):
                raise FlinkSpecError(name, "keys must be Kubernetes label keys ([prefix/]name)", key)
            if not isinstance(value, str) or len(value) > 63 or not _LABEL_NAME.fullmatch(value):
                raise FlinkSpecError(name, f"value of {key!r} must be a non-empty Kubernetes label value", value)
    for name in ("jobmanager_annotations", "taskmanager_annotations"):
        for key, value in getattr(spec, name).items():
            if not _is_label_key(key, max_name=63):
                raise FlinkSpecError(name, "keys must be Kubernetes annotation keys ([prefix/]name)", key)
            if not isinstance(value, str):
                raise FlinkSpecError(name, f"value of {key!r} must be a string", value)
        size = sum(len(key.encode()) + len(value.encode()) for key, value in getattr(spec, name).items())
        if size > ANNOTATIONS_MAX_BYTES:
            raise FlinkSpecError(name, f"must total at most {ANNOTATIONS_MAX_BYTES // 1024} KiB, keys plus values "
                                 f"(Kubernetes' limit per object); these are {size} bytes")
    for name in ("jobmanager_tolerations", "taskmanager_tolerations"):
        for toleration in getattr(spec, name):
            _check_toleration(name, toleration)
    template = spec.taskmanager_pod_template
    if template is not None and (not isinstance(template, Mapping) or template.get("kind", "Pod") != "Pod"):
        raise FlinkSpecError("taskmanager_pod_template", "must be a Pod manifest as a mapping", template)
    if spec.rest_service_type not in REST_SERVICE_TYPES:
        raise FlinkSpecError(
            "rest_service_type", f"must be one of {', '.join(REST_SERVICE_TYPES)}", spec.rest_service_type
        )


def _check_toleration(name: str, toleration: Mapping[str, Any]) -> None:
    unknown = set(toleration) - set(TOLERATION_FIELDS)
    if unknown:
        raise FlinkSpecError(
            name, f"toleration fields must be among {', '.join(TOLERATION_FIELDS)}", sorted(unknown, key=str)
        )
    operator = toleration.get("operator", "Equal")
    if operator not in TOLERATION_OPERATORS:
        raise FlinkSpecError(name, f"toleration operator must be one of {', '.join(TOLERATION_OPERATORS)}", operator)
    effect = toleration.get("effect")
    if effect is not None and effect not in TOLERATION_EFFECTS:
        raise FlinkSpecError(name, f"toleration effect must be one of {', '.join(TOLERATION_EFFECTS)}", effect)
    seconds = toleration.get("tolerationSeconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
        raise FlinkSpecError(name, "tolerationSeconds must be an integer", seconds)
    key = toleration.get("key")
    if key is not None and not _is_label_key(key):
        raise FlinkSpecError(name, "toleration key must be a Kubernetes label key", key)
    value = toleration.get("value")
    if value is not None and (not isinstance(value, str) or (value and not _LABEL_NAME.fullmatch(value))):
        raise FlinkSpecError(name, "toleration value must be a Kubernetes label value", value)
    # Kubernetes' ValidateTolerations.
    if operator == "Exists" and value:
        raise FlinkSpecError(name, "toleration value must be empty when operator is 'Exists'", value)
    if not key and operator != "Exists":
        raise FlinkSpecError(name, "toleration operator must be 'Exists' when key is empty (it matches every taint)",
                             dict(toleration))
    if seconds is not None and effect != "NoExecute":
        raise FlinkSpecError(name, "toleration effect must be 'NoExecute' when tolerationSeconds is set", effect)


def _check_ha(spec: FlinkApplicationSpec) -> None:
    from airflow_flink_k8s.core.ha_data import check_zookeeper_root  # see __post_init__

    for name in ("ha_storage_dir", "zookeeper_quorum", "zookeeper_root"):  # typed even when ha does not use them
        if not isinstance(getattr(spec, name), str | None):
            raise FlinkSpecError(name, "must be a string", getattr(spec, name))
    if spec.ha not in HA_MODES:
        raise FlinkSpecError("ha", f"must be one of {', '.join(HA_MODES)}", spec.ha)
    if spec.ha == "none":
        if spec.jobmanager_replicas > 1:
            raise FlinkSpecError(
                "jobmanager_replicas", "must be 1 unless ha is kubernetes or zookeeper", spec.jobmanager_replicas
            )
        return
    if spec.ha_storage_dir is None:
        raise FlinkSpecError("ha_storage_dir", f"is required when ha={spec.ha!r}")
    _check_uri("ha_storage_dir", spec.ha_storage_dir)
    if spec.ha == "zookeeper":
        quorum = spec.zookeeper_quorum
        if not quorum:
            raise FlinkSpecError("zookeeper_quorum", "is required when ha='zookeeper' (host:port[,host:port…])")
        if not isinstance(quorum, str) or not _ZK_QUORUM.fullmatch(quorum) or not all(
            0 < int(entry.rpartition(":")[2]) < 65536 for entry in quorum.split(",")
        ):
            raise FlinkSpecError("zookeeper_quorum", "must be host:port[,host:port…] with ports 1-65535", quorum)
        root = spec.zookeeper_root
        try:
            check_zookeeper_root(root)
        except ValueError as error:
            raise FlinkSpecError(
                "zookeeper_root", f"must be an absolute znode path such as /flink or /flink/<namespace> ({error})",
                root) from None


def _check_state(spec: FlinkApplicationSpec) -> None:
    for name in ("checkpoint_base_dir", "savepoint_base_dir"):
        value = getattr(spec, name)
        if value is not None:
            _check_uri(name, value)
    interval = spec.checkpoint_interval
    # Passed to Flink as written: trimmed as Java trims, at least Flink's minimum checkpoint interval (below it the
    # job fails at submission: CheckpointConfig.setCheckpointInterval), and a Java long in milliseconds.
    match = _DURATION.fullmatch(interval.strip(JAVA_TRIM)) if isinstance(interval, str) else None
    if interval is not None and (
        not match or not MIN_CHECKPOINT_INTERVAL_MS <= int(match[1]) * _DURATION_MILLIS[(match[2] or "ms").lower()]
        < 1 << 63
    ):
        raise FlinkSpecError("checkpoint_interval", f"must be a Flink duration of at least {MIN_CHECKPOINT_INTERVAL_MS}"
                             " ms (Flink's minimum checkpoint interval), such as 10s or 1 min", interval)
    job_id = spec.job_id
    if job_id is not None and (not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id)):
        raise FlinkSpecError("job_id", "must be 32 lowercase hexadecimal digits", job_id)
    restore = spec.restore
    if not isinstance(spec.allow_non_restored_state, bool):
        raise FlinkSpecError("allow_non_restored_state", "must be True or False", spec.allow_non_restored_state)
    if spec.allow_non_restored_state and restore == "latest":
        raise FlinkSpecError("allow_non_restored_state", "applies to a savepoint/checkpoint path restore, not to "
                             "restore='latest' (a resume runs the job its HA metadata names)")
    if restore == "latest":
        if spec.ha == "none":
            raise FlinkSpecError(
                "restore", "'latest' resumes from HA metadata, so it needs ha='kubernetes' or 'zookeeper'"
            )
    elif restore != "none":
        if not isinstance(restore, str):
            raise FlinkSpecError("restore", "must be 'none', 'latest' or a savepoint path with a scheme", restore)
        _check_uri("restore", restore, rule="must be 'none', 'latest' or a savepoint path with a scheme")


def _check_secrets(spec: FlinkApplicationSpec) -> None:
    """Secret names, mount paths and env entries as Kubernetes validates the pod Flink builds from them."""
    paths: set[str] = set()
    jar = urlsplit(spec.jar_uri)
    jar_dir = posixpath.dirname(jar.path) if jar.scheme == "local" else None
    for name, path in spec.secret_mounts.items():
        # Flink names the volume "<secret>-volume", which must be a DNS-1123 label (63 characters at most).
        if not isinstance(name, str) or len(name) > 56 or not _DNS_1123_LABEL.fullmatch(name):
            raise FlinkSpecError("secret_mounts", "keys must be Secret names that are DNS-1123 labels of at most 56 "
                                 "characters (Flink mounts each as the volume '<name>-volume')", name)
        if (not isinstance(path, str) or not path.startswith("/") or ":" in path or "\x00" in path
                or ".." in path.split("/")):
            raise FlinkSpecError(f"secret_mounts[{name!r}]", "must be an absolute container path without ':' "
                                 "or '..'", path)
        normalised = path.rstrip("/") or "/"
        if normalised in FLINK_MOUNT_PATHS or normalised in paths:
            raise FlinkSpecError(f"secret_mounts[{name!r}]", "must be a path no other volume is mounted at "
                                 f"(Flink mounts {', '.join(FLINK_MOUNT_PATHS)})", path)
        if any(_contains(normalised, directory) for directory in FLINK_DIST_DIRS):
            raise FlinkSpecError(f"secret_mounts[{name!r}]", "must not hide the Flink distribution (/, /opt/flink "
                                 f"or a directory holding {', '.join(FLINK_DIST_DIRS)})", path)
        if jar_dir is not None and _contains(normalised, jar_dir):
            raise FlinkSpecError(f"secret_mounts[{name!r}]", f"must not hide the job jar ({spec.jar_uri})", path)
        paths.add(normalised)
    names: set[str] = set()
    for entry in spec.secret_env:
        if set(entry) != {"env", "secret", "key"} or not all(isinstance(v, str) for v in entry.values()):
            raise FlinkSpecError("secret_env", "each entry must be {'env': NAME, 'secret': SECRET, 'key': KEY} "
                                 "with string values", entry)
        env, secret, key = entry["env"], entry["secret"], entry["key"]
        if not _ENV_NAME.fullmatch(env) or env == "_POD_IP_ADDRESS":
            raise FlinkSpecError("secret_env", "env must be an environment variable name ([-._a-zA-Z][-._a-zA-Z0-9]*) "
                                 "other than _POD_IP_ADDRESS, which Flink sets", env)
        if env in names:
            raise FlinkSpecError("secret_env", "env names must be unique", env)
        names.add(env)
        if len(secret) > 253 or not _DNS_1123_SUBDOMAIN.fullmatch(secret):
            raise FlinkSpecError("secret_env", f"secret of {env!r} must be a Secret name (DNS-1123 subdomain)", secret)
        if len(key) > 253 or not _SECRET_KEY.fullmatch(key):
            raise FlinkSpecError("secret_env", f"key of {env!r} must be a Secret key ([-._a-zA-Z0-9]+)", key)


def _check_jobmanager_pod_template(spec: FlinkApplicationSpec) -> None:
    """The template as the API server validates the JobManager pod the client merges from it."""
    if spec.jobmanager_pod_template is None:
        return
    from airflow_flink_k8s.core.jobmanager_options import flink_volumes

    volumes = flink_volumes(spec)
    field = "pod_template" if spec.jobmanager_pod_template == spec.pod_template else "jobmanager_pod_template"
    check_pod_template(spec.jobmanager_pod_template, [name for name, _ in volumes], [path for _, path in volumes],
                       field)
    _set(spec, "jobmanager_pod_template", copy.deepcopy(dict(spec.jobmanager_pod_template)))


def _check_logging_files(spec: FlinkApplicationSpec) -> None:
    """Only the files Flink's client ships from its conf dir, as text that fits in the ConfigMap."""
    from airflow_flink_k8s.core.logging_files import LOGGING_FILES, LOGGING_FILES_MAX_BYTES  # see __post_init__

    total = 0
    for name, text in spec.logging_files.items():
        if name not in LOGGING_FILES:
            raise FlinkSpecError("logging_files", f"keys must be among {', '.join(LOGGING_FILES)} (the logging files "
                                 "Flink's client ships from its conf dir)", name)
        if not isinstance(text, str) or not text.strip() or "\x00" in text:
            raise FlinkSpecError(f"logging_files[{name!r}]", "must be the file's text: a non-blank string without NUL "
                                 "characters")
        total += len(text.encode())
    if total > LOGGING_FILES_MAX_BYTES:
        raise FlinkSpecError("logging_files", f"must total at most {LOGGING_FILES_MAX_BYTES // 1024} KiB: they share "
                             "the flink-config-<cid> ConfigMap, which Kubernetes limits to 1 MiB", total)


#: The fields that hold a URI: each would be logged, rendered and written into Flink's configuration.
URI_FIELDS = ("jar_uri", "ha_storage_dir", "checkpoint_base_dir", "savepoint_base_dir", "restore")
URI_CREDENTIALS_RULE = ("credentials in a URI's user-info are not allowed; use a Kubernetes Secret (secret_env / "
                        "secret_mounts) or a flink_conf credential key")


def _check_uri_credentials(spec: FlinkApplicationSpec) -> None:
    """Refuse ``scheme://user[:password]@…`` in the URI fields, without echoing the value."""
    for name in URI_FIELDS:
        value = getattr(spec, name)
        if isinstance(value, str) and URI_USER_INFO.search(value):
            raise FlinkSpecError(name, URI_CREDENTIALS_RULE)


def _check_uri(name: str, value: Any, rule: str = "must be a URI with a scheme, e.g. s3://bucket/flink") -> None:
    if not isinstance(value, str) or not _URI_SCHEME.fullmatch(value) or value.rstrip("/").endswith(":/"):
        raise FlinkSpecError(name, rule, value)
    problem = uri_problem(value, FILE_SYSTEM_SCHEMES)
    if problem:
        raise FlinkSpecError(name, problem, value)


def _contains(mount_path: str, directory: str) -> bool:
    """Whether a volume mounted at ``mount_path`` hides ``directory`` (the same directory or one above it)."""
    return mount_path == "/" or directory == mount_path or directory.startswith(mount_path + "/")


def _check_service_metadata(spec: FlinkApplicationSpec) -> None:
    """The Services' labels and annotations from ``flink_conf`` as the API server validates them."""
    from airflow_flink_k8s.core.jobmanager_options import SERVICE_METADATA_OPTIONS, option_map  # see __post_init__

    for key in SERVICE_METADATA_OPTIONS:
        kind = "label" if key.endswith(".labels") else "annotation"
        for name, value in option_map(spec, key).items():
            if not _is_label_key(name):
                raise FlinkSpecError(f"flink_conf[{key!r}]", f"keys must be Kubernetes {kind} keys ([prefix/]name): "
                                     "the API server refuses the Service otherwise", name)
            if kind == "label" and value and (len(value) > 63 or not _LABEL_NAME.fullmatch(value)):
                raise FlinkSpecError(f"flink_conf[{key!r}]", f"value of {name!r} must be a Kubernetes label value: "
                                     "the API server refuses the Service otherwise", value)


def _is_label_key(key: Any, max_name: int = 63) -> bool:
    if not isinstance(key, str):
        return False
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_1123_SUBDOMAIN.fullmatch(prefix)):
        return False
    return 0 < len(name) <= max_name and bool(_LABEL_NAME.fullmatch(name))


def memory_mebibytes(size: str) -> int:
    """Whole MiB of a Flink memory size (``1600m`` → 1600, ``2g`` → 2048); no unit means bytes."""
    match = re.fullmatch(r"(\d+)\s*([a-z]*)", size.strip().lower())
    if not match:
        raise ValueError(f"not a Flink memory size: {size!r}")
    number, unit = int(match.group(1)), match.group(2)
    shift = {"": 0, "b": 0, "bytes": 0, "k": 10, "kb": 10, "kibibytes": 10, "m": 20, "mb": 20, "mebibytes": 20,
             "g": 30, "gb": 30, "gibibytes": 30, "t": 40, "tb": 40, "tebibytes": 40}[unit]
    return (number << shift) >> 20


def _conf_value(spec: FlinkApplicationSpec, key: str) -> str | None:
    """``flink_conf``'s value of ``key`` as Flink reads it (keys and values trimmed), or None."""
    for name, value in spec.flink_conf.items():
        if isinstance(name, str) and name.strip(JAVA_TRIM) == key:
            return str(value).strip(JAVA_TRIM)
    return None


def _conf_int(spec: FlinkApplicationSpec, key: str) -> int | None:
    value = _conf_value(spec, key)
    return int(value) if value is not None and value.isdecimal() else None


def _slot_capacity(spec: FlinkApplicationSpec) -> int | None:
    """The most slots the ResourceManager will start TaskManagers for (``slotmanager.number-of-slots.max``, in whole
    TaskManagers of ``task_slots`` slots), or None when unbounded."""
    most = _conf_int(spec, "slotmanager.number-of-slots.max")
    per_taskmanager = spec.task_slots or 1
    return None if most is None else most // per_taskmanager * per_taskmanager


def _adaptive(spec: FlinkApplicationSpec) -> bool:
    return (_conf_value(spec, "jobmanager.scheduler") or "").lower() == "adaptive"


def _check_parallelism(spec: FlinkApplicationSpec) -> None:
    """What Flink would refuse, or wait for forever, given the parallelism and the slots it may allocate."""
    if (_conf_value(spec, "scheduler-mode") or "").lower() == "reactive":
        raise FlinkSpecError("flink_conf['scheduler-mode']", "must not be 'reactive': the JobManager of a native "
                             "Kubernetes cluster refuses to start with it (standalone application clusters only); "
                             "use jobmanager.scheduler: adaptive")
    parallelism = spec.parallelism
    if parallelism is None:
        return
    if parallelism > MAX_PARALLELISM:
        raise FlinkSpecError("parallelism", f"must be at most {MAX_PARALLELISM} (Flink's upper bound of max "
                             "parallelism)", parallelism)
    max_parallelism = _conf_int(spec, "pipeline.max-parallelism")
    if max_parallelism is not None and parallelism > max_parallelism:
        raise FlinkSpecError("parallelism", f"must be at most flink_conf's pipeline.max-parallelism "
                             f"({max_parallelism}): Flink refuses the job", parallelism)
    capacity = _slot_capacity(spec)
    if capacity is not None and parallelism > capacity and not _adaptive(spec):
        raise FlinkSpecError("parallelism", f"must be at most the {capacity} slots slotmanager.number-of-slots.max "
                             f"allows ({capacity // (spec.task_slots or 1)} TaskManagers of {spec.task_slots or 1}): "
                             "the job would wait for slots it never gets (or set jobmanager.scheduler: adaptive to "
                             "run with fewer)", parallelism)


def spec_warnings(spec: FlinkApplicationSpec) -> list[str]:
    """What Flink accepts but will not run as asked (a launch logs these)."""
    capacity = _slot_capacity(spec)
    if spec.parallelism is not None and capacity is not None and spec.parallelism > capacity:
        return [f"parallelism {spec.parallelism} is above the {capacity} slots slotmanager.number-of-slots.max "
                "allows: the adaptive scheduler will run the job with at most that many"]
    return []


# URI credentials first: the other checks may echo a URI in their error.
_CHECKS = (_check_uri_credentials, _check_identity, _check_image, _check_program, _check_resources,
           _check_scheduling, _check_ha, _check_state, _check_secrets, _check_jobmanager_pod_template,
           _check_logging_files, _check_parallelism)
