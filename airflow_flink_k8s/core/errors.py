"""Every error this provider raises, under one base class (``FlinkK8sError``), in one module.

Each keeps the built-in base its callers relied on before (``ValueError`` for bad input or bad data,
``RuntimeError`` for a failed operation), so ``except ValueError`` around a spec still works.
"""

from __future__ import annotations

from typing import Any


class FlinkK8sError(Exception):
    """Base class of every error airflow-flink-k8s raises."""


# ----------------------------------------------------------------- bad input and bad data (ValueError)
class FlinkSpecError(FlinkK8sError, ValueError):
    """A spec field or argument breaks a rule; ``field`` names it and ``rule`` says what it must be."""

    def __init__(self, field_name: str, rule: str, value: Any = None) -> None:
        self.field = field_name
        self.rule = rule
        suffix = "" if value is None else f", got {value!r}"
        super().__init__(f"{field_name}: {rule}{suffix}")


class LeaderDataError(FlinkK8sError, ValueError):
    """The HA leader data exists but is not in a format Flink writes."""


class RestDataError(FlinkK8sError, ValueError):
    """A REST answer that is not the JSON Flink sends for that endpoint."""


class RestRefusedError(RestDataError):
    """A REST request refused for lack of rights (HTTP 401/403, e.g. by the API server's service proxy): waiting
    longer cannot help (a 401 through the API server may be an expired token, which a caller can read anew)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# ----------------------------------------------------------------- failed operations (RuntimeError)
class KubernetesApiError(FlinkK8sError, RuntimeError):
    """An API answer other than success, with the API's own reason and message."""

    def __init__(self, status: int, reason: str, message: str, verb: str, what: str) -> None:
        self.status, self.reason = status, reason
        super().__init__(f"Kubernetes API: {verb} {what} failed with {status} {reason}: {message}")


class FlinkCliError(FlinkK8sError, RuntimeError):
    """The Flink client failed or timed out; the message holds its error lines."""


class ClusterExistsError(FlinkK8sError, RuntimeError):
    """The cluster id is taken and ``if_exists`` does not allow using or replacing it."""


class NotOwnedError(FlinkK8sError, RuntimeError):
    """An object under the cluster's name (a Deployment, HA ConfigMaps, a ZooKeeper subtree) is not this cluster's
    as this provider launched it (or, when opted in, a native Flink cluster's): it is left alone and the message
    names what was found."""


class ClusterIdTakenError(FlinkK8sError, RuntimeError):
    """Another launch holds the cluster id: it created the Deployment ``<cluster-id>`` (or, for the cli launcher,
    the launch lock) first. ``holder`` is that object as the API returned it, None if it was gone again."""

    def __init__(self, message: str, holder: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.holder = holder


class LaunchRollbackError(FlinkK8sError, RuntimeError):
    """A launch failed half-way and deleting what it had created failed too; the message names both and what
    may be left behind."""


class SavepointError(FlinkK8sError, RuntimeError):
    """A stop-with-savepoint was refused, failed or did not finish in time; nothing was deleted."""


class SavepointTimeoutError(SavepointError):
    """A stop-with-savepoint Flink accepted did not finish in time: it may still complete and stop the job."""


class UpgradeRelaunchError(FlinkK8sError, RuntimeError):
    """An upgrade took the old cluster's state and removed it, then launching the new spec failed. The upgrade stays
    recorded (``core.upgrade_plan``), so the next try finishes it; ``savepoint_path`` is where the state is (None
    for ``last-state``: the HA metadata; and for ``stateless``)."""

    def __init__(self, message: str, savepoint_path: str | None) -> None:
        super().__init__(message)
        self.savepoint_path = savepoint_path


class JobTerminalError(FlinkK8sError, RuntimeError):
    """The job reached a state it will not leave; waiting longer cannot make it ready. ``state`` is a
    ``rest_api.JobState``."""

    def __init__(self, job_id: str, state: Any, root_cause: str | None, note: str = "") -> None:
        self.job_id = job_id
        self.state = state
        self.root_cause = root_cause
        summary = summarize_stacktrace(root_cause) if root_cause else note or "no exception recorded"
        super().__init__(f"Flink job {job_id} is {state.value}: {summary}")


def summarize_stacktrace(stacktrace: str) -> str:
    """First line plus the innermost ``Caused by:`` line: what a user needs to see in a task log."""
    lines = [line.strip() for line in stacktrace.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    causes = [line for line in lines if line.startswith("Caused by:")]
    return lines[0] if not causes else f"{lines[0]} ... {causes[-1]}"
