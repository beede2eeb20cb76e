"""A Kubernetes API emulator on 127.0.0.1 over plain HTTP, for local development and tests.

It is not a Kubernetes cluster: nothing is scheduled by it. The local kubelet (``sandbox.kubelet``) plays
the controller and node parts. It is strict where Flink and the Kubernetes clients depend on the semantics:

* real, monotonically increasing ``resourceVersion``, ``uid``, ``creationTimestamp``, ``generation``;
* ``409 AlreadyExists`` on POST and ``409 Conflict`` on a PUT/PATCH/DELETE carrying a stale resourceVersion
  (Flink's Kubernetes leader election is a compare-and-swap on the cluster ConfigMap);
* name, label and per-kind validation (422), namespaces must exist (404);
* JSON merge patch, strategic merge patch (served as a merge) and JSON patch;
* label and field selectors on list and watch, with ADDED/DELETED synthesised when an object starts or stops
  matching, as the real watch cache does;
* list + watch over chunked HTTP and over WebSocket (fabric8, inside Flink, tries WebSocket first),
  bookmarks, ``410 Gone`` for a resourceVersion older than the kept history, ``timeoutSeconds``;
* finalizers, and owner-reference garbage collection (Background, Foreground, Orphan) with an optional delay;
* ``services/<name>:<port>/proxy/<path>`` forwarded to a registered local address, and pod logs from files;
* fault injection (see ``faults.FaultRule``) and counters, through ``/_emulator/…`` admin endpoints;
* optional RBAC (``--rbac`` or ``POST /_emulator/rbac``): bearer tokens map to users (``POST /_emulator/tokens``),
  and a request the loaded Roles and bindings do not allow gets the API server's 401/403 ``Status``
  (see ``sandbox.authorizer``). The sandbox's own identities (the admin kubeconfig, the kubelet) are in
  ``system:masters``; the admin endpoints stay open. A token revoked through ``DELETE /_emulator/tokens`` gets
  the 401 of an expired token whether RBAC is enforced or not.

Why not ``kmock``: kmock 0.8's ``KubernetesEmulator`` stores objects and serves list/watch, but it hands out no
real resourceVersion (a list answers ``'...'``), never answers 409 for a stale write, treats PUT as a merge,
filters by name/namespace only (no label or field selectors) and has no WebSocket watch. Flink's leader election
and the fabric8 informers need exactly those, so extending it would mean replacing its core; this focused
emulator (aiohttp, already an Airflow dependency) is smaller than that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, WSMsgType, web

from airflow_flink_k8s_sandbox.authorizer import (
    ANONYMOUS,
    RbacPolicy,
    RbacPolicyError,
    RequestAttributes,
    UserInfo,
    forbidden_status,
    request_attributes,
    unauthorized_status,
    watch_requested,
)
from airflow_flink_k8s_sandbox.faults import Faults
from airflow_flink_k8s_sandbox.k8s_resources import BY_PATH, BY_PLURAL, ApiError, ResourceType, conflict
from airflow_flink_k8s_sandbox.k8s_selectors import SelectorError, parse_field_selector, parse_label_selector
from airflow_flink_k8s_sandbox.object_store import Event, ObjectStore, Watcher
from airflow_flink_k8s_sandbox.resource_quota import admit, check_quota_spec
from airflow_flink_k8s_sandbox.scheduling import node_object

WATCH_DEFAULT_TIMEOUT = 1800.0
#: The user the sandbox kubelet authenticates as (the node is ``kubelet.NODE_NAME``).
KUBELET_USER = "system:node:sandbox-node"
#: The user of the sandbox's default kubeconfig (the Airflow tasks' connection in the tests).
ADMIN_USER = "sandbox-admin"
#: The sandbox's own identities: the default kubeconfig's user (``sandbox.kubeconfig``) and the kubelet.
BUILTIN_TOKENS: dict[str, UserInfo] = {
    "sandbox-admin-token": UserInfo.authenticated(ADMIN_USER, ("system:masters",)),
    "sandbox-kubelet-token": UserInfo.authenticated(KUBELET_USER, ("system:nodes", "system:masters")),
}


@dataclass
class Route:
    """A parsed Kubernetes API path."""

    rtype: ResourceType
    namespace: str | None
    name: str | None = None
    subresource: str | None = None
    subpath: str = ""


def parse_route(path: str) -> Route | None:
    """Map ``/api/v1/namespaces/ns/pods/x/log`` and friends to a Route; None when it is not a resource path."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    rtype = BY_PATH.get((group, version, rest[0]))
    if rtype is None:
        return None
    route = Route(rtype, namespace)
    if len(rest) > 1:
        route.name = rest[1]
    if len(rest) > 2:
        route.subresource = rest[2]
        route.subpath = "/".join(rest[3:])
        if path.endswith("/") and route.subpath:
            route.subpath += "/"
    return route


