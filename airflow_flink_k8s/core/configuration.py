"""Flink configuration of a launch: spec field → Flink key per version, and the file the client ships.

``FIELD_KEYS`` is the table of which spec field becomes which Flink key in which release (README cites it); it,
``MANAGED_KEYS`` and ``key_for`` live in ``flink_keys`` (``spec`` needs them without importing this module) and are
re-exported here.

* ``flink_configuration(spec)``: the ``-D`` options of the launch (what the user's spec sets).
* ``cluster_configuration(spec)``: those plus the keys the Flink client itself adds before it writes the
  ``flink-config-<cid>`` ConfigMap (target, jars, entry class, program args, fixed ports, HA cluster id…).
* ``serialise_configuration(conf, version)``: that map as Flink writes it: flat ``key: value`` lines in
  ``flink-conf.yaml`` up to 1.18, nested standard YAML in ``config.yaml`` from 1.19.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.flink_keys import FIELD_KEYS as FIELD_KEYS
from airflow_flink_k8s.core.flink_keys import MANAGED_KEYS as MANAGED_KEYS
from airflow_flink_k8s.core.flink_keys import key_for as key_for
from airflow_flink_k8s.core.names import (
    BLOB_SERVER_PORT,
    JOBMANAGER_RPC_PORT,
    TASKMANAGER_RPC_PORT,
)
from airflow_flink_k8s.core.names import POD_TEMPLATE_DIR as POD_TEMPLATE_DIR
from airflow_flink_k8s.core.names import REST_PORT as REST_PORT
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.core.versions import FlinkVersion

#: Where the JobManager finds a TaskManager pod template (PodTemplateMountDecorator mounts it here).
TASKMANAGER_POD_TEMPLATE_FILE = "taskmanager-pod-template.yaml"
APPLICATION_ENTRYPOINT = "org.apache.flink.kubernetes.entrypoint.KubernetesApplicationClusterEntrypoint"


def flink_configuration(spec: FlinkApplicationSpec) -> dict[str, str]:
    """The ``-D`` options of the launch, keyed for ``spec.flink_version``; user keys come last and win."""
    if spec.restore == "latest" and spec.job_id is None:
        raise FlinkSpecError("job_id", "is required with restore='latest': the resumed job keeps its previous id "
                             "(FlinkApplicationOperator reads it from the HA metadata)")
    v = spec.version
    conf: dict[str, str] = {
        key_for("cluster_id", v): spec.cluster_id,
        key_for("namespace", v): spec.namespace,
        key_for("image", v): spec.image,
        key_for("image_pull_policy", v): spec.image_pull_policy,
        key_for("jobmanager_memory", v): spec.jobmanager_memory.strip(),
        key_for("taskmanager_memory", v): spec.taskmanager_memory.strip(),
        key_for("rest_service_type", v): spec.rest_service_type,
    }
    optional: dict[str, str | None] = {
        "image_pull_secrets": ";".join(spec.image_pull_secrets) or None,
        "service_account": spec.service_account,
        "jobmanager_cpu": _java_double(spec.jobmanager_cpu),
        "taskmanager_cpu": _java_double(spec.taskmanager_cpu),
        "task_slots": None if spec.task_slots is None else str(spec.task_slots),
        "jobmanager_replicas": None if spec.jobmanager_replicas == 1 else str(spec.jobmanager_replicas),
        "jobmanager_node_selector": _flink_map(spec.jobmanager_node_selector),
        "taskmanager_node_selector": _flink_map(spec.taskmanager_node_selector),
        "jobmanager_tolerations": _flink_map_list(spec.jobmanager_tolerations),
        "taskmanager_tolerations": _flink_map_list(spec.taskmanager_tolerations),
        "jobmanager_labels": _flink_map(spec.jobmanager_labels),
        "taskmanager_labels": _flink_map(spec.taskmanager_labels),
        "jobmanager_annotations": _flink_map(spec.jobmanager_annotations),
        "taskmanager_annotations": _flink_map(spec.taskmanager_annotations),
        "checkpoint_interval": spec.checkpoint_interval,
        "job_id": spec.job_id,
        "secret_mounts": _flink_map(spec.secret_mounts),
        "secret_env": _flink_map_list(spec.secret_env),
    }
    for name, value in optional.items():
        if value is not None:
            conf[key_for(name, v)] = value
    if spec.ha != "none":
        conf[key_for("ha", v)] = spec.ha
        conf[key_for("ha_storage_dir", v)] = str(spec.ha_storage_dir)
        if spec.ha == "zookeeper":
            conf[key_for("zookeeper_quorum", v)] = str(spec.zookeeper_quorum)
            conf[key_for("zookeeper_root", v)] = spec.zookeeper_root
    if spec.checkpoint_dir is not None:
        conf[key_for("checkpoint_dir", v)] = spec.checkpoint_dir
    if spec.savepoint_dir is not None:
        conf[key_for("savepoint_dir", v)] = spec.savepoint_dir
    if spec.restore not in ("none", "latest"):
        conf[key_for("restore_path", v)] = spec.restore
    conf.update(spec.flink_conf)
    return conf


#: The Java 17 module flags the default configuration of each distribution sets in ``env.java.opts.all``
#: (checked in the 2.3.0 and 1.20.3 distributions). The real client copies them from its local conf into the
#: cluster ConfigMap; without them jobs fail on Java 17 images ("module java.base does not opens java.util").
_JAVA_MODULE_FLAGS_2X = (
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    *(f"--add-exports=jdk.compiler/com.sun.tools.javac.{p}=ALL-UNNAMED" for p in ("api", "file", "parser", "tree",
                                                                                  "util")),
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    *(f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in ("java.lang", "java.net", "java.io", "java.nio", "sun.nio.ch",
                                                          "java.lang.reflect", "java.text", "java.time", "java.util",
                                                          "java.util.concurrent", "java.util.concurrent.atomic",
                                                          "java.util.concurrent.locks")),
)
_JAVA_MODULE_FLAGS_1X = ("--add-exports=java.base/sun.net.util=ALL-UNNAMED", *_JAVA_MODULE_FLAGS_2X)


def java_module_options(version: FlinkVersion) -> str | None:
    """The distribution's default ``env.java.opts.all`` for ``version`` (1.18 brought Java 17 support)."""
    if version.at_least(2, 0):
        return " ".join(_JAVA_MODULE_FLAGS_2X)
    if version.at_least(1, 18):
        return " ".join(_JAVA_MODULE_FLAGS_1X)
    return None


