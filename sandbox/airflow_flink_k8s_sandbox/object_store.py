"""The emulator's state: objects with uid/resourceVersion, optimistic concurrency, finalizers, owner-reference
garbage collection and the event history that watches replay.

It is synchronous and single-threaded by design: the HTTP server calls it from one event loop, so every
mutation is atomic, exactly like one etcd transaction.
"""

from __future__ import annotations

import base64
import copy
import itertools
import secrets
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_flink_k8s_sandbox import k8s_validation
from airflow_flink_k8s_sandbox.k8s_resources import (
    BY_PLURAL,
    ApiError,
    ResourceType,
    conflict,
    invalid,
    not_found,
)
from airflow_flink_k8s_sandbox.patches import PatchError, json_patch, merge_patch

Key = tuple[str, str, str]  # (plural, namespace or "", name)
Scheduler = Callable[[float, Callable[[], None]], None]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Event:
    """One change, as a watch delivers it."""

    resource_version: int
    plural: str
    type: str
    obj: dict[str, Any]
    old: dict[str, Any] | None = None


@dataclass
class Watcher:
    """A subscriber; the server drains ``deliver`` calls into its stream."""

    plural: str
    namespace: str | None
    matches: Callable[[dict[str, Any]], bool]
    deliver: Callable[[Event], None]


