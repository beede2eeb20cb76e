"""``airflow_flink_k8s.assets``: the glue that puts a task's findings on its Asset outlets' events."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, BaseOperator

from airflow_flink_k8s.assets import attach_event_extra


class _Accessor:
    def __init__(self) -> None:
        self.extra: dict[str, Any] = {"set_by": "the DAG author", "job_id": "theirs"}


def test_a_task_without_asset_outlets_needs_no_outlet_events_in_its_context() -> None:
    """Tasks run outside Airflow's task runner (``execute({})``) or without outlets must not fail here."""
    def build() -> dict[str, Any]:
        raise AssertionError("built the extra of a task without Asset outlets")

    attach_event_extra(BaseOperator(task_id="plain"), {}, build)  # type: ignore[arg-type]


def test_each_asset_outlet_gets_the_extra_and_keeps_the_authors_other_keys() -> None:
    stream, checkpoint = Asset("flink_stream"), Asset("flink_checkpoint")
    task = BaseOperator(task_id="launch", outlets=[stream, checkpoint])
    events = {stream: _Accessor(), checkpoint: _Accessor()}
    attach_event_extra(task, {"outlet_events": events},  # type: ignore[arg-type]
                       lambda: {"job_id": "j", "reached": "running"})
    for accessor in events.values():
        assert accessor.extra == {"set_by": "the DAG author", "job_id": "j", "reached": "running"}
