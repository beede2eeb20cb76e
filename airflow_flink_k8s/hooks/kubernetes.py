"""Kubernetes I/O for Flink application clusters, on top of cncf-kubernetes' ``KubernetesHook``.

It reuses the ``kubernetes_default`` connection (kubeconfig path or content, in-cluster, context, TLS settings) and
the API client that hook configures. Requests are plain JSON dicts addressed by kind, name and namespace, so the
objects the pure core renders go to the API as they are, and what comes back is the API's own JSON (camelCase).
"""

from __future__ import annotations

import asyncio
import builtins
import json
import weakref
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_flink_k8s.core.errors import FlinkSpecError, KubernetesApiError
from airflow_flink_k8s.core.rest_endpoint import ApiServer
from airflow_flink_k8s.hooks.retry import READ_ATTEMPTS, READ_FIRST_WAIT, aretrying_call, retrying_call

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

#: Where each kind lives in the API: (group-version prefix, plural).
KIND_PATHS: dict[str, tuple[str, str]] = {
    "Deployment": ("/apis/apps/v1", "deployments"),
    "Service": ("/api/v1", "services"),
    "ConfigMap": ("/api/v1", "configmaps"),
    "Pod": ("/api/v1", "pods"),
    "Event": ("/api/v1", "events"),
}


_JSON_ANSWERS = {200: "object", 201: "object", 202: "object"}


def object_path(kind: str, namespace: str, name: str | None = None) -> str:
    """``/apis/apps/v1/namespaces/<ns>/deployments[/<name>]`` for a kind; ``name=None`` is the collection.

    An empty (or ``/``-holding) name or namespace raises ``FlinkSpecError``: ``…/deployments/`` would address the
    whole collection, so a DELETE of one object by an empty name would be a delete-collection.
    """
    try:
        prefix, plural = KIND_PATHS[kind]
    except KeyError:
        raise ValueError(f"kind: not one this provider manages: {kind!r}") from None
    for field_name, value in (("namespace", namespace), ("name", name)):
        if value is not None and (not isinstance(value, str) or not value.strip() or "/" in value
                                  or value in (".", "..")):
            raise FlinkSpecError(field_name, f"of a {kind} must be a non-empty Kubernetes name", value)
    path = f"{prefix}/namespaces/{namespace}/{plural}"
    return path if name is None else f"{path}/{name}"


