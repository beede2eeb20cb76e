"""What a task says when its Flink job failed, its JobManager cannot start, or the wait timed out.

Pure and shared by the sensor's ``poke``, the trigger's ``run`` and the launch operator's ``wait_until``. It decides
from the JobManager pods (the API's JSON) whether the JobManager is crash-looping or cannot start, which pod and
container to read the log of (``previous=true`` for a container that crashed), and formats the message: a one-line
summary, Flink's root cause trimmed to its ``Caused by`` chain, what was last seen, and the tail of the JobManager
log, every part bounded in size.

Like :mod:`airflow_flink_k8s.core.readiness` it is sans-I/O: a report is a generator that yields :class:`PodsRequest`,
:class:`EventsRequest` (the Kubernetes events of a pod that is not running, as ``kubectl describe pod`` shows them:
the scheduler's ``FailedScheduling``, a failed image pull) and :class:`PodLogRequest`, is sent an :class:`Answer` for
each, and returns the text. The wait
(:mod:`airflow_flink_k8s.flows.wait`) runs reports inside its steps (pods from its watch cache when async);
Reading pods and logs is best effort: a refused or failed request becomes a line saying why (:func:`answer_of`),
never an error hiding the real failure.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from airflow_flink_k8s.core.errors import JobTerminalError
from airflow_flink_k8s.core.names import CONTAINER_NAME, jobmanager_pods_selector, taskmanager_pods_selector
from airflow_flink_k8s.core.readiness import Readiness
from airflow_flink_k8s.core.report_options import (  # noqa: F401 - re-exported for the sensor and readiness_check
    DEFAULT_LOG_TAIL_LINES,
    DEFAULT_RESTART_LIMIT,
    MAX_LOG_TAIL_LINES,
    check_report_options,
)

#: The JobManager's container in the pods Flink's native Kubernetes integration creates.
JOBMANAGER_CONTAINER = CONTAINER_NAME
MAX_LINE_CHARS = 2000
#: A JobManager log tail is read this many times longer than shown: Flink logs whole stack traces, which are shortened.
LOG_FETCH_FACTOR = 4
MAX_LOG_CHARS = 64 * 1024
MAX_SUMMARY_CHARS = 1000
#: Stack frames kept under each exception of a root cause's ``Caused by`` chain.
FRAMES_PER_CAUSE = 3
MAX_ROOT_CAUSE_LINES = 60
#: Waiting reasons that mean the container will not start without a change to the spec or cluster.
CANNOT_START = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                          "CreateContainerConfigError"})
#: Pending pods whose Kubernetes events a report reads (one request each), and the newest events shown per pod.
MAX_EVENT_PODS = 3
MAX_EVENTS_PER_POD = 5


@dataclass(frozen=True)
class PodsRequest:
    """List the pods matching ``label_selector`` in ``namespace``."""

    namespace: str
    label_selector: str


@dataclass(frozen=True)
class EventsRequest:
    """List the Kubernetes events about pod ``pod`` in ``namespace``."""

    namespace: str
    pod: str

    @property
    def field_selector(self) -> str:
        return f"involvedObject.kind=Pod,involvedObject.name={self.pod}"


@dataclass(frozen=True)
class PodLogRequest:
    """The last ``tail_lines`` lines of one container's log (once stack traces are shortened); ``previous``: of its
    last terminated instance."""

    pod: str
    namespace: str
    container: str
    tail_lines: int
    previous: bool = False

    @property
    def fetch_lines(self) -> int:
        """Lines to ask the API for (``tailLines``): more than shown, as shortening stack traces drops lines."""
        return self.tail_lines * LOG_FETCH_FACTOR

    @property
    def limit_bytes(self) -> int:
        """What the API may send at most (``limitBytes``): the tail, if every line were long."""
        return self.fetch_lines * MAX_LINE_CHARS

    def describe(self) -> str:
        which = "previous (crashed) container" if self.previous else "container"
        return f"pod {self.namespace}/{self.pod}, {which} {self.container}"


@dataclass(frozen=True)
class DeploymentRequest:
    """GET Deployment ``name`` in ``namespace``: the answer's value is the object, or None when there is none."""

    namespace: str
    name: str


