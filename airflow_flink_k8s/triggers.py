"""``FlinkJobManagerReadyTrigger``: waits, without a worker slot, until a Flink JobManager is ready.

It runs the one wait of :mod:`airflow_flink_k8s.flows.wait` (the same steps as the sensor's ``poke``): it follows the
leader the way Flink's clients do, from the HA data (on Kubernetes through the process's shared ConfigMap watch, on
ZooKeeper through a kazoo data watch), and looks at the JobManager pods through the process's shared pod watch. It
reads only, except in :meth:`~FlinkJobManagerReadyTrigger.on_kill` for a launch's wait (``created_uid``): a user
who kills the deferred launch task gets the cluster that try created deleted, as on a worker.

Events: ``{"status": "success", "details": {...}}`` when ready; ``"failed"`` when the job reached a terminal state
(``message`` names job id and state, ``root_cause`` holds the REST exception text), every JobManager pod is
crash-looping or cannot start, or the cluster of a launched job is gone (Flink deleted it after the job ended);
``"error"`` for a refusal or HA or REST data Flink does not write; ``"timeout"`` at ``end_time`` with the last
reason it was not ready. ``"failed"`` and ``"timeout"`` carry ``report``: the text the
task fails with, with the tail of the JobManager log (:mod:`airflow_flink_k8s.core.failure_report`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_flink_k8s.core.readiness_check import ReadinessCheck
from airflow_flink_k8s.flows.wait import wait


class FlinkJobManagerReadyTrigger(BaseTrigger):
    """Fires once the JobManager of ``cluster_id`` reaches ``target`` (see :class:`ReadinessCheck` for the fields).

    ``poll_interval``: seconds between REST re-checks while the leader data does not change.
    ``end_time``: UNIX time at which to give up with a ``timeout`` event (None: never).
    ``created_uid``: the launch operator's wait for a cluster its try created, the uid of that Deployment: when a
    user kills the deferred task (mark failed, clear, mark success; Airflow 3.3+ calls :meth:`on_kill`), delete
    it, as the operator's ``on_kill`` does on a worker, unless another launch has replaced it since. None for a
    sensor and for a launch that reattached.
    """

    def __init__(self, *, poll_interval: float = 5.0, end_time: float | None = None, created_uid: str | None = None,
                 **check: Any) -> None:
        super().__init__()
        if poll_interval <= 0:
            raise ValueError(f"poll_interval: must be > 0 seconds, got {poll_interval}")
        self.check = ReadinessCheck(**check)
        self.poll_interval = float(poll_interval)
        self.end_time = end_time
        self.created_uid = created_uid

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {**asdict(self.check), "poll_interval": self.poll_interval, "end_time": self.end_time,
                 "created_uid": self.created_uid})

    async def on_kill(self) -> None:
        """The user killed the deferred task: delete the cluster this try created (its owned objects cascade);
        nothing for a sensor or a reattached cluster. Not called on a triggerer restart or a timeout."""
        if self.created_uid is None:
            return
        import asyncio

        from airflow_flink_k8s.flows.cluster_deletion import delete_created_cluster
        from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook

        check = self.check
        hook = FlinkKubernetesHook(check.kubernetes_conn_id or "kubernetes_default")
        await asyncio.to_thread(delete_created_cluster, hook, check.namespace, check.cluster_id, self.created_uid,
                                log=self.log)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Every watch and client is closed before the one event is yielded: a runner that drops the generator
        # after its first event (as dag.test() does) must not leak a kazoo session or an HTTP connection.
        outcome = await wait(self.check, poll_interval=self.poll_interval, end_time=self.end_time, log=self.log)
        yield TriggerEvent(outcome.event())
