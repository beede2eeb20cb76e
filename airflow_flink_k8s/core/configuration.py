"""Flink configuration of a launch: spec field → Flink key per version, and the file the client ships.

``FIELD_KEYS`` is the table of which spec field becomes which Flink key in which release (README cites it); it,
``MANAGED_KEYS`` and ``key_for`` live in ``flink_keys`` and are
re-exported here.

* ``flink_configuration(spec)``: the ``-D`` options of the launch (what the user's spec sets).
* ``cluster_configuration(spec)``: those plus the keys the Flink client itself adds before it writes the
  ``flink-config-<cid>`` ConfigMap (target, jars, entry class, program args, fixed ports, HA cluster id…).
* ``serialise_configuration(conf, version)``: that map as Flink writes it: flat ``key: value`` lines in
  ``flink-conf.yaml`` up to 1.18, nested standard YAML in ``config.yaml`` from 1.19.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml

from airflow_flink_k8s.core.errors import FlinkSpecError
from airflow_flink_k8s.core.flink_keys import FIELD_KEYS as FIELD_KEYS
from airflow_flink_k8s.core.flink_keys import KEY_CONCEPTS
from airflow_flink_k8s.core.flink_keys import MANAGED_KEYS as MANAGED_KEYS
from airflow_flink_k8s.core.flink_keys import key_for as key_for
from airflow_flink_k8s.core.ha_storage import result_store_options
from airflow_flink_k8s.core.java_text import JAVA_TRIM
from airflow_flink_k8s.core.names import (
    BLOB_SERVER_PORT,
    JOBMANAGER_RPC_PORT,
    TASKMANAGER_RPC_PORT,
)
from airflow_flink_k8s.core.names import POD_TEMPLATE_DIR as POD_TEMPLATE_DIR
from airflow_flink_k8s.core.names import REST_PORT as REST_PORT
from airflow_flink_k8s.core.versions import FlinkVersion

if TYPE_CHECKING:
    from airflow_flink_k8s.core.spec import FlinkApplicationSpec

#: Where the JobManager finds a TaskManager pod template (PodTemplateMountDecorator mounts it here).
TASKMANAGER_POD_TEMPLATE_FILE = "taskmanager-pod-template.yaml"
APPLICATION_ENTRYPOINT = "org.apache.flink.kubernetes.entrypoint.KubernetesApplicationClusterEntrypoint"


def check_managed_keys(flink_conf: Mapping[str, Any], version: FlinkVersion) -> None:
    """Raise ``FlinkSpecError`` when ``flink_conf`` sets a key a spec field manages, or a key Flink would read
    differently from how it is written (padded, empty, with a line break; see ``key_problem``).

    The managed-key check compares the key as Flink reads it (stripped), after refusing padded keys."""
    for key in flink_conf:
        problem = key_problem(key, version)
        if problem:
            raise FlinkSpecError(f"flink_conf[{key!r}]", f"is not a key Flink reads back as written: {problem}")
        if key.strip(JAVA_TRIM) in MANAGED_KEYS:
            key = key.strip(JAVA_TRIM)
            instead = MANAGED_KEYS[key]
            advice = instead if instead.startswith("none:") else f"use the {instead!r} parameter instead"
            raise FlinkSpecError(f"flink_conf[{key!r}]", f"is managed by the operator; {advice}")


def flink_configuration(spec: FlinkApplicationSpec) -> dict[str, str]:
    """The ``-D`` options of the launch, keyed for ``spec.flink_version``; user keys come last and win."""
    if spec.restore == "latest" and spec.job_id is None:
        raise FlinkSpecError("job_id", "is required with restore='latest': the resumed job keeps its previous id "
                             "(FlinkApplicationOperator reads it from the HA metadata)")
    return _flink_options(spec)


def _flink_options(spec: FlinkApplicationSpec) -> dict[str, str]:
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
        if spec.job_id is not None:
            conf.update(result_store_options(str(spec.ha_storage_dir), spec.cluster_id, spec.job_id, v))
    if spec.checkpoint_dir is not None:
        conf[key_for("checkpoint_dir", v)] = spec.checkpoint_dir
    if spec.savepoint_dir is not None:
        conf[key_for("savepoint_dir", v)] = spec.savepoint_dir
    if spec.restore not in ("none", "latest"):
        conf[key_for("restore_path", v)] = spec.restore
    conf.update(spec.flink_conf)
    return conf


#: The Java 17 module flags the default configuration of each distribution sets in ``env.java.opts.all``
#: (``flink-dist/src/main/resources/config.yaml``; checked in the 2.3.0 and 1.20.3 distributions). The real client
#: copies them from its local conf into the cluster ConfigMap; without them jobs fail on Java 17 images ("module
#: java.base does not opens java.util"). From 2.1 they are these; 1.18 - 2.0 also export ``sun.net.util``.
_JAVA_MODULE_FLAGS_FROM_2_1 = (
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    *(f"--add-exports=jdk.compiler/com.sun.tools.javac.{p}=ALL-UNNAMED" for p in ("api", "file", "parser", "tree",
                                                                                  "util")),
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    *(f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in ("java.lang", "java.net", "java.io", "java.nio", "sun.nio.ch",
                                                          "java.lang.reflect", "java.text", "java.time", "java.util",
                                                          "java.util.concurrent", "java.util.concurrent.atomic",
                                                          "java.util.concurrent.locks")),
)
#: Up to 2.0.x the list starts with this export: the release-2.0 tag's ``flink-dist/src/main/resources/config.yaml``
#: has ``all: --add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=…`` (checked
#: in the released 2.0.0 and 2.0.1 distributions' ``conf/config.yaml``; 2.1.0 and 2.2.0 no longer have it).
_JAVA_MODULE_FLAGS_TO_2_0 = ("--add-exports=java.base/sun.net.util=ALL-UNNAMED", *_JAVA_MODULE_FLAGS_FROM_2_1)


def java_module_options(version: FlinkVersion) -> str | None:
    """The distribution's default ``env.java.opts.all`` for ``version`` (1.18 brought Java 17 support)."""
    if version.at_least(2, 1):
        return " ".join(_JAVA_MODULE_FLAGS_FROM_2_1)
    if version.at_least(1, 18):
        return " ".join(_JAVA_MODULE_FLAGS_TO_2_0)
    return None


