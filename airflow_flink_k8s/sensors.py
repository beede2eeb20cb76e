"""``FlinkJobManagerReadySensor``: wait until a Flink application cluster's JobManager is ready.

The JobManager is found as Flink's own clients find it, through the HA leader data (the ``<cid>-cluster-config-map``
on Kubernetes, the ``rest_server`` znode on ZooKeeper), then its REST API is checked up to ``target``:

* ``leader``: a live leader is published (stale or released leases do not count);
* ``rest``: REST answers (a 503 "leader election" does not count);
* ``running``: the job is RUNNING and so is every task of every vertex (FINISHED counts for a bounded source that
  is done; REST ``/jobs/<id>``): ``job_id``, else the job id the task ``launch_task_id`` pushed to XCom, else the
  cluster's single job. Flink reports a job RUNNING before any TaskManager has registered;
* ``checkpointed``: as ``running``, and the job completed a checkpoint (triggered at or after ``checkpointed_after``
  when given);
* ``finished``: a bounded job ended FINISHED (on 2.3+ its application too); the XCom carries ``result``: times,
  accumulators and application (:mod:`airflow_flink_k8s.core.job_result`).

A cluster that is gone (no HA leader, no JobManager pod, no Deployment) while a launched job is expected (``job_id``
or ``launch_task_id``) fails the sensor at once: Flink deleted it itself after the job ended (a bounded job
launched without ``wait_until="finished"``), so its outcome cannot be read; it is neither a crash nor a timeout.

Tasks that wait for a slot (CREATED/SCHEDULED: no TaskManager took them, e.g. TaskManager pods refused by a quota or
RBAC) fail the sensor once they have waited ``unscheduled_timeout`` seconds, with a report naming the tasks, the
TaskManagers registered, Flink's newest exception, the TaskManager pods and the JobManager log. A SUSPENDED job
(its JobManager lost the leadership) is waited for until the leader lease has run out, so a new leader can recover
it; then it fails like a terminal job.

A job in a terminal state fails the sensor at once (no retries) with the job id, state and Flink's root-cause text;
so does a JobManager that cannot start (every JobManager pod crash-looping with ``jobmanager_restart_limit``
restarts, an image that cannot be pulled, a failed pod). Those failures and a timeout carry the last
``log_tail_lines`` lines of the JobManager log, read through the Kubernetes API (``pods/log``), and a timeout says
what was last seen (see :mod:`airflow_flink_k8s.core.failure_report`). Passing API-server hiccups (429, 5xx, dropped
connections) and REST 503s only mean "not ready yet". JobManager pods are looked at on the first not-ready poke and
then every ``POD_CHECK_INTERVAL`` (30 s), as the deferred wait does: the wait is :mod:`airflow_flink_k8s.flows.wait`.

On success the sensor returns (pushes to XCom) the cluster's namespace, the leader address Flink wrote, session id,
the REST URL used, Flink version, job id and state, and the latest checkpoint's path and time.

This module imports no Kubernetes, ZooKeeper or HTTP client; they load when the sensor runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_flink_k8s.core.arguments import SENSOR_RULES, check_sensor_arguments
from airflow_flink_k8s.core.names import REST_PORT
from airflow_flink_k8s.core.report_options import (
    DEFAULT_LOG_TAIL_LINES,
    DEFAULT_RESTART_LIMIT,
    DEFAULT_UNSCHEDULED_TIMEOUT,
    check_report_options,
    check_unscheduled_timeout,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_flink_k8s.core.readiness_check import ReadinessCheck
    from airflow_flink_k8s.flows.wait import SyncWait

#: The task state store key of what a poking sensor's log was told (``core.wait_progress.WaitProgress``).
PROGRESS_KEY = "flink_wait_progress"


def readiness_from_event(event: dict[str, Any], cluster_id: str) -> dict[str, Any]:
    """The readiness details of a wait's ``success`` outcome (a trigger event's payload); for the others raise
    what a task fails with: the outcome's ``report`` (see :mod:`airflow_flink_k8s.core.failure_report`)."""
    status, message = event.get("status"), event.get("message", "")
    if status == "success":
        return event["details"]
    if status == "failed":
        raise AirflowFailException(event.get("report") or f"Flink cluster {cluster_id}: {message}")
    if status == "timeout":
        raise AirflowSensorTimeout(event.get("report") or f"Flink cluster {cluster_id}: {message}")
    raise AirflowException(f"Flink cluster {cluster_id}: {message}")


