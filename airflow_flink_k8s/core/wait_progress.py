"""What a wait tells the task log: each transition once, with the seconds since the wait began (leader elected,
REST up, the job's state with its task counts, the first checkpoint seen), and a one-line note of what it still waits
for at most every :data:`PROGRESS_NOTE_INTERVAL` seconds while nothing changes; nothing per poll.

Pure: :func:`observe` takes what was reported so far (:class:`WaitProgress`), what a step saw (a ``Readiness``) and
the time, and returns the new progress and the lines to log. A sensor in reschedule mode keeps the progress between
pokes as JSON (:meth:`WaitProgress.to_json`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from airflow_flink_k8s.core.readiness import Readiness
from airflow_flink_k8s.core.rest_api import RUNNING_TASK_STATES

#: Seconds between two progress notes while nothing changes.
PROGRESS_NOTE_INTERVAL = 30.0


@dataclass(frozen=True)
class WaitProgress:
    """What the task log has been told of a wait so far."""

    started: float | None = None  # UNIX time of the wait's first step
    leader: str | None = None  # "<address> <session id>" of the leader last reported
    rest: bool = False  # REST reported up (for this leader)
    job: str | None = None  # "<job id> <state> <all tasks running>" last reported (for this leader)
    checkpoint: bool = False  # a completed checkpoint reported
    last_line: float | None = None  # UNIX time of the last line logged

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> WaitProgress:
        """The progress stored by :meth:`to_json`; a fresh one for anything else (nothing stored yet)."""
        if not isinstance(value, dict) or set(value) != {f.name for f in fields(cls)}:
            return cls()
        return cls(**value)


def observe(progress: WaitProgress, seen: Readiness, *, cluster_id: str, target: str,
            now: float) -> tuple[WaitProgress, list[str]]:
    """The progress after a step that saw ``seen`` at UNIX time ``now``, and the lines to log for it."""
    started = now if progress.started is None else progress.started
    after = f"after {max(now - started, 0.0):.1f} s"
    lines: list[str] = []
    leader = f"{seen.leader_address} {seen.session_id}" if seen.leader_address else None
    state = replace(progress, started=started)
    if leader != progress.leader:
        if leader is not None:
            again = "new " if progress.leader else ""
            lines.append(f"{again}leader elected {after}: {seen.leader_address} (session {seen.session_id})")
        else:
            lines.append(f"leader gone {after}: {seen.reason}")
        state = replace(state, leader=leader, rest=False, job=None)
    if seen.flink_version is not None and not state.rest:
        lines.append(f"REST up {after}: {seen.rest_url} (Flink {seen.flink_version})")
        state = replace(state, rest=True)
    if seen.job_id is not None and seen.job_state is not None:
        job_line, job_key = _job(seen)
        if job_key != state.job:
            lines.append(f"job {seen.job_id} {seen.job_state} {after}{job_line}")
            state = replace(state, job=job_key)
    if seen.checkpoint_path is not None and not state.checkpoint:
        lines.append(f"first checkpoint {after}: {seen.checkpoint_path}")
        state = replace(state, checkpoint=True)
    if not lines and not seen.ready and (
            progress.last_line is None or now - progress.last_line >= PROGRESS_NOTE_INTERVAL):
        lines.append(f"still waiting for {target} {after}: {seen.reason}")
    if lines:
        state = replace(state, last_line=now)
    return state, [f"Flink cluster {cluster_id}: {line}" for line in lines]


def _job(seen: Readiness) -> tuple[str, str]:
    """(what to say of the job's tasks, the key of what was reported: the state and whether all tasks run)."""
    if not seen.tasks:  # not read (a FINISHED job from the jobs overview), or none yet (INITIALIZING)
        return "", f"{seen.job_id} {seen.job_state}"
    total = sum(seen.tasks.values())
    running = sum(count for state, count in seen.tasks.items() if state in RUNNING_TASK_STATES)
    counts = ", ".join(f"{state} {count}" for state, count in sorted(seen.tasks.items()))
    said = f": {running} of {total} tasks running ({counts})" if seen.job_state == "RUNNING" else f": tasks {counts}"
    return said, f"{seen.job_id} {seen.job_state} {running == total}"
