"""Ids that go into Flink REST URL paths are what Flink issues (32 hex digits), never a path of their own."""

from __future__ import annotations

import pytest

from airflow_flink_k8s.core import rest_api
from airflow_flink_k8s.core.errors import RestDataError

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