class FlinkJobManagerReadySensor(BaseSensorOperator):
    """Succeeds when the JobManager of Flink cluster ``cluster_id`` has reached ``target``.

    :param cluster_id: ``kubernetes.cluster-id`` (the HA cluster id).
    :param namespace: Kubernetes namespace of the cluster; default: the connection's ``namespace`` extra, else
        ``default`` (as cncf-kubernetes resolves it).
    :param ha: ``kubernetes`` or ``zookeeper``: where Flink publishes its leader.
    :param flink_version: the cluster's Flink version (picks the HA data layout), e.g. ``"1.20"``.
    :param target: ``leader``, ``rest``, ``running``, ``checkpointed`` or ``finished`` (a bounded job ended FINISHED).
    :param job_id: the job to check (32 hex digits); default: ``launch_task_id``'s XCom ``job_id``, else the single job.
    :param launch_task_id: the task that launched the cluster and pushed its ``job_id`` to XCom.
    :param checkpointed_after: ISO-8601 time with zone; ``checkpointed`` then needs a checkpoint triggered since.
    :param expect_finished: accept a FINISHED job (a bounded job) instead of failing.
    :param access_mode: ``direct`` (the leader's address), ``service`` (``<cid>-rest.<ns>``), ``proxy`` (the API
        server's service proxy) or ``auto`` (``proxy`` with Kubernetes HA, else ``direct``).
    :param kubernetes_conn_id: Airflow connection of the Kubernetes cluster (templated, as ``zookeeper_conn_id``).
    :param zookeeper_conn_id: Airflow ``zookeeper`` connection (hosts, chroot, auth) for ``ha="zookeeper"``.
    :param zookeeper_quorum: a bare ``host:port,...`` quorum instead of a connection (no credentials).
    :param zookeeper_root: ``high-availability.zookeeper.path.root``.
    :param rest_port, rest_scheme: the REST port and scheme for ``service`` and ``proxy``.
    :param rest_ca_file, rest_verify, rest_client_cert, rest_client_key: TLS to Flink's REST (not used by ``proxy``).
    :param rest_timeout: seconds per REST request.
    :param log_tail_lines: lines of the JobManager log a failure or timeout shows (0: none; at most 1000).
    :param jobmanager_restart_limit: restarts after which a JobManager in ``CrashLoopBackOff`` fails the sensor.
    :param unscheduled_timeout: seconds the job's tasks may wait for a slot before the sensor fails (``running``,
        ``checkpointed``); default 300 (Flink's ``slot.request.timeout``).
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("cluster_id", "namespace", "ha", "flink_version", "target", "job_id",
                                      "launch_task_id", "checkpointed_after", "access_mode", "zookeeper_quorum",
                                      "zookeeper_root", "kubernetes_conn_id", "zookeeper_conn_id")
    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        cluster_id: str,
        namespace: str | None = None,
        ha: str = "kubernetes",
        flink_version: str = "2.3",
        target: str = "rest",
        job_id: str | None = None,
        launch_task_id: str | None = None,
        checkpointed_after: str | None = None,
        expect_finished: bool = False,
        access_mode: str = "auto",
        kubernetes_conn_id: str | None = "kubernetes_default",
        zookeeper_conn_id: str | None = None,
        zookeeper_quorum: str | None = None,
        zookeeper_root: str = "/flink",
        rest_port: int = REST_PORT,
        rest_scheme: str = "http",
        rest_ca_file: str | None = None,
        rest_verify: bool = True,
        rest_client_cert: str | None = None,
        rest_client_key: str | None = None,
        rest_timeout: float = 10.0,
        log_tail_lines: int = DEFAULT_LOG_TAIL_LINES,
        jobmanager_restart_limit: int = DEFAULT_RESTART_LIMIT,
        unscheduled_timeout: float = DEFAULT_UNSCHEDULED_TIMEOUT,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Checked here unless templated; all of them again once rendered, by ReadinessCheck (before any request).
        self.ha, self.flink_version, self.target, self.access_mode = ha, flink_version, target, access_mode
        self.cluster_id, self.namespace = cluster_id, namespace
        self.job_id, self.launch_task_id = job_id, launch_task_id
        self.checkpointed_after, self.expect_finished = checkpointed_after, expect_finished
        self.kubernetes_conn_id = kubernetes_conn_id
        self.zookeeper_conn_id, self.zookeeper_quorum, self.zookeeper_root = (
            zookeeper_conn_id, zookeeper_quorum, zookeeper_root)
        self.rest_port, self.rest_scheme, self.rest_timeout = rest_port, rest_scheme, rest_timeout
        self.rest_ca_file, self.rest_verify = rest_ca_file, rest_verify
        self.rest_client_cert, self.rest_client_key = rest_client_cert, rest_client_key
        check_report_options(log_tail_lines, jobmanager_restart_limit)
        self.log_tail_lines, self.jobmanager_restart_limit = log_tail_lines, jobmanager_restart_limit
        self.unscheduled_timeout = check_unscheduled_timeout(unscheduled_timeout)
        self.deferrable = deferrable
        check_sensor_arguments({name: getattr(self, name) for name in SENSOR_RULES}, self.template_fields)
        self._check: ReadinessCheck | None = None
        self._wait: SyncWait | None = None

    # ----------------------------------------------------------------- what to check
    def resolved_namespace(self) -> str:
        """``namespace``, else the connection's ``namespace`` extra, else ``default``."""
        from airflow_flink_k8s.hooks.kubernetes import resolve_namespace

        return resolve_namespace(self.namespace, self.kubernetes_conn_id)

    def readiness_check(self, job_id: str | None = None) -> ReadinessCheck:
        """The check after templating, with ``job_id`` (or the sensor's own) as the job to check."""
        from airflow_flink_k8s.core.readiness_check import ReadinessCheck

        # rendered now: every argument (the connection ids too) before the namespace is read from a connection
        check_sensor_arguments({name: getattr(self, name) for name in SENSOR_RULES})
        return ReadinessCheck(
            cluster_id=self.cluster_id, namespace=self.resolved_namespace(), ha=self.ha,
            flink_version=self.flink_version, target=self.target, job_id=job_id or self.job_id,
            checkpointed_after=self.checkpointed_after,
            expect_finished=self.expect_finished, access_mode=self.access_mode,
            kubernetes_conn_id=self.kubernetes_conn_id, zookeeper_conn_id=self.zookeeper_conn_id,
            zookeeper_quorum=self.zookeeper_quorum, zookeeper_root=self.zookeeper_root, rest_port=self.rest_port,
            rest_scheme=self.rest_scheme, rest_ca_file=self.rest_ca_file, rest_verify=self.rest_verify,
            rest_client_cert=self.rest_client_cert, rest_client_key=self.rest_client_key,
            rest_timeout=self.rest_timeout, log_tail_lines=self.log_tail_lines,
            jobmanager_restart_limit=self.jobmanager_restart_limit, unscheduled_timeout=self.unscheduled_timeout)

    def _launched_job_id(self, context: Context) -> str | None:
        if self.job_id or not self.launch_task_id:
            return self.job_id
        ti = context["ti"]
        job_id = ti.xcom_pull(task_ids=self.launch_task_id, key="job_id")
        if job_id is None:
            pushed = ti.xcom_pull(task_ids=self.launch_task_id)
            job_id = pushed.get("job_id") if isinstance(pushed, dict) else None
        if not job_id:
            raise AirflowException(f"launch_task_id: task {self.launch_task_id!r} pushed no job_id to XCom")
        return str(job_id)

    # ----------------------------------------------------------------- execution
    def execute(self, context: Context) -> Any:
        check = self._check = self.readiness_check(self._launched_job_id(context))
        if not self.deferrable:
            try:
                return self._emitted(context, super().execute(context))
            except AirflowSensorTimeout:  # say what was last seen, with the JobManager log
                raise AirflowSensorTimeout(self._waiter().timed_out().report) from None
            finally:
                self._close()
        from airflow_flink_k8s.triggers import FlinkJobManagerReadyTrigger

        trigger = FlinkJobManagerReadyTrigger(
            **asdict(check), poll_interval=self.poke_interval, end_time=time.time() + self.timeout)
        self.defer(trigger=trigger, method_name="execute_complete",
                   timeout=timedelta(seconds=self.timeout + 60))  # the trigger times out first, with a reason
        return None

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger fired: return the details, or fail as ``poke`` would."""
        details = readiness_from_event(event, self.cluster_id)
        namespace = self.resolved_namespace()
        self.log.info("JobManager of %s/%s is ready: %s", namespace, self.cluster_id, event.get("message", ""))
        return self._emitted(context, {"namespace": namespace, **details})

    def _emitted(self, context: Context, details: dict[str, Any]) -> dict[str, Any]:
        """``details``, their Asset event metadata set on the task's outlets (``core.asset_metadata``)."""
        from airflow_flink_k8s.assets import attach_event_extra
        from airflow_flink_k8s.core.asset_metadata import wait_extra

        attach_event_extra(self, context, lambda: wait_extra(self.cluster_id, self.target, details))
        return details

    def poke(self, context: Context) -> PokeReturnValue:
        """One step of the wait (:mod:`airflow_flink_k8s.flows.wait`); what it saw stays for the next poke, and
        what the log was told also in the task's state store (reschedule mode makes a new sensor per poke)."""
        waiter = self._waiter(context)
        told = waiter.state.progress
        outcome, namespace = waiter.poke(), waiter.check.namespace
        store = context.get("task_state_store")  # Airflow 3.3+
        if store is not None and waiter.state.progress != told:
            store.set(PROGRESS_KEY, waiter.state.progress.to_json())
        if outcome.status == "waiting":
            return PokeReturnValue(False)
        details = readiness_from_event(outcome.event(), self.cluster_id)
        self.log.info("JobManager of %s/%s is ready: %s", namespace, self.cluster_id, outcome.message)
        return PokeReturnValue(True, xcom_value={"namespace": namespace, **details})

    def on_kill(self) -> None:
        self._close()

    def _waiter(self, context: Context | None = None) -> SyncWait:
        if self._wait is None:
            from airflow_flink_k8s.core.wait_progress import WaitProgress
            from airflow_flink_k8s.flows.wait import SyncWait

            store = None if context is None else context.get("task_state_store")
            progress = WaitProgress.from_json(store.get(PROGRESS_KEY) if store is not None else None)
            self._wait = SyncWait(self._check or self.readiness_check(), self.log, progress)
        return self._wait

    def _close(self) -> None:
        if self._wait is not None:
            self._wait.close()
            self._wait = None
