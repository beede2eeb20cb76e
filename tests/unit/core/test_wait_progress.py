"""The task log of a wait (``core.wait_progress``): each transition once with its time, a note at most every 30 s
while nothing changes, driven by the times given (no clock, no sleep)."""

from __future__ import annotations

from dataclasses import replace

from airflow_flink_k8s.core.readiness import Readiness
from airflow_flink_k8s.core.wait_progress import PROGRESS_NOTE_INTERVAL, WaitProgress, observe

JOB = "a" * 32
NO_LEADER = Readiness(False, "no live JobManager leader in the HA data (absent, released or lease expired)")
LEADER = Readiness(False, "http://10.0.0.5:8081/config: REST endpoint is waiting for a leader election (HTTP 503)",
                   leader_address="http://10.0.0.5:8081", session_id="s-1", rest_url="http://10.0.0.5:8081")
REST = replace(LEADER, reason="no job submitted yet", flink_version="2.3.0")
SCHEDULED = replace(REST, reason=f"job {JOB} is RUNNING but only 0 of 2 tasks running", job_id=JOB,
                    job_state="RUNNING", tasks={"SCHEDULED": 2})
HALF = replace(SCHEDULED, tasks={"RUNNING": 1, "DEPLOYING": 1})
RUNNING = replace(SCHEDULED, reason=f"job {JOB} has no completed checkpoint yet", tasks={"RUNNING": 2})
CHECKPOINTED = replace(RUNNING, ready=True, reason=f"job {JOB} completed checkpoint 1",
                       checkpoint_path="file:///ckpt/c1/chk-1")


def run(steps: list[tuple[float, Readiness]], progress: WaitProgress | None = None) -> list[str]:
    """The lines logged for ``(time, seen)`` steps, the progress carried as JSON between them (a reschedule)."""
    lines: list[str] = []
    state = progress or WaitProgress()
    for now, seen in steps:
        state, new = observe(WaitProgress.from_json(state.to_json()), seen, cluster_id="c1", target="checkpointed",
                             now=now)
        lines += new
    return lines


def test_each_transition_once_with_its_time_and_a_note_at_most_every_30_s() -> None:
    steps = [(1000.0 + 0.5 * i, NO_LEADER) for i in range(40)]  # 20 s without a leader: one note
    steps += [(1020.0, LEADER), (1021.0, LEADER), (1022.0, REST)]
    steps += [(1022.5 + 0.5 * i, SCHEDULED if i % 2 else HALF) for i in range(200)]  # 100 s, counts moving
    steps += [(1123.0, RUNNING), (1124.0, RUNNING), (1125.0, CHECKPOINTED)]
    assert run(steps) == [
        "Flink cluster c1: still waiting for checkpointed after 0.0 s: no live JobManager leader in the HA data "
        "(absent, released or lease expired)",
        "Flink cluster c1: leader elected after 20.0 s: http://10.0.0.5:8081 (session s-1)",
        "Flink cluster c1: REST up after 22.0 s: http://10.0.0.5:8081 (Flink 2.3.0)",
        f"Flink cluster c1: job {JOB} RUNNING after 22.5 s: 1 of 2 tasks running (DEPLOYING 1, RUNNING 1)",
        f"Flink cluster c1: still waiting for checkpointed after 52.5 s: {SCHEDULED.reason}",
        f"Flink cluster c1: still waiting for checkpointed after 82.5 s: {HALF.reason}",
        f"Flink cluster c1: still waiting for checkpointed after 112.5 s: {SCHEDULED.reason}",
        f"Flink cluster c1: job {JOB} RUNNING after 123.0 s: 2 of 2 tasks running (RUNNING 2)",
        "Flink cluster c1: first checkpoint after 125.0 s: file:///ckpt/c1/chk-1",
    ]


def test_the_note_waits_30_s_after_the_last_line_of_any_kind() -> None:
    lines = run([(0.0, NO_LEADER), (29.9, NO_LEADER), (30.0, LEADER), (59.9, LEADER),
                 (60.0, LEADER), (89.0, LEADER), (90.0, LEADER)])
    assert [line.split(": ", 1)[1].split(" after ")[0] for line in lines] == [
        "still waiting for checkpointed", "leader elected", "still waiting for checkpointed",
        "still waiting for checkpointed"]
    assert PROGRESS_NOTE_INTERVAL == 30.0


def test_a_new_leader_and_a_lost_one_are_transitions_and_rest_and_job_are_told_again() -> None:
    other = replace(RUNNING, leader_address="http://10.0.0.6:8081", session_id="s-2",
                    rest_url="http://10.0.0.6:8081")
    lines = run([(0.0, RUNNING), (1.0, NO_LEADER), (2.0, other), (3.0, other)])
    assert [line.split(": ", 1)[1].split(" after ")[0] for line in lines] == [
        "leader elected", "REST up", f"job {JOB} RUNNING", "leader gone", "leader elected", "REST up",
        f"job {JOB} RUNNING"]


def test_a_finished_job_and_stored_progress_that_is_not_ours() -> None:
    finished = replace(REST, ready=True, reason=f"job {JOB} is FINISHED", job_id=JOB, job_state="FINISHED")
    assert run([(5.0, finished)])[-1] == f"Flink cluster c1: job {JOB} FINISHED after 0.0 s"
    for stored in (None, "x", {"started": 1.0}, {"unknown": 1}):
        assert WaitProgress.from_json(stored) == WaitProgress()


def test_a_leader_replaced_between_two_steps_is_a_new_leader() -> None:
    other = replace(LEADER, leader_address="http://10.0.0.6:8081", session_id="s-2")
    assert run([(0.0, LEADER), (1.0, other)])[-1] == \
        "Flink cluster c1: new leader elected after 1.0 s: http://10.0.0.6:8081 (session s-2)"


def test_a_job_without_tasks_yet_says_only_its_state() -> None:
    initializing = replace(REST, job_id=JOB, job_state="INITIALIZING", tasks={})
    assert run([(0.0, initializing)])[-1] == f"Flink cluster c1: job {JOB} INITIALIZING after 0.0 s"
