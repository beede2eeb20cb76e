"""What the sensor and its trigger check (pure; shared by ``poke``, the trigger and the launch operator's
``wait_until``)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from airflow_flink_k8s.core.arguments import check_sensor_arguments
from airflow_flink_k8s.core.failure_report import ReportTarget
from airflow_flink_k8s.core.leader import LeaderInfo, parse_kubernetes_leader
from airflow_flink_k8s.core.names import REST_PORT
from airflow_flink_k8s.core.readiness import Evaluation, evaluate_readiness
from airflow_flink_k8s.core.report_options import (
    DEFAULT_LOG_TAIL_LINES,
    DEFAULT_RESTART_LIMIT,
    DEFAULT_UNSCHEDULED_TIMEOUT,
    check_unscheduled_timeout,
)
from airflow_flink_k8s.core.rest_api import normalize_job_id
from airflow_flink_k8s.core.rest_endpoint import AccessMode, ApiServer, RestEndpoint, resolve_rest_endpoint


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
    rest_port: int = REST_PORT
    rest_scheme: str = "http"
    rest_ca_file: str | None = None
    rest_verify: bool = True
    rest_client_cert: str | None = None
    rest_client_key: str | None = None
    rest_timeout: float = 10.0
    log_tail_lines: int = DEFAULT_LOG_TAIL_LINES
    jobmanager_restart_limit: int = DEFAULT_RESTART_LIMIT
    #: Seconds the job's tasks may wait for a slot (CREATED/SCHEDULED: no TaskManager took them) before the wait
    #: fails with a report, for ``running`` and ``checkpointed``.
    unscheduled_timeout: float = DEFAULT_UNSCHEDULED_TIMEOUT

    def __post_init__(self) -> None:
        check_sensor_arguments({f.name: getattr(self, f.name) for f in fields(self)})  # FlinkSpecError, a ValueError
        if self.job_id is not None:
            object.__setattr__(self, "job_id", normalize_job_id(self.job_id))
        self.report_target()
        object.__setattr__(self, "unscheduled_timeout", check_unscheduled_timeout(self.unscheduled_timeout))

    def report_target(self) -> ReportTarget:
        """What failure reports say about this cluster, and how much of the JobManager log they show."""
        return ReportTarget(self.cluster_id, self.namespace, self.log_tail_lines, self.jobmanager_restart_limit)

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

    def evaluation(self, leader: LeaderInfo | None, endpoint: RestEndpoint | None, *,
                   suspended_is_terminal: bool = False) -> Evaluation:
        return evaluate_readiness(
            leader, self.target, job_id=self.job_id, rest_url=endpoint.base_url if endpoint else None,
            checkpointed_after=self.checkpointed_after_time(), expect_finished=self.expect_finished,
            suspended_is_terminal=suspended_is_terminal)