@dataclass(frozen=True)
class Answer:
    """What a request produced: ``value`` (the pod list or the log text), or ``error`` saying why not."""

    value: Any = None
    error: str | None = None


@dataclass(frozen=True)
class ReportTarget:
    """The cluster a report is about and how much of the JobManager log it shows (0: none)."""

    cluster_id: str
    namespace: str
    log_tail_lines: int = DEFAULT_LOG_TAIL_LINES
    jobmanager_restart_limit: int = DEFAULT_RESTART_LIMIT

    def __post_init__(self) -> None:
        check_report_options(self.log_tail_lines, self.jobmanager_restart_limit)

    @property
    def where(self) -> str:
        return f"Flink cluster {self.namespace}/{self.cluster_id}"

    def pods_request(self) -> PodsRequest:
        return PodsRequest(self.namespace, jobmanager_selector(self.cluster_id))

    def taskmanager_pods_request(self) -> PodsRequest:
        return PodsRequest(self.namespace, taskmanager_pods_selector(self.cluster_id))


@dataclass(frozen=True)
class JobManagerFailure:
    """A JobManager pod that will not come up by waiting: crash-looping, cannot start, or failed."""

    pod: str
    container: str
    reason: str
    restarts: int
    detail: str = ""
    previous_log: bool = False  # the container waits after a crash: the crashed instance's log is the one to read

    def summary(self) -> str:
        restarts = f" after {self.restarts} restart{'s' if self.restarts != 1 else ''}" if self.restarts else ""
        detail = f" ({self.detail})" if self.detail else ""
        return f"JobManager pod {self.pod} is in {self.reason}{restarts}{detail}"


Steps = Generator[PodsRequest | EventsRequest | PodLogRequest, Answer, Any]


def jobmanager_selector(cluster_id: str) -> str:
    """The label selector of a cluster's JobManager pods."""
    return jobmanager_pods_selector(cluster_id)


