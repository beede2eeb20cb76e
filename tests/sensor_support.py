"""Helpers shared by the sensor and trigger tests: DAG sources for ``dag.test()``, connections, trigger runs."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_flink_k8s.triggers import FlinkJobManagerReadyTrigger

LEVELS = ("leader", "rest", "running", "checkpointed")


def sensor_dag_source(tasks: Mapping[str, Mapping[str, Any]], launched: Mapping[str, Any] | None = None) -> str:
    """A DAG file defining ``dag`` with one ``FlinkJobManagerReadySensor`` per ``{task_id: kwargs}``.

    With ``launched``, a task ``launch`` first returns it (as a launch task's XCom), upstream of every sensor.
    """
    lines = [
        "import datetime",
        "from airflow.sdk import DAG, task",
        "from airflow_flink_k8s.sensors import FlinkJobManagerReadySensor",
        "with DAG('flink_sensor_' + __name__[-10:], schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:",
        "    sensors = []",
    ]
    lines += [f"    sensors.append(FlinkJobManagerReadySensor(task_id={task_id!r}, **{dict(kwargs)!r}))"
              for task_id, kwargs in tasks.items()]
    if launched is not None:
        lines += ["    @task(task_id='launch')", "    def launch():", f"        return {dict(launched)!r}",
                  "    launch() >> sensors"]
    return "\n".join(lines) + "\n"


@contextmanager
def kubernetes_connection(kubeconfig: Path, conn_id: str = "kubernetes_default") -> Iterator[None]:
    """``AIRFLOW_CONN_<ID>`` for a kubeconfig file, restored afterwards."""
    with env_connection(conn_id, {"conn_type": "kubernetes", "extra": {"kube_config_path": str(kubeconfig)}}):
        yield


@contextmanager
def env_connection(conn_id: str, connection: Mapping[str, Any]) -> Iterator[None]:
    name = f"AIRFLOW_CONN_{conn_id.upper()}"
    saved = os.environ.get(name)
    os.environ[name] = json.dumps(connection)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


async def first_event(trigger: FlinkJobManagerReadyTrigger) -> dict[str, Any]:
    """Run ``trigger`` until its first event and return the payload."""
    generator = trigger.run()
    try:
        event = await anext(generator)
    finally:
        await generator.aclose()
    return event.payload


def run_trigger(timeout: float, **kwargs: Any) -> dict[str, Any]:
    """Run a trigger made from ``kwargs`` on a fresh event loop; its first event's payload."""
    return asyncio.run(asyncio.wait_for(first_event(FlinkJobManagerReadyTrigger(**kwargs)), timeout))
