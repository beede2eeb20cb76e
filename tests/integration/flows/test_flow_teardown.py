"""``flows.teardown``: delete, wait, HA clean-up and stop-with-savepoint, on the Kubernetes API emulator. The
savepoint REST answers come from a small stand-in for the JobManager's REST API behind the emulator's service proxy
(the sandbox's JobManager stand-in does not take savepoints; real Flink does in ``test_operator_launch``)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_flink_k8s.core.errors import FlinkSpecError, SavepointError
from airflow_flink_k8s.core.launch_plan import RunIdentity
from airflow_flink_k8s.core.names import ANNOTATION_JOB_ID
from airflow_flink_k8s.core.spec import FlinkApplicationSpec
from airflow_flink_k8s.flows.ha_state import HaLocation
from airflow_flink_k8s.flows.launch import LaunchResult, LaunchSettings, launch
from airflow_flink_k8s.flows.teardown import SavepointRequest, teardown
from airflow_flink_k8s.hooks.kubernetes import FlinkKubernetesHook
from airflow_flink_k8s_sandbox.emulator_process import EmulatorProcess
from tests.integration.flows.conftest import NAMESPACE, RecordingLog, configmap, names

WHERE = HaLocation("kubernetes", "orders", NAMESPACE)
LOCATION = "file:/tmp/savepoints/orders/savepoint-c0ffee-1"


@pytest.fixture
def launched(k8s: FlinkKubernetesHook, make_spec: Callable[..., FlinkApplicationSpec],
             log: RecordingLog) -> LaunchResult:
    """Cluster ``orders``, launched, with HA data as its JobManager would have written."""
    result = launch(k8s, make_spec(), RunIdentity("etl", "launch", "manual__1", 1), LaunchSettings(), log)
    k8s.create(configmap("orders-cluster-config-map", "orders"), NAMESPACE)
    return result


class _FlinkSavepoints(http.server.BaseHTTPRequestHandler):
    """Flink's stop-with-savepoint endpoints: the trigger, then IN_PROGRESS once, then the outcome."""

    failure: str | None = None
    polls = 0
    stop: tuple[str, Any] | None = None

    def do_POST(self) -> None:
        type(self).stop = (self.path, json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
        self._answer(202, {"request-id": "0123456789abcdef0123456789abcdef"})

    def do_GET(self) -> None:
        type(self).polls += 1
        if type(self).polls == 1:
            self._answer(200, {"status": {"id": "IN_PROGRESS"}})
        elif self.failure:
            self._answer(200, {"status": {"id": "COMPLETED"}, "operation": {"failure-cause": {
                "class": "java.lang.Exception", "stack-trace": self.failure}}})
        else:
            self._answer(200, {"status": {"id": "COMPLETED"}, "operation": {"location": LOCATION}})

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def flink_rest(k8s_emulator: EmulatorProcess, launched: LaunchResult) -> Iterator[type[_FlinkSavepoints]]:
    """The savepoint endpoints behind ``services/orders-rest:rest/proxy``."""
    handler = type("Handler", (_FlinkSavepoints,), {"polls": 0, "failure": None, "stop": None})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    k8s_emulator.register_proxy(NAMESPACE, "orders-rest", "rest", f"http://127.0.0.1:{server.server_port}")
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_teardown_deletes_the_cluster_and_its_ha_data(k8s: FlinkKubernetesHook, launched: LaunchResult,
                                                      log: RecordingLog) -> None:
    result = teardown(k8s, WHERE, keep_ha_data=False, delete_timeout=30, savepoint=None, log=log)
    assert result == {"cluster_id": "orders", "namespace": NAMESPACE, "deleted": True, "savepoint_path": None,
                      "ha_data_removed": ["configmap/orders-cluster-config-map"], "ha_data_kept": False}
    assert names(k8s, "Deployment") == [] and names(k8s, "ConfigMap") == []
    assert f"Flink cluster {NAMESPACE}/orders deleted; HA data configmap/orders-cluster-config-map" in log.text


def test_kept_ha_data_survives_and_a_gone_cluster_is_no_error(k8s: FlinkKubernetesHook, launched: LaunchResult,
                                                              log: RecordingLog) -> None:
    teardown(k8s, WHERE, keep_ha_data=True, delete_timeout=30, savepoint=None, log=log)
    assert names(k8s, "ConfigMap") == ["orders-cluster-config-map"]
    again = teardown(k8s, WHERE, keep_ha_data=True, delete_timeout=30, savepoint=SavepointRequest(), log=log)
    assert again["deleted"] is False and again["savepoint_path"] is None and again["ha_data_kept"] is True
    assert f"Flink cluster {NAMESPACE}/orders was already gone; HA data kept" in log.text


def test_a_savepoint_is_taken_before_the_delete(k8s: FlinkKubernetesHook, launched: LaunchResult,
                                                flink_rest: type[_FlinkSavepoints], log: RecordingLog) -> None:
    result = teardown(k8s, WHERE, keep_ha_data=False, delete_timeout=30,
                      savepoint=SavepointRequest(directory="file:/tmp/savepoints/orders", drain=True), log=log)
    assert result["savepoint_path"] == LOCATION and result["deleted"] is True
    assert flink_rest.stop == (f"/jobs/{launched.spec.job_id}/stop",
                               {"targetDirectory": "file:/tmp/savepoints/orders", "drain": True})
    assert flink_rest.polls == 2
    assert f"stopped with savepoint {LOCATION}" in log.text


def test_a_failed_savepoint_deletes_nothing(k8s: FlinkKubernetesHook, flink_rest: type[_FlinkSavepoints],
                                            log: RecordingLog) -> None:
    flink_rest.failure = "java.lang.Exception: disk full"
    with pytest.raises(SavepointError, match=r"job c+: the savepoint failed: java.lang.Exception: disk full$"):
        teardown(k8s, WHERE, keep_ha_data=False, delete_timeout=30,
                 savepoint=SavepointRequest(job_id="c" * 32), log=log)
    assert names(k8s, "Deployment") == ["orders"]


def test_a_refused_stop_deletes_nothing(k8s: FlinkKubernetesHook, launched: LaunchResult,
                                        log: RecordingLog) -> None:
    with pytest.raises(SavepointError, match=r"stop-with-savepoint was refused \(503\): no endpoints available"):
        teardown(k8s, WHERE, keep_ha_data=False, delete_timeout=30, savepoint=SavepointRequest(), log=log)
    assert names(k8s, "Deployment") == ["orders"]


def test_a_savepoint_of_a_cluster_without_a_recorded_job_id_names_the_field(
        k8s: FlinkKubernetesHook, launched: LaunchResult, log: RecordingLog) -> None:
    k8s.patch("Deployment", "orders", NAMESPACE, {"metadata": {"annotations": {ANNOTATION_JOB_ID: None}}})
    with pytest.raises(FlinkSpecError, match=r"^job_id: is required for savepoint=True"):
        teardown(k8s, WHERE, keep_ha_data=False, delete_timeout=30, savepoint=SavepointRequest(), log=log,
                 adopt_native_clusters=True)
    assert names(k8s, "Deployment") == ["orders"]
