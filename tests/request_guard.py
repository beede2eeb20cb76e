"""A guard for the bad-input tables: any network connection or API client built while it is on fails and is recorded.

``guard_requests(monkeypatch)`` patches the socket layer (every HTTP, Kubernetes and ZooKeeper client ends in
``socket.socket.connect``) and the constructors of the clients a task could build (this provider's hooks, the
``kubernetes`` / ``kubernetes_asyncio`` ``ApiClient``, kazoo's ``KazooClient``, aiohttp's ``ClientSession``). Each
attempt appends what was tried to the returned list and raises ``RequestAttempted``, so a row asserts the list is empty:
a guard that only raised could be swallowed by a broad ``except`` on the way.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Callable
from typing import Any

import pytest

#: (module, class, method) whose call means a client or a connection was attempted.
GUARDED: tuple[tuple[str, str, str], ...] = (
    ("socket", "socket", "connect"),
    ("socket", "socket", "connect_ex"),
    ("airflow_flink_k8s.hooks.kubernetes", "FlinkKubernetesHook", "__init__"),
    ("airflow_flink_k8s.hooks.zookeeper", "FlinkZooKeeperHook", "__init__"),
    ("airflow_flink_k8s.hooks.flink_rest", "FlinkRestClient", "__init__"),
    ("airflow_flink_k8s.hooks.flink_rest", "SyncFlinkRestClient", "__init__"),
    ("airflow.providers.cncf.kubernetes.hooks.kubernetes", "KubernetesHook", "__init__"),
    ("kubernetes.client", "ApiClient", "__init__"),
    ("kubernetes_asyncio.client", "ApiClient", "__init__"),
    ("kazoo.client", "KazooClient", "__init__"),
    ("aiohttp", "ClientSession", "__init__"),
)


class RequestAttempted(AssertionError):
    """A guarded client was built or a connection opened while the guard was on."""


def _refusing(name: str, attempts: list[str]) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(name)
        raise RequestAttempted(f"{name} was called: a bad input must fail before any client or request")

    return refuse


def guard_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Switch the guard on for the rest of the test; returns the (live) list of attempts, empty if none."""
    attempts: list[str] = []
    for module_name, class_name, method in GUARDED:
        owner = getattr(importlib.import_module(module_name), class_name)
        monkeypatch.setattr(owner, method, _refusing(f"{module_name}.{class_name}.{method}", attempts))
    return attempts


def guard_catches_a_connection_and_a_client(attempts: list[str]) -> None:
    """Show the guard is on: a socket connection and a Kubernetes hook are both refused and recorded."""
    from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

    with socket.socket() as probe, pytest.raises(RequestAttempted):
        probe.connect(("127.0.0.1", 9))
    with pytest.raises(RequestAttempted):
        FlinkKubernetesHook("kubernetes_default")
    assert attempts == ["socket.socket.connect", "airflow_flink_k8s.hooks.kubernetes.FlinkKubernetesHook.__init__"]
    attempts.clear()
