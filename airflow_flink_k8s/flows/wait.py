"""The one wait for a Flink JobManager, shared by the sensor's ``poke``, the trigger's ``run`` and the launch
operator's ``wait_until``.

A wait is a sequence of steps. :func:`step` is sans-I/O (driven by :mod:`airflow_flink_k8s.core.sansio`): it asks
for the leader (:class:`LeaderRequest`), the API server's address and credentials when REST goes through its proxy
(:class:`ApiServerRequest`), says where REST requests go (:class:`UseEndpoint`), runs the readiness evaluation
(``RestRequest``), looks at the JobManager pods no more often than every :data:`POD_CHECK_INTERVAL`
(``PodsRequest``, then ``EventsRequest`` and ``PodLogRequest`` only for a failure report; ``DeploymentRequest``
only when a launched job's cluster shows no leader and no pod: Flink deleted it after the job ended), reads the
credentials again once when the API server refuses them (401; tokens expire mid-wait), and gives up at the deadline
with a report. It returns an :class:`Outcome`; the state a wait carries between steps is a :class:`WaitState`.

Two clocks run across steps. *Unscheduled*: from the first step that sees tasks of the job waiting for a slot
(CREATED or SCHEDULED: no TaskManager took them) until a step sees the job RUNNING with none waiting; past
``unscheduled_timeout`` the wait fails with a report naming the tasks, the TaskManagers registered, Flink's newest
exception, the TaskManager pods and the JobManager log. Steps that cannot see the job leave it running, and so do
RESTARTING steps: Flink fails a job whose slot requests time out and restarts it, which must not reset the clock.
*Suspended*: a SUSPENDED job (its JobManager lost the leadership) is waited for until the leader lease seen at
the first SUSPENDED step has run out (plus :data:`DEFAULT_SKEW`; :data:`SUSPENDED_GRACE_WITHOUT_LEASE` with
ZooKeeper, which publishes no lease), so a new leader can recover it; after that it fails like a terminal job.

Two drivers answer those requests, so poke, trigger and ``wait_until`` ask for the same things in the same order:

* :class:`SyncWait` (the sensor): one step per poke, the state kept on the sensor; the ConfigMap by GET, the pods
  by a list, REST with the blocking client.
* :func:`wait` (the trigger, and ``wait_until`` without deferring): steps until done, woken by a change of the leader,
  a lease running out or ``poll_interval``; the ConfigMap and the JobManager pods from the process's shared watches
  (:mod:`airflow_flink_k8s.hooks.namespace_watch`), so a thousand waiting triggers cost the API server two watches
  per namespace, not a list each per interval. Pod logs are fetched on a failure only, and redacted
  (:func:`~airflow_flink_k8s.core.log_redaction.redact_log`) as they arrive: this task never saw the launch task's
  masked values.

What counts as "not ready yet", the same everywhere: no live leader, REST not answering or 503 (leader election),
and API-server answers that say "try again" (``hooks.retry.TRANSIENT_STATUSES``: 429 and 5xx, after the reads' own
retries). 408 and 409 are not in that set: the API server answers a timed-out GET with 504 and a GET never
conflicts. Every other refusal ends the wait with an ``error`` outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_flink_k8s.core import sansio
from airflow_flink_k8s.core.errors import (
    JobTerminalError,
    KubernetesApiError,
    LeaderDataError,
    RestDataError,
    RestRefusedError,
)
from airflow_flink_k8s.core.failure_report import (
    NO_KUBERNETES,
    Answer,
    DeploymentRequest,
    EventsRequest,
    PodLogRequest,
    PodsRequest,
    answer_of,
    crash_report,
    describe_error,
    gone_report,
    job_failure_report,
    log_call_kwargs,
    timeout_report,
    unscheduled_report,
)
from airflow_flink_k8s.core.leader import DEFAULT_SKEW, LeaderInfo
from airflow_flink_k8s.core.log_redaction import redact_log
from airflow_flink_k8s.core.names import leader_config_map_name
from airflow_flink_k8s.core.readiness import Readiness, RestRequest, RestResponse
from airflow_flink_k8s.core.readiness_check import ReadinessCheck
from airflow_flink_k8s.core.rest_api import JobState, job_exceptions_path, parse_root_cause
from airflow_flink_k8s.core.rest_endpoint import ApiServer, RestEndpoint
from airflow_flink_k8s.core.wait_progress import WaitProgress, observe
from airflow_flink_k8s.flows import TaskLog

if TYPE_CHECKING:
    from airflow_flink_k8s.hooks.flink_rest import FlinkRestClient, SyncFlinkRestClient
    from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
    from airflow_flink_k8s.hooks.namespace_watch import Subscription

#: Seconds between looks at the JobManager pods while not ready (the first not-ready step looks at once): a crash
#: loop shows only after several restarts, and a JobManager takes this long to start anyway.
POD_CHECK_INTERVAL = 30.0
#: Seconds a SUSPENDED job is waited for when the HA data carries no lease (ZooKeeper): Flink's default
#: ``high-availability.zookeeper.client.session-timeout``, after which the old leader's znodes are gone.
SUSPENDED_GRACE_WITHOUT_LEASE = 60.0
_NO_ENDPOINT = RestResponse(None, error="no REST endpoint known yet")

WAITING, SUCCESS, FAILED, TIMEOUT, ERROR = "waiting", "success", "failed", "timeout", "error"


_log: TaskLog = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class LeaderRequest:
    """The live ``restserver`` leader (``LeaderInfo``), or None: absent, stale, or unreadable for a passing reason."""


@dataclass(frozen=True)
class ApiServerRequest:
    """How to reach the API server (``ApiServer``) for the REST proxy; ``fresh``: with the credentials read anew."""

    fresh: bool = False


@dataclass(frozen=True)
class UseEndpoint:
    """The ``RestRequest`` s that follow go to ``endpoint`` (None: no endpoint known; they get no answer)."""

    endpoint: RestEndpoint | None


WaitRequest = (LeaderRequest | ApiServerRequest | UseEndpoint | RestRequest | PodsRequest | EventsRequest
               | PodLogRequest | DeploymentRequest)


# ----------------------------------------------------------------------------------------------- outcomes and state
@dataclass(frozen=True)
class Outcome:
    """What a step ended with: ``waiting``, or final: ``success``, ``failed`` (job terminal, JobManager cannot
    start), ``timeout``, ``error`` (refused, or data Flink does not write). ``report`` is the text a task fails
    with (:mod:`airflow_flink_k8s.core.failure_report`)."""

    status: str
    message: str
    details: dict[str, Any]
    report: str | None = None
    job_id: str | None = None
    job_state: str | None = None
    root_cause: str | None = None

    @property
    def done(self) -> bool:
        return self.status != WAITING

    def event(self) -> dict[str, Any]:
        """The trigger event's payload (plain JSON)."""
        payload: dict[str, Any] = {"status": self.status, "message": self.message, "details": self.details}
        if self.report is not None:
            payload["report"] = self.report
        if self.job_id is not None:
            payload |= {"job_id": self.job_id, "job_state": self.job_state, "root_cause": self.root_cause}
        return payload


