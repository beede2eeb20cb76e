"""Property tests and a bounded fuzz run over the Flink REST answer parsers (``airflow_flink_k8s.core.rest_api``).

Seeds are bodies shaped as Flink 1.20/2.3 send them (``/jobs/overview``, ``/jobs/<id>`` with its vertices,
``/overview``, ``/checkpoints``, ``/exceptions``, stop-with-savepoint and its status), plus the ``/jobs/<id>`` and
``/overview`` bodies recorded from real Flink in ``tests/data/rest/<version>/``. Every parser returns the value
written in the body (read here by plain indexing) or raises ``RestDataError``; nothing else ever escapes.
"""

from __future__ import annotations

import copy
import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from airflow_flink_k8s.core import rest_api
from airflow_flink_k8s.core.rest_api import CheckpointSummary, ClusterOverview, JobSummary, RestDataError
from tests.fuzz_settings import fuzz_settings
from tests.paths import DATA_DIR

JOB = "0000000002d0eddd0000000000000000"
#: org.apache.flink.api.common.JobStatus, 1.13-2.3.
#: org.apache.flink.runtime.execution.ExecutionState, 1.13-2.3.
FLINK_TASK_STATES = ("CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED", "CANCELING", "CANCELED", "FAILED",
                     "RECONCILING", "INITIALIZING")
FLINK_JOB_STATES = ("INITIALIZING", "CREATED", "RUNNING", "FAILING", "FAILED", "CANCELLING", "CANCELED",
                    "FINISHED", "RESTARTING", "SUSPENDED", "RECONCILING")
TRACE = ("org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy\n"
         "\tat org.apache.flink.runtime.executiongraph.failover.ExecutionFailureHandler.handleFailure(X.java:1)\n"
         "Caused by: java.lang.RuntimeException: boom\n\tat Job.map(Job.java:12)\n")

SEEDS: dict[str, Any] = {
    "jobs_overview": {"jobs": [{"jid": JOB, "name": "checkpointing-job", "start-time": 1795483400000,
                                "end-time": -1, "duration": 25678, "state": "RUNNING", "last-modification": 1,
                                "tasks": {"total": 2, "running": 2}}]},
    "job_details": {"jid": JOB, "name": "checkpointing-job", "isStoppable": False, "state": "RUNNING",
                    "job-type": "STREAMING", "start-time": 1795483400000, "end-time": -1,
                    "timestamps": {"RUNNING": 1795483401000},
                    "vertices": [{"id": "bc764cd8ddf7a0cff126f51c16239658", "name": "Source: generator",
                                  "parallelism": 1, "status": "CREATED",
                                  "tasks": {"CREATED": 0, "SCHEDULED": 1, "RUNNING": 0, "FINISHED": 0}},
                                 {"id": "20ba6b65f97481d5570070de90e4e791", "name": "Reduce -> Sink",
                                  "parallelism": 2, "status": "RUNNING",
                                  "tasks": {"DEPLOYING": 1, "RUNNING": 1, "FINISHED": 0, "INITIALIZING": 0}}]},
    "overview": {"taskmanagers": 1, "slots-total": 2, "slots-available": 0, "jobs-running": 1, "jobs-finished": 0,
                 "jobs-cancelled": 0, "jobs-failed": 0, "flink-version": "2.3.0", "flink-commit": "abc"},
    "checkpoints": {"counts": {"restored": 0, "total": 3, "in_progress": 0, "completed": 3, "failed": 0},
                    "summary": {}, "history": [],
                    "latest": {"completed": {"className": "completed", "id": 3, "status": "COMPLETED",
                                             "trigger_timestamp": 1795483410000,
                                             "latest_ack_timestamp": 1795483410122,
                                             "external_path": f"file:/data/checkpoints/probe/{JOB}/chk-3"},
                               "savepoint": None, "failed": None, "restored": None}},
    "exceptions_2x": {"exceptionHistory": {"entries": [
        {"exceptionName": "java.lang.RuntimeException: old", "stacktrace": "java.lang.RuntimeException: old",
         "timestamp": 1795483401000, "taskName": None, "failureLabels": {}, "concurrentExceptions": []},
        {"exceptionName": TRACE.splitlines()[0], "stacktrace": TRACE, "timestamp": 1795483425678,
         "taskName": "Map (1/2)", "failureLabels": {}, "concurrentExceptions": []},
    ], "truncated": False}},
    "exceptions_1x": {"root-exception": TRACE, "timestamp": 1795483425678, "all-exceptions": [], "truncated": False,
                      "exceptionHistory": {"entries": [], "truncated": False}},
    "trigger": {"request-id": "5a3e4f1c2b9d8e7f6a5b4c3d2e1f0a9b"},
    "savepoint_running": {"status": {"id": "IN_PROGRESS"}, "operation": None},
    "savepoint_done": {"status": {"id": "COMPLETED"},
                       "operation": {"location": "file:/data/savepoints/probe/savepoint-000000-0123456789ab"}},
    "savepoint_failed": {"status": {"id": "COMPLETED"}, "operation": {"failure-cause": {
        "class": "java.util.concurrent.CompletionException", "stack-trace": TRACE,
        "serialized-throwable": "rO0ABXNy"}}},
    **{f"recorded_{version}_{name}": json.loads((DATA_DIR / "rest" / version / f"{name}.json").read_text())
       for version in ("1.20.3", "2.3.0") for name in ("job-running", "job-tasks-running", "overview-running")},
    "config": {"refresh-interval": 3000, "timezone-name": "Coordinated Universal Time", "timezone-offset": 0,
               "flink-version": "2.3.0", "flink-revision": "abc @ 2026-01-01", "features": {"web-submit": False}},
}

