"""Flink's configuration file as the sandbox reads and rewrites it: ``config.yaml`` (standard YAML, 1.19+) or the
legacy ``flink-conf.yaml`` (flat ``key: value`` lines). Shared by the kubelet and the JobManager stand-in, so it
imports nothing heavier than PyYAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FILE_NAMES = ("config.yaml", "flink-conf.yaml")


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten Flink's nested YAML configuration to dotted keys (lists stay values)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def read_flink_conf(name: str, text: str) -> dict[str, Any]:
    """Parse ``config.yaml`` (standard YAML) or legacy ``flink-conf.yaml`` (flat ``key: value`` lines)."""
    if name == "flink-conf.yaml":
        conf: dict[str, Any] = {}
        for line in text.splitlines():
            line = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
            key, sep, value = line.partition(":")
            if sep and key.strip():
                conf[key.strip()] = value.strip()
        return conf
    return flatten(yaml.safe_load(text) or {})


def write_flink_conf(name: str, conf: dict[str, Any]) -> str:
    """Serialise a flat configuration back in the file's own format."""
    if name == "flink-conf.yaml":
        return "".join(f"{k}: {v}\n" for k, v in conf.items())
    return yaml.safe_dump(conf, default_flow_style=False, sort_keys=False)


def load_conf_dir(conf_dir: Path) -> dict[str, Any]:
    """The flat configuration in ``conf_dir`` (``config.yaml`` wins over ``flink-conf.yaml``); empty if neither."""
    for name in FILE_NAMES:
        path = conf_dir / name
        if path.exists():
            return read_flink_conf(name, path.read_text())
    return {}
