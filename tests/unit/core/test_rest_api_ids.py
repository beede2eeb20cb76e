"""Ids that go into Flink REST URL paths are what Flink issues (32 hex digits), never a path of their own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_flink_k8s.core import rest_api
from airflow_flink_k8s.core.errors import RestDataError
from airflow_flink_k8s.core.rest_endpoint import RestEndpoint
from airflow_flink_k8s.hooks.flink_rest import SyncFlinkRestClient

JOB = "00000000065fc7b00000000000000000"
TRIGGER = "9f2c6a0b1d4e4f7a8b3c5d6e7f801234"
BAD_IDS = ["../../jobs/overview", f"{TRIGGER[:-2]}/..", "", " ", f"{TRIGGER}\n/x", f"{TRIGGER}/x", TRIGGER[:31],
           TRIGGER + "0", "g" * 32, f"{TRIGGER[:16]}?x=1{TRIGGER[:11]}", f"{TRIGGER[:30]}%2", "\u0661" * 32, None, 42]


def test_paths_hold_the_ids_flink_issues() -> None:
    assert rest_api.stop_with_savepoint_path(JOB) == f"/jobs/{JOB}/stop"
    assert rest_api.savepoint_status_path(JOB, TRIGGER) == f"/jobs/{JOB}/savepoints/{TRIGGER}"
    assert rest_api.savepoint_status_path(JOB.upper(), TRIGGER.upper()) == f"/jobs/{JOB}/savepoints/{TRIGGER}"
    # Surrounding whitespace of a user's id is dropped, so it never reaches the path.
    assert rest_api.savepoint_status_path(f" {JOB}\n", f"{TRIGGER}\n") == f"/jobs/{JOB}/savepoints/{TRIGGER}"


@pytest.mark.parametrize("bad", BAD_IDS)
def test_the_savepoint_status_path_refuses_a_trigger_id_that_is_not_flinks(bad: object) -> None:
    with pytest.raises(ValueError, match="trigger_id"):
        rest_api.savepoint_status_path(JOB, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_job_paths_refuse_a_job_id_that_is_not_flinks(bad: object) -> None:
    for build in (rest_api.job_path, rest_api.stop_with_savepoint_path, rest_api.job_checkpoints_path,
                  rest_api.job_exceptions_path):
        with pytest.raises(ValueError, match="job_id"):
            build(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="job_id"):
        rest_api.savepoint_status_path(bad, TRIGGER)  # type: ignore[arg-type]


def test_parse_trigger_id_takes_flinks_request_id() -> None:
    assert rest_api.parse_trigger_id({"request-id": TRIGGER}) == TRIGGER


@pytest.mark.parametrize("bad", [b for b in BAD_IDS if isinstance(b, str) and b] + [TRIGGER.upper(), f"{TRIGGER}\n"])
def test_parse_trigger_id_refuses_anything_else(bad: str) -> None:
    with pytest.raises(RestDataError, match="request-id"):
        rest_api.parse_trigger_id({"request-id": bad})


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[str]]]:
    """A plain HTTP server on loopback that answers 200 to any GET and records the request target it received."""
    received: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/namespaces/flink/services/orders-rest:rest/proxy", \
        received
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_unchecked_trigger_id_would_reach_another_rest_path_and_the_check_stops_it(
        recording_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Harm first: with the check off, the real client sends ``…/savepoints/../../overview`` as ``/jobs/overview``
    (aiohttp's URL normalises the dot segments), a request to another REST path; with it, nothing is sent."""
    base_url, received = recording_server
    with SyncFlinkRestClient(RestEndpoint(base_url)) as client:
        with monkeypatch.context() as unchecked:
            unchecked.setattr(rest_api, "normalize_trigger_id", lambda trigger_id: trigger_id)
            answer = client.savepoint_status(JOB, "../../overview")
        assert answer.status == 200
        assert received == ["/api/v1/namespaces/flink/services/orders-rest:rest/proxy/jobs/overview"]

        with pytest.raises(ValueError, match="trigger_id"):
            client.savepoint_status(JOB, "../../overview")
        assert client.savepoint_status(JOB, TRIGGER).status == 200
    assert received[1:] == [f"/api/v1/namespaces/flink/services/orders-rest:rest/proxy/jobs/{JOB}/savepoints/{TRIGGER}"]
