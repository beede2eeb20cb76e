"""The options of a failure report (how much JobManager log it shows, when a JobManager counts as crash-looping),
apart from ``failure_report`` so an operator can default and check them without importing the report itself."""

from __future__ import annotations

from airflow_flink_k8s.core.errors import FlinkSpecError

DEFAULT_LOG_TAIL_LINES = 50
MAX_LOG_TAIL_LINES = 1000
#: Restarts after which a JobManager in back-off counts as crash-looping.
DEFAULT_RESTART_LIMIT = 3
#: Seconds a job's tasks may wait for a slot (no TaskManager took them) before a wait fails: Flink's own
#: ``slot.request.timeout`` default, and ample for a TaskManager pod to start.
DEFAULT_UNSCHEDULED_TIMEOUT = 300.0


def check_report_options(log_tail_lines: int, jobmanager_restart_limit: int) -> None:
    """Raise ``FlinkSpecError`` (a ``ValueError``) naming the argument when either is out of range."""
    if isinstance(log_tail_lines, bool) or not isinstance(log_tail_lines, int) \
            or not 0 <= log_tail_lines <= MAX_LOG_TAIL_LINES:
        raise FlinkSpecError("log_tail_lines", f"must be an integer in 0..{MAX_LOG_TAIL_LINES} (0: no log)",
                             log_tail_lines)
    limit = jobmanager_restart_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise FlinkSpecError("jobmanager_restart_limit", "must be an integer >= 1", limit)


def check_unscheduled_timeout(unscheduled_timeout: float) -> float:
    """``unscheduled_timeout`` as seconds (> 0); ``FlinkSpecError`` naming it otherwise."""
    value = unscheduled_timeout
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise FlinkSpecError("unscheduled_timeout", "must be a number of seconds > 0", value)
    return float(value)
