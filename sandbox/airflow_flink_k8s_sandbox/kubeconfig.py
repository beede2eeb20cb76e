"""Kubeconfig files for the emulator (plain HTTP on loopback, a bearer token per user)."""

from __future__ import annotations

import json
from pathlib import Path


def render_kubeconfig(server: str, *, namespace: str = "default", user: str = "sandbox-admin",
                      token: str = "sandbox-admin-token", context: str = "flink-sandbox") -> str:
    """A kubeconfig (YAML) whose current context points at ``server`` and ``namespace``."""
    quoted = json.dumps  # JSON strings are valid YAML scalars
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        f"- name: {context}\n"
        "  cluster:\n"
        f"    server: {quoted(server)}\n"
        "contexts:\n"
        f"- name: {context}\n"
        "  context:\n"
        f"    cluster: {context}\n"
        f"    namespace: {quoted(namespace)}\n"
        f"    user: {user}\n"
        f"current-context: {context}\n"
        "preferences: {}\n"
        "users:\n"
        f"- name: {user}\n"
        "  user:\n"
        f"    token: {quoted(token)}\n"
    )


def write_kubeconfig(path: str | Path, server: str, **kwargs: str) -> Path:
    """Write ``render_kubeconfig(server, **kwargs)`` to ``path`` (mode 0600) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_kubeconfig(server, **kwargs))
    target.chmod(0o600)
    return target