KEYS = sorted({"jobs", "jid", "name", "state", "counts", "completed", "latest", "id", "external_path",
               "trigger_timestamp", "latest_ack_timestamp", "exceptionHistory", "entries", "stacktrace",
               "exceptionName", "timestamp", "root-exception", "request-id", "status", "operation", "location",
               "failure-cause", "stack-trace", "serialized-throwable", "flink-version", "errors", "vertices", "tasks",
               "taskmanagers", "slots-total", "slots-available", "SCHEDULED", "CREATED"})
scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(10**30), 10**30)
           | st.floats() | st.text(max_size=20) | st.sampled_from([JOB, JOB.upper(), JOB + "\n", "RUNNING",
                                                                   "COMPLETED", "running", ""]))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=10,
)

PARSERS = {
    "parse_config": rest_api.parse_config,
    "parse_jobs_overview": rest_api.parse_jobs_overview,
    "parse_job_details": rest_api.parse_job_details,
    "parse_overview": rest_api.parse_overview,
    "parse_checkpoints": rest_api.parse_checkpoints,
    "parse_root_cause": rest_api.parse_root_cause,
    "parse_trigger_id": rest_api.parse_trigger_id,
    "parse_savepoint_status": rest_api.parse_savepoint_status,
}


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated_seeds(draw) -> tuple[str, Any]:
    """A seed body with 1-3 nodes dropped or replaced by any JSON value."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    body = copy.deepcopy(SEEDS[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(body)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return name, body


def _outcome(parser: Any, body: Any) -> Any:
    try:
        return parser(body)
    except RestDataError:
        return "error"


def _is_job_id(text: Any) -> bool:
    return isinstance(text, str) and len(text) == 32 and all(char in "0123456789abcdef" for char in text)


def _check_job(summary: JobSummary, body: Any) -> None:
    assert _is_job_id(summary.job_id) and summary.job_id == body["jid"]
    assert summary.state.value in FLINK_JOB_STATES and summary.state.value == body["state"]
    if isinstance(body.get("name"), str):
        assert summary.name == body["name"]


def _check_vertices(details: rest_api.JobDetails, body: Any) -> None:
    assert len(details.vertices) == len(body["vertices"])
    for vertex, written in zip(details.vertices, body["vertices"], strict=True):
        assert vertex.status.value in FLINK_TASK_STATES and vertex.status.value == written["status"]
        assert {state.value: count for state, count in vertex.tasks.items()} == written["tasks"]
        assert all(isinstance(count, int) and not isinstance(count, bool) and count >= 0
                   for count in vertex.tasks.values())
    written_counts = [count for vertex in body["vertices"] for count in vertex["tasks"].values()]
    assert sum(details.task_counts().values()) == sum(written_counts)
    assert details.tasks_run == (bool(body["vertices"]) and sum(written_counts) > 0 and all(
        vertex["status"] in ("RUNNING", "FINISHED") and all(
            count == 0 for state, count in vertex["tasks"].items() if state not in ("RUNNING", "FINISHED"))
        for vertex in body["vertices"]))


def _millis(value: Any) -> datetime | None:
    return None if value is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)


def _stack_texts(body: Any) -> set[str]:
    """Every stacktrace, exceptionName and root-exception string anywhere in ``body``."""
    found: set[str] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key in ("stacktrace", "exceptionName", "root-exception") and isinstance(value, str):
                found.add(value)
            found |= _stack_texts(value)
    elif isinstance(body, list):
        for value in body:
            found |= _stack_texts(value)
    return found


def check_answer(parser_name: str, body: Any) -> None:
    """The parser's answer is the value written in ``body`` (read by plain indexing), or RestDataError."""
    outcome = _outcome(PARSERS[parser_name], body)
    if outcome == "error":
        return
    if parser_name == "parse_config":
        assert outcome == body["flink-version"] and isinstance(outcome, str)
    elif parser_name == "parse_jobs_overview":
        assert len(outcome) == len(body["jobs"])
        for summary, job in zip(outcome, body["jobs"], strict=True):
            _check_job(summary, job)
    elif parser_name == "parse_job_details":
        _check_job(outcome, body)
        _check_vertices(outcome, body)
    elif parser_name == "parse_overview":
        assert outcome == ClusterOverview(body["taskmanagers"], body["slots-total"], body["slots-available"])
        assert min(outcome.taskmanagers, outcome.slots_total, outcome.slots_available) >= 0
    elif parser_name == "parse_checkpoints":
        assert outcome.completed == body["counts"]["completed"] >= 0
        restored = (body.get("latest") or {}).get("restored")
        restored_path = None if restored is None else restored.get("external_path")
        latest = (body.get("latest") or {}).get("completed")
        if latest is None:
            assert outcome == CheckpointSummary(completed=outcome.completed, restored_path=restored_path)
        else:
            assert outcome == CheckpointSummary(
                outcome.completed, latest["id"], latest.get("external_path"),
                _millis(latest.get("trigger_timestamp")), _millis(latest.get("latest_ack_timestamp")),
                restored_path,
            )
    elif parser_name == "parse_root_cause":
        assert outcome is None or outcome in _stack_texts(body)
    elif parser_name == "parse_trigger_id":
        assert outcome == body["request-id"] and isinstance(outcome, str) and outcome
    elif parser_name == "parse_savepoint_status":
        finished, location, failure = outcome
        assert finished == (body["status"]["id"] == "COMPLETED")
        if not finished:
            assert (location, failure) == (None, None)
        elif failure is not None:
            assert location is None and isinstance(failure, str) and body["operation"]["failure-cause"]
        else:
            assert location == body["operation"]["location"] and isinstance(location, str) and location


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_bodies_parse_to_their_values(name):
    """The seeds are what Flink sends: every parser that applies reads them without an error."""
    applicable = {**{name: "parse_overview" if "overview" in name else "parse_job_details"
                     for name in SEEDS if name.startswith("recorded_")},
                  "overview": "parse_overview",
                  "jobs_overview": "parse_jobs_overview", "job_details": "parse_job_details",
                  "checkpoints": "parse_checkpoints", "exceptions_2x": "parse_root_cause",
                  "exceptions_1x": "parse_root_cause", "trigger": "parse_trigger_id", "config": "parse_config",
                  "savepoint_running": "parse_savepoint_status", "savepoint_done": "parse_savepoint_status",
                  "savepoint_failed": "parse_savepoint_status"}[name]
    assert _outcome(PARSERS[applicable], SEEDS[name]) != "error"
    check_answer(applicable, SEEDS[name])