@dataclass
class WaitState:
    """What a wait carries from one step to the next (a sensor keeps it between pokes)."""

    last_seen: Readiness = field(default_factory=lambda: Readiness(False, "not checked yet"))
    leader: LeaderInfo | None = None
    next_pod_check: float = 0.0  # UNIX time from which the pods are looked at again
    unscheduled_since: float | None = None  # UNIX time of the first step that saw tasks waiting for a slot
    suspended_until: float | None = None  # UNIX time after which a job still SUSPENDED fails the wait
    progress: WaitProgress = field(default_factory=WaitProgress)  # what the task log was told


def report_progress(check: ReadinessCheck, state: WaitState, outcome: Outcome, log: TaskLog) -> None:
    """Log what changed since the last step, or a note of what the wait still waits for, at most every 30 s
    (:mod:`airflow_flink_k8s.core.wait_progress`); nothing for a failed step (its report says it all)."""
    if outcome.status not in (WAITING, SUCCESS):
        return
    state.progress, lines = observe(state.progress, state.last_seen, cluster_id=check.cluster_id,
                                    target=check.target, now=time.time())
    for line in lines:
        log.info("%s", line)


# ----------------------------------------------------------------------------------------------- the step
Step = Generator[WaitRequest, Any, Outcome]


def step(check: ReadinessCheck, state: WaitState, *, now: float, deadline: float | None = None) -> Step:
    """One step of the wait at UNIX time ``now``; ``deadline``: UNIX time at which it times out (None: never)."""
    target = check.report_target()
    try:
        state.leader = None
        state.leader = yield LeaderRequest()
        suspended_is_terminal = state.suspended_until is not None and now >= state.suspended_until
        readiness = yield from _evaluate(check, state.leader, suspended_is_terminal)
    except JobTerminalError as error:
        address = state.leader.address if state.leader else None
        report = yield from job_failure_report(error, target, address)
        return Outcome(FAILED, str(error), state.last_seen.details(), report, error.job_id, error.state.value,
                       error.root_cause)
    except (LeaderDataError, RestDataError, KubernetesApiError) as error:
        return Outcome(ERROR, str(error), state.last_seen.details())
    state.last_seen = readiness
    if readiness.ready:
        return Outcome(SUCCESS, readiness.reason, readiness.details())
    _track_suspension(state, readiness, now)
    waited = _unscheduled_for(state, readiness, now)
    if waited is not None and waited >= check.unscheduled_timeout:
        return (yield from _unscheduled(check, readiness, waited))
    if now >= state.next_pod_check:  # a crash-looping JobManager: fail now, not at the timeout
        state.next_pod_check = now + POD_CHECK_INTERVAL
        try:
            crashed = yield from crash_report(target)
            if crashed is None and state.leader is None and check.job_id is not None:  # ended on its own?
                crashed = yield from gone_report(target, check.job_id)
        except KubernetesApiError as error:  # the pods were refused (401/403): only the Role can fix that
            return Outcome(ERROR, str(error), readiness.details())
        if crashed is not None:
            return Outcome(FAILED, crashed.partition("\n")[0], readiness.details(), crashed)
    if deadline is not None and now >= deadline:
        return (yield from timed_out(check, state))
    return Outcome(WAITING, readiness.reason, readiness.details())


