"""Where the JobManager's REST API is reached from the Airflow worker, per access mode (pure, no I/O).

* ``direct``: the address Flink published as REST leader (a pod IP; works where the worker has a pod-network route);
* ``service``: ``<scheme>://<cid>-rest.<namespace>:<port>`` (cluster DNS; works for workers inside the cluster);
* ``proxy``: through the Kubernetes API server, ``/api/v1/namespaces/<ns>/services/<cid>-rest:rest/proxy``, with the
  API server's credentials (works from anywhere the ``kubernetes_default`` connection works);
* ``auto``: ``proxy`` when an API server is known (Kubernetes HA or a connection), else ``direct``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from airflow_flink_k8s.core.names import REST_PORT, rest_service_name


class AccessMode(StrEnum):
    """How the worker reaches the REST API."""

    DIRECT = "direct"
    SERVICE = "service"
    PROXY = "proxy"
    AUTO = "auto"

    @classmethod
    def parse(cls, value: str | AccessMode) -> AccessMode:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"access_mode: expected one of {', '.join(m.value for m in cls)}, got {value!r}") from None


@dataclass(frozen=True)
class ApiServer:
    """How to reach the Kubernetes API server: URL, auth headers and TLS material."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    ca_file: str | None = None
    verify: bool = True
    client_cert: str | None = None
    client_key: str | None = None


@dataclass(frozen=True)
class RestEndpoint:
    """A base URL for the Flink REST API plus what an HTTP client needs to call it."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    ca_file: str | None = None
    verify: bool = True
    client_cert: str | None = None
    client_key: str | None = None

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")




def resolve_rest_endpoint(mode: str | AccessMode, *, leader_address: str | None, cluster_id: str, namespace: str,
                          api_server: ApiServer | None, rest_port: int = REST_PORT, scheme: str = "http",
                          ca_file: str | None = None) -> RestEndpoint | None:
    """The endpoint for ``mode``; None when it cannot be known yet (``direct`` before a leader is published)."""
    mode = AccessMode.parse(mode)
    if mode is AccessMode.AUTO:
        mode = AccessMode.PROXY if api_server is not None else AccessMode.DIRECT
    if mode is AccessMode.DIRECT:
        return RestEndpoint(leader_address, ca_file=ca_file) if leader_address else None
    if mode is AccessMode.SERVICE:
        return RestEndpoint(f"{scheme}://{rest_service_name(cluster_id)}.{namespace}:{rest_port}", ca_file=ca_file)
    if api_server is None:
        raise ValueError("access_mode: 'proxy' needs a Kubernetes API server (a kubernetes_conn_id)")
    service = f"{rest_service_name(cluster_id)}:rest"
    if scheme == "https":
        service = f"https:{service}"
    return RestEndpoint(f"{api_server.url.rstrip('/')}/api/v1/namespaces/{namespace}/services/{service}/proxy",
                        headers=dict(api_server.headers), ca_file=api_server.ca_file, verify=api_server.verify,
                        client_cert=api_server.client_cert, client_key=api_server.client_key)