class FlinkKubernetesHook:
    """Sync and async access to the objects of Flink application clusters, through one Airflow connection."""

    def __init__(self, kubernetes_conn_id: str = "kubernetes_default") -> None:
        self.kubernetes_conn_id = kubernetes_conn_id

    @cached_property
    def _hook(self) -> Any:
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

        return KubernetesHook(conn_id=self.kubernetes_conn_id)

    @cached_property
    def api_client(self) -> ApiClient:
        return self._hook.api_client

    # ----------------------------------------------------------------- generic requests
    def request(self, method: str, path: str, *, body: Any = None, query: dict[str, Any] | None = None,
                content_type: str = "application/json", what: str = "") -> Any:
        """One API call; returns the JSON answer, or None for a 404 on GET/DELETE. Other failures raise
        ``KubernetesApiError`` carrying the API's reason and message. A read of the API itself (a GET, not through a
        service proxy) is repeated with back-off when the API answers a transient status (429, 5xx)."""
        if method == "GET" and "/proxy" not in path:
            return retrying_call(lambda: self._call(method, path, body, query, content_type, what), what or path,
                                 attempts=READ_ATTEMPTS, first_wait=READ_FIRST_WAIT)
        return self._call(method, path, body, query, content_type, what)

    def _call(self, method: str, path: str, body: Any, query: dict[str, Any] | None, content_type: str,
              what: str) -> Any:
        """One try of :meth:`request`."""
        from kubernetes.client.exceptions import ApiException

        try:
            return self.api_client.call_api(
                path, method, query_params=list((query or {}).items()), body=body,
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                response_types_map=_JSON_ANSWERS, auth_settings=["BearerToken"], _return_http_data_only=True,
                _request_timeout=60,
            )
        except ApiException as exc:
            if exc.status == 404 and method in ("GET", "DELETE"):
                return None
            raise api_error(exc, method, what or path) from None

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        return self.request("GET", object_path(kind, namespace, name), what=f"{kind} {namespace}/{name}")

    def list(self, kind: str, namespace: str, label_selector: str | None = None,
             field_selector: str | None = None) -> builtins.list[dict[str, Any]]:
        query = {k: v for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector)) if v}
        answer = self.request("GET", object_path(kind, namespace), query=query, what=f"list {kind} in {namespace}")
        return list((answer or {}).get("items") or [])

    def create(self, obj: dict[str, Any], namespace: str) -> dict[str, Any]:
        """POST one object; an existing one raises ``KubernetesApiError`` with status 409."""
        name = obj["metadata"]["name"]
        return self.request("POST", object_path(obj["kind"], namespace), body=obj,
                            what=f"create {obj['kind']} {namespace}/{name}")

    def replace(self, obj: dict[str, Any], namespace: str) -> dict[str, Any]:
        """PUT one object. With ``metadata.resourceVersion`` set this is a compare-and-swap: a write by anyone else
        since that version raises ``KubernetesApiError`` with status 409."""
        name = obj["metadata"]["name"]
        return self.request("PUT", object_path(obj["kind"], namespace, name), body=obj,
                            what=f"replace {obj['kind']} {namespace}/{name}")

    def patch(self, kind: str, name: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """JSON merge patch of one object."""
        return self.request("PATCH", object_path(kind, namespace, name), body=body,
                            content_type="application/merge-patch+json", what=f"patch {kind} {namespace}/{name}")

    def delete(self, kind: str, name: str, namespace: str, *, propagation: str = "Background") -> bool:
        """DELETE one object; False when it was not there."""
        answer = self.request("DELETE", object_path(kind, namespace, name),
                              body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation},
                              what=f"delete {kind} {namespace}/{name}")
        return answer is not None

    # ----------------------------------------------------------------- what the sensor and operator read
    def get_configmap(self, name: str, namespace: str) -> dict[str, Any] | None:
        return self.get("ConfigMap", name, namespace)

    def list_configmaps(self, namespace: str, label_selector: str | None = None) -> builtins.list[dict[str, Any]]:
        return self.list("ConfigMap", namespace, label_selector)

    def list_pods(self, namespace: str, label_selector: str | None = None) -> builtins.list[dict[str, Any]]:
        return self.list("Pod", namespace, label_selector)

    def pod_log(self, name: str, namespace: str, *, container: str | None = None, tail_lines: int | None = None,
                previous: bool = False, limit_bytes: int | None = None) -> str:
        """A container's log (``kubectl logs``; ``previous``: its last terminated instance). Any refusal, 404
        included, raises ``KubernetesApiError`` with the API's reason; a transient answer is retried as every read
        is (:meth:`apod_log` likewise)."""
        from kubernetes.client.exceptions import ApiException

        what = f"log of pod {namespace}/{name}"

        def get() -> str:
            try:
                answer = self.api_client.call_api(
                    f"{object_path('Pod', namespace, name)}/log", "GET",
                    query_params=_log_query(container, tail_lines, previous, limit_bytes),
                    header_params={"Accept": "text/plain"}, auth_settings=["BearerToken"],
                    _return_http_data_only=True, _preload_content=False, _request_timeout=60)
            except ApiException as exc:
                raise api_error(exc, "GET", what) from None
            return str(answer.data.decode("utf-8", errors="replace"))

        return retrying_call(get, f"GET {what}", attempts=READ_ATTEMPTS, first_wait=READ_FIRST_WAIT)

    async def alist(self, kind: str, namespace: str, label_selector: str | None = None,
                    field_selector: str | None = None) -> builtins.list[dict[str, Any]]:
        """:meth:`list` with the connection's async client (a wait reads JobManager pods from its shared watch
        instead: :mod:`airflow_flink_k8s.hooks.namespace_watch`)."""
        query = [(k, v) for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector)) if v]
        answer = await self._aget(object_path(kind, namespace), query, f"list {kind} in {namespace}")
        return list(json.loads(answer).get("items") or [])

    async def alist_pods(self, namespace: str, label_selector: str | None = None) -> builtins.list[dict[str, Any]]:
        return await self.alist("Pod", namespace, label_selector)

    async def apod_log(self, name: str, namespace: str, *, container: str | None = None,
                       tail_lines: int | None = None, previous: bool = False, limit_bytes: int | None = None) -> str:
        """:meth:`pod_log` for the triggerer."""
        return await self._aget(f"{object_path('Pod', namespace, name)}/log",
                                _log_query(container, tail_lines, previous, limit_bytes),
                                f"log of pod {namespace}/{name}")

    async def _aget(self, path: str, query: builtins.list[tuple[str, Any]], what: str) -> str:
        """GET ``path`` with the connection's async client; the body as text, else ``KubernetesApiError``. A
        transient answer (429, 5xx) is tried again with back-off, by the policy of the blocking reads
        (:mod:`airflow_flink_k8s.hooks.retry`)."""
        from kubernetes_asyncio.client.exceptions import ApiException

        open_client, _ = await client_factory(self.kubernetes_conn_id)
        async with open_client() as api_client:

            async def get() -> str:
                answer = await api_client.call_api(
                    path, "GET", query_params=query, header_params={"Accept": "application/json, text/plain"},
                    auth_settings=["BearerToken"], _return_http_data_only=True, _preload_content=False,
                    _request_timeout=60)
                async with answer:
                    text: str = await answer.text(errors="replace")
                    if answer.status >= 300:
                        error = ApiException(status=answer.status, reason=answer.reason)
                        error.body = text  # type: ignore[assignment]  # the client types it as bytes
                        raise api_error(error, "GET", what)
                return text

            return await aretrying_call(get, f"GET {what}", attempts=READ_ATTEMPTS, first_wait=READ_FIRST_WAIT)

    # ----------------------------------------------------------------- the connection's fields
    def connection_namespace(self) -> str | None:
        """The connection's ``namespace`` extra (cncf-kubernetes' ``get_namespace``), None when unset."""
        namespace = self._hook.get_namespace()
        return str(namespace) if namespace else None

    def cluster_context(self) -> str | None:
        """The connection's ``cluster_context`` extra: the kubeconfig context the API client uses (None: the
        kubeconfig's current context)."""
        context = self._hook._get_field("cluster_context")
        return str(context) if context else None

    def connection_extra(self, name: str) -> Any:
        """The connection's extra ``name`` (also read with cncf-kubernetes' old ``extra__kubernetes__`` prefix);
        None when unset or empty."""
        return self._hook._get_field(name)

    def verify_ssl_disabled(self) -> bool:
        """Whether the connection's ``disable_verify_ssl`` extra turns TLS verification of the API server off."""
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import _get_bool

        return _get_bool(self._hook._get_field("disable_verify_ssl")) is True

    def uses_in_cluster_config(self) -> bool:
        """Whether the API client was configured in-cluster (``in_cluster``, or no kubeconfig given and a
        service account mounted): what cncf-kubernetes chose, read after loading the client."""
        return bool(self._hook.is_in_cluster)  # loads the client when not loaded yet: that decides it

    def kubeconfig_file(self, directory: Path) -> Path | None:
        """A kubeconfig file for tools that read one (the ``flink`` CLI): the connection's path, or its inline
        content written to ``directory``; None for in-cluster or the default kubeconfig."""
        path = self._hook._get_field("kube_config_path")
        if path:
            return Path(path).expanduser()
        content = self._hook._get_field("kube_config")
        if not content:
            return None
        target = directory / "kubeconfig"
        target.write_text(content if isinstance(content, str) else json.dumps(content))
        target.chmod(0o600)
        return target

    def api_server(self) -> ApiServer:
        """How to reach this connection's API server directly (for the REST proxy access mode)."""
        configuration = self.api_client.configuration
        if configuration.refresh_api_key_hook is not None:
            configuration.refresh_api_key_hook(configuration)
        headers = {}
        token = configuration.get_api_key_with_prefix("authorization") or configuration.get_api_key_with_prefix(
            "BearerToken")
        if token:
            headers["Authorization"] = token
        return ApiServer(url=configuration.host, headers=headers, ca_file=configuration.ssl_ca_cert,
                         verify=bool(configuration.verify_ssl), client_cert=configuration.cert_file,
                         client_key=configuration.key_file)


