"""Reading what the real Flink client builds: its client conf and the objects, normalised for comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from airflow_flink_k8s.core.configuration import configuration_file_name
from airflow_flink_k8s.core.spec import FlinkApplicationSpec


def write_client_conf(conf_dir: Path, home: Path, spec: FlinkApplicationSpec) -> None:
    """A client conf holding what the distribution's default conf sets for the cluster: its Java 17 flags."""
    flags = yaml.safe_load((home / "conf" / "config.yaml").read_text())["env"]["java"]["opts"]["all"]
    (conf_dir / configuration_file_name(spec.version)).write_text(f"env.java.opts.all: {flags}\n")


def parse_configuration(name: str, text: str) -> dict[str, Any]:
    """A Flink configuration file as flat ``key → value`` with values as Flink reads them back."""
    if name == "flink-conf.yaml":
        return dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in text.splitlines())
    flat: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}{key}.", value)
        else:
            flat[prefix[:-1]] = node

    walk("", yaml.safe_load(text))
    return flat


def normalised(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Configuration files parsed; the client-local pod template paths (``.taskmanager``, ``.jobmanager``,
    ``.default``) dropped; templates parsed."""
    out = json.loads(json.dumps(objects))
    for obj in out:
        if obj["kind"] != "ConfigMap":
            continue
        for name, text in list(obj["data"].items()):
            if name in ("config.yaml", "flink-conf.yaml"):
                conf = parse_configuration(name, text)
                for template in ("taskmanager", "jobmanager", "default"):
                    conf.pop(f"kubernetes.pod-template-file.{template}", None)
                obj["data"][name] = conf
            elif name.endswith("pod-template.yaml"):
                obj["data"][name] = yaml.safe_load(text)
    return out
