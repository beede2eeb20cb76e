"""The options of a failure report (how much JobManager log it shows, when a JobManager counts as crash-looping),
apart from ``failure_report`` so an operator can default and check them without importing the report itself."""

from __future__ import annotations

DEFAULT_LOG_TAIL_LINES = 50
MAX_LOG_TAIL_LINES = 1000
#: Restarts after which a JobManager in back-off counts as crash-looping.
DEFAULT_RESTART_LIMIT = 3
#: Seconds a job's tasks may wait for a slot (no TaskManager took them) before a wait fails: Flink's own
#: ``slot.request.timeout`` default, and ample for a TaskManager pod to start.
DEFAULT_UNSCHEDULED_TIMEOUT = 300.0


def check_report_options(log_tail_lines: int, jobmanager_restart_limit: int) -> None:
    """Raise ``ValueError`` naming the argument when either is out of range."""
    if isinstance(log_tail_lines, bool) or not isinstance(log_tail_lines, int) \
            or not 0 <= log_tail_lines <= MAX_LOG_TAIL_LINES:
        raise ValueError(f"log_tail_lines: must be an integer in 0..{MAX_LOG_TAIL_LINES} (0: no log), "
                         f"got {log_tail_lines!r}")
    limit = jobmanager_restart_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"jobmanager_restart_limit: must be an integer >= 1, got {limit!r}")


def check_unscheduled_timeout(unscheduled_timeout: float) -> float:
    """``unscheduled_timeout`` as seconds (> 0); ``ValueError`` naming it otherwise."""
    value = unscheduled_timeout
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ValueError(f"unscheduled_timeout: must be a number of seconds > 0, got {value!r}")
    return float(value)
