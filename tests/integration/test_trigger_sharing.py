"""Many triggers in one event loop share one ConfigMap watch per namespace, and survive 410s and dropped watches.

The leader ConfigMaps are the one Flink 2.3.0 wrote in the harness (``tests/data/ha``), renamed per cluster and
with a fresh or an expired lease, stored in the Kubernetes API emulator.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog.testing

from airflow_flink_k8s.core.leader import LEADER_ANNOTATION
from airflow_flink_k8s.hooks.configmap_watch import shared_watches, watch_configmap
from airflow_flink_k8s.triggers import FlinkJobManagerReadyTrigger
from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from tests.paths import DATA_DIR
from tests.sensor_support import first_event, kubernetes_connection
from tests.waiting import async_wait_until

RECORDED = json.loads((DATA_DIR / "ha" / "configmap-2.3.0.json").read_text())
RESTSERVER = "org.apache.flink.k8s.leader.restserver"


def leader_configmap(cluster_id: str, address: str, renewed: datetime) -> dict[str, Any]:
    """Flink's recorded leader map for ``cluster_id``, its restserver at ``address``, renewed at ``renewed``."""
    cm = copy.deepcopy(RECORDED)
    metadata = cm["metadata"]
    cm["metadata"] = {"name": f"{cluster_id}-cluster-config-map", "labels": {**metadata["labels"], "app": cluster_id},
                      "annotations": dict(metadata["annotations"])}
    lock = json.loads(cm["metadata"]["annotations"][LEADER_ANNOTATION])
    lock["renewTime"] = renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    cm["metadata"]["annotations"][LEADER_ANNOTATION] = json.dumps(lock)
    session = cm["data"][RESTSERVER].partition(",")[0]
    cm["data"][RESTSERVER] = f"{session},{address}"
    return cm


