"""The emulator's API semantics, seen through the real ``kubernetes`` client (and aiohttp for WebSocket watches)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from tests.waiting import wait_until

NS = "default"
#: The emulator's garbage collection delay in the cascade test.
GC_DELAY = 2.0


@pytest.fixture
def core(k8s_emulator: EmulatorProcess, tmp_path: Path) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(k8s_emulator.write_kubeconfig(tmp_path / "kc"))))


@pytest.fixture
def apps(k8s_emulator: EmulatorProcess, tmp_path: Path) -> client.AppsV1Api:
    return client.AppsV1Api(config.new_client_from_config(str(k8s_emulator.write_kubeconfig(tmp_path / "kc2"))))


def _cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data}


def _status(exc: pytest.ExceptionInfo[ApiException]) -> tuple[int, str]:
    body = json.loads(exc.value.body)
    return exc.value.status, body["reason"]


def test_objects_get_uid_resource_version_and_creation_time(core: client.CoreV1Api) -> None:
    a = core.create_namespaced_config_map(NS, _cm("a", k="1"))
    b = core.create_namespaced_config_map(NS, _cm("b", k="1"))
    assert a.metadata.uid != b.metadata.uid
    assert int(b.metadata.resource_version) > int(a.metadata.resource_version)
    assert a.metadata.creation_timestamp is not None
    assert core.read_namespaced_config_map("a", NS).data == {"k": "1"}


def test_create_twice_is_409_already_exists(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, _cm("a"))
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(NS, _cm("a"))
    assert _status(exc) == (409, "AlreadyExists")


def test_stale_resource_version_on_put_patch_and_delete_is_409_conflict(core: client.CoreV1Api) -> None:
    first = core.create_namespaced_config_map(NS, _cm("lock", holder="a"))
    stale_rv = first.metadata.resource_version
    first.data = {"holder": "b"}
    core.replace_namespaced_config_map("lock", NS, first)  # current version: accepted
    first.data = {"holder": "c"}
    with pytest.raises(ApiException) as put:
        core.replace_namespaced_config_map("lock", NS, first)  # still carries the old version
    assert _status(put) == (409, "Conflict")
    with pytest.raises(ApiException) as patch:
        core.patch_namespaced_config_map("lock", NS, {"metadata": {"resourceVersion": stale_rv},
                                                      "data": {"holder": "d"}})
    assert _status(patch) == (409, "Conflict")
    with pytest.raises(ApiException) as delete:
        core.delete_namespaced_config_map("lock", NS, body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(resource_version=stale_rv)))
    assert _status(delete) == (409, "Conflict")
    assert core.read_namespaced_config_map("lock", NS).data == {"holder": "b"}


def test_put_replaces_the_whole_object_and_patches_merge(core: client.CoreV1Api,
                                                         k8s_emulator: EmulatorProcess) -> None:
    core.create_namespaced_config_map(NS, _cm("x", a="1", b="2"))
    core.replace_namespaced_config_map("x", NS, _cm("x", c="3"))
    assert core.read_namespaced_config_map("x", NS).data == {"c": "3"}
    core.patch_namespaced_config_map("x", NS, {"data": {"d": "4", "c": None}})  # strategic merge, null deletes
    assert core.read_namespaced_config_map("x", NS).data == {"d": "4"}
    core.patch_namespaced_config_map("x", NS, [{"op": "add", "path": "/data/e", "value": "5"},
                                               {"op": "remove", "path": "/data/d"}])  # JSON patch
    assert core.read_namespaced_config_map("x", NS).data == {"e": "5"}
    with pytest.raises(ApiException) as failed_test:
        core.patch_namespaced_config_map("x", NS, [{"op": "test", "path": "/data/e", "value": "nope"}])
    assert failed_test.value.status == 422
    request = urllib_request(k8s_emulator.url + f"/api/v1/namespaces/{NS}/configmaps/x", "PATCH",
                             {"data": {"f": "6"}}, "application/merge-patch+json")
    assert request["data"] == {"e": "5", "f": "6"}


def urllib_request(url: str, method: str, body: object, content_type: str) -> dict:
    import urllib.request

    req = urllib.request.Request(url, data=json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


def test_label_and_field_selectors(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, _cm("one", {"app": "a", "tier": "x"}))
    core.create_namespaced_config_map(NS, _cm("two", {"app": "b", "tier": "y"}))
    core.create_namespaced_config_map(NS, _cm("three", {"app": "c"}))

    def names(**kwargs: str) -> list[str]:
        return sorted(i.metadata.name for i in core.list_namespaced_config_map(NS, **kwargs).items)

    assert names(label_selector="app=a") == ["one"]
    assert names(label_selector="app!=a") == ["three", "two"]
    assert names(label_selector="app in (a,b)") == ["one", "two"]
    assert names(label_selector="app notin (a,b)") == ["three"]
    assert names(label_selector="tier") == ["one", "two"]
    assert names(label_selector="!tier") == ["three"]
    assert names(label_selector="app in (a,b),tier=y") == ["two"]
    assert names(field_selector="metadata.name=two") == ["two"]
    assert names(field_selector="metadata.name!=two") == ["one", "three"]
    with pytest.raises(ApiException) as bad:
        names(field_selector="data.k=v")
    assert bad.value.status == 400


def test_validation_matches_the_api_server(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    with pytest.raises(ApiException) as svc:
        core.create_namespaced_service(NS, {"metadata": {"name": "9-starts-with-digit"},
                                            "spec": {"ports": [{"port": 80}]}})
    assert _status(svc) == (422, "Invalid") and "DNS-1035" in svc.value.body
    with pytest.raises(ApiException) as label:
        core.create_namespaced_config_map(NS, _cm("l", {"run": "manual__2026-01-01T00:00:00+00:00"}))
    assert _status(label) == (422, "Invalid")
    with pytest.raises(ApiException) as namespace:
        core.create_namespaced_config_map("missing", _cm("n"))
    assert _status(namespace) == (404, "NotFound")
    with pytest.raises(ApiException) as selector:
        apps.create_namespaced_deployment(NS, {
            "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "x"}},
                     "template": {"metadata": {"labels": {"app": "y"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    assert _status(selector) == (422, "Invalid")


def test_watch_streams_changes_and_selector_transitions(core: client.CoreV1Api,
                                                        k8s_emulator: EmulatorProcess) -> None:
    start = core.list_namespaced_config_map(NS).metadata.resource_version
    events: list[tuple[str, str]] = []

    def consume() -> None:
        stream = watch.Watch()
        for event in stream.stream(core.list_namespaced_config_map, NS, label_selector="watched=yes",
                                   resource_version=start, timeout_seconds=120):
            events.append((event["type"], event["object"].metadata.name))
            if event["object"].metadata.name == "end":
                stream.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    wait_until("the watch is open", lambda: k8s_emulator.stats()["watches_open"] == 1)
    core.create_namespaced_config_map(NS, _cm("w", {"watched": "yes"}))
    core.patch_namespaced_config_map("w", NS, {"data": {"k": "v"}})
    core.patch_namespaced_config_map("w", NS, {"metadata": {"labels": {"watched": "no"}}})  # leaves the selector
    core.patch_namespaced_config_map("w", NS, {"metadata": {"labels": {"watched": "yes"}}})  # enters again
    core.delete_namespaced_config_map("w", NS)
    core.create_namespaced_config_map(NS, _cm("end", {"watched": "yes"}))  # a later event: nothing else came first
    thread.join(120)
    assert events == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w"), ("ADDED", "w"), ("DELETED", "w"),
                      ("ADDED", "end")]


def test_watch_from_a_compacted_version_answers_410_gone(core: client.CoreV1Api,
                                                         k8s_emulator: EmulatorProcess) -> None:
    old = core.create_namespaced_config_map(NS, _cm("old")).metadata.resource_version
    core.patch_namespaced_config_map("old", NS, {"data": {"k": "v"}})
    k8s_emulator.compact()
    with pytest.raises(ApiException) as gone:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, NS, resource_version=old,
                                      timeout_seconds=2):
            pass
    assert gone.value.status == 410


def test_websocket_watch_with_bookmarks(k8s_emulator: EmulatorProcess, core: client.CoreV1Api) -> None:
    async def run() -> list[dict]:
        url = (k8s_emulator.url.replace("http", "ws") + f"/api/v1/namespaces/{NS}/configmaps"
               "?watch=true&allowWatchBookmarks=true&fieldSelector=metadata.name%3Dws&timeoutSeconds=7")
        received: list[dict] = []
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: core.create_namespaced_config_map(NS, _cm("ws", k="1")))
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: core.create_namespaced_config_map(NS, _cm("other", k="1")))
            async for message in ws:
                received.append(json.loads(message.data))
                if received[-1]["type"] == "BOOKMARK":
                    break
        return received

    received = asyncio.run(run())
    assert [e["type"] for e in received] == ["ADDED", "BOOKMARK"]
    assert received[0]["object"]["metadata"]["name"] == "ws"
    assert int(received[1]["object"]["metadata"]["resourceVersion"]) >= int(
        received[0]["object"]["metadata"]["resourceVersion"])


def _owned_cm(name: str, owner: client.V1Deployment) -> dict:
    body = _cm(name)
    body["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment",
                                            "name": owner.metadata.name, "uid": owner.metadata.uid,
                                            "controller": True, "blockOwnerDeletion": True}]
    return body


def _deployment(apps: client.AppsV1Api, name: str) -> client.V1Deployment:
    return apps.create_namespaced_deployment(NS, {
        "metadata": {"name": name},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}}}})


def _gone(read: Callable[[], object]) -> bool:
    try:
        read()
    except ApiException as exc:
        assert exc.status == 404, exc
        return True
    return False


def test_owner_reference_cascade_background_foreground_and_orphan(
    core: client.CoreV1Api, apps: client.AppsV1Api, k8s_emulator: EmulatorProcess
) -> None:
    # Collection runs GC_DELAY after the delete, as the real garbage collector's is asynchronous; a read right after
    # the delete answers long before that.
    k8s_emulator.set_gc_delay(GC_DELAY)
    background = _deployment(apps, "bg")
    core.create_namespaced_config_map(NS, _owned_cm("bg-owned", background))
    apps.delete_namespaced_deployment("bg", NS)
    assert _gone(lambda: apps.read_namespaced_deployment("bg", NS))
    assert core.read_namespaced_config_map("bg-owned", NS)  # collected later, as the real garbage collector
    wait_until("the background-deleted Deployment's ConfigMap is collected",
               lambda: _gone(lambda: core.read_namespaced_config_map("bg-owned", NS)))

    foreground = _deployment(apps, "fg")
    core.create_namespaced_config_map(NS, _owned_cm("fg-owned", foreground))
    apps.delete_namespaced_deployment("fg", NS, propagation_policy="Foreground")
    assert apps.read_namespaced_deployment("fg", NS).metadata.deletion_timestamp is not None
    wait_until("the foreground-deleted Deployment is gone",
               lambda: _gone(lambda: apps.read_namespaced_deployment("fg", NS)))
    assert _gone(lambda: core.read_namespaced_config_map("fg-owned", NS)), "the owner went before its dependent"

    orphan = _deployment(apps, "or")
    core.create_namespaced_config_map(NS, _owned_cm("or-owned", orphan))
    apps.delete_namespaced_deployment("or", NS, propagation_policy="Orphan")
    wait_until("the orphaned ConfigMap loses its owner reference",
               lambda: not core.read_namespaced_config_map("or-owned", NS).metadata.owner_references)
    # A later collection proves the orphan had its chance to be collected: an owned object deleted with its owner
    # after the orphaning is collected, and the orphan is still there.
    marker = _deployment(apps, "marker")
    core.create_namespaced_config_map(NS, _owned_cm("marker-owned", marker))
    apps.delete_namespaced_deployment("marker", NS)
    wait_until("a later background collection",
               lambda: _gone(lambda: core.read_namespaced_config_map("marker-owned", NS)))
    assert core.read_namespaced_config_map("or-owned", NS).metadata.name == "or-owned"


@pytest.fixture
def local_http() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_service_proxy_forwards_to_the_registered_local_address(
    core: client.CoreV1Api, k8s_emulator: EmulatorProcess, local_http: str
) -> None:
    import urllib.error
    import urllib.request

    core.create_namespaced_service(NS, {"metadata": {"name": "job-rest"},
                                        "spec": {"ports": [{"name": "rest", "port": 8081}]}})
    base = k8s_emulator.url + f"/api/v1/namespaces/{NS}/services/job-rest:rest/proxy"
    with pytest.raises(urllib.error.HTTPError) as unavailable:
        urllib.request.urlopen(base + "/config", timeout=10)
    assert unavailable.value.code == 503
    k8s_emulator.register_proxy(NS, "job-rest", "rest", local_http)
    with urllib.request.urlopen(base + "/jobs/overview?x=1", timeout=10) as response:
        assert json.loads(response.read())["path"] == "/jobs/overview?x=1"
    with urllib.request.urlopen(k8s_emulator.url + f"/api/v1/namespaces/{NS}/services/job-rest:8081/proxy/a",
                                timeout=10) as response:
        assert json.loads(response.read())["path"] == "/a"


def test_a_lost_response_fault_applies_the_request_then_answers_the_error(core: client.CoreV1Api,
                                                                         k8s_emulator: EmulatorProcess) -> None:
    k8s_emulator.set_faults({"status": 503, "methods": ["POST"], "resource": "configmaps", "times": 1,
                             "applied": True})
    with pytest.raises(ApiException) as lost:
        core.create_namespaced_config_map(NS, _cm("landed", a="1"))
    assert lost.value.status == 503
    assert core.read_namespaced_config_map("landed", NS).data == {"a": "1"}, "the failed POST did land"
    with pytest.raises(ApiException) as again:
        core.create_namespaced_config_map(NS, _cm("landed", a="1"))
    assert _status(again) == (409, "AlreadyExists")


def test_fault_injection_rate_latency_and_dropped_watches(core: client.CoreV1Api,
                                                          k8s_emulator: EmulatorProcess) -> None:
    core.create_namespaced_config_map(NS, _cm("f"))
    k8s_emulator.set_faults({"status": 503, "methods": ["GET"], "resource": "configmaps", "probability": 0.3},
                            seed=7)
    failures = 0
    for _ in range(100):
        try:
            core.read_namespaced_config_map("f", NS)
        except ApiException as exc:
            assert exc.status == 503
            failures += 1
    assert 15 <= failures <= 45

    # Latency: a delayed request is held while a later one is answered (an order of events, not a duration).
    core.create_namespaced_config_map(NS, _cm("slow"))
    k8s_emulator.set_faults({"delay_ms": 10_000, "resource": "configmaps", "name_prefix": "slow"})
    since = k8s_emulator.stats()["request_seq"]
    slow: list[object] = []
    reader = threading.Thread(target=lambda: slow.append(core.read_namespaced_config_map("slow", NS)))
    reader.start()
    held = wait_until("the delayed GET reaches the emulator", lambda: [
        r for r in k8s_emulator.requests(since) if r["name"] == "slow" and r["method"] == "GET"])
    assert core.read_namespaced_config_map("f", NS).metadata.name == "f"  # sent later, answered first
    still_held = [r for r in k8s_emulator.requests(since) if r["seq"] == held[0]["seq"]]
    assert "status" not in still_held[0] and not slow, "the delayed GET was answered before a later request"
    reader.join(120)
    assert slow and k8s_emulator.fault_summary()[0]["fired"] == 1

    k8s_emulator.clear_faults()
    ended = threading.Event()

    def consume() -> None:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, NS, timeout_seconds=120):
            pass
        ended.set()

    threading.Thread(target=consume, daemon=True).start()
    wait_until("the watch is open", lambda: k8s_emulator.stats()["watches_open"] == 1)
    k8s_emulator.drop_watches()
    assert ended.wait(120), "a dropped watch must end the client's stream"


def test_an_object_created_for_an_owner_that_is_gone_is_collected(
    core: client.CoreV1Api, apps: client.AppsV1Api, k8s_emulator: EmulatorProcess
) -> None:
    # A JobManager still running after its Deployment was deleted may create one more TaskManager pod.
    owner = _deployment(apps, "gone")
    apps.delete_namespaced_deployment("gone", NS)
    core.create_namespaced_config_map(NS, _owned_cm("late", owner))
    with pytest.raises(ApiException) as collected:
        core.read_namespaced_config_map("late", NS)
    assert collected.value.status == 404
