"""The API server's own checks on names, labels and a few per-kind rules (422 Invalid)."""

from __future__ import annotations

import json
import re
from typing import Any

from airflow_flink_k8s_sandbox.k8s_resources import ApiError, ResourceType, invalid
from airflow_flink_k8s_sandbox.k8s_selectors import parse_label_selector

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

MAX_CONFIGMAP_BYTES = 1024 * 1024
MAX_ANNOTATION_BYTES = 256 * 1024


def name_problem(name: str, rule: str) -> str | None:
    """Why ``name`` breaks ``rule`` (the API server's wording), or None when it is fine."""
    if rule == "dns1035-label":
        if len(name) > 63:
            return "must be no more than 63 characters"
        if not _DNS1035_LABEL.match(name):
            return ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                    "alphabetic character, and end with an alphanumeric character (regex used for validation is "
                    "'[a-z]([-a-z0-9]*[a-z0-9])?')")
    elif rule == "dns1123-label":
        if len(name) > 63:
            return "must be no more than 63 characters"
        if not _DNS1123_LABEL.match(name):
            return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                    "start and end with an alphanumeric character")
    else:
        if len(name) > 253:
            return "must be no more than 253 characters"
        if not _DNS1123_SUBDOMAIN.match(name):
            return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                    "and must start and end with an alphanumeric character")
    return None


def _qualified_key_problem(key: str) -> str | None:
    prefix, _, local = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return "prefix part must be a DNS-1123 subdomain"
    if not local or len(local) > 63 or not _QUALIFIED_NAME.match(local):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                "alphanumeric character, at most 63 characters")
    return None


def check_metadata(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """Raise 422 for a bad name, label or annotation, as the API server does."""
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    if not name:
        raise invalid(rtype, name, "metadata.name", "Required value: name or generateName is required")
    problem = name_problem(name, rtype.name_rule)
    if problem:
        raise invalid(rtype, name, "metadata.name", f'Invalid value: "{name}": {problem}')
    for key, value in (meta.get("labels") or {}).items():
        key_problem = _qualified_key_problem(str(key))
        if key_problem:
            raise invalid(rtype, name, "metadata.labels", f'Invalid value: "{key}": {key_problem}')
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            raise invalid(rtype, name, "metadata.labels",
                          f'Invalid value: "{value}": a valid label must be an empty string or consist of '
                          "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                          "character, at most 63 characters")
    annotations = meta.get("annotations") or {}
    for key, value in annotations.items():
        key_problem = _qualified_key_problem(str(key))
        if key_problem:
            raise invalid(rtype, name, "metadata.annotations", f'Invalid value: "{key}": {key_problem}')
        if not isinstance(value, str):
            raise ApiError(400, "BadRequest", f"annotation {key} must be a string")
    if sum(len(k) + len(v) for k, v in annotations.items()) > MAX_ANNOTATION_BYTES:
        raise invalid(rtype, name, "metadata.annotations", "Too long: must have at most 262144 bytes")


def check_kind_rules(rtype: ResourceType, obj: dict[str, Any]) -> None:
    """Per-kind validation that matters to Flink's objects."""
    name = obj["metadata"]["name"]
    if rtype.plural == "configmaps":
        size = len(json.dumps(obj.get("data") or {})) + len(json.dumps(obj.get("binaryData") or {}))
        if size > MAX_CONFIGMAP_BYTES:
            raise invalid(rtype, name, "[]", "Too long: must have at most 1048576 bytes")
        for key in list(obj.get("data") or {}) + list(obj.get("binaryData") or {}):
            if not re.match(r"^[-._a-zA-Z0-9]+$", key):
                raise invalid(rtype, name, f"data[{key}]", "a valid config key must consist of alphanumeric "
                              "characters, '-', '_' or '.'")
    elif rtype.plural == "deployments":
        spec = obj.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels")
        if not selector:
            raise invalid(rtype, name, "spec.selector", "Required value")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        selector_text = ",".join(f"{k}={v}" for k, v in selector.items())
        if not parse_label_selector(selector_text)(labels):
            raise invalid(rtype, name, "spec.template.metadata.labels",
                          "Invalid value: `selector` does not match template `labels`")
        if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
            raise invalid(rtype, name, "spec.template.spec.containers", "Required value")
    elif rtype.plural == "pods":
        if not (obj.get("spec") or {}).get("containers"):
            raise invalid(rtype, name, "spec.containers", "Required value")
    elif rtype.plural == "services":
        for port in (obj.get("spec") or {}).get("ports") or []:
            if not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
                raise invalid(rtype, name, "spec.ports[].port", "must be between 1 and 65535, inclusive")
