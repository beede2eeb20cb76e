"""A failure report driven alone with blocking pod reads, as the tests run one (the wait runs them inside its
steps: :mod:`airflow_flink_k8s.flows.wait`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_flink_k8s.core import sansio
from airflow_flink_k8s.core.failure_report import (
    NO_KUBERNETES,
    Answer,
    EventsRequest,
    PodLogRequest,
    PodsRequest,
    Steps,
    answer_of,
    log_call_kwargs,
)

ListPods = Callable[[str, str], list[dict[str, Any]]]
ReadLog = Callable[..., str]
ListEvents = Callable[[str, str], list[dict[str, Any]]]
Request = PodsRequest | EventsRequest | PodLogRequest


def run_report(steps: Steps, list_pods: ListPods | None, pod_log: ReadLog | None,
               list_events: ListEvents | None = None) -> Any:
    """Drive a report with blocking ``list_pods(namespace, selector)``, ``pod_log(name, namespace, ...)`` and
    ``list_events(namespace, field_selector)``; ``None`` for them: no Kubernetes connection."""

    def handle(request: Request) -> Answer:
        return answer_of(lambda: _call(request, list_pods, pod_log, list_events))

    return sansio.run(steps, handle)


def _call(request: Request, list_pods: ListPods | None, pod_log: ReadLog | None,
          list_events: ListEvents | None) -> Any:
    if isinstance(request, PodsRequest):
        if list_pods is None:
            raise RuntimeError(NO_KUBERNETES)
        return list_pods(request.namespace, request.label_selector)
    if isinstance(request, EventsRequest):
        if list_events is None:
            raise RuntimeError(NO_KUBERNETES)
        return list_events(request.namespace, request.field_selector)
    if pod_log is None:
        raise RuntimeError(NO_KUBERNETES)
    return pod_log(request.pod, request.namespace, **log_call_kwargs(request))
