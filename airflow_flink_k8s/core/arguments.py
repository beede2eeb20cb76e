"""The operator, teardown and sensor arguments beside the spec, checked before anything is created: at construction
for the values that are not templated, and again once rendered, before any API call. Each rule raises
``FlinkSpecError`` naming the argument and the rule."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.names import HA_MODES, LEADER_HA_MODES

LAUNCHERS = ("native", "cli")
IF_EXISTS = ("fail", "reuse", "replace", "upgrade")
#: How ``if_exists="upgrade"`` carries the running job's state into the new spec (the Flink Kubernetes Operator's
#: ``upgradeMode`` values).
UPGRADE_MODES = ("savepoint", "last-state", "stateless")
#: ``rest_endpoint.AccessMode`` and ``readiness.ReadinessLevel`` values, spelled out: DAG parsing loads this module
#: and not those (a unit test keeps them equal).
ACCESS_MODES = ("direct", "service", "proxy", "auto")
READINESS_TARGETS = ("leader", "rest", "running", "checkpointed", "finished")
REST_SCHEMES = ("http", "https")
#: Jinja's default block and expression starts: a string holding one is rendered before the task runs.
_TEMPLATE_MARKS = ("{{", "{%")
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_JOB_ID = re.compile(r"[0-9a-f]{32}")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_ZK_QUORUM = re.compile(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}(,[A-Za-z0-9.\-\[\]:]+:\d{1,5})*", re.ASCII)
#: Flink refuses longer cluster ids (KubernetesUtils / KubernetesConfigOptions.CLUSTER_ID).
CLUSTER_ID_MAX_LENGTH = 45

Rule = Callable[[str, Any], None]


def is_templated(value: Any) -> bool:
    """Whether ``value`` (or a key or item inside it) is a Jinja template Airflow renders before ``execute``."""
    if isinstance(value, str):
        return any(mark in value for mark in _TEMPLATE_MARKS)
    if isinstance(value, Mapping):
        return any(is_templated(k) or is_templated(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(is_templated(item) for item in value)
    return False


# ----------------------------------------------------------------- one rule per kind of value
def choice(*choices: str) -> Rule:
    def rule(name: str, value: Any) -> None:
        if value not in choices:
            raise FlinkSpecError(name, f"must be one of {', '.join(choices)}", value)
    return rule


def optional(inner: Rule) -> Rule:
    def rule(name: str, value: Any) -> None:
        if value is not None:
            inner(name, value)
    return rule


def seconds(name: str, value: Any) -> None:
    """A finite number of seconds above 0 (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise FlinkSpecError(name, "must be a finite number of seconds above 0", value)


def flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise FlinkSpecError(name, "must be True or False", value)


def text(name: str, value: Any) -> None:
    """A non-empty string without surrounding blanks (a connection id, a file name)."""
    if not isinstance(value, str) or not value or value != value.strip():
        raise FlinkSpecError(name, "must be a non-empty string without surrounding spaces", value)


def cluster_id(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise FlinkSpecError(name, "must be a non-empty string", value)
    if len(value) > CLUSTER_ID_MAX_LENGTH:
        raise FlinkSpecError(name, f"must be at most {CLUSTER_ID_MAX_LENGTH} characters (Flink's limit)", value)
    if not _DNS_1035.fullmatch(value):
        raise FlinkSpecError(name, "must be a DNS-1035 label ([a-z]([-a-z0-9]*[a-z0-9])?)", value)


def namespace(name: str, value: Any) -> None:
    if not isinstance(value, str) or len(value) > 63 or not _DNS_1123_LABEL.fullmatch(value):
        raise FlinkSpecError(name, "must be a DNS-1123 label of at most 63 characters", value)


def job_id(name: str, value: Any) -> None:
    if not isinstance(value, str) or not _JOB_ID.fullmatch(value.strip().lower()):
        raise FlinkSpecError(name, "must be 32 hexadecimal digits (a Flink job id)", value)


def uri(name: str, value: Any) -> None:
    if not isinstance(value, str) or not _URI.fullmatch(value) or value.rstrip("/").endswith(":/"):
        raise FlinkSpecError(name, "must be a URI with a scheme and a path, e.g. s3://bucket/savepoints", value)


def zookeeper_quorum(name: str, value: Any) -> None:
    if not isinstance(value, str) or not _ZK_QUORUM.fullmatch(value) or not all(
            0 < int(entry.rpartition(":")[2]) < 65536 for entry in value.split(",")):
        raise FlinkSpecError(name, "must be host:port[,host:port…] with ports 1-65535", value)


def zookeeper_root(name: str, value: Any) -> None:
    from airflow_flink_k8s.core.ha_data import check_zookeeper_root

    try:
        check_zookeeper_root(value)
    except ValueError as error:
        raise FlinkSpecError(name, str(error)) from None  # the rule and the value, as HaLocation says them


def port(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise FlinkSpecError(name, "must be a port number in 1..65535", value)


def moment(name: str, value: Any) -> None:
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise FlinkSpecError(name, "must be an ISO-8601 time with a time zone, e.g. 2026-01-01T00:00:00+00:00",
                             value)


def flink_version(name: str, value: Any) -> None:
    from airflow_flink_k8s.core.versions import FlinkVersion

    try:
        FlinkVersion.parse(value)
    except ValueError:
        raise FlinkSpecError(name, "must be a Flink version MAJOR.MINOR[.PATCH], e.g. 2.3", value) from None


# ----------------------------------------------------------------- the arguments of each task
LAUNCH_RULES: dict[str, Rule] = {
    "launcher": choice(*LAUNCHERS), "if_exists": choice(*IF_EXISTS), "kubernetes_conn_id": text,
    "zookeeper_conn_id": optional(text), "flink_bin": text, "cli_timeout": seconds, "flink_conf_dir": optional(text),
    "delete_timeout": seconds, "wait_until": optional(choice(*READINESS_TARGETS)), "wait_timeout": seconds,
    "wait_poll_interval": seconds, "access_mode": choice(*ACCESS_MODES), "deferrable": flag,
    "adopt_native_clusters": flag, "keep_cluster": flag, "upgrade_mode": optional(choice(*UPGRADE_MODES)),
    "savepoint_timeout": seconds,
}
TEARDOWN_RULES: dict[str, Rule] = {
    "cluster_id": cluster_id, "namespace": optional(namespace), "ha": choice(*HA_MODES), "keep_ha_data": flag,
    "kubernetes_conn_id": text, "zookeeper_conn_id": optional(text), "zookeeper_quorum": optional(zookeeper_quorum),
    "zookeeper_root": zookeeper_root, "delete_timeout": seconds, "savepoint": flag, "savepoint_dir": optional(uri),
    "drain": flag, "job_id": optional(job_id), "savepoint_timeout": seconds, "adopt_native_clusters": flag,
    "remove_orphaned_ha_data": flag,
}
SENSOR_RULES: dict[str, Rule] = {
    "cluster_id": cluster_id, "namespace": optional(namespace), "ha": choice(*LEADER_HA_MODES),
    "flink_version": flink_version, "target": choice(*READINESS_TARGETS), "job_id": optional(job_id),
    "checkpointed_after": optional(moment), "expect_finished": flag, "access_mode": choice(*ACCESS_MODES),
    "kubernetes_conn_id": optional(text), "zookeeper_conn_id": optional(text),
    "zookeeper_quorum": optional(zookeeper_quorum), "zookeeper_root": zookeeper_root, "rest_port": port,
    "rest_scheme": choice(*REST_SCHEMES), "rest_verify": flag, "rest_timeout": seconds, "deferrable": flag,
}


def check_arguments(rules: Mapping[str, Rule], values: Mapping[str, Any], templated: Collection[str] = ()) -> None:
    """Check ``values`` by ``rules``; a value of a ``templated`` field that holds a template waits for rendering."""
    for name, rule in rules.items():
        if name in values and not (name in templated and is_templated(values[name])):
            rule(name, values[name])


def _settled(values: Mapping[str, Any], templated: Collection[str], *names: str) -> bool:
    return not any(name in templated and is_templated(values.get(name)) for name in names)


def check_launch_arguments(values: Mapping[str, Any], templated: Collection[str] = ()) -> None:
    """The launch operator's arguments beside the spec (``LAUNCH_RULES``), that ``keep_cluster`` goes with
    ``wait_until="finished"`` and ``upgrade_mode`` exactly with ``if_exists="upgrade"``."""
    check_arguments(LAUNCH_RULES, values, templated)
    if values.get("keep_cluster") and values.get("wait_until") != "finished":
        raise FlinkSpecError("keep_cluster", "is used only with wait_until='finished' (the other waits never "
                             "delete the cluster)", values["keep_cluster"])
    if not _settled(values, templated, "if_exists", "upgrade_mode"):
        return
    upgrading, mode = values.get("if_exists") == "upgrade", values.get("upgrade_mode")
    if upgrading and mode is None:
        raise FlinkSpecError("upgrade_mode", f"is required with if_exists='upgrade': one of {', '.join(UPGRADE_MODES)}"
                             " (how the running job's state reaches the new spec)")
    if not upgrading and mode is not None:
        raise FlinkSpecError("upgrade_mode", "is used only with if_exists='upgrade'", mode)


def check_teardown_arguments(values: Mapping[str, Any], templated: Collection[str] = ()) -> None:
    """The teardown operator's arguments (``TEARDOWN_RULES``), and that ZooKeeper HA data has an address and the
    savepoint options are used only with ``savepoint=True``."""
    check_arguments(TEARDOWN_RULES, values, templated)
    if _settled(values, templated, "ha", "zookeeper_quorum"):
        check_zookeeper_address(values.get("ha"), values.get("zookeeper_conn_id"), values.get("zookeeper_quorum"))
    if not values.get("savepoint"):
        for name, unused in (("savepoint_dir", None), ("drain", False), ("job_id", None)):
            if values.get(name, unused) != unused:
                raise FlinkSpecError(name, "is used only with savepoint=True", values[name])
    if values.get("keep_ha_data") and values.get("remove_orphaned_ha_data"):
        raise FlinkSpecError("remove_orphaned_ha_data", "contradicts keep_ha_data=True: give one of them")


def check_zookeeper_address(ha: Any, zookeeper_conn_id: str | None, zookeeper_quorum: str | None) -> None:
    """With ZooKeeper HA, the HA data's ensemble must be named (a connection, a quorum or both)."""
    if ha == "zookeeper" and zookeeper_conn_id is None and zookeeper_quorum is None:
        raise FlinkSpecError("zookeeper_quorum", "ha='zookeeper' needs zookeeper_conn_id or zookeeper_quorum: the "
                             "ensemble whose HA data the teardown removes")


def check_sensor_arguments(values: Mapping[str, Any], templated: Collection[str] = ()) -> None:
    """The sensor's arguments (``SENSOR_RULES``), and which ZooKeeper address and connection go with its HA."""
    check_arguments(SENSOR_RULES, values, templated)
    if not _settled(values, templated, "ha", "zookeeper_quorum", "access_mode"):
        return
    ha, has_conn, has_quorum = values.get("ha"), values.get("zookeeper_conn_id") is not None, \
        values.get("zookeeper_quorum") is not None
    if ha == "zookeeper" and has_conn == has_quorum:
        raise FlinkSpecError("zookeeper_quorum", "ha='zookeeper' needs exactly one of zookeeper_conn_id and "
                             "zookeeper_quorum")
    if not values.get("kubernetes_conn_id") and (ha == "kubernetes" or values.get("access_mode") == "proxy"):
        raise FlinkSpecError("kubernetes_conn_id", "is needed with ha='kubernetes' or access_mode='proxy' (read "
                             "through the Kubernetes API server)")