def main_container_status(pod: dict[str, Any]) -> dict[str, Any]:
    """The JobManager container's status in ``pod`` (the first container's when named otherwise), or ``{}``."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return next((s for s in statuses if s.get("name") == JOBMANAGER_CONTAINER), statuses[0] if statuses else {})


def pod_failure(pod: dict[str, Any], restart_limit: int = DEFAULT_RESTART_LIMIT) -> JobManagerFailure | None:
    """Why waiting for this JobManager pod is pointless, or None while it may still come up."""
    name = pod["metadata"]["name"]
    status = main_container_status(pod)
    container = status.get("name") or JOBMANAGER_CONTAINER
    restarts = int(status.get("restartCount") or 0)
    previous = _crashed_and_waiting(status)
    if (pod.get("status") or {}).get("phase") == "Failed":
        reason = (pod.get("status") or {}).get("reason") or "Failed"
        message = (pod.get("status") or {}).get("message") or _termination(
            (status.get("state") or {}).get("terminated"))
        return JobManagerFailure(name, container, f"phase Failed ({reason})", restarts, message, previous)
    waiting = (status.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason") or ""
    if reason in CANNOT_START:
        return JobManagerFailure(name, container, reason, restarts, _clip(waiting.get("message") or "", 300),
                                 previous)
    if reason == "CrashLoopBackOff" and restarts >= restart_limit:
        last_exit = _termination((status.get("lastState") or {}).get("terminated"))
        detail = "; ".join(part for part in (last_exit, waiting.get("message")) if part)
        return JobManagerFailure(name, container, reason, restarts, detail, previous)
    return None


def jobmanager_failure(pods: list[dict[str, Any]],
                       restart_limit: int = DEFAULT_RESTART_LIMIT) -> JobManagerFailure | None:
    """The failure when every JobManager pod has one (a standby that may still take over means: keep waiting);
    the one with the most restarts. None when there is no pod or one may still come up."""
    failures = [pod_failure(pod, restart_limit) for pod in pods]
    if not failures or any(failure is None for failure in failures):
        return None
    return max((f for f in failures if f is not None), key=lambda failure: failure.restarts)


def log_request(pods: list[dict[str, Any]], target: ReportTarget, *, failure: JobManagerFailure | None = None,
                leader_address: str | None = None) -> PodLogRequest | None:
    """Which log to read: the failed pod's (its crashed instance when there is one), else the leader's pod (by
    IP), else a running one, else the newest; ``previous`` when that container is waiting after a crash."""
    if target.log_tail_lines == 0 or not pods:
        return None
    if failure is not None:
        return PodLogRequest(failure.pod, target.namespace, failure.container, target.log_tail_lines,
                             previous=failure.previous_log)
    leader_host = _host(leader_address)

    def rank(pod: dict[str, Any]) -> tuple[bool, bool, str]:
        status = pod.get("status") or {}
        running = "running" in (main_container_status(pod).get("state") or {})
        return (bool(leader_host) and status.get("podIP") == leader_host, running,
                pod["metadata"].get("creationTimestamp") or "")

    pod = max(pods, key=rank)
    status = main_container_status(pod)
    return PodLogRequest(pod["metadata"]["name"], target.namespace, status.get("name") or JOBMANAGER_CONTAINER,
                         target.log_tail_lines, previous=_crashed_and_waiting(status))


def describe_pods(pods: list[dict[str, Any]]) -> str:
    """One line per JobManager pod: phase, container state and restarts."""
    if not pods:
        return "no JobManager pod (the Deployment is gone or has not created one yet)"
    lines = []
    for pod in pods:
        status = main_container_status(pod)
        state = status.get("state") or {}
        kind = next(iter(state), "unknown")
        reason = (state.get(kind) or {}).get("reason")
        last = _termination((status.get("lastState") or {}).get("terminated"))
        parts = [f"{(pod.get('status') or {}).get('phase') or 'Pending'}", *_unmet_conditions(pod),
                 f"container {kind}{f' ({reason})' if reason else ''}",
                 f"{int(status.get('restartCount') or 0)} restarts"] + ([f"last {last}"] if last else [])
        lines.append(f"JobManager pod {pod['metadata']['name']}: {', '.join(parts)}")
    return "\n".join(lines)


def describe_taskmanager_pods(pods: list[dict[str, Any]]) -> str:
    """One line per TaskManager pod: phase, the conditions that are not True (e.g. ``PodScheduled``
    ``Unschedulable``) and the container state; or why there is none."""
    if not pods:
        return ("TaskManager pods: none (Flink's ResourceManager has created none, or the API server refused its pod "
                "creates: the JobManager log says which)")
    lines = ["TaskManager pods:"]
    for pod in pods:
        parts = [(pod.get("status") or {}).get("phase") or "Pending", *_unmet_conditions(pod)]
        state = main_container_status(pod).get("state") or {}
        if state:
            kind = next(iter(state))
            reason = (state.get(kind) or {}).get("reason")
            parts.append(f"container {kind}{f' ({reason})' if reason else ''}")
        lines.append(f"  {pod['metadata']['name']}: {', '.join(parts)}")
    return "\n".join(lines)


def _unmet_conditions(pod: dict[str, Any]) -> list[str]:
    """The pod's conditions that are not True, with their reason and message (``PodScheduled False (Unschedulable;
    0/3 nodes are available: 3 Insufficient memory. …)``)."""
    unmet = []
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            why = "; ".join(str(condition[key]) for key in ("reason", "message") if condition.get(key))
            unmet.append(f"{condition.get('type')} {condition.get('status')}" + (f" ({_clip(why, 300)})"
                                                                                  if why else ""))
    return unmet


def _pending_pods(pods: list[dict[str, Any]]) -> list[str]:
    """The names of the pods still Pending (not scheduled, or their container not started), at most
    ``MAX_EVENT_PODS``: the pods whose events say why."""
    pending = [pod["metadata"]["name"] for pod in pods
               if ((pod.get("status") or {}).get("phase") or "Pending") == "Pending"]
    return pending[:MAX_EVENT_PODS]


def _event_time(event: dict[str, Any]) -> str:
    series = event.get("series") or {}
    return str(event.get("lastTimestamp") or series.get("lastObservedTime") or event.get("eventTime")
               or event.get("firstTimestamp") or (event.get("metadata") or {}).get("creationTimestamp") or "")


def describe_events(pod: str, answer: Answer) -> str:
    """The newest events about ``pod`` (oldest first), one line each: type, reason, how often, when, message."""
    if answer.error is not None:
        return f"Events of pod {pod}: unavailable ({answer.error})"
    events = sorted(answer.value or [], key=_event_time)[-MAX_EVENTS_PER_POD:]
    if not events:
        return f"Events of pod {pod}: none"
    lines = [f"Events of pod {pod}:"]
    for event in events:
        count = int(event.get("count") or (event.get("series") or {}).get("count") or 1)
        lines.append(f"  {event.get('type') or 'Normal'} {event.get('reason') or 'unknown'}"
                     f"{f' (x{count})' if count > 1 else ''} at {_event_time(event) or 'unknown time'}: "
                     f"{_clip(str(event.get('message') or ''), 300)}")
    return "\n".join(lines)


def pod_events(pods: list[dict[str, Any]], namespace: str) -> Generator[EventsRequest, Answer, str]:
    """The events of the pending ones of ``pods`` (their scheduling or image-pull failures), described."""
    described = []
    for name in _pending_pods(pods):
        described.append(describe_events(name, (yield EventsRequest(namespace, name))))
    return "\n".join(described)


def describe_readiness(readiness: Readiness) -> str:
    """What the last check saw: leader, REST, job and checkpoint, as far as it got."""
    if readiness.leader_address is None:
        return "no live JobManager leader in the HA data"
    seen = [f"leader {readiness.leader_address} (session {readiness.session_id})"]
    if readiness.flink_version is not None:
        seen.append(f"REST {readiness.rest_url} answers (Flink {readiness.flink_version})")
    else:
        seen.append(f"REST {readiness.rest_url} not answering")
    if readiness.job_id is not None:
        seen.append(f"job {readiness.job_id} {readiness.job_state or 'not submitted yet'}")
    if readiness.checkpoint_path is not None:
        seen.append(f"latest checkpoint {readiness.checkpoint_path}")
    return "; ".join(seen)


def trim_stacktrace(stacktrace: str, frames: int = FRAMES_PER_CAUSE, max_lines: int = MAX_ROOT_CAUSE_LINES) -> str:
    """A Java stack trace cut to each exception of its ``Caused by``/``Suppressed`` chain with its first
    ``frames`` frames. When that is still longer than ``max_lines``, causes in the middle go: the outermost
    exception and the innermost causes stay."""
    blocks: list[list[str]] = []
    for raw in stacktrace.strip().splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        new_exception = line.strip().startswith(("Caused by:", "Suppressed:"))
        if not blocks or (not _is_frame(line) and (new_exception or any(map(_is_frame, blocks[-1])))):
            blocks.append([line])
        else:
            blocks[-1].append(line)  # a frame, or the next line of a multi-line exception message
    kept = []
    for block in blocks:
        header = [_clip(line, MAX_LINE_CHARS) for line in block if not _is_frame(line)][:10]
        kept.append(header + shorten_stack_frames([line for line in block if _is_frame(line)], frames))
    if sum(map(len, kept)) > max_lines and len(kept) > 2:
        first, middle, inner = kept[0], kept[1:-1], [kept[-1]]
        while middle and len(first) + sum(map(len, inner)) + len(middle[-1]) < max_lines:
            inner.insert(0, middle.pop())
        kept = [first, *([[f"\t... {len(middle)} more causes omitted"]] if middle else []), *inner]
    lines = [line for block in kept for line in block]
    return "\n".join(lines if len(lines) <= max_lines else [*lines[:max_lines], "\t... (cut)"])


def format_log(request: PodLogRequest | None, answer: Answer | None, *, reason: str = "") -> str:
    """The JobManager log section: a header naming pod, container and line count, the lines, and an end mark;
    or one line saying why there is none."""
    if request is None or answer is None:
        return f"(JobManager log unavailable: {reason})" if reason else ""
    if answer.error is not None:
        return f"(JobManager log unavailable: {answer.error})"
    text = str(answer.value or "")
    lines = shorten_stack_frames([_clip(line, MAX_LINE_CHARS) for line in text.splitlines()])[-request.tail_lines:]
    while lines and sum(len(line) + 1 for line in lines) > MAX_LOG_CHARS:
        lines.pop(0)
    if not lines:
        return f"(JobManager log of {request.describe()} is empty)"
    header = f"----- JobManager log: last {len(lines)} lines of {request.describe()} (stack traces shortened) -----"
    return "\n".join([header, *lines, "----- end of JobManager log -----"])


def shorten_stack_frames(lines: list[str], frames: int = FRAMES_PER_CAUSE) -> list[str]:
    """Each run of stack-frame lines (``at …``, ``... N more``) cut to its first ``frames`` lines and a count."""
    out: list[str] = []
    run = 0
    for line in [*lines, ""]:
        if _is_frame(line):
            run += 1
            if run <= frames:
                out.append(line)
            continue
        if run > frames:
            out.append(f"{_indentation(out[-1])}... {run - frames} more lines")
        run = 0
        out.append(line)
    return out[:-1]


def format_report(summary: str, *sections: str) -> str:
    """The summary line (clipped) followed by the non-empty sections."""
    return "\n".join([_clip(" ".join(summary.split("\n")), MAX_SUMMARY_CHARS), *(s for s in sections if s)])


# ----------------------------------------------------------------------------------------------- reports
def job_failure_report(error: JobTerminalError, target: ReportTarget,
                       leader_address: str | None = None) -> Steps:
    """A job in a terminal state: its root cause from REST and the tail of the JobManager log."""
    root = ""
    if error.root_cause:
        root = "Root cause reported by Flink (REST /jobs/<id>/exceptions):\n" + _indent(trim_stacktrace(
            error.root_cause))
    log = ""
    if target.log_tail_lines:
        _, log = yield from _pods_and_log(target, leader_address)
    return format_report(f"{target.where}: {error}", root, log)


def crash_report(target: ReportTarget) -> Steps:
    """The report when every JobManager pod is crash-looping or cannot start; None otherwise (also when the
    pods cannot be read: that is no reason to fail)."""
    answer = yield target.pods_request()
    if answer.error is not None:
        return None
    pods = list(answer.value or [])
    failure = jobmanager_failure(pods, target.jobmanager_restart_limit)
    if failure is None:
        return None
    request = log_request(pods, target, failure=failure)
    log = format_log(request, (yield request)) if request is not None else ""
    return format_report(f"{target.where}: the JobManager cannot start: {failure.summary()}",
                         describe_pods(pods), log)


def gone_report(target: ReportTarget, job_id: str) -> Generator[PodsRequest | DeploymentRequest, Answer, str | None]:
    """The report when the cluster of the launched job ``job_id`` is gone: no JobManager pod and no Deployment (the
    caller saw no HA leader either); None while any of it exists or cannot be read.

    Not a crash: Flink itself deletes an application cluster (its Deployment, and with it the ConfigMaps, the pods
    and the HA data) once the job is globally terminal, unless ``execution.shutdown-on-application-finish`` is false.
    A bounded job launched without ``wait_until="finished"`` ends that way, FINISHED or not, and its outcome is gone
    with the cluster: waiting longer cannot show it."""
    answer = yield target.pods_request()
    if answer.error is not None or answer.value:
        return None
    answer = yield DeploymentRequest(target.namespace, target.cluster_id)
    if answer.error is not None or answer.value is not None:
        return None
    return format_report(
        f"{target.where} is gone (no Deployment, no JobManager pod, no HA leader) though job {job_id} was launched "
        "on it: Flink deletes an application cluster once its job is globally terminal (FINISHED, FAILED or "
        "CANCELED) unless execution.shutdown-on-application-finish is false, so the job has ended but its outcome "
        "can no longer be read (or someone deleted the cluster)",
        "For a bounded job, launch with wait_until='finished' (FlinkApplicationOperator): it keeps the cluster until "
        "the outcome is read and reported, then deletes it.")


def timeout_report(readiness: Readiness, target: ReportTarget, level: str) -> Steps:
    """A wait for ``level`` that ran out: what was last seen, the JobManager pods and the tail of the log."""
    pods, log = yield from _pods_and_log(target, readiness.leader_address)
    return format_report(f"{target.where}: the JobManager did not reach '{level}' before the timeout: "
                         f"{readiness.reason}", f"Last seen: {describe_readiness(readiness)}", pods, log)


def unscheduled_report(readiness: Readiness, target: ReportTarget, waited: float, limit: float,
                       root_cause: str | None) -> Steps:
    """A job whose tasks have waited for a slot longer than ``limit`` seconds (``unscheduled_timeout``): the tasks
    that do not run and the TaskManagers registered, Flink's newest exception (``root_cause``), the TaskManager
    pods, the JobManager pods and the tail of the JobManager log (where Flink logs a refused pod create)."""
    exceptions = "Flink's newest exception (REST /jobs/<id>/exceptions): " + (
        "\n" + _indent(trim_stacktrace(root_cause)) if root_cause else "none recorded")
    answer = yield target.taskmanager_pods_request()
    if answer.error is not None:
        taskmanagers = f"(TaskManager pods unavailable: {answer.error})"
    else:
        taskmanager_pods = list(answer.value or [])
        taskmanagers = describe_taskmanager_pods(taskmanager_pods)
        if events := (yield from pod_events(taskmanager_pods, target.namespace)):
            taskmanagers += "\n" + events
    pods, log = yield from _pods_and_log(target, readiness.leader_address)
    return format_report(f"{target.where}: job {readiness.job_id} has had tasks waiting for a slot for {waited:.0f} s "
                         f"(unscheduled_timeout {limit:g} s): {readiness.reason}", exceptions, taskmanagers, pods, log)


def _pods_and_log(target: ReportTarget, leader_address: str | None) -> Generator[
        PodsRequest | EventsRequest | PodLogRequest, Answer, tuple[str, str]]:
    """(the JobManager pods described with the events of a pending one, the log section)."""
    answer = yield target.pods_request()
    if answer.error is not None:
        reason = f"listing the JobManager pods failed: {answer.error}"
        return f"(JobManager pods unavailable: {answer.error})", format_log(None, None, reason=reason)
    pods = list(answer.value or [])
    request = log_request(pods, target, failure=jobmanager_failure(pods, target.jobmanager_restart_limit),
                          leader_address=leader_address)
    described = describe_pods(pods)
    events = yield from pod_events(pods, target.namespace)
    with_events = f"{described}\n{events}" if events else described
    if request is None:
        return with_events, format_log(None, None, reason=described if target.log_tail_lines else "")
    return with_events, format_log(request, (yield request))


# ----------------------------------------------------------------------------------------------- drivers
NO_KUBERNETES = "no Kubernetes connection (kubernetes_conn_id is None)"
def answer_of(call: Callable[[], Any]) -> Answer:
    """``Answer(call())``, or an ``Answer`` with the error's text: reading pods and logs is best effort."""
    try:
        return Answer(call())
    except Exception as error:
        return Answer(error=describe_error(error))


