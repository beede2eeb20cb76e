"""One shared list+watch of a kind of Flink object per (API server, connection, namespace), fanned out to waits.

Two kinds are watched: Flink's ConfigMaps (``type=flink-native-kubernetes``; a subscriber waits for one map, by name:
see :mod:`airflow_flink_k8s.hooks.configmap_watch`) and JobManager pods (``component=jobmanager,
type=flink-native-kubernetes``; a subscriber reads the pods of one cluster, by their ``app`` label).

Why one watch per namespace with a label selector, not one per cluster: a field selector on ``metadata.name``
selects exactly one object (the API has no set-based field selectors) and a label selector with ``app=<cid>`` one
cluster, so N waiting triggers would hold N watch connections (or, polling, make N lists per interval), and the API
server pays for every one. The labels used are the ones Flink's native Kubernetes integration puts on every
ConfigMap (1.13 to 2.3; ``configmap-type=high-availability`` is gone in 2.x) and on every JobManager pod.

Credentials are part of the key: waits using different Airflow connections never share a stream, so one
connection's RBAC grants never answer for another's. In one process (the triggerer) each (kind, API server,
connection, namespace) has one :class:`NamespaceWatch`, started by its first subscriber and stopped with its last.

The watch lists, then watches from the list's ``resourceVersion`` (with bookmarks), and keeps every object it
selects (without ``managedFields``). A stream the server ends is resumed from the last version seen; a ``410 Gone``
or a broken stream or failed request means a fresh list (after a short back-off), from which subscribers get the
current state. A 401 also means a fresh list, once, with the connection's credentials loaded anew (tokens expire);
a 401 that persists, or a 403, reaches every subscriber as the refusal it is. Subscribers see only the newest
objects: a slow reader skips intermediate versions, never queues them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_flink_k8s.core.names import NATIVE_TYPE_SELECTOR, label_selector, selector_labels
from airflow_flink_k8s.hooks.kubernetes import api_error, client_factory

if TYPE_CHECKING:
    from kubernetes_asyncio.client import ApiClient

log = logging.getLogger(__name__)

#: Seconds a watch request asks the server to keep the stream open before it is resumed.
WATCH_SECONDS = 300
_BACKOFF_MIN, _BACKOFF_MAX = 0.2, 5.0


@dataclass(frozen=True)
class WatchedKind:
    """A kind watched per namespace: its ``CoreV1Api`` list method, selector, and the subscribers' key (the value
    of label ``key_label``, or the object's name when None)."""

    kind: str
    plural: str
    list_method: str
    label_selector: str
    key_label: str | None = None

    def key_of(self, obj: dict[str, Any]) -> str | None:
        metadata = obj.get("metadata") or {}
        return metadata.get("name") if self.key_label is None else (metadata.get("labels") or {}).get(self.key_label)


def _every_jobmanager_selector() -> str:
    """``component=jobmanager,type=flink-native-kubernetes``: the JobManager pod labels without the cluster's."""
    labels = selector_labels("")
    labels.pop("app")
    return label_selector(labels)


CONFIGMAPS = WatchedKind("ConfigMap", "ConfigMaps", "list_namespaced_config_map", NATIVE_TYPE_SELECTOR)
JOBMANAGER_PODS = WatchedKind("Pod", "Pods", "list_namespaced_pod", _every_jobmanager_selector(), key_label="app")