def timed_out(check: ReadinessCheck, state: WaitState) -> Step:
    """The ``timeout`` outcome: what was last seen, the JobManager pods and the tail of its log."""
    report = yield from timeout_report(state.last_seen, check.report_target(), check.target)
    return Outcome(TIMEOUT, f"not ready: {state.last_seen.reason}", state.last_seen.details(), report)


def _track_suspension(state: WaitState, readiness: Readiness, now: float) -> None:
    """Start the suspended clock at the first SUSPENDED step: until the leader lease then seen has run out."""
    if readiness.job_state is None:
        return
    if readiness.job_state != JobState.SUSPENDED:
        state.suspended_until = None
    elif state.suspended_until is None:
        expires = state.leader.lease_expires_at if state.leader else None
        lease_end = expires.timestamp() if expires else now + SUSPENDED_GRACE_WITHOUT_LEASE
        state.suspended_until = max(lease_end, now) + DEFAULT_SKEW.total_seconds()


def _unscheduled_for(state: WaitState, readiness: Readiness, now: float) -> float | None:
    """Seconds since the first step that saw tasks waiting for a slot, or None when none wait now."""
    if readiness.tasks is None:
        return None
    if readiness.tasks_waiting_for_slots == 0:
        if readiness.job_state == JobState.RUNNING:
            state.unscheduled_since = None
        return None
    if state.unscheduled_since is None:
        state.unscheduled_since = now
    return now - state.unscheduled_since


def _unscheduled(check: ReadinessCheck, readiness: Readiness, waited: float) -> Step:
    """The ``failed`` outcome of a job whose tasks waited for a slot past ``unscheduled_timeout``."""
    root_cause = None
    if readiness.job_id is not None:
        response = yield RestRequest(job_exceptions_path(readiness.job_id))
        if response.status == 200:
            with suppress(RestDataError):
                root_cause = parse_root_cause(response.body)
    report = yield from unscheduled_report(readiness, check.report_target(), waited, check.unscheduled_timeout,
                                           root_cause)
    return Outcome(FAILED, report.partition("\n")[0], readiness.details(), report, readiness.job_id,
                   readiness.job_state, root_cause)


