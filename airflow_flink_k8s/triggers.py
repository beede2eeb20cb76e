"""``FlinkJobManagerReadyTrigger``: waits, without a worker slot, until a Flink JobManager is ready.

It follows the leader the way Flink's clients do, from the HA data: on Kubernetes through the process's shared
ConfigMap watch (:mod:`airflow_flink_k8s.hooks.configmap_watch`), on ZooKeeper through a kazoo data watch. Each
change of the leader, each lease expiry and every ``poll_interval`` it runs the same readiness evaluator as the
sensor's ``poke`` (:func:`airflow_flink_k8s.core.readiness.evaluate_readiness`) with the async REST client. It reads only;
it never deletes or changes anything.

Events: ``{"status": "success", "details": {...}}`` when ready; ``"failed"`` when the job reached a terminal state
(``message`` names job id and state, ``root_cause`` holds the REST exception text) or every JobManager pod is
crash-looping or cannot start (looked at every ``POD_CHECK_INTERVAL`` or ``poll_interval``, the longer, while not
ready); ``"error"`` for HA or REST data Flink does not write; ``"timeout"`` at ``end_time`` with the last reason it
was not ready. ``"failed"`` and ``"timeout"`` carry ``report``: the text the task fails with, with the tail of the
JobManager log (:mod:`airflow_flink_k8s.core.failure_report`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_flink_k8s.core.failure_report import (
    Steps,
    crash_report,
    job_failure_report,
    run_report_async,
    timeout_report,
)
from airflow_flink_k8s.core.leader import LeaderDataError, LeaderInfo
from airflow_flink_k8s.core.readiness import (
    JobTerminalError,
    Readiness,
    RestRequest,
    RestResponse,
    run_evaluation_async,
)
from airflow_flink_k8s.core.readiness_check import ReadinessCheck
from airflow_flink_k8s.core.rest_api import RestDataError, RestRefusedError
from airflow_flink_k8s.core.rest_endpoint import ApiServer, RestEndpoint
from airflow_flink_k8s.hooks.kubernetes import KubernetesApiError

if TYPE_CHECKING:
    from airflow_flink_k8s.hooks.flink_rest import FlinkRestClient

#: Seconds between looks at the JobManager pods while not ready (one pod list per waiting trigger): a crash loop
#: shows only after several restarts, and a JobManager takes this long to start anyway.
POD_CHECK_INTERVAL = 30.0

class FlinkJobManagerReadyTrigger(BaseTrigger):
    """Fires once the JobManager of ``cluster_id`` reaches ``target`` (see :class:`ReadinessCheck` for the fields).

    ``poll_interval``: seconds between REST re-checks while the leader data does not change.
    ``end_time``: UNIX time at which to give up with a ``timeout`` event (None: never).
    """

    def __init__(self, *, poll_interval: float = 5.0, end_time: float | None = None, **check: Any) -> None:
        super().__init__()
        if poll_interval <= 0:
            raise ValueError(f"poll_interval: must be > 0 seconds, got {poll_interval}")
        self.check = ReadinessCheck(**check)
        self.poll_interval = float(poll_interval)
        self.end_time = end_time

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {**asdict(self.check), "poll_interval": self.poll_interval, "end_time": self.end_time})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Every watch and client is closed before the one event is yielded: a runner that drops the generator
        # after its first event (as dag.test() does) must not leak a kazoo session or an HTTP connection.
        yield TriggerEvent(await self.wait_for_event())

    async def wait_for_event(self) -> dict[str, Any]:
        """Wait until ready, failed or timed out and return the event's payload, with everything closed (the
        operator drives this directly when it waits without deferring)."""
        check, target = self.check, self.check.report_target()
        clients: list[FlinkRestClient] = []
        last_reason = ""
        readiness = Readiness(False, "not checked yet")
        leader: LeaderInfo | None = None
        pod_check_interval = max(self.poll_interval, POD_CHECK_INTERVAL)
        next_pod_check = time.monotonic() + pod_check_interval
        try:
            api_server = await self._api_server()
            token_read_again = False
            async with _leader_source(check) as source:
                while True:
                    leader = source.leader()
                    endpoint = check.endpoint(leader, api_server)
                    fetch = _no_fetch if endpoint is None else await self._client(clients, endpoint)
                    try:
                        readiness = await run_evaluation_async(check.evaluation(leader, endpoint), fetch)
                    except RestRefusedError as error:
                        # Through the API server, the token read earlier may have expired (service-account and
                        # exec credentials rotate): read it again once before the refusal counts.
                        if error.status != 401 or api_server is None or token_read_again:
                            raise
                        self.log.info("The API server refused the token read earlier (HTTP 401); reading it again")
                        api_server, token_read_again = await self._api_server(), True
                        continue
                    token_read_again = False
                    if readiness.ready:
                        return {"status": "success", "message": readiness.reason, "details": readiness.details()}
                    if readiness.reason != last_reason:
                        self.log.info("JobManager of %s not ready: %s", check.cluster_id, readiness.reason)
                        last_reason = readiness.reason
                    if time.monotonic() >= next_pod_check:  # a crash-looping JobManager: fail now, not at timeout
                        next_pod_check = time.monotonic() + pod_check_interval
                        report = await self._report(crash_report(target))
                        if report is not None:
                            return {"status": "failed", "message": report.partition("\n")[0], "report": report,
                                    "details": readiness.details()}
                    remaining = None if self.end_time is None else self.end_time - time.time()
                    if remaining is not None and remaining <= 0:
                        return {"status": "timeout", "message": f"not ready: {readiness.reason}",
                                "report": await self._report(timeout_report(readiness, target, check.target)),
                                "details": readiness.details()}
                    await source.wait(_next_wake(self.poll_interval, remaining, leader))
        except JobTerminalError as error:
            report = await self._report(job_failure_report(error, target, leader.address if leader else None))
            return {"status": "failed", "message": str(error), "job_id": error.job_id, "job_state": error.state.value,
                    "root_cause": error.root_cause, "report": report, "details": readiness.details()}
        except (LeaderDataError, RestDataError, KubernetesApiError) as error:
            return {"status": "error", "message": str(error), "details": readiness.details()}
        finally:
            for client in clients:
                await client.close()

    async def _report(self, steps: Steps) -> Any:
        """Run a failure report with the async Kubernetes client (best effort, see ``failure_report``)."""
        if not self.check.kubernetes_conn_id:
            return await run_report_async(steps, None, None)
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

        hook = FlinkKubernetesHook(self.check.kubernetes_conn_id)
        return await run_report_async(steps, hook.alist_pods, hook.apod_log)

    async def _api_server(self) -> ApiServer | None:
        if not self.check.needs_api_server():
            return None
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

        hook = FlinkKubernetesHook(self.check.kubernetes_conn_id or "kubernetes_default")
        return await asyncio.to_thread(hook.api_server)

    async def _client(self, clients: list[FlinkRestClient], endpoint: RestEndpoint) -> Any:
        """The REST client for ``endpoint``, replacing the one for an older address when the leader moved."""
        from airflow_flink_k8s.hooks.flink_rest import FlinkRestClient

        if not clients or clients[0].endpoint != endpoint:
            for stale in clients:
                await stale.close()
            clients[:] = [FlinkRestClient(endpoint, timeout=self.check.rest_timeout)]
        return clients[0].fetch


async def _no_fetch(request: RestRequest) -> RestResponse:
    return RestResponse(None, error="no REST endpoint known yet")


def _next_wake(poll_interval: float, remaining: float | None, leader: LeaderInfo | None) -> float:
    """Seconds until the next check: the poll interval, the deadline, or just after the lease would run out."""
    wake = poll_interval
    if remaining is not None:
        wake = min(wake, remaining)
    expires = leader.lease_expires_at if leader else None
    if expires is not None:
        from airflow_flink_k8s.core.leader import DEFAULT_SKEW

        until_stale = (expires + DEFAULT_SKEW - datetime.now(UTC)).total_seconds() + 0.05
        wake = min(wake, max(until_stale, 0.05))
    return max(wake, 0.0)


class _KubernetesLeaderSource:
    """The ``restserver`` leader from the shared ConfigMap watch."""

    def __init__(self, check: ReadinessCheck, subscription: Any) -> None:
        self._check, self._subscription = check, subscription

    def leader(self) -> LeaderInfo | None:
        return self._check.leader_from_configmap(self._subscription.current())

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._subscription.changed(), timeout)
        except TimeoutError:
            pass


class _ZooKeeperLeaderSource:
    """The ``rest_server`` leader from a kazoo data watch; a decoding error surfaces in :meth:`leader`."""

    def __init__(self, updates: AsyncIterator[LeaderInfo | None]) -> None:
        self._updates = updates
        self._value: LeaderInfo | None = None
        self._error: LeaderDataError | None = None
        self._next: asyncio.Future[LeaderInfo | None] = asyncio.ensure_future(anext(updates))

    def leader(self) -> LeaderInfo | None:
        if self._error is not None:
            raise self._error
        return self._value

    async def wait(self, timeout: float) -> None:
        done, _ = await asyncio.wait({self._next}, timeout=timeout)
        if done:
            try:
                self._value = self._next.result()
            except LeaderDataError as error:
                self._error = error
            self._next = asyncio.ensure_future(anext(self._updates))

    async def close(self) -> None:
        self._next.cancel()
        await asyncio.gather(self._next, return_exceptions=True)
        await self._updates.aclose()  # type: ignore[attr-defined]


@asynccontextmanager
async def _leader_source(check: ReadinessCheck) -> AsyncIterator[_KubernetesLeaderSource | _ZooKeeperLeaderSource]:
    """The leader source for the check's HA mode, closed on exit."""
    if check.ha == "kubernetes":
        from airflow_flink_k8s.hooks.configmap_watch import leader_configmap_name, watch_configmap

        async with watch_configmap(leader_configmap_name(check.cluster_id, check.flink_version), check.namespace,
                                   check.kubernetes_conn_id or "kubernetes_default") as subscription:
            yield _KubernetesLeaderSource(check, subscription)
        return
    from airflow_flink_k8s.hooks.zookeeper import FlinkZooKeeperHook

    hook = FlinkZooKeeperHook(check.zookeeper_conn_id, quorum=check.zookeeper_quorum)
    source = _ZooKeeperLeaderSource(
        hook.watch_leader(check.cluster_id, check.zookeeper_root, check.flink_version, "rest_server"))
    try:
        await source.wait(check.rest_timeout)  # the data watch reports the node's current state first
        yield source
    finally:
        await source.close()
        await asyncio.to_thread(hook.close)
