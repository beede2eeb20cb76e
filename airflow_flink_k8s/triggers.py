"""``FlinkJobManagerReadyTrigger``: waits, without a worker slot, until a Flink JobManager is ready.

It follows the leader the way Flink's clients do, from the HA data: on Kubernetes through the process's shared
ConfigMap watch (:mod:`airflow_flink_k8s.hooks.configmap_watch`), on ZooKeeper through a kazoo data watch. Each
change of the leader, each lease expiry and every ``poll_interval`` it runs the same readiness evaluator as the
sensor's ``poke`` (:func:`airflow_flink_k8s.readiness.evaluate_readiness`) with the async REST client. It reads only;
it never deletes or changes anything.

Events: ``{"status": "success", "details": {...}}`` when ready; ``"failed"`` when the job reached a terminal state
(``message`` names job id and state, ``root_cause`` holds the REST exception text); ``"error"`` for HA or REST data
Flink does not write; ``"timeout"`` at ``end_time`` with the last reason it was not ready.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_flink_k8s.leader import LeaderDataError, LeaderInfo, parse_kubernetes_leader
from airflow_flink_k8s.readiness import (
    Evaluation,
    JobTerminalError,
    Readiness,
    ReadinessLevel,
    RestRequest,
    RestResponse,
    evaluate_readiness,
    run_evaluation_async,
)
from airflow_flink_k8s.rest_api import RestDataError, normalize_job_id
from airflow_flink_k8s.rest_endpoint import AccessMode, ApiServer, RestEndpoint, resolve_rest_endpoint
from airflow_flink_k8s.versions import FlinkVersion

if TYPE_CHECKING:
    from airflow_flink_k8s.hooks.flink_rest import FlinkRestClient

HA_MODES = ("kubernetes", "zookeeper")


@dataclass(frozen=True)
class ReadinessCheck:
    """What to check and how to reach it; shared by the sensor's ``poke`` and the trigger (plain, serializable)."""

    cluster_id: str
    namespace: str = "default"
    ha: str = "kubernetes"
    flink_version: str = "2.3"
    target: str = "rest"
    job_id: str | None = None
    checkpointed_after: str | None = None
    expect_finished: bool = False
    access_mode: str = "auto"
    kubernetes_conn_id: str | None = "kubernetes_default"
    zookeeper_conn_id: str | None = None
    zookeeper_quorum: str | None = None
    zookeeper_root: str = "/flink"
    rest_port: int = 8081
    rest_scheme: str = "http"
    rest_ca_file: str | None = None
    rest_verify: bool = True
    rest_client_cert: str | None = None
    rest_client_key: str | None = None
    rest_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.cluster_id, str) or not self.cluster_id:
            raise ValueError("cluster_id: must be a non-empty string")
        if self.ha not in HA_MODES:
            raise ValueError(f"ha: expected one of {', '.join(HA_MODES)}, got {self.ha!r}")
        FlinkVersion.parse(self.flink_version)
        ReadinessLevel.parse(self.target)
        mode = AccessMode.parse(self.access_mode)
        if self.job_id is not None:
            object.__setattr__(self, "job_id", normalize_job_id(self.job_id))
        if self.checkpointed_after is not None:
            self.checkpointed_after_time()
        if self.ha == "zookeeper" and (self.zookeeper_conn_id is None) == (self.zookeeper_quorum is None):
            raise ValueError("zookeeper_conn_id / zookeeper_quorum: ha='zookeeper' needs exactly one of them")
        if self.ha == "kubernetes" and not self.kubernetes_conn_id:
            raise ValueError("kubernetes_conn_id: ha='kubernetes' reads the HA ConfigMaps through it")
        if mode is AccessMode.PROXY and not self.kubernetes_conn_id:
            raise ValueError("kubernetes_conn_id: access_mode='proxy' goes through the Kubernetes API server")
        if self.rest_scheme not in ("http", "https"):
            raise ValueError(f"rest_scheme: expected 'http' or 'https', got {self.rest_scheme!r}")
        if not 0 < self.rest_port < 65536:
            raise ValueError(f"rest_port: must be in 1..65535, got {self.rest_port}")
        if self.rest_timeout <= 0:
            raise ValueError(f"rest_timeout: must be > 0 seconds, got {self.rest_timeout}")

    def checkpointed_after_time(self) -> datetime | None:
        if self.checkpointed_after is None:
            return None
        try:
            moment = datetime.fromisoformat(self.checkpointed_after)
        except ValueError:
            raise ValueError(f"checkpointed_after: not an ISO-8601 time: {self.checkpointed_after!r}") from None
        if moment.tzinfo is None:
            raise ValueError(f"checkpointed_after: must carry a time zone, got {self.checkpointed_after!r}")
        return moment.astimezone(UTC)

    def needs_api_server(self) -> bool:
        """Whether REST goes through the Kubernetes API server (``proxy``, or ``auto`` with Kubernetes HA)."""
        mode = AccessMode.parse(self.access_mode)
        return mode is AccessMode.PROXY or (mode is AccessMode.AUTO and self.ha == "kubernetes")

    def _direct_or_service(self) -> AccessMode:
        mode = AccessMode.parse(self.access_mode)
        return AccessMode.DIRECT if mode is AccessMode.AUTO else mode

    def leader_from_configmap(self, configmap: Any) -> LeaderInfo | None:
        return None if configmap is None else parse_kubernetes_leader(configmap, "restserver")

    def endpoint(self, leader: LeaderInfo | None, api_server: ApiServer | None) -> RestEndpoint | None:
        """Where REST is reached for ``leader`` (``None``: not known yet)."""
        through_api_server = self.needs_api_server()
        endpoint = resolve_rest_endpoint(
            AccessMode.PROXY if through_api_server else self._direct_or_service(), cluster_id=self.cluster_id,
            leader_address=leader.address if leader else None, namespace=self.namespace,
            api_server=api_server if through_api_server else None, rest_port=self.rest_port,
            scheme=self.rest_scheme, ca_file=self.rest_ca_file)
        if endpoint is None or through_api_server:  # the proxy speaks the API server's TLS, not Flink's
            return endpoint
        return replace(endpoint, verify=self.rest_verify, client_cert=self.rest_client_cert,
                       client_key=self.rest_client_key)

    def evaluation(self, leader: LeaderInfo | None, endpoint: RestEndpoint | None) -> Evaluation:
        return evaluate_readiness(
            leader, self.target, job_id=self.job_id, rest_url=endpoint.base_url if endpoint else None,
            checkpointed_after=self.checkpointed_after_time(), expect_finished=self.expect_finished)


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
        check = self.check
        clients: list[FlinkRestClient] = []
        last_reason = ""
        readiness = Readiness(False, "not checked yet")
        try:
            api_server = await self._api_server()
            async with _leader_source(check) as source:
                while True:
                    leader = source.leader()
                    endpoint = check.endpoint(leader, api_server)
                    fetch = _no_fetch if endpoint is None else await self._client(clients, endpoint)
                    readiness = await run_evaluation_async(check.evaluation(leader, endpoint), fetch)
                    if readiness.ready:
                        return {"status": "success", "message": readiness.reason, "details": readiness.details()}
                    if readiness.reason != last_reason:
                        self.log.info("JobManager of %s not ready: %s", check.cluster_id, readiness.reason)
                        last_reason = readiness.reason
                    remaining = None if self.end_time is None else self.end_time - time.time()
                    if remaining is not None and remaining <= 0:
                        return {"status": "timeout", "message": f"not ready: {readiness.reason}",
                                "details": readiness.details()}
                    await source.wait(_next_wake(self.poll_interval, remaining, leader))
        except JobTerminalError as error:
            return {"status": "failed", "message": str(error), "job_id": error.job_id,
                    "job_state": error.state.value, "root_cause": error.root_cause, "details": readiness.details()}
        except (LeaderDataError, RestDataError) as error:
            return {"status": "error", "message": str(error), "details": readiness.details()}
        finally:
            for client in clients:
                await client.close()

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
        from airflow_flink_k8s.leader import DEFAULT_SKEW

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


def with_root_cause(message: str, root_cause: str | None) -> str:
    """``message`` followed by Flink's root-cause text, when there is one."""
    return f"{message}\nRoot cause reported by Flink:\n{root_cause}" if root_cause else message


def readiness_from_event(event: dict[str, Any], cluster_id: str) -> dict[str, Any]:
    """The readiness details of a ``success`` event; for the others raise what a task should fail with."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

    status, message = event.get("status"), event.get("message", "")
    if status == "success":
        return event["details"]
    if status == "failed":
        raise AirflowFailException(with_root_cause(message, event.get("root_cause")))
    if status == "timeout":
        raise AirflowSensorTimeout(f"Flink cluster {cluster_id}: {message}")
    raise AirflowException(f"Flink cluster {cluster_id}: {message}")