class Subscription:
    """The newest objects of one key (a ConfigMap's name, a cluster's pods) as the shared watch saw them."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._objects: dict[str, dict[str, Any]] | None = None  # None: not listed since the subscription began
        self._refusal: Exception | None = None
        self._changed = asyncio.Event()
        self._known = asyncio.Event()

    @property
    def known(self) -> bool:
        """Whether the watch has listed the namespace since this subscription began."""
        return self._objects is not None

    def items(self) -> list[dict[str, Any]]:
        """The objects seen (none before the first list); raises the API's refusal (``KubernetesApiError``
        401/403) once the watch was refused."""
        if self._refusal is not None:
            raise self._refusal
        return list((self._objects or {}).values())

    def current(self) -> dict[str, Any] | None:
        """The one object of a by-name subscription, or ``None`` when absent (see :meth:`items`)."""
        return next(iter(self.items()), None)

    async def changed(self) -> dict[str, Any] | None:
        """Wait until the objects change after the last call, then return :meth:`current`."""
        await self._changed.wait()
        self._changed.clear()
        return self.current()

    async def listed(self) -> None:
        """Wait until the watch has listed the namespace (or was refused)."""
        await self._known.wait()

    def _refuse(self, error: Exception) -> None:
        self._refusal = error
        self._changed.set()
        self._known.set()

    def _offer(self, objects: dict[str, dict[str, Any]]) -> None:
        if self._objects is None or _versions(objects) != _versions(self._objects):
            self._objects = dict(objects)
            self._changed.set()
        self._known.set()


@dataclass
class WatchStats:
    """Counters of one shared watch, for tests and benchmarks."""

    lists: int = 0
    watch_requests: int = 0
    events: int = 0
    errors: int = 0
    last_error: str | None = None


@dataclass
class NamespaceWatch:
    """One list+watch of ``kind`` in ``namespace``, fanned out by key."""

    kind: WatchedKind
    namespace: str
    open_client: Callable[[], Any]  # an async context manager yielding a kubernetes_asyncio ApiClient
    stats: WatchStats = field(default_factory=WatchStats)
    _subscribers: dict[str, set[Subscription]] = field(default_factory=dict)
    _cache: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # key -> name -> object
    _listed: bool = False
    _task: asyncio.Task[None] | None = None

    def subscribe(self, key: str) -> Subscription:
        subscription = Subscription(key)
        self._subscribers.setdefault(key, set()).add(subscription)
        if self._listed:
            subscription._offer(self._cache.get(key, {}))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"flink-{self.kind.kind.lower()}-watch-{self.namespace}")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> bool:
        """Drop ``subscription``; return True when it was the last one (the watch is then stopped)."""
        subscribers = self._subscribers.get(subscription.key, set())
        subscribers.discard(subscription)
        if not subscribers:
            self._subscribers.pop(subscription.key, None)
        if self._subscribers:
            return False
        if self._task is not None:
            self._task.cancel()
            self._task = None
        return True

    @property
    def subscriber_count(self) -> int:
        return sum(len(subs) for subs in self._subscribers.values())

    def _store(self, obj: dict[str, Any], deleted: bool) -> str | None:
        """Put ``obj`` in the cache (or take it out); its key."""
        key, name = self.kind.key_of(obj), (obj.get("metadata") or {}).get("name")
        if key is None or name is None:
            return None
        objects = self._cache.setdefault(key, {})
        if deleted:
            objects.pop(name, None)
        else:
            (obj.get("metadata") or {}).pop("managedFields", None)
            objects[name] = obj
        if not objects:
            del self._cache[key]
        return key

    def _publish(self, key: str) -> None:
        for subscription in self._subscribers.get(key, ()):
            subscription._offer(self._cache.get(key, {}))

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
        refusal = api_error(error, "list/watch", f"{self.kind.plural} in {self.namespace} ({self.kind.label_selector})")
        self.stats.errors += 1
        self.stats.last_error = str(refusal)
        log.warning("%s watch in namespace %s refused, not retried: %s", self.kind.kind, self.namespace, refusal)
        self._task = None  # a later subscriber starts a fresh attempt (the Role may have been fixed)
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription._refuse(refusal)

    def _record_error(self, text: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = text
        log.info("%s watch in namespace %s: %s; listing again", self.kind.kind, self.namespace, text)

    async def _list(self, core: Any) -> str:
        from kubernetes_asyncio.client.exceptions import ApiException

        answer = await getattr(core, self.kind.list_method)(
            self.namespace, label_selector=self.kind.label_selector, _preload_content=False, _request_timeout=60)
        async with answer:
            if answer.status != 200:
                error = ApiException(status=answer.status, reason=f"list {self.kind.plural}")
                error.body = await answer.text()
                raise error
            body = await answer.json()
        self.stats.lists += 1
        before = set(self._cache)
        self._cache = {}
        for item in body.get("items") or []:
            self._store(item, deleted=False)
        self._listed = True
        for key in before | set(self._cache) | set(self._subscribers):
            self._publish(key)
        return str(body["metadata"]["resourceVersion"])

    async def _watch(self, api_client: ApiClient, core: Any, version: str) -> str:
        """Stream events from ``version`` until the server ends the stream; return the last version seen.

        The stream is read here, line by line, rather than through ``kubernetes_asyncio.watch.Watch``: each
        ``Watch()`` builds an ``ApiClient`` of its own, whose TLS context loads the system CA bundle (tens of ms of
        CPU), and parses every event's JSON twice. Under dropped or expiring watches that cost is paid per reconnect
        and per waiting task; it was the largest share of the load benchmark's extra time under faults."""
        from kubernetes_asyncio.client.exceptions import ApiException

        self.stats.watch_requests += 1
        answer = await getattr(core, self.kind.list_method)(
            self.namespace, label_selector=self.kind.label_selector, resource_version=version,
            allow_watch_bookmarks=True, timeout_seconds=WATCH_SECONDS, watch=True, _preload_content=False,
            _request_timeout=WATCH_SECONDS + 30)
        async with answer:
            if answer.status != 200:
                error = ApiException(status=answer.status, reason=f"watch {self.kind.plural}")
                error.body = await answer.text()
                raise error
            while line := await answer.content.readline():
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object")
                if kind == "ERROR" or not isinstance(obj, dict):  # e.g. 410 Gone: the version was compacted away
                    status = obj if isinstance(obj, dict) else event
                    raise ApiException(status=int(status.get("code") or 500),
                                       reason=str(status.get("reason") or "watch error"))
                version = str(obj.get("metadata", {}).get("resourceVersion") or version)
                if kind == "BOOKMARK":
                    continue
                self.stats.events += 1
                key = self._store(obj, deleted=kind == "DELETED")
                if key is not None:
                    self._publish(key)
        return version


