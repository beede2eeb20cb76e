"""Whose an object is: a launch's (it carries that launch's annotations) or a Deployment's (its uid, or an
ownerReference to it)."""

from __future__ import annotations

from typing import Any, TypeGuard


def carries(obj: dict[str, Any] | None, annotations: dict[str, str]) -> TypeGuard[dict[str, Any]]:
    """Whether ``obj`` exists and carries all of a launch's annotations (so that launch created it)."""
    found = (obj or {}).get("metadata", {}).get("annotations") or {}
    return obj is not None and all(found.get(key) == value for key, value in annotations.items())


def owned_by(obj: dict[str, Any] | None, uid: str | None) -> bool:
    """Whether ``obj`` is (or is owned by) the Deployment with ``uid``; without ``uid``, whether it exists."""
    if obj is None:
        return False
    meta = obj["metadata"]
    return uid is None or meta.get("uid") == uid or any(ref.get("uid") == uid for ref in
                                                         meta.get("ownerReferences") or [])
