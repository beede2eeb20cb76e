"""The trigger's Kubernetes side: one shared list+watch of Flink's ConfigMaps per API server and namespace.

Why one watch per namespace with a label selector, not one per cluster with a field selector: a field selector on
``metadata.name`` selects exactly one object (the API has no set-based field selectors), so N waiting triggers would
hold N watch connections, and the API server pays for every one. Every ConfigMap Flink's Kubernetes HA writes
carries the label ``type=flink-native-kubernetes`` (1.13 to 2.3; ``configmap-type=high-availability`` is gone in
2.x, so it cannot be the selector), so one watch of ``type=flink-native-kubernetes`` in a namespace carries the
leader maps of every Flink cluster there. The cost is that the stream also carries the other Flink maps (the
per-job checkpoint maps, ``flink-config-<cid>``), which are dropped here unless a subscriber wants them.

Credentials are part of the key: triggers using different Airflow connections never share a stream, so one
connection's RBAC grants never answer for another's. In one process (the triggerer) each (API server, connection,
namespace) has one :class:`NamespaceConfigMapWatch`, started by its first subscriber and stopped with its last.

The watch lists, then watches from the list's ``resourceVersion`` (with bookmarks). A stream the server ends is
resumed from the last version seen; a ``410 Gone`` or a broken stream or failed request means a fresh list (after a
short back-off), from which subscribers get the current state, and ``None`` for a map that went away meanwhile.
A 401 also means a fresh list, once, with the connection's credentials loaded anew (tokens expire); a 401 that
persists, or a 403, reaches every subscriber as the refusal it is.
Subscribers see only the newest value of their map: a slow reader skips intermediate versions, never queues them.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_flink_k8s.core.names import NATIVE_TYPE_SELECTOR, cluster_config_map_name
from airflow_flink_k8s.core.versions import FlinkVersion

if TYPE_CHECKING:
    from kubernetes_asyncio.client import ApiClient

log = logging.getLogger(__name__)

FLINK_LABEL_SELECTOR = NATIVE_TYPE_SELECTOR
#: Seconds a watch request asks the server to keep the stream open before it is resumed.
WATCH_SECONDS = 300
_BACKOFF_MIN, _BACKOFF_MAX = 0.2, 5.0
_MISSING = object()


def leader_configmap_name(cluster_id: str, flink_version: str, component: str = "restserver") -> str:
    """The ConfigMap holding ``component``'s leader: ``<cid>-cluster-config-map`` (1.15+), else ``<cid>-<comp>-leader``."""
    if FlinkVersion.parse(flink_version).at_least(1, 15):
        return cluster_config_map_name(cluster_id)
    return f"{cluster_id}-{component}-leader"