def _everything(obj: dict[str, Any]) -> bool:
    return True


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


class KubernetesApiEmulator:
    """The emulator server; run it with ``await start()`` inside an event loop, or as a process via ``main``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, gc_delay: float = 0.0,
                 history_limit: int = 5000, bookmark_interval: float = 5.0,
                 namespaces: tuple[str, ...] = ("default",), request_log_size: int = 20000,
                 rbac: bool = False) -> None:
        self.host, self.port = host, port
        self.tokens: dict[str, UserInfo] = dict(BUILTIN_TOKENS)
        self.revoked: set[str] = set()
        self.rbac: RbacPolicy | None = RbacPolicy.from_documents([]) if rbac else None
        self.bookmark_interval = bookmark_interval
        self.store = ObjectStore(history_limit=history_limit, gc_delay=gc_delay, scheduler=self._schedule)
        self.faults = Faults()
        self.proxy_targets: dict[tuple[str, str, str], str] = {}
        self.pod_logs: dict[tuple[str, str], str] = {}
        self.previous_pod_logs: dict[tuple[str, str], str] = {}  # the last terminated container's log
        self.request_counts: Counter[str] = Counter()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=request_log_size)
        self.request_seq = 0
        self.watches_open = 0
        self.watches_open_by_resource: Counter[str] = Counter()  # open watch streams per resource (plural)
        self.watches_total = 0
        self._drop_generation = 0
        self._drop_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        for namespace in dict.fromkeys(namespaces):
            self.store.create(BY_PLURAL["namespaces"], "", {"metadata": {"name": namespace}})
        self.store.create(BY_PLURAL["nodes"], "", node_object())

    # ----------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/_emulator/{action:.*}", self._admin)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self.drop_watches()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _schedule(self, delay: float, fn: Callable[[], None]) -> None:
        if delay <= 0:
            fn()
        else:
            asyncio.get_event_loop().call_later(delay, fn)

    def drop_watches(self) -> None:
        """Close every open watch stream now (clients must re-list or resume)."""
        self._drop_generation += 1
        self._drop_event.set()
        self._drop_event = asyncio.Event()

    # ----------------------------------------------------------------- admin API
    async def _admin(self, request: web.Request) -> web.StreamResponse:
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        if action == "stats":
            return web.json_response({
                "requests": dict(self.request_counts), "watches_open": self.watches_open,
                "watches_open_by_resource": dict(+self.watches_open_by_resource),
                "watches_total": self.watches_total, "revision": self.store.revision,
                "objects": len(self.store.objects), "faults": self.faults.summary(),
                "request_seq": self.request_seq,
            })
        if action == "requests":
            since = int(request.query.get("since", "0"))
            return web.json_response([r for r in self.request_log if r["seq"] > since])
        if action == "faults":
            self.faults.configure(body if request.method == "POST" else {})
            return web.json_response({"rules": self.faults.summary()})
        if action == "drop-watches":
            self.drop_watches()
            return web.json_response({"dropped": True})
        if action == "compact":
            self.store.compact()
            return web.json_response({"revision": self.store.revision})
        if action == "gc-delay":
            self.store.gc_delay = float(body["seconds"])
            return web.json_response({"gc_delay": self.store.gc_delay})
        if action == "proxy-targets":
            key = (body["namespace"], body["service"], str(body["port"]))
            if request.method == "DELETE":
                self.proxy_targets.pop(key, None)
            else:
                self.proxy_targets[key] = body["target"].rstrip("/")
            return web.json_response({"targets": len(self.proxy_targets)})
        if action == "pod-logs":
            self.pod_logs[(body["namespace"], body["pod"])] = body["path"]
            if body.get("previous"):
                self.previous_pod_logs[(body["namespace"], body["pod"])] = body["previous"]
            return web.json_response({"logs": len(self.pod_logs)})
        if action == "tokens" and request.method == "DELETE":
            self.revoked.add(body["token"])  # an expired token: refused (401) from now on, RBAC or not
            self.tokens.pop(body["token"], None)
            return web.json_response({"revoked": True})
        if action == "tokens":
            self.tokens[body["token"]] = UserInfo.authenticated(body["user"], body.get("groups") or ())
            return web.json_response({"user": body["user"], "groups": list(self.tokens[body["token"]].groups)})
        if action == "rbac":
            if request.method == "DELETE":
                self.rbac = None
            elif request.method == "POST":
                try:
                    self.rbac = RbacPolicy.from_documents(body.get("documents") or [],
                                                          body.get("namespace") or "default")
                except RbacPolicyError as exc:
                    return web.json_response({"error": str(exc)}, status=400)
            return web.json_response({"enforcing": self.rbac is not None})
        return web.json_response({"error": f"unknown admin action {action}"}, status=404)

    # ----------------------------------------------------------------- API
    @staticmethod
    def _bearer_token(request: web.Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return (token.strip() or None) if scheme.lower() == "bearer" else None

    def _authenticate(self, token: str | None) -> UserInfo | None:
        """The user of a bearer token; anonymous without one; None for a token nobody was given."""
        return ANONYMOUS if token is None else self.tokens.get(token)

    def _refusal(self, token: str | None, user: UserInfo | None,
                 attributes: RequestAttributes) -> web.Response | None:
        """The 401 for a revoked token; the 401/403 when RBAC is enforced and does not allow the request; else None."""
        if token in self.revoked:
            return web.json_response(unauthorized_status(), status=401)
        if self.rbac is None:
            return None
        if user is None:
            return web.json_response(unauthorized_status(), status=401)
        decision = self.rbac.authorize(attributes)
        if decision.allowed:
            return None
        return web.json_response(forbidden_status(attributes, decision), status=403)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        token = self._bearer_token(request)
        user = self._authenticate(token)
        attributes = request_attributes(user or ANONYMOUS, request.method, path, request.query)
        refusal = self._refusal(token, user, attributes)
        route = parse_route(path)
        watch = request.method == "GET" and route is not None and route.name is None and watch_requested(
            request.query)
        entry: dict[str, Any] = {}
        if route is not None:
            self.request_seq += 1
            entry = {"seq": self.request_seq, "time": time.time(), "method": request.method,
                     "resource": route.rtype.plural, "namespace": route.namespace, "name": route.name,
                     "subresource": route.subresource, "subpath": route.subpath, "watch": watch,
                     "query": dict(request.query),
                     "user": user.name if user else None, "verb": attributes.verb}
            self.request_log.append(entry)
            self.request_counts[f"{'WATCH' if watch else request.method} {route.rtype.plural}"] += 1
        if refusal is not None:
            entry["status"] = refusal.status
            return refusal
        if path in ("/version", "/version/"):
            return web.json_response({"major": "1", "minor": "31", "gitVersion": "v1.31.0-sandbox",
                                      "platform": "linux/amd64"})
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path in ("/api", "/api/"):
            return web.json_response({"kind": "APIVersions", "versions": ["v1"],
                                      "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                      "serverAddress": f"{self.host}:{self.port}"}]})
        if route is None:
            return self._discovery(path)
        delay, injected, applied = self.faults.decide(request.method, route.rtype.plural, route.name, watch,
                                                      user.name if user else None)
        if delay:
            await asyncio.sleep(delay)
        try:
            if injected is not None and not applied:
                raise self._injected(injected, route)
            response = await self._dispatch(request, route, watch)
            if injected is not None:
                raise self._injected(injected, route)
        except ApiError as exc:
            response = web.json_response(exc.status(), status=exc.code)
        except SelectorError as exc:
            response = web.json_response(ApiError(400, "BadRequest", str(exc)).status(), status=400)
        except json.JSONDecodeError as exc:
            response = web.json_response(ApiError(400, "BadRequest", f"invalid JSON body: {exc}").status(),
                                         status=400)
        entry["status"] = response.status
        return response

    @staticmethod
    def _injected(status: int, route: Route) -> ApiError:
        if status == 409:
            return conflict(route.rtype, route.name or "")
        if status == 429:
            return ApiError(429, "TooManyRequests", "injected fault: too many requests, please try again later",
                            {"retryAfterSeconds": 1})
        if status == 503:
            return ApiError(503, "ServiceUnavailable", "injected fault: the server is currently unable to handle "
                            "the request")
        return ApiError(status, "InternalError", "injected fault: an error on the server has prevented the request "
                        "from succeeding")

    def _discovery(self, path: str) -> web.Response:
        parts = [p for p in path.split("/") if p]
        if parts == ["apis"]:
            groups: dict[str, list[str]] = {}
            for rtype in BY_PATH.values():
                if rtype.group:
                    groups.setdefault(rtype.group, []).append(rtype.version)
            return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in sorted(set(vs))],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                for g, vs in sorted(groups.items())]})
        group, version = ("", "v1") if parts[:2] == ["api", "v1"] else (
            (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "apis" else (None, None))
        if group is None or len(parts) not in (2, 3):
            return web.json_response(ApiError(404, "NotFound", "the server could not find the requested resource")
                                     .status(), status=404)
        resources = [
            {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
             "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}
            for (g, v, _), r in BY_PATH.items() if g == group and v == version
        ]
        if not resources:
            return web.json_response(ApiError(404, "NotFound", "the server could not find the requested resource")
                                     .status(), status=404)
        return web.json_response({"kind": "APIResourceList", "apiVersion": "v1",
                                  "groupVersion": f"{group}/{version}" if group else version,
                                  "resources": resources})

    async def _dispatch(self, request: web.Request, route: Route, watch: bool) -> web.StreamResponse:
        rtype, namespace = route.rtype, route.namespace or ""
        if rtype.namespaced and route.namespace is None and request.method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if route.subresource == "proxy" and rtype.plural == "services":
            return await self._proxy(request, route)
        if route.subresource == "log" and rtype.plural == "pods":
            return self._pod_log(request, route)
        if route.subresource not in (None, "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        method = request.method
        if route.name is None:
            if method == "GET":
                return await (self._watch(request, route) if watch else self._list(request, route))
            if method == "POST":
                body = await request.json()
                self._admit(rtype, namespace, body)
                return web.json_response(self.store.create(rtype, namespace, body), status=201)
            if method == "DELETE":
                return self._delete_collection(request, route)
        else:
            if method == "GET":
                return web.json_response(self.store.get(rtype, namespace, route.name))
            if method == "PUT":
                return web.json_response(self.store.replace(rtype, namespace, route.name, await request.json(),
                                                            route.subresource))
            if method == "PATCH":
                content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
                return web.json_response(self.store.patch(rtype, namespace, route.name, content_type,
                                                          await request.json(), route.subresource))
            if method == "DELETE":
                return web.json_response(self.store.delete(rtype, namespace, route.name,
                                                           await self._delete_options(request)))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _admit(self, rtype: ResourceType, namespace: str, body: dict[str, Any]) -> None:
        """The admission a create passes before it is stored: ResourceQuota (:mod:`.resource_quota`)."""
        if rtype.plural == "resourcequotas":
            check_quota_spec(body)
        if not rtype.namespaced or not isinstance(body, dict):
            return
        quotas = self.store.list(BY_PLURAL["resourcequotas"], namespace, _everything)
        if quotas:
            admit(rtype.plural, rtype.group, namespace, body, quotas,
                  lambda plural: self.store.list(BY_PLURAL[plural], namespace, _everything))

    @staticmethod
    async def _delete_options(request: web.Request) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.can_read_body:
            text = await request.text()
            if text.strip():
                options = json.loads(text)
        if "propagationPolicy" in request.query:
            options["propagationPolicy"] = request.query["propagationPolicy"]
        return options

    def _matcher(self, request: web.Request, route: Route) -> Callable[[dict[str, Any]], bool]:
        labels = parse_label_selector(request.query.get("labelSelector"))
        fields = parse_field_selector(request.query.get("fieldSelector"), route.rtype.plural)
        return lambda obj: labels(_labels(obj)) and fields(obj)

    async def _list(self, request: web.Request, route: Route) -> web.Response:
        items = self.store.list(route.rtype, route.namespace, self._matcher(request, route))
        metadata: dict[str, Any] = {"resourceVersion": str(self.store.revision)}
        start = int(request.query.get("continue") or 0)
        limit = int(request.query.get("limit") or 0)
        if limit > 0 and start + limit < len(items):
            metadata["continue"] = str(start + limit)
            metadata["remainingItemCount"] = len(items) - start - limit
            items = items[start:start + limit]
        elif start:
            items = items[start:]
        for item in items:
            item.pop("kind", None)
            item.pop("apiVersion", None)
        return web.json_response({"kind": f"{route.rtype.kind}List", "apiVersion": route.rtype.api_version,
                                  "metadata": metadata, "items": items})

    def _delete_collection(self, request: web.Request, route: Route) -> web.Response:
        matches = self._matcher(request, route)
        deleted = []
        for obj in self.store.list(route.rtype, route.namespace, matches):
            meta = obj["metadata"]
            deleted.append(self.store.delete(route.rtype, meta.get("namespace", ""), meta["name"],
                                             {"propagationPolicy": request.query.get("propagationPolicy",
                                                                                     "Background")}))
        return web.json_response({"kind": f"{route.rtype.kind}List", "apiVersion": route.rtype.api_version,
                                  "metadata": {"resourceVersion": str(self.store.revision)}, "items": deleted})

    # ----------------------------------------------------------------- watch
    def _translate(self, event: Event, namespace: str | None,
                   matches: Callable[[dict[str, Any]], bool]) -> str | None:
        if namespace and (event.obj.get("metadata") or {}).get("namespace") != namespace:
            return None
        if event.type == "ADDED":
            return "ADDED" if matches(event.obj) else None
        if event.type == "DELETED":
            return "DELETED" if matches(event.obj) or (event.old is not None and matches(event.old)) else None
        new_ok, old_ok = matches(event.obj), event.old is not None and matches(event.old)
        if new_ok and old_ok:
            return "MODIFIED"
        if new_ok:
            return "ADDED"
        return "DELETED" if old_ok else None

    async def _watch(self, request: web.Request, route: Route) -> web.StreamResponse:
        matches = self._matcher(request, route)
        namespace = route.namespace
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        start = request.query.get("resourceVersion", "")
        bookmarks = request.query.get("allowWatchBookmarks", "").lower() in ("true", "1")
        timeout = float(request.query.get("timeoutSeconds") or WATCH_DEFAULT_TIMEOUT)
        if self.faults.watch_max_seconds is not None:
            timeout = min(timeout, self.faults.watch_max_seconds)

        def deliver(event: Event) -> None:
            kind = self._translate(event, namespace, matches)
            if kind is not None:
                queue.put_nowait({"type": kind, "object": event.obj})

        if start in ("", "0"):
            for obj in self.store.list(route.rtype, namespace, matches):
                queue.put_nowait({"type": "ADDED", "object": obj})
        elif int(start) < self.store.oldest_revision():
            queue.put_nowait({"type": "ERROR", "object": ApiError(
                410, "Expired", f"too old resource version: {start} ({self.store.oldest_revision() + 1})").status()})
            queue.put_nowait({})
        else:
            for event in self.store.events_after(int(start)):
                deliver(event)
        watcher = Watcher(route.rtype.plural, namespace, matches, deliver)
        self.store.watchers.append(watcher)
        self.watches_open += 1
        self.watches_open_by_resource[route.rtype.plural] += 1
        self.watches_total += 1
        try:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._stream_websocket(request, queue, timeout, bookmarks, route.rtype)
            return await self._stream_chunked(request, queue, timeout, bookmarks, route.rtype)
        finally:
            self.store.watchers.remove(watcher)
            self.watches_open -= 1
            self.watches_open_by_resource[route.rtype.plural] -= 1

    async def _events(self, queue: asyncio.Queue[dict[str, Any]], timeout: float, bookmarks: bool,
                      rtype: ResourceType) -> AsyncIterator[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        dropped = asyncio.ensure_future(self._drop_event.wait())
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, dropped}, timeout=min(remaining, self.bookmark_interval),
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    event = getter.result()
                    if not event:
                        return
                    yield event
                    continue
                getter.cancel()
                if dropped in done:
                    return
                if bookmarks:
                    yield {"type": "BOOKMARK", "object": {"kind": rtype.kind, "apiVersion": rtype.api_version,
                                                          "metadata": {"resourceVersion": str(self.store.revision)}}}
        finally:
            dropped.cancel()

    async def _stream_chunked(self, request: web.Request, queue: asyncio.Queue[dict[str, Any]], timeout: float,
                              bookmarks: bool, rtype: ResourceType) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json",
                                               "Transfer-Encoding": "chunked"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            async for event in self._events(queue, timeout, bookmarks, rtype):
                await response.write(json.dumps(event).encode() + b"\n")
            await response.write_eof()
        return response

    async def _stream_websocket(self, request: web.Request, queue: asyncio.Queue[dict[str, Any]], timeout: float,
                                bookmarks: bool, rtype: ResourceType) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)

        async def drain_client() -> None:
            async for message in ws:
                if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    return

        reader = asyncio.ensure_future(drain_client())
        try:
            async for event in self._events(queue, timeout, bookmarks, rtype):
                if ws.closed or reader.done():
                    break
                await ws.send_str(json.dumps(event))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            reader.cancel()
            await ws.close()
        return ws

    # ----------------------------------------------------------------- proxy and logs
    async def _proxy(self, request: web.Request, route: Route) -> web.StreamResponse:
        name, _, port = (route.name or "").partition(":")
        namespace = route.namespace or ""
        service = self.store.get(route.rtype, namespace, name)
        ports = (service.get("spec") or {}).get("ports") or []
        wanted = port or (str(ports[0].get("name") or ports[0].get("port")) if ports else "")
        aliases = {wanted}
        for item in ports:
            if wanted in (str(item.get("name")), str(item.get("port"))):
                aliases |= {str(item.get("name")), str(item.get("port"))}
        target = next((self.proxy_targets[(namespace, name, a)] for a in aliases
                       if (namespace, name, a) in self.proxy_targets), None)
        if target is None:
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=60))
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "authorization", "content-length", "transfer-encoding")}
        url = f"{target}/{route.subpath}"
        try:
            async with self._client.request(request.method, url, params=request.query, headers=headers,
                                            data=await request.read()) as upstream:
                body = await upstream.read()
                return web.Response(body=body, status=upstream.status,
                                    content_type=upstream.content_type or "application/octet-stream")
        except OSError as exc:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: {exc}") from exc

    def _pod_log(self, request: web.Request, route: Route) -> web.Response:
        """``GET pods/<name>/log`` as the kubelet answers it: ``container``, ``previous``, ``tailLines`` and
        ``limitBytes``; a crash-looping container's log is its last terminated instance's."""
        namespace, name = route.namespace or "", route.name or ""
        pod = self.store.get(route.rtype, namespace, name)
        names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        container = request.query.get("container") or (names[0] if len(names) == 1 else "")
        if container not in names:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}" if container
                           else f"a container name must be specified for pod {name}, choose one of: {names}")
        previous = request.query.get("previous", "").lower() in ("true", "1")
        tail, limit = _log_option(request, "tailLines", 0), _log_option(request, "limitBytes", 1)
        status = next((s for s in (pod.get("status") or {}).get("containerStatuses") or []
                       if s.get("name") == container), {})
        state, terminated = status.get("state") or {}, (status.get("lastState") or {}).get("terminated")
        key = (namespace, name)
        if previous or (terminated and not ({"running", "terminated"} & set(state))):
            path = self.previous_pod_logs.get(key) if terminated else None
            if path is None and previous:
                raise ApiError(400, "BadRequest", f'previous terminated container "{container}" in pod "{name}" '
                                                  "not found")
        else:
            path = None if "waiting" in state else self.pod_logs.get(key)
        if path is None or not Path(path).exists():
            reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: '
                                              f"{reason}")
        lines = Path(path).read_text(errors="replace").splitlines(keepends=True)
        if tail is not None:
            lines = lines[max(len(lines) - tail, 0):] if tail else []
        data = "".join(lines).encode()
        return web.Response(body=data[:limit] if limit is not None else data, content_type="text/plain")


def _log_option(request: web.Request, name: str, minimum: int) -> int | None:
    """An integer query option of the log endpoint, or None when absent; 400 when not an integer ≥ ``minimum``."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ApiError(400, "BadRequest", f"{name}: Invalid value: {raw!r}: must be greater than or equal to "
                                          f"{minimum}")
    return value


async def _serve(args: argparse.Namespace) -> None:
    emulator = KubernetesApiEmulator(args.host, args.port, gc_delay=args.gc_delay,
                                     bookmark_interval=args.bookmark_interval,
                                     namespaces=tuple(args.namespace or ["default"]), rbac=args.rbac)
    await emulator.start()
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(str(emulator.port))
        os.replace(tmp, args.port_file)
    print(f"kubernetes api emulator listening on {emulator.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await emulator.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the emulator as a process: ``python -m airflow_flink_k8s_sandbox.emulator --port 0 --port-file F``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--gc-delay", type=float, default=0.0, help="seconds before owned objects are collected")
    parser.add_argument("--bookmark-interval", type=float, default=5.0)
    parser.add_argument("--namespace", action="append", help="namespace to create at start (repeatable)")
    parser.add_argument("--rbac", action="store_true",
                        help="enforce RBAC from the start (no Roles yet: load them with POST /_emulator/rbac)")
    args = parser.parse_args(argv)
    if not args.host.startswith("127."):
        parser.error("the emulator only listens on loopback (127.0.0.0/8)")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