def log_call_kwargs(request: PodLogRequest) -> dict[str, Any]:
    """The keyword arguments of a hook's ``pod_log``/``apod_log`` for ``request``."""
    return {"container": request.container, "tail_lines": request.fetch_lines, "previous": request.previous,
            "limit_bytes": request.limit_bytes}


def describe_error(error: Exception) -> str:
    """An error as one bounded line."""
    return _clip(" ".join(str(error).split()) or type(error).__name__, 500)


def _crashed_and_waiting(status: dict[str, Any]) -> bool:
    """Whether the container waits after a terminated instance (whose log ``previous=true`` reads)."""
    return "waiting" in (status.get("state") or {}) and bool((status.get("lastState") or {}).get("terminated"))


def _termination(terminated: dict[str, Any] | None) -> str:
    if not terminated:
        return ""
    text = f"exit code {terminated.get('exitCode')} ({terminated.get('reason') or 'Error'})"
    if terminated.get("finishedAt"):
        text += f" at {terminated['finishedAt']}"
    return text + (f": {_clip(terminated['message'], 300)}" if terminated.get("message") else "")


def _host(address: str | None) -> str | None:
    if not address:
        return None
    rest = address.split("://", 1)[-1]
    return rest.rsplit(":", 1)[0].strip("[]") or None


def _is_frame(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("at ") or (stripped.startswith("... ") and stripped.endswith(" more"))


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip())] or "\t"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 15] + " … [truncated]"