def _versions(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: (obj.get("metadata") or {}).get("resourceVersion", id(obj)) for name, obj in objects.items()}


_Registry = dict[str, dict[tuple[str, str, str], NamespaceWatch]]
_REGISTRIES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Registry] = weakref.WeakKeyDictionary()


def shared_watches(kind: WatchedKind) -> dict[tuple[str, str, str], NamespaceWatch]:
    """This event loop's shared watches of ``kind``, keyed by (API server URL, connection id, namespace)."""
    return _REGISTRIES.setdefault(asyncio.get_running_loop(), {}).setdefault(kind.kind, {})


@asynccontextmanager
async def subscribe(kind: WatchedKind, key: str, namespace: str,
                    kubernetes_conn_id: str = "kubernetes_default") -> AsyncIterator[Subscription]:
    """Subscribe to the objects of ``key`` through the process's shared watch of ``kind`` in ``namespace``."""
    open_client, server = await client_factory(kubernetes_conn_id)
    registry = shared_watches(kind)
    registry_key = (server, kubernetes_conn_id, namespace)
    shared = registry.get(registry_key)
    if shared is None:
        shared = registry[registry_key] = NamespaceWatch(kind, namespace, open_client)
    subscription = shared.subscribe(key)
    try:
        yield subscription
    finally:
        if shared.unsubscribe(subscription) and registry.get(registry_key) is shared:
            del registry[registry_key]


def watch_jobmanager_pods(cluster_id: str, namespace: str,
                          kubernetes_conn_id: str = "kubernetes_default") -> AbstractAsyncContextManager[Subscription]:
    """Subscribe to the JobManager pods of ``cluster_id`` (an async context manager yielding a
    :class:`Subscription`; read them with :meth:`Subscription.items`)."""
    return subscribe(JOBMANAGER_PODS, cluster_id, namespace, kubernetes_conn_id)