@dataclass
class ObjectStore:
    """All objects of the emulated cluster."""

    history_limit: int = 5000
    gc_delay: float = 0.0
    scheduler: Scheduler = lambda delay, fn: fn()
    _rv: itertools.count = field(default_factory=lambda: itertools.count(1))
    revision: int = 0
    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    history: deque[Event] = field(default_factory=deque)
    watchers: list[Watcher] = field(default_factory=list)
    _node_ports: itertools.count = field(default_factory=lambda: itertools.count(30000))
    _cluster_ips: itertools.count = field(default_factory=lambda: itertools.count(10))

    # ----------------------------------------------------------------- reads
    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.objects.get(self._key(rtype, namespace, name))
        if obj is None:
            raise not_found(rtype, name)
        return copy.deepcopy(obj)

    def list(self, rtype: ResourceType, namespace: str | None,
             matches: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        items = [
            copy.deepcopy(obj)
            for (plural, ns, _), obj in sorted(self.objects.items())
            if plural == rtype.plural and (namespace is None or ns == namespace) and matches(obj)
        ]
        return items

    def oldest_revision(self) -> int:
        """The oldest resourceVersion a watch may still start from."""
        return self.history[0].resource_version - 1 if self.history else self.revision

    def events_after(self, revision: int) -> list[Event]:
        return [event for event in self.history if event.resource_version > revision]

    # ----------------------------------------------------------------- writes
    def create(self, rtype: ResourceType, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if rtype.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                               "namespace sent on the request")
            meta["namespace"] = namespace
            if ("namespaces", "", namespace) not in self.objects:
                raise not_found(BY_PLURAL["namespaces"], namespace)
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        k8s_validation.check_metadata(rtype, obj)
        key = self._key(rtype, namespace, meta["name"])
        if key in self.objects:
            raise ApiError(409, "AlreadyExists",
                           f'{rtype.plural}{"." + rtype.group if rtype.group else ""} "{meta["name"]}" already exists',
                           {"name": meta["name"], "group": rtype.group, "kind": rtype.plural})
        for stale in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(stale, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        obj["kind"], obj["apiVersion"] = rtype.kind, rtype.api_version
        self._apply_defaults(rtype, obj)
        k8s_validation.check_kind_rules(rtype, obj)
        if rtype.plural == "deployments":
            meta["generation"] = 1
        created = self._commit(rtype, key, "ADDED", obj, None)
        refs = meta.get("ownerReferences") or []
        if refs and not any(self._uid_exists(ref.get("uid")) for ref in refs):
            # As the real garbage collector: an object whose owners are all gone is collected.
            self.scheduler(self.gc_delay, lambda: self._collect_orphan(key, meta["uid"]))
        return created

    def replace(self, rtype: ResourceType, namespace: str, name: str, body: dict[str, Any],
                subresource: str | None = None) -> dict[str, Any]:
        current = self.get(rtype, namespace, name)
        wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
        if wanted_rv not in (None, "") and str(wanted_rv) != current["metadata"]["resourceVersion"]:
            raise conflict(rtype, name)
        if (body.get("metadata") or {}).get("name") not in (None, name):
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        return self._update(rtype, current, copy.deepcopy(body), subresource)

    def patch(self, rtype: ResourceType, namespace: str, name: str, patch_type: str, patch: Any,
              subresource: str | None = None) -> dict[str, Any]:
        current = self.get(rtype, namespace, name)
        try:
            if patch_type == "application/json-patch+json":
                patched = json_patch(current, patch)
            elif patch_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                if not isinstance(patch, dict):
                    raise PatchError("a merge patch must be a JSON object")
                patched = merge_patch(current, patch)
            else:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/strategic-merge-patch+json")
        except PatchError as exc:
            raise invalid(rtype, name, "patch", str(exc)) from exc
        wanted_rv = (patched.get("metadata") or {}).get("resourceVersion")
        if wanted_rv not in (None, "") and str(wanted_rv) != current["metadata"]["resourceVersion"]:
            raise conflict(rtype, name)
        return self._update(rtype, current, patched, subresource)

    def delete(self, rtype: ResourceType, namespace: str, name: str,
               options: dict[str, Any] | None = None) -> dict[str, Any]:
        options = options or {}
        current = self.get(rtype, namespace, name)
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") not in (None, current["metadata"]["uid"]):
            raise ApiError(409, "Conflict", f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                           f"UID in object meta: {current['metadata']['uid']}")
        if preconditions.get("resourceVersion") not in (None, current["metadata"]["resourceVersion"]):
            raise conflict(rtype, name)
        policy = options.get("propagationPolicy") or ("Orphan" if options.get("orphanDependents") else "Background")
        meta = current["metadata"]
        if policy == "Orphan":
            self._orphan_dependents(meta["uid"])
        elif policy == "Foreground":
            if meta.get("deletionTimestamp"):
                return current
            meta["deletionTimestamp"] = _now()
            meta["finalizers"] = [*(meta.get("finalizers") or []), "foregroundDeletion"]
            updated = self._commit(rtype, self._key(rtype, namespace, name), "MODIFIED", current,
                                   self.objects[self._key(rtype, namespace, name)])
            self.scheduler(self.gc_delay, lambda: self._collect_dependents(meta["uid"], then=(rtype, namespace, name)))
            return updated
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = _now()
                meta["deletionGracePeriodSeconds"] = 0
                return self._commit(rtype, self._key(rtype, namespace, name), "MODIFIED", current,
                                    self.objects[self._key(rtype, namespace, name)])
            return current
        return self._remove(rtype, namespace, name)

    # ----------------------------------------------------------------- internals
    @staticmethod
    def _key(rtype: ResourceType, namespace: str | None, name: str) -> Key:
        return (rtype.plural, namespace or "" if rtype.namespaced else "", name)

    def _update(self, rtype: ResourceType, current: dict[str, Any], new: dict[str, Any],
                subresource: str | None) -> dict[str, Any]:
        meta = current["metadata"]
        if subresource == "status":
            result = copy.deepcopy(current)
            result["status"] = new.get("status", {})
        else:
            result = new
            new_meta = result.setdefault("metadata", {})
            for fixed in ("uid", "creationTimestamp", "namespace", "name", "deletionTimestamp", "generation"):
                if fixed in meta:
                    new_meta[fixed] = meta[fixed]
                else:
                    new_meta.pop(fixed, None)
            if rtype.has_status and rtype.plural != "namespaces":
                if "status" in current:
                    result["status"] = current["status"]
                else:
                    result.pop("status", None)
            if rtype.plural == "secrets":
                self._apply_defaults(rtype, result)
            k8s_validation.check_metadata(rtype, result)
            k8s_validation.check_kind_rules(rtype, result)
            if rtype.plural == "services":
                self._keep_allocations(current, result)
            if rtype.plural == "deployments" and result.get("spec") != current.get("spec"):
                new_meta["generation"] = int(meta.get("generation", 1)) + 1
        result["kind"], result["apiVersion"] = rtype.kind, rtype.api_version
        result["metadata"].pop("resourceVersion", None)
        key = self._key(rtype, meta.get("namespace"), meta["name"])
        if result["metadata"].get("deletionTimestamp") and not result["metadata"].get("finalizers"):
            self._commit(rtype, key, "MODIFIED", result, self.objects[key])
            return self._remove(rtype, meta.get("namespace", ""), meta["name"])
        return self._commit(rtype, key, "MODIFIED", result, self.objects[key])

    def _commit(self, rtype: ResourceType, key: Key, kind: str, obj: dict[str, Any],
                old: dict[str, Any] | None) -> dict[str, Any]:
        self.revision = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self.objects[key] = obj
        self._publish(Event(self.revision, rtype.plural, kind, copy.deepcopy(obj), copy.deepcopy(old)))
        return copy.deepcopy(obj)

    def _remove(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        key = self._key(rtype, namespace, name)
        obj = self.objects.pop(key)
        self.revision = next(self._rv)
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self.revision)
        self._publish(Event(self.revision, rtype.plural, "DELETED", gone, obj))
        self.scheduler(self.gc_delay, lambda: self._collect_dependents(obj["metadata"]["uid"]))
        return copy.deepcopy(gone)

    def _publish(self, event: Event) -> None:
        self.history.append(event)
        while len(self.history) > self.history_limit:
            self.history.popleft()
        for watcher in list(self.watchers):
            if watcher.plural == event.plural:
                watcher.deliver(event)

    def compact(self) -> None:
        """Forget the event history, so that every older resourceVersion answers 410 Gone."""
        self.history.clear()

    def _dependents(self, owner_uid: str) -> list[Key]:
        return [
            key for key, obj in self.objects.items()
            if any(ref.get("uid") == owner_uid for ref in obj["metadata"].get("ownerReferences") or [])
        ]

    def _collect_dependents(self, owner_uid: str, then: tuple[ResourceType, str, str] | None = None) -> None:
        """Garbage-collect what ``owner_uid`` owned (its owner is gone or going). As the real garbage collector, a
        dependent another owner still holds only loses the reference to this one."""
        for plural, namespace, name in self._dependents(owner_uid):
            rtype = BY_PLURAL[plural]
            key = self._key(rtype, namespace, name)
            if key not in self.objects:
                continue
            refs = self.objects[key]["metadata"].get("ownerReferences") or []
            if any(ref.get("uid") != owner_uid and self._uid_exists(ref.get("uid")) for ref in refs):
                obj = copy.deepcopy(self.objects[key])
                obj["metadata"]["ownerReferences"] = [ref for ref in refs if ref.get("uid") != owner_uid]
                self._commit(rtype, key, "MODIFIED", obj, self.objects[key])
            else:
                self.delete(rtype, namespace, name, {"propagationPolicy": "Background"})
        if then is not None:
            rtype, namespace, name = then
            key = self._key(rtype, namespace, name)
            if key in self.objects:
                obj = copy.deepcopy(self.objects[key])
                finalizers = [f for f in obj["metadata"].get("finalizers") or [] if f != "foregroundDeletion"]
                obj["metadata"]["finalizers"] = finalizers
                if finalizers:
                    self._commit(rtype, key, "MODIFIED", obj, self.objects[key])
                else:
                    self._remove(rtype, namespace, name)

    def _uid_exists(self, uid: str | None) -> bool:
        return any(obj["metadata"]["uid"] == uid for obj in self.objects.values())

    def _collect_orphan(self, key: Key, uid: str) -> None:
        obj = self.objects.get(key)
        if obj is not None and obj["metadata"]["uid"] == uid:
            self.delete(BY_PLURAL[key[0]], key[1], key[2], {"propagationPolicy": "Background"})

    def _orphan_dependents(self, owner_uid: str) -> None:
        for key in self._dependents(owner_uid):
            obj = copy.deepcopy(self.objects[key])
            refs = [r for r in obj["metadata"]["ownerReferences"] if r.get("uid") != owner_uid]
            obj["metadata"]["ownerReferences"] = refs
            self._commit(BY_PLURAL[key[0]], key, "MODIFIED", obj, self.objects[key])

    def _apply_defaults(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        if rtype.plural == "secrets":
            obj.setdefault("type", "Opaque")
            string_data = obj.pop("stringData", None) or {}
            data = obj.setdefault("data", {}) or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
        elif rtype.plural == "services":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            if spec["type"] not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
                raise invalid(rtype, obj["metadata"]["name"], "spec.type", f'Unsupported value: "{spec["type"]}"')
            if spec.get("clusterIP") != "None":
                n = next(self._cluster_ips)
                spec["clusterIP"] = f"10.96.{n // 250}.{n % 250 + 1}"
            spec["clusterIPs"] = [spec["clusterIP"]]
            spec.setdefault("sessionAffinity", "None")
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
                if spec["type"] in ("NodePort", "LoadBalancer"):
                    port.setdefault("nodePort", next(self._node_ports))
            obj["status"] = {"loadBalancer": {}}
            if spec["type"] == "LoadBalancer":
                obj["status"]["loadBalancer"] = {"ingress": [{"ip": "127.0.0.1"}]}
        elif rtype.plural == "pods":
            spec = obj.setdefault("spec", {})
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
            obj["status"] = {"phase": "Pending", "qosClass": "Burstable"}
        elif rtype.plural == "deployments":
            spec = obj.setdefault("spec", {})
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
            obj["status"] = {}
        elif rtype.plural == "namespaces":
            obj["status"] = {"phase": "Active"}

    @staticmethod
    def _keep_allocations(current: dict[str, Any], new: dict[str, Any]) -> None:
        """Keep a Service's cluster IP and node ports across updates, as the API server does."""
        spec, old = new.setdefault("spec", {}), current.get("spec") or {}
        spec.setdefault("clusterIP", old.get("clusterIP"))
        spec.setdefault("clusterIPs", old.get("clusterIPs"))
        spec.setdefault("type", old.get("type", "ClusterIP"))
        old_ports = {p.get("port"): p for p in old.get("ports") or []}
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if "nodePort" in old_ports.get(port.get("port"), {}):
                port.setdefault("nodePort", old_ports[port["port"]]["nodePort"])