def cluster_configuration(spec: FlinkApplicationSpec) -> dict[str, Any]:
    """What the Flink client writes into ``flink-config-<cid>``: ``flink_configuration`` plus its own keys.

    Values keep the types the client uses (lists, ints, booleans, and strings for the fixed ports), so
    ``serialise_configuration`` can write them as Flink does. The TaskManager pod template key holds the
    in-pod path; the real client writes its own local file path there, which the JobManager ignores.
    """
    return _cluster_options(spec, flink_configuration(spec))


def _cluster_options(spec: FlinkApplicationSpec, options: Mapping[str, str]) -> dict[str, Any]:
    v = spec.version
    conf: dict[str, Any] = dict(options)
    conf.update(
        {
            "execution.target": "kubernetes-application",
            "pipeline.jars": [spec.jar_uri],
            "execution.attached": True,
            "execution.shutdown-on-attached-exit": False,
            "internal.cluster.execution-mode": "NORMAL",
            key_for("claim_mode", v): "NO_CLAIM",
            key_for("ignore_unclaimed", v): spec.allow_non_restored_state,
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

    Up to 1.18: one ``key: value`` line per key, lists joined with ``;`` (items that are empty, have ``;``, a
    quote or surrounding whitespace single-quoted). From 1.19: standard YAML nested at the dots; a key that
    would collide with a nested one is written flat at the top level, which Flink also reads. Strings that
    Flink's YAML parser (snakeyaml) would read as another type are quoted, and strings with anything but
    printable ASCII are double-quoted with escapes. ``check_configuration_file`` refuses, before anything is
    created, what the file of a version cannot hold exactly.
    """
    if not version.at_least(1, 19):
        return "".join(f"{key}: {_flat_value(conf[key])}\n" for key in sorted(conf))
    nested: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    for key in sorted(conf):
        if not _insert_nested(nested, key.split("."), conf[key]):
            flat[key] = conf[key]
    nested.update(flat)
    return yaml.dump(nested, Dumper=_FlinkYamlDumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
                     width=2**31 - 1)


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
        return ";".join(_list_item(str(item)) for item in value)
    return str(value)


def _list_item(text: str) -> str:
    """One item of a ``;`` list as ``StructuredOptionsSplitter.splitEscaped`` reads it back: quoted when it
    has a delimiter or quote (Flink's own ``escapeWithSingleQuote``), and also when it is empty (an unquoted
    empty item is dropped at either end of the list) or starts or ends with whitespace (unquoted items are
    trimmed)."""
    if not text or text[0].isspace() or text[-1].isspace() or text[0] <= " " or text[-1] <= " ":
        return "'" + text.replace("'", "''") + "'"
    return _quote(text, ";")


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


# ----------------------------------------------------------------- what each configuration file can hold
#: Characters no key may hold: C0/C1 controls, DEL, and the YAML 1.1 line breaks NEL, LS, PS.
_KEY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: snakeyaml's float resolver (``Resolver.FLOAT``, same in the jars of 1.20.3 and 2.3.0). It reads more plain
#: scalars as floats than PyYAML (``1e5``, ``1_0e1``), so the dumper must quote those strings.
_SNAKEYAML_FLOAT = re.compile(
    r"^([-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
    r"|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN))$")
#: snakeyaml's int resolver (``Resolver.INT``): ``0_7`` or ``0b_1`` are ints there, not in PyYAML.
_SNAKEYAML_INT = re.compile(
    r"^(?:[-+]?0b_*[0-1][0-1_]*|[-+]?0_*[0-7][0-7_]*|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x_*[0-9a-fA-F][0-9a-fA-F_]*"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$")


class _FlinkYamlDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting every string snakeyaml (Flink's parser) would not read back as that string."""


_FlinkYamlDumper.add_implicit_resolver("tag:yaml.org,2002:float", _SNAKEYAML_FLOAT, list("-+0123456789."))
_FlinkYamlDumper.add_implicit_resolver("tag:yaml.org,2002:int", _SNAKEYAML_INT, list("-+0123456789"))


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Anything beyond printable ASCII (line breaks, tabs, controls, unicode) double-quoted with escapes, so no
    # folding or line-break normalisation of plain and single-quoted scalars can change it.
    style = None if all(" " <= c <= "~" for c in text) else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_FlinkYamlDumper.add_representer(str, _represent_str)


def _describe(char: str) -> str:
    return f"{char!r} (U+{ord(char):04X})"


def key_problem(key: str, version: FlinkVersion) -> str | None:
    """Why ``key`` cannot be written so that Flink ``version`` reads back the same key, or None.

    Every version: not empty, no surrounding whitespace (the legacy parser trims keys, and a padded key would
    slip past the managed-key check), no control characters or line breaks. Up to 1.18 (``flink-conf.yaml``,
    read line by line by ``GlobalConfiguration.loadYAMLResource``): no ``#`` (starts a comment anywhere in a
    line) and no ``": "`` (the first one separates key and value).
    """
    if not key:
        return "it is empty"
    if key[0] in JAVA_TRIM or key[-1] in JAVA_TRIM or key[0].isspace() or key[-1].isspace():
        return "it starts or ends with whitespace, which Flink strips"
    if match := _KEY_CONTROL.search(key):
        return f"it contains the control character or line break {_describe(match[0])}"
    if match := _SURROGATE.search(key):
        return f"it contains the lone surrogate {_describe(match[0])}, which UTF-8 cannot encode"
    if not version.at_least(1, 19):
        if "#" in key:
            return f"it contains {_describe('#')}, which starts a comment in flink-conf.yaml (Flink {version.series})"
        if ": " in key:
            return f"it contains ': ', which ends the key in flink-conf.yaml (Flink {version.series})"
    return None


def value_problem(text: str, version: FlinkVersion) -> str | None:
    """Why the string ``text`` cannot be a value Flink ``version`` reads back unchanged, or None.

    From 1.19 (standard YAML) any string can, quoted, except lone surrogates. Up to 1.18 the legacy line
    parser (``GlobalConfiguration.loadYAMLResource``) cuts the line at the first ``#``, reads one line per
    ``\n``/``\r``, trims the value with ``String.trim()`` and skips a line whose value is empty.
    """
    if match := _SURROGATE.search(text):
        return f"it contains the lone surrogate {_describe(match[0])}, which UTF-8 cannot encode"
    if version.at_least(1, 19):
        return None
    legacy = f"flink-conf.yaml (Flink {version.series}) is read line by line"
    for char, why in (("\n", "ends the line"), ("\r", "ends the line"), ("#", "starts a comment")):
        if char in text:
            return f"it contains {_describe(char)}, which {why}: {legacy}"
    if not text:
        return f"it is empty, and Flink skips a key with an empty value: {legacy}"
    if text[0] in JAVA_TRIM or text[-1] in JAVA_TRIM:
        return f"it starts or ends with whitespace or a control character, which Flink strips: {legacy}"
    return None


def check_configuration_file(spec: FlinkApplicationSpec) -> None:
    """Raise ``FlinkSpecError`` (field and character, never the value) when a key or value of the launch would
    not reach Flink ``spec.version`` exactly as intended through its configuration file.

    The same configuration travels as ``-D`` options through the ``cli`` launcher; the Flink client writes it
    into the same file, so this applies to both launchers.
    """
    v = spec.version
    conf = _cluster_options(spec, _flink_options(spec))
    fields = {key_for(name, v): name for name in KEY_CONCEPTS}
    for key, value in conf.items():
        user = key in spec.flink_conf
        field_name = f"flink_conf[{key!r}]" if user else fields.get(key, f"the Flink option {key!r}")
        if key not in spec.flink_conf and (problem := key_problem(key, v)):
            raise FlinkSpecError(field_name, f"cannot be written to the Flink configuration file: {problem}")
        if isinstance(value, list):
            for index, item in enumerate(value):
                item_field = f"{field_name}[{index}]"
                if problem := value_problem(_list_item(str(item)), v):
                    raise FlinkSpecError(item_field, f"cannot be written to the Flink configuration file: {problem}")
            continue
        text = _flat_value(value) if not isinstance(value, str) else value
        if problem := value_problem(text, v):
            raise FlinkSpecError(field_name, f"cannot be written to the Flink configuration file: {problem}")