def _evaluate(check: ReadinessCheck, leader: LeaderInfo | None,
              suspended_is_terminal: bool) -> Generator[WaitRequest, Any, Readiness]:
    """The readiness evaluation; through the API server, a 401 is tried once more with the credentials read anew
    (service-account and exec credentials rotate)."""
    api_server: ApiServer | None = (yield ApiServerRequest()) if check.needs_api_server() else None
    fresh = False
    while True:
        endpoint = check.endpoint(leader, api_server)
        yield UseEndpoint(endpoint)
        try:
            return (yield from check.evaluation(leader, endpoint, suspended_is_terminal=suspended_is_terminal))
        except RestRefusedError as error:
            if error.status != 401 or api_server is None or fresh:
                raise
            api_server, fresh = (yield ApiServerRequest(fresh=True)), True


# ----------------------------------------------------------------------------------------------- blocking driver
class SyncWait:
    """The blocking driver: :meth:`poke` runs one step; the state stays here between pokes. :meth:`close` after."""

    def __init__(self, check: ReadinessCheck, log: TaskLog = _log, progress: WaitProgress | None = None) -> None:
        self.check, self.state, self.log = check, WaitState(progress=progress or WaitProgress()), log
        self._api_server: ApiServer | None = None
        self._rest: SyncFlinkRestClient | None = None
        self._endpoint: RestEndpoint | None = None
        self._zookeeper: Any = None

    def poke(self) -> Outcome:
        """One step, its news logged (the poke's caller handles the timeout: see :meth:`timed_out`)."""
        outcome = sansio.run(step(self.check, self.state, now=time.time()), self._handle)
        report_progress(self.check, self.state, outcome, self.log)
        return outcome

    def timed_out(self) -> Outcome:
        """The ``timeout`` outcome for what the pokes saw."""
        return sansio.run(timed_out(self.check, self.state), self._handle)

    def close(self) -> None:
        if self._rest is not None:
            self._rest.close()
            self._rest = None
        if self._zookeeper is not None:
            self._zookeeper.close()
            self._zookeeper = None

    def _handle(self, request: WaitRequest) -> Any:
        if isinstance(request, RestRequest):
            return _NO_ENDPOINT if self._rest is None else self._rest.fetch(request)
        if isinstance(request, LeaderRequest):
            return self._leader()
        if isinstance(request, ApiServerRequest):
            if request.fresh:
                self.log.info("The API server refused the token read earlier (HTTP 401); reading it again")
            if self._api_server is None or request.fresh:
                self._api_server = self._hook().api_server()
            return self._api_server
        if isinstance(request, UseEndpoint):
            self._use(request.endpoint)
            return None
        if not self.check.kubernetes_conn_id:
            return Answer(error=NO_KUBERNETES)
        if isinstance(request, PodsRequest):
            return _pods_answer(lambda: self._hook().list_pods(request.namespace, request.label_selector))
        if isinstance(request, DeploymentRequest):
            return answer_of(lambda: self._hook().get("Deployment", request.name, request.namespace))
        if isinstance(request, EventsRequest):
            return answer_of(lambda: self._hook().list("Event", request.namespace,
                                                       field_selector=request.field_selector))
        return answer_of(lambda: redact_log(
            self._hook().pod_log(request.pod, request.namespace, **log_call_kwargs(request))))

    def _hook(self) -> FlinkKubernetesHook:
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

        return FlinkKubernetesHook(self.check.kubernetes_conn_id or "kubernetes_default")

    def _use(self, endpoint: RestEndpoint | None) -> None:
        from airflow_flink_k8s.hooks.flink_rest import SyncFlinkRestClient

        if endpoint != self._endpoint and self._rest is not None:
            self._rest.close()
            self._rest = None
        self._endpoint = endpoint
        if endpoint is not None and self._rest is None:
            self._rest = SyncFlinkRestClient(endpoint, timeout=self.check.rest_timeout)

    def _leader(self) -> LeaderInfo | None:
        check = self.check
        if check.ha == "zookeeper":
            return self._zookeeper_leader()
        from airflow_flink_k8s.hooks.retry import TRANSIENT_STATUSES

        name = leader_config_map_name(check.cluster_id, check.flink_version)
        try:
            configmap = self._hook().get_configmap(name, check.namespace)
        except KubernetesApiError as error:
            if error.status not in TRANSIENT_STATUSES:
                raise
            self.log.warning("Reading ConfigMap %s/%s: %s; trying again", check.namespace, name, error)
            return None
        except Exception as error:
            if not _is_network_error(error):
                raise
            self.log.warning("Reading ConfigMap %s/%s: %s; trying again", check.namespace, name, error)
            return None
        return check.leader_from_configmap(configmap)

    def _zookeeper_leader(self) -> LeaderInfo | None:
        from kazoo.exceptions import ConnectionLoss, SessionExpiredError
        from kazoo.handlers.threading import KazooTimeoutError

        from airflow_flink_k8s.hooks.zookeeper import FlinkZooKeeperHook

        check = self.check
        if self._zookeeper is None:
            self._zookeeper = FlinkZooKeeperHook(check.zookeeper_conn_id, quorum=check.zookeeper_quorum)
        try:
            return self._zookeeper.read_leader(check.cluster_id, check.zookeeper_root, check.flink_version)
        except (ConnectionLoss, SessionExpiredError, KazooTimeoutError) as error:
            self.log.warning("Reading the leader from ZooKeeper: %r; trying again", error)
            return None