def api(emulator: EmulatorProcess, method: str, path: str, body: Any = None,
        content_type: str = "application/json") -> Any:
    request = urllib.request.Request(emulator.url + path, method=method, headers={"Content-Type": content_type},
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class _Lines:
    """The log lines matching ``pattern`` among ``captured`` (structlog's event dicts, appended as written)."""

    def __init__(self, pattern: str, captured: list[dict[str, Any]]) -> None:
        self.pattern, self.captured = re.compile(pattern), captured

    @property
    def lines(self) -> list[str]:
        return [str(e["event"]) for e in self.captured if self.pattern.search(str(e.get("event", "")))]


@contextmanager
def _trigger_log(pattern: str) -> Iterator[_Lines]:
    """The log lines (the trigger logs through structlog, as Airflow configures it) matching ``pattern``."""
    with structlog.testing.capture_logs() as captured:
        yield _Lines(pattern, captured)


def trigger(cluster_id: str, **kwargs: Any) -> FlinkJobManagerReadyTrigger:
    return FlinkJobManagerReadyTrigger(cluster_id=cluster_id, namespace="flink", target="leader",
                                       access_mode="direct", poll_interval=30.0, **kwargs)


def test_a_hundred_triggers_share_one_watch_and_each_gets_its_own_leader(
    k8s_emulator: EmulatorProcess, tmp_path: Path
) -> None:
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    ids = [f"cluster-{n:03d}" for n in range(100)]

    async def scenario() -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
        tasks = [asyncio.create_task(first_event(trigger(cid))) for cid in ids]
        # Wait until all 100 are subscribed and the stream is open (slow on a busy machine): no leader map exists yet.
        await async_wait_until("all triggers subscribed on open streams", lambda: (
            sum(w.subscriber_count for w in shared_watches().values()) >= len(ids)
            and k8s_emulator.stats()["watches_open_by_resource"] == {"configmaps": 1, "pods": 1}))
        assert not any(task.done() for task in tasks)
        watching = k8s_emulator.stats()["watches_open_by_resource"]
        for n, cid in enumerate(ids):
            await asyncio.to_thread(api, k8s_emulator, "POST", "/api/v1/namespaces/flink/configmaps",
                                    leader_configmap(cid, f"http://10.0.0.{n}:8081", datetime.now(UTC)))
        events = await asyncio.wait_for(asyncio.gather(*tasks), 120)
        # The last trigger to finish stops the shared watch: wait for the stream to close on the server.
        await async_wait_until("the shared streams closed", lambda: not any(
            k8s_emulator.stats()["watches_open_by_resource"].values()))
        return events, watching, {key: watch.subscriber_count for key, watch in shared_watches().items()}

    with kubernetes_connection(kubeconfig):
        events, watching, left = asyncio.run(scenario())

    assert watching == {"configmaps": 1, "pods": 1}  # one stream per kind for 100 waiting triggers
    assert [event["details"]["leader_address"] for event in events] == [
        f"http://10.0.0.{n}:8081" for n in range(len(ids))]
    assert all(event["status"] == "success" for event in events)
    assert left == {}  # the last trigger to finish stopped the shared watch
    assert k8s_emulator.stats()["requests"].get("GET configmaps", 0) == 1  # one list, no per-trigger GETs


def test_an_expired_lease_is_not_ready_until_flink_renews_it(k8s_emulator: EmulatorProcess, tmp_path: Path) -> None:
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    path = "/api/v1/namespaces/flink/configmaps"
    stale = leader_configmap("stale", "http://10.0.0.1:8081", datetime.now(UTC) - timedelta(minutes=5))
    api(k8s_emulator, "POST", path, stale)

    async def scenario() -> dict[str, Any]:
        task = asyncio.create_task(first_event(trigger("stale")))
        # The trigger's first "still waiting" line is the event: it has read the stale map and decided.
        await async_wait_until("the trigger reports the stale leader as not ready",
                               lambda: task.done() or not_ready.lines)
        assert not task.done(), "a lease that ran out 5 minutes ago was taken as a live leader"
        fresh = leader_configmap("stale", "http://10.0.0.2:8081", datetime.now(UTC))
        await asyncio.to_thread(api, k8s_emulator, "PATCH", f"{path}/stale-cluster-config-map",
                                {"metadata": {"annotations": fresh["metadata"]["annotations"]}, "data": fresh["data"]},
                                "application/merge-patch+json")
        return await asyncio.wait_for(task, 10)

    with kubernetes_connection(kubeconfig), \
            _trigger_log(r"^Flink cluster stale: still waiting for leader after [\d.]+ s: ") as not_ready:
        event = asyncio.run(scenario())
    assert event["status"] == "success" and event["details"]["leader_address"] == "http://10.0.0.2:8081"
    assert "expired" in not_ready.lines[0] or "lease" in not_ready.lines[0], not_ready.lines


def test_the_shared_watch_lists_again_after_410_and_resumes_after_dropped_streams(
    k8s_emulator: EmulatorProcess, tmp_path: Path
) -> None:
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    path = "/api/v1/namespaces/flink/configmaps"

    async def next_address(subscription: Any) -> str:
        value = await asyncio.wait_for(subscription.changed(), 10)
        return value["data"][RESTSERVER].partition(",")[2]

    async def scenario() -> tuple[list[str], Any]:
        async with watch_configmap("moving-cluster-config-map", "flink") as subscription:
            assert await asyncio.wait_for(subscription.changed(), 10) is None  # listed: not there yet
            seen = []
            for n in range(3):
                cm = leader_configmap("moving", f"http://10.0.1.{n}:8081", datetime.now(UTC))
                if n == 0:
                    await asyncio.to_thread(api, k8s_emulator, "POST", path, cm)
                else:
                    await asyncio.to_thread(api, k8s_emulator, "PUT", f"{path}/moving-cluster-config-map", cm)
                seen.append(await next_address(subscription))
                shared = next(iter(shared_watches().values())).stats
                lists, watches = shared.lists, shared.watch_requests
                if n == 0:
                    await asyncio.to_thread(k8s_emulator.drop_watches)  # resumed from the last version
                    await async_wait_until("the watch resumed",
                                           lambda s=shared, w=watches: s.watch_requests > w)
                else:  # another write, then compaction: the version it resumes from is gone, 410, list again
                    await asyncio.to_thread(api, k8s_emulator, "POST", "/api/v1/namespaces/default/configmaps",
                                            {"metadata": {"name": f"other-{n}"}, "data": {}})
                    await asyncio.to_thread(k8s_emulator.compact)
                    await asyncio.to_thread(k8s_emulator.drop_watches)
                    await async_wait_until("the watch listed again and resumed", lambda s=shared, n=lists, w=watches: (
                        s.lists > n and s.watch_requests > w))
            await asyncio.to_thread(api, k8s_emulator, "DELETE", f"{path}/moving-cluster-config-map")
            assert await asyncio.wait_for(subscription.changed(), 10) is None
            return seen, next(iter(shared_watches().values())).stats

    with kubernetes_connection(kubeconfig):
        seen, stats = asyncio.run(scenario())
    assert seen == [f"http://10.0.1.{n}:8081" for n in range(3)]
    assert stats.lists >= 2 and stats.watch_requests >= 3, stats


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_on_list_and_watch_only_delays_the_trigger(
    k8s_emulator: EmulatorProcess, tmp_path: Path, status: int
) -> None:
    kubeconfig = k8s_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    api(k8s_emulator, "POST", "/api/v1/namespaces/flink/configmaps",
        leader_configmap("flaky", "http://10.0.0.9:8081", datetime.now(UTC)))
    k8s_emulator.set_faults({"status": status, "methods": ["GET"], "resource": "configmaps", "times": 5,
                             "include_watch": True})

    with kubernetes_connection(kubeconfig):
        event = asyncio.run(asyncio.wait_for(first_event(trigger("flaky")), 30))
    assert event["status"] == "success" and event["details"]["leader_address"] == "http://10.0.0.9:8081"
    assert k8s_emulator.fault_summary()[0]["fired"] == 5