class Subscription:
    """The newest value of one ConfigMap (its JSON dict, or ``None`` when absent) as the shared watch saw it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._value: Any = _MISSING
        self._refusal: Exception | None = None
        self._changed = asyncio.Event()

    @property
    def known(self) -> bool:
        """Whether the watch has listed the namespace since this subscription began."""
        return self._value is not _MISSING

    def current(self) -> dict[str, Any] | None:
        """The newest value seen (``None`` also before the first list); raises the API's refusal
        (``KubernetesApiError`` 401/403) once the watch was refused."""
        if self._refusal is not None:
            raise self._refusal
        return None if self._value is _MISSING else self._value

    def _refuse(self, error: Exception) -> None:
        self._refusal = error
        self._changed.set()

    def _offer(self, value: dict[str, Any] | None) -> None:
        old = self._value
        if old is _MISSING or (old is None) != (value is None) or (
                value is not None and _version(value) != _version(old)):
            self._value = value
            self._changed.set()

    async def changed(self) -> dict[str, Any] | None:
        """Wait until the value changes after the last call, then return it."""
        await self._changed.wait()
        self._changed.clear()
        return self.current()


@dataclass
class WatchStats:
    """Counters of one shared watch, for tests and benchmarks."""

    lists: int = 0
    watch_requests: int = 0
    events: int = 0
    errors: int = 0
    last_error: str | None = None


@dataclass
class NamespaceConfigMapWatch:
    """One list+watch of ``type=flink-native-kubernetes`` ConfigMaps in ``namespace``, fanned out by name."""

    namespace: str
    open_client: Callable[[], Any]  # an async context manager yielding a kubernetes_asyncio ApiClient
    label_selector: str = FLINK_LABEL_SELECTOR
    stats: WatchStats = field(default_factory=WatchStats)
    _subscribers: dict[str, set[Subscription]] = field(default_factory=dict)
    _cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    _listed: bool = False
    _task: asyncio.Task[None] | None = None

    def subscribe(self, name: str) -> Subscription:
        subscription = Subscription(name)
        self._subscribers.setdefault(name, set()).add(subscription)
        if self._listed:
            subscription._offer(self._cache.get(name))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"flink-cm-watch-{self.namespace}")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> bool:
        """Drop ``subscription``; return True when it was the last one (the watch is then stopped)."""
        subscribers = self._subscribers.get(subscription.name, set())
        subscribers.discard(subscription)
        if not subscribers:
            self._subscribers.pop(subscription.name, None)
        if self._subscribers:
            return False
        if self._task is not None:
            self._task.cancel()
            self._task = None
        return True

    @property
    def subscriber_count(self) -> int:
        return sum(len(subs) for subs in self._subscribers.values())

    def _publish(self, name: str, value: dict[str, Any] | None) -> None:
        if value is None:
            self._cache.pop(name, None)
        elif name in self._subscribers:  # keep only what someone waits for
            self._cache[name] = value
        for subscription in self._subscribers.get(name, ()):
            subscription._offer(value)

    async def _run(self) -> None:
        from kubernetes_asyncio.client import CoreV1Api
        from kubernetes_asyncio.client.exceptions import ApiException

        backoff, credentials_read_again = _BACKOFF_MIN, False
        while True:
            try:
                async with self.open_client() as api_client:  # loads the connection's credentials anew
                    core = CoreV1Api(api_client)
                    version = await self._list(core)
                    backoff, credentials_read_again = _BACKOFF_MIN, False
                    while True:
                        version = await self._watch(api_client, core, version)
            except asyncio.CancelledError:
                raise
            except ApiException as error:
                if error.status == 401 and not credentials_read_again:
                    # The token this client loaded may have expired (service-account and exec credentials
                    # rotate): list again once with a fresh client before the refusal counts.
                    credentials_read_again = True
                    self._record_error("HTTP 401 Unauthorized: loading the credentials again")
                    continue
                if error.status in (401, 403):  # refused with fresh credentials: no retry can help
                    self._refuse_all(error)
                    return
                self._record_error(f"HTTP {error.status} {error.reason}")
                if error.status == 410:
                    continue  # the version we watched from is compacted away: list again at once
            except Exception as error:
                self._record_error(f"{type(error).__name__}: {error}")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX)

    def _refuse_all(self, error: Any) -> None:
        from airflow_flink_k8s.hooks.kubernetes import api_error

        refusal = api_error(error, "list/watch", f"ConfigMaps in {self.namespace} ({self.label_selector})")
        self.stats.errors += 1
        self.stats.last_error = str(refusal)
        log.warning("ConfigMap watch in namespace %s refused, not retried: %s", self.namespace, refusal)
        self._task = None  # a later subscriber starts a fresh attempt (the Role may have been fixed)
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription._refuse(refusal)

    def _record_error(self, text: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = text
        log.info("ConfigMap watch in namespace %s: %s; listing again", self.namespace, text)

    async def _list(self, core: Any) -> str:
        from kubernetes_asyncio.client.exceptions import ApiException

        answer = await core.list_namespaced_config_map(
            self.namespace, label_selector=self.label_selector, _preload_content=False, _request_timeout=60)
        async with answer:
            if answer.status != 200:
                error = ApiException(status=answer.status, reason="list ConfigMaps")
                error.body = await answer.text()
                raise error
            body = await answer.json()
        self.stats.lists += 1
        items = {item["metadata"]["name"]: item for item in body.get("items") or []}
        for name in set(self._cache) - set(items):
            self._publish(name, None)
        for name in self._subscribers:
            self._publish(name, items.get(name))
        self._listed = True
        return str(body["metadata"]["resourceVersion"])

    async def _watch(self, api_client: ApiClient, core: Any, version: str) -> str:
        """Stream events from ``version`` until the server ends the stream; return the last version seen."""
        from kubernetes_asyncio.watch import Watch

        self.stats.watch_requests += 1
        watch = Watch(return_type="object")
        try:
            async for event in watch.stream(
                core.list_namespaced_config_map, self.namespace, label_selector=self.label_selector,
                resource_version=version, allow_watch_bookmarks=True, timeout_seconds=WATCH_SECONDS,
                _request_timeout=WATCH_SECONDS + 30,
            ):
                obj = event["raw_object"]
                version = str(obj.get("metadata", {}).get("resourceVersion") or version)
                if event["type"] == "BOOKMARK":
                    continue
                self.stats.events += 1
                name = obj["metadata"]["name"]
                self._publish(name, None if event["type"] == "DELETED" else obj)
        finally:
            await watch.close()
        return version


def _version(obj: dict[str, Any]) -> Any:
    return (obj.get("metadata") or {}).get("resourceVersion", id(obj))


_REGISTRIES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str, str], NamespaceConfigMapWatch]] = (
    weakref.WeakKeyDictionary())


def shared_watches() -> dict[tuple[str, str, str], NamespaceConfigMapWatch]:
    """This event loop's shared watches, keyed by (API server URL, connection id, namespace)."""
    return _REGISTRIES.setdefault(asyncio.get_running_loop(), {})


@asynccontextmanager
async def watch_configmap(name: str, namespace: str, kubernetes_conn_id: str = "kubernetes_default",
                          ) -> AsyncIterator[Subscription]:
    """Subscribe to ConfigMap ``name`` through the process's shared watch of ``namespace``."""
    open_client, server = await _client_factory(kubernetes_conn_id)
    registry = shared_watches()
    key = (server, kubernetes_conn_id, namespace)
    shared = registry.get(key)
    if shared is None:
        shared = registry[key] = NamespaceConfigMapWatch(namespace, open_client)
    subscription = shared.subscribe(name)
    try:
        yield subscription
    finally:
        if shared.unsubscribe(subscription) and registry.get(key) is shared:
            del registry[key]


_FACTORIES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Task[tuple[Callable[[], Any], str]]]] = (
    weakref.WeakKeyDictionary())


async def _client_factory(kubernetes_conn_id: str) -> tuple[Callable[[], Any], str]:
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
