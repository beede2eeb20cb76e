"""The trigger's view of Flink's HA ConfigMaps: one map, by name, through the process's shared watch of Flink's
ConfigMaps in its namespace (:mod:`airflow_flink_k8s.hooks.namespace_watch`, which says why one watch per
namespace and how it recovers from 410s, dropped streams and expired tokens)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from airflow_flink_k8s.hooks import namespace_watch
from airflow_flink_k8s.hooks.namespace_watch import CONFIGMAPS, NamespaceWatch, Subscription


def watch_configmap(name: str, namespace: str, kubernetes_conn_id: str = "kubernetes_default",
                    ) -> AbstractAsyncContextManager[Subscription]:
    """Subscribe to ConfigMap ``name`` (read it with :meth:`Subscription.current`, wait with ``changed()``)."""
    return namespace_watch.subscribe(CONFIGMAPS, name, namespace, kubernetes_conn_id)


def shared_watches() -> dict[tuple[str, str, str], NamespaceWatch]:
    """This event loop's shared ConfigMap watches, keyed by (API server URL, connection id, namespace)."""
    return namespace_watch.shared_watches(CONFIGMAPS)