def resolve_namespace(namespace: str | None, kubernetes_conn_id: str | None) -> str:
    """cncf-kubernetes' rule: ``namespace`` when given, else the connection's ``namespace`` extra, else
    ``default``."""
    if namespace:
        return namespace
    if kubernetes_conn_id is None:
        return "default"
    return FlinkKubernetesHook(kubernetes_conn_id).connection_namespace() or "default"


def _log_query(container: str | None, tail_lines: int | None, previous: bool,
               limit_bytes: int | None) -> list[tuple[str, Any]]:
    """The query of ``GET pods/<name>/log``."""
    query: list[tuple[str, Any]] = [("container", container)] if container else []
    if tail_lines is not None:
        query.append(("tailLines", tail_lines))
    if previous:
        query.append(("previous", "true"))
    if limit_bytes is not None:
        query.append(("limitBytes", limit_bytes))
    return query


def api_error(exc: Any, verb: str, what: str) -> KubernetesApiError:
    """A ``KubernetesApiError`` from a (sync or async) client's ``ApiException``, with the message of the API's
    ``Status`` body (for a 403: the user, verb, resource and namespace that were refused)."""
    reason, message = exc.reason or "", str(exc.body or "")
    try:
        status_body = json.loads(exc.body)
        reason, message = status_body.get("reason") or reason, status_body.get("message") or message
    except (TypeError, ValueError):
        pass
    return KubernetesApiError(int(exc.status or 0), reason, message, verb, what)


_FACTORIES: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, asyncio.Task[tuple[Callable[[], Any], str]]]] = weakref.WeakKeyDictionary()


async def client_factory(kubernetes_conn_id: str) -> tuple[Callable[[], Any], str]:
    """``(open_client, server URL)`` for a connection, through cncf-kubernetes' ``AsyncKubernetesHook``.

    One hook (and its loaded configuration) per connection id and event loop, so a thousand triggers starting at
    once read the connection and kubeconfig once. A failed load is not kept: the next trigger tries again.
    """
    factories = _FACTORIES.setdefault(asyncio.get_running_loop(), {})
    task = factories.get(kubernetes_conn_id)
    if task is None or (task.done() and task.exception() is not None):
        task = factories[kubernetes_conn_id] = asyncio.ensure_future(_load_client_factory(kubernetes_conn_id))
    return await asyncio.shield(task)


async def _load_client_factory(kubernetes_conn_id: str) -> tuple[Callable[[], Any], str]:
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import AsyncKubernetesHook

    hook = AsyncKubernetesHook(conn_id=kubernetes_conn_id)
    async with hook.get_conn() as api_client:
        server = str(api_client.configuration.host)
    return hook.get_conn, server