def cluster_configuration(spec: FlinkApplicationSpec) -> dict[str, Any]:
    """What the Flink client writes into ``flink-config-<cid>``: ``flink_configuration`` plus its own keys.

    Values keep the types the client uses (lists, ints, booleans, and strings for the fixed ports), so
    ``serialise_configuration`` can write them as Flink does. The TaskManager pod template key holds the
    in-pod path; the real client writes its own local file path there, which the JobManager ignores.
    """
    v = spec.version
    conf: dict[str, Any] = dict(flink_configuration(spec))
    conf.update(
        {
            "execution.target": "kubernetes-application",
            "pipeline.jars": [spec.jar_uri],
            "execution.attached": True,
            "execution.shutdown-on-attached-exit": False,
            "internal.cluster.execution-mode": "NORMAL",
            key_for("claim_mode", v): "NO_CLAIM",
            key_for("ignore_unclaimed", v): False,
            "kubernetes.internal.jobmanager.entrypoint.class": APPLICATION_ENTRYPOINT,
            "blob.server.port": str(BLOB_SERVER_PORT),
            "taskmanager.rpc.port": str(TASKMANAGER_RPC_PORT),
        }
    )
    if not v.at_least(2, 0):
        # run-application writes the (empty) classpath list and the program args even when empty.
        conf["pipeline.classpaths"] = []
        conf["$internal.application.program-args"] = list(spec.program_args)
    elif spec.program_args:
        conf["$internal.application.program-args"] = list(spec.program_args)
    if spec.entry_class is not None:
        conf["$internal.application.main"] = spec.entry_class
    if spec.parallelism is not None:
        conf["parallelism.default"] = spec.parallelism
    if spec.taskmanager_pod_template is not None:
        conf[key_for("taskmanager_pod_template", v)] = f"{POD_TEMPLATE_DIR}/{TASKMANAGER_POD_TEMPLATE_FILE}"
    java_options = java_module_options(v)
    if java_options and "env.java.opts.all" not in conf:
        conf["env.java.opts.all"] = java_options
    if spec.ha == "none":
        conf["jobmanager.rpc.address"] = f"{spec.cluster_id}.{spec.namespace}"
    else:
        conf["high-availability.cluster-id"] = spec.cluster_id
        conf["high-availability.jobmanager.port"] = str(JOBMANAGER_RPC_PORT)
    return conf


def configuration_file_name(version: FlinkVersion) -> str:
    """``config.yaml`` from 1.19 (standard YAML), ``flink-conf.yaml`` before.

    A 1.19/1.20 client keeps the legacy name when its local conf dir has only ``flink-conf.yaml``; this
    provider always writes the standard file, which the 1.19+ distributions ship.
    """
    return "config.yaml" if version.at_least(1, 19) else "flink-conf.yaml"


def serialise_configuration(conf: Mapping[str, Any], version: FlinkVersion) -> str:
    """The configuration file text as the Flink client of ``version`` writes it, keys sorted.

    Up to 1.18: one ``key: value`` line per key, lists joined with ``;`` (items with ``;`` or quotes
    single-quoted). From 1.19: standard YAML nested at the dots; a key that would collide with a nested
    one is written flat at the top level, which Flink also reads.
    """
    if not version.at_least(1, 19):
        return "".join(f"{key}: {_flat_value(conf[key])}\n" for key in sorted(conf))
    nested: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    for key in sorted(conf):
        if not _insert_nested(nested, key.split("."), conf[key]):
            flat[key] = conf[key]
    nested.update(flat)
    return yaml.safe_dump(nested, sort_keys=True, default_flow_style=False, allow_unicode=True, width=2**31 - 1)


def _insert_nested(tree: dict[str, Any], parts: list[str], value: Any) -> bool:
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return False
        node = child
    if parts[-1] in node:
        return False
    node[parts[-1]] = value
    return True


def _flat_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(_quote(str(item), ";") for item in value)
    return str(value)


def _quote(text: str, delimiters: str) -> str:
    """Flink's structured-option escaping: single-quote text holding a delimiter or a quote."""
    if any(c in text for c in delimiters + "'\""):
        return "'" + text.replace("'", "''") + "'"
    return text


def _flink_map(mapping: Mapping[str, str]) -> str | None:
    if not mapping:
        return None
    return ",".join(_quote(f"{_quote(k, ',:')}:{_quote(str(val), ',:')}", ",") for k, val in mapping.items())


def _flink_map_list(maps: tuple[Mapping[str, Any], ...] | Any) -> str | None:
    """A Flink list of maps (tolerations, secret env entries): maps joined with ``;``."""
    if not maps:
        return None
    return ";".join(_quote(_flink_map({k: str(val) for k, val in m.items()}) or "", ";") for m in maps)


def _java_double(value: float | str | None) -> str | None:
    """``String.valueOf(double)`` for the cores range the spec allows (0.001 … 1e6)."""
    return None if value is None else repr(float(value))