@fuzz_settings(2)
@given(parser_name=st.sampled_from(sorted(PARSERS)), mutated=mutated_seeds())
def test_mutated_bodies_give_their_values_or_rest_data_error(parser_name, mutated):
    check_answer(parser_name, mutated[1])


@fuzz_settings(2)
@given(parser_name=st.sampled_from(sorted(PARSERS)), body=json_values)
@example(parser_name="parse_jobs_overview", body={"jobs": [{"jid": JOB + "\n", "state": "RUNNING"}]})
@example(parser_name="parse_job_details", body={"jid": JOB + "\n", "state": "RUNNING"})
@example(parser_name="parse_job_details", body={"jid": JOB, "state": "RUNNING", "vertices": [
    {"status": "RUNNING", "tasks": {"RUNNING": True}}]})
@example(parser_name="parse_job_details", body={"jid": JOB, "state": "RUNNING", "vertices": [
    {"status": "RUNNING", "tasks": {"running": 1}}]})
@example(parser_name="parse_overview", body={"taskmanagers": -1, "slots-total": 0, "slots-available": 0})
@example(parser_name="parse_savepoint_status",
         body={"status": {"id": "COMPLETED"}, "operation": {"failure-cause": "x"}})
@example(parser_name="parse_savepoint_status",
         body={"status": {"id": "COMPLETED"}, "operation": {"failure-cause": [1]}})