def _is_network_error(error: Exception) -> bool:
    """Connection refused, reset or timed out on the way to the API server (urllib3 or the OS)."""
    import urllib3.exceptions

    return isinstance(error, OSError | urllib3.exceptions.HTTPError)


# ----------------------------------------------------------------------------------------------- async driver
async def wait(check: ReadinessCheck, *, poll_interval: float, end_time: float | None,
               log: TaskLog = _log) -> Outcome:
    """Step until ready, failed, refused or ``end_time`` (UNIX time; None: never) and return the final outcome,
    with every watch subscription and client closed."""
    state = WaitState()
    async with _AsyncRequests(check, log) as requests:
        while True:
            outcome = await sansio.arun(step(check, state, now=time.time(), deadline=end_time), requests.handle)
            report_progress(check, state, outcome, log)
            if outcome.done:
                return outcome
            remaining = None if end_time is None else end_time - time.time()
            await requests.leader_source.wait(_next_wake(poll_interval, remaining, state.leader))


#: API answers that no retry can change: the pods a wait must see to notice a JobManager that cannot start.
_REFUSED = (401, 403)


def _pods_answer(read: Callable[[], Any]) -> Answer:
    """The pods ``read`` returns; other failures are an answer's error (pods are read best effort), but a refusal
    (401/403) raises: without the pods a wait could not tell a crash-looping JobManager from a slow one, and only
    the Role can fix it."""
    try:
        return Answer(read())
    except Exception as error:
        return _pods_failure(error)


def _pods_failure(error: Exception) -> Answer:
    """A failed pod read as an answer's error; a refusal (401/403) is raised again (see :func:`_pods_answer`)."""
    if isinstance(error, KubernetesApiError) and error.status in _REFUSED:
        raise error
    return Answer(error=describe_error(error))


def _next_wake(poll_interval: float, remaining: float | None, leader: LeaderInfo | None) -> float:
    """Seconds until the next step: the poll interval, the deadline, or just after the lease would run out."""
    wake = poll_interval
    if remaining is not None:
        wake = min(wake, remaining)
    expires = leader.lease_expires_at if leader else None
    if expires is not None:
        until_stale = (expires + DEFAULT_SKEW - datetime.now(UTC)).total_seconds() + 0.05
        wake = min(wake, max(until_stale, 0.05))
    return max(wake, 0.0)


