"""Kubernetes label and field selectors: parsing and matching, as the API server understands them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_SET_OP = re.compile(r"^\s*(!?)([A-Za-z0-9._/-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ_OP = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


class SelectorError(ValueError):
    """A selector string the API server would reject with 400 BadRequest."""


def _split_terms(text: str) -> list[str]:
    """Split at commas that are not inside ``in (…)`` parentheses."""
    terms, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        terms.append("".join(current))
    return [t for t in terms if t.strip()]


def parse_label_selector(text: str | None) -> Predicate:
    """Return a predicate over a label mapping for ``a=b,c!=d,e in (x,y),f notin (z),g,!h``."""
    if not text:
        return lambda labels: True
    checks: list[Predicate] = []
    for term in _split_terms(text):
        eq = _EQ_OP.match(term)
        if eq:
            key, op, value = eq.groups()
            if op == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
            continue
        match = _SET_OP.match(term)
        if not match:
            raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
        negate, key, op, values = match.groups()
        if op:
            if negate:
                raise SelectorError(f"unable to parse requirement: {term.strip()!r}")
            wanted = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in":
                checks.append(lambda labels, k=key, w=wanted: labels.get(k) in w)
            else:
                checks.append(lambda labels, k=key, w=wanted: labels.get(k) not in w)
        elif negate:
            checks.append(lambda labels, k=key: k not in labels)
        else:
            checks.append(lambda labels, k=key: k in labels)
    return lambda labels: all(check(labels) for check in checks)


#: Field paths the emulator can select on, per resource plural ("*" applies to all).
SELECTABLE_FIELDS: dict[str, set[str]] = {
    "*": {"metadata.name", "metadata.namespace"},
    "pods": {"spec.nodeName", "status.phase", "spec.serviceAccountName", "spec.restartPolicy", "status.podIP"},
    "secrets": {"type"},
    "events": {"involvedObject.name", "involvedObject.kind", "involvedObject.namespace", "reason", "type"},
}


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return "" if node is None else str(node)


def parse_field_selector(text: str | None, plural: str) -> Predicate:
    """Return a predicate over a whole object for ``metadata.name=x,status.phase!=Running``."""
    if not text:
        return lambda obj: True
    allowed = SELECTABLE_FIELDS["*"] | SELECTABLE_FIELDS.get(plural, set())
    checks: list[Predicate] = []
    for term in _split_terms(text):
        eq = _EQ_OP.match(term) or re.match(r"^\s*([A-Za-z0-9._-]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not eq:
            raise SelectorError(f"invalid selector: {term.strip()!r}; can't understand it")
        path, op, value = eq.groups()
        if path not in allowed:
            raise SelectorError(f'field label not supported: "{path}"')
        if op == "!=":
            checks.append(lambda obj, p=path, v=value: _field_value(obj, p) != v)
        else:
            checks.append(lambda obj, p=path, v=value: _field_value(obj, p) == v)
    return lambda obj: all(check(obj) for check in checks)