@example(parser_name="parse_checkpoints", body={"counts": {"completed": 1},
                                                "latest": {"completed": {"id": 1, "trigger_timestamp": 10**20}}})
@example(parser_name="parse_checkpoints", body={"counts": {"completed": 1},
                                                "latest": {"completed": {"id": 1, "latest_ack_timestamp": 2**62}}})
def test_any_json_gives_its_value_or_rest_data_error(parser_name, body):
    check_answer(parser_name, body)


@fuzz_settings()
@given(entries=st.lists(st.tuples(st.text(min_size=1, max_size=40), st.integers(0, 2**62)), min_size=1,
                        max_size=6, unique_by=lambda entry: entry[1]),
       root=st.none() | st.text(min_size=1, max_size=40), legacy=st.booleans())
def test_root_cause_is_the_newest_history_entry(entries, root, legacy):
    body: dict[str, Any] = {"exceptionHistory": {"entries": [
        {"exceptionName": text.splitlines()[0] if text.splitlines() else text, "stacktrace": text,
         "timestamp": at} for text, at in entries], "truncated": False}}
    if legacy:
        body["root-exception"] = root
    newest = max(entries, key=lambda entry: entry[1])
    assert rest_api.parse_root_cause(body) == newest[0]
    body["exceptionHistory"]["entries"] = []
    assert rest_api.parse_root_cause(body) == (root if legacy else None)


job_ids = st.text("0123456789abcdef", min_size=32, max_size=32)


@fuzz_settings()
@given(jobs=st.lists(st.tuples(job_ids, st.text(max_size=20), st.sampled_from(FLINK_JOB_STATES)), max_size=5))
def test_generated_job_overviews_parse_to_their_jobs(jobs):
    body = {"jobs": [{"jid": jid, "name": name, "state": state} for jid, name, state in jobs]}
    assert rest_api.parse_jobs_overview(body) == [
        JobSummary(jid, name, rest_api.JobState(state)) for jid, name, state in jobs
    ]


@fuzz_settings()
@given(completed=st.integers(0, 2**63 - 1), checkpoint_id=st.integers(0, 2**63 - 1),
       path=st.none() | st.text(max_size=30),
       triggered=st.none() | st.integers(0, 253_402_300_799_999), acked=st.none() | st.integers(0, 253_402_300_799_999))
def test_generated_checkpoint_stats_parse_to_their_values(completed, checkpoint_id, path, triggered, acked):
    body = {"counts": {"completed": completed}, "latest": {"completed": {
        "id": checkpoint_id, "external_path": path, "trigger_timestamp": triggered, "latest_ack_timestamp": acked}}}
    assert rest_api.parse_checkpoints(body) == CheckpointSummary(
        completed, checkpoint_id, path, _millis(triggered), _millis(acked)
    )


@fuzz_settings()
@given(text=st.text(st.sampled_from(string.hexdigits + " \n\t-g") | st.characters(), max_size=40) | job_ids
       | job_ids.map(str.upper) | st.integers() | st.none())
@example(text=JOB + "\n")
@example(text=" " + JOB.upper() + "\t")
def test_normalize_job_id_accepts_exactly_32_hex_digits(text):
    stripped = text.strip().lower() if isinstance(text, str) else None
    if _is_job_id(stripped):
        assert rest_api.normalize_job_id(text) == stripped
        assert rest_api.job_path(text) == f"/jobs/{stripped}"
    else:
        with pytest.raises(ValueError, match="job_id"):
            rest_api.normalize_job_id(text)


@fuzz_settings()
@given(status=st.none() | st.integers(100, 599), body=json_values)
def test_error_bodies_never_crash(status, body):
    messages = rest_api.error_messages(body)
    assert all(isinstance(message, str) for message in messages)
    assert rest_api.is_leader_election(status, body) == (
        status == 503 and any(rest_api.LEADER_ELECTION_MESSAGE in message for message in messages)
    )