class _AsyncRequests:
    """Answers a wait's requests in the event loop: leader and JobManager pods from the shared watches (or the
    ZooKeeper data watch), REST with the async client, pod logs by GET."""

    def __init__(self, check: ReadinessCheck, log: TaskLog) -> None:
        self.check, self.log = check, log
        self._stack = AsyncExitStack()
        self.leader_source: _KubernetesLeaderSource | _ZooKeeperLeaderSource
        self._pods: Subscription | None = None
        self._rest: FlinkRestClient | None = None
        self._api_server: ApiServer | None = None

    async def __aenter__(self) -> _AsyncRequests:
        await self._stack.__aenter__()
        try:
            self.leader_source = await self._stack.enter_async_context(_leader_source(self.check))
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._rest is not None:
            await self._rest.close()
        await self._stack.aclose()

    async def handle(self, request: WaitRequest) -> Any:
        if isinstance(request, RestRequest):
            return _NO_ENDPOINT if self._rest is None else await self._rest.fetch(request)
        if isinstance(request, LeaderRequest):
            return self.leader_source.leader()
        if isinstance(request, ApiServerRequest):
            if request.fresh:
                self.log.info("The API server refused the token read earlier (HTTP 401); reading it again")
            if self._api_server is None or request.fresh:
                self._api_server = await asyncio.to_thread(self._hook().api_server)
            return self._api_server
        if isinstance(request, UseEndpoint):
            await self._use(request.endpoint)
            return None
        if not self.check.kubernetes_conn_id:
            return Answer(error=NO_KUBERNETES)
        if request == self.check.report_target().pods_request():  # the JobManager pods: from the shared watch
            return await self._jobmanager_pods()
        try:
            if isinstance(request, PodsRequest):  # the TaskManager pods, for a report only
                return Answer(await self._hook().alist_pods(request.namespace, request.label_selector))
            if isinstance(request, DeploymentRequest):  # only once the cluster shows no leader and no pod
                return Answer(await asyncio.to_thread(self._hook().get, "Deployment", request.name,
                                                      request.namespace))
            if isinstance(request, EventsRequest):  # a pending pod's events, for a report only
                return Answer(await self._hook().alist("Event", request.namespace,
                                                       field_selector=request.field_selector))
            return Answer(redact_log(
                await self._hook().apod_log(request.pod, request.namespace, **log_call_kwargs(request))))
        except Exception as error:
            return Answer(error=describe_error(error))

    def _hook(self) -> FlinkKubernetesHook:
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

        return FlinkKubernetesHook(self.check.kubernetes_conn_id or "kubernetes_default")

    async def _use(self, endpoint: RestEndpoint | None) -> None:
        from airflow_flink_k8s.hooks.flink_rest import FlinkRestClient

        if self._rest is not None and self._rest.endpoint != endpoint:
            await self._rest.close()
            self._rest = None
        if endpoint is not None and self._rest is None:
            self._rest = FlinkRestClient(endpoint, timeout=self.check.rest_timeout)

    async def _jobmanager_pods(self) -> Answer:
        from airflow_flink_k8s.hooks.namespace_watch import watch_jobmanager_pods

        check = self.check
        try:
            if self._pods is None:
                self._pods = await self._stack.enter_async_context(watch_jobmanager_pods(
                    check.cluster_id, check.namespace, check.kubernetes_conn_id or "kubernetes_default"))
            await asyncio.wait_for(self._pods.listed(), check.rest_timeout)
        except TimeoutError:
            return Answer(error=f"the JobManager pod watch of namespace {check.namespace} has not listed yet")
        except Exception as error:
            return _pods_failure(error)
        return _pods_answer(self._pods.items)


class _KubernetesLeaderSource:
    """The ``restserver`` leader from the shared ConfigMap watch."""

    def __init__(self, check: ReadinessCheck, subscription: Subscription) -> None:
        self._check, self._subscription = check, subscription

    def leader(self) -> LeaderInfo | None:
        return self._check.leader_from_configmap(self._subscription.current())

    async def wait(self, timeout: float) -> None:
        with suppress(TimeoutError, KubernetesApiError):  # a refused watch surfaces in the next step's leader read
            await asyncio.wait_for(self._subscription.changed(), timeout)


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
        from airflow_flink_k8s.hooks.configmap_watch import watch_configmap

        async with watch_configmap(leader_config_map_name(check.cluster_id, check.flink_version), check.namespace,
                                   check.kubernetes_conn_id or "kubernetes_default") as subscription:
            with suppress(TimeoutError):  # the first step sees what the poke's GET would, not "not listed yet"
                await asyncio.wait_for(subscription.listed(), check.rest_timeout)
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
