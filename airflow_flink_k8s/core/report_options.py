"""The options of a failure report (how much JobManager log it shows, when a JobManager counts as crash-looping),
apart from ``failure_report`` so an operator can default and check them without importing the report itself."""

from __future__ import annotations

DEFAULT_LOG_TAIL_LINES = 50
MAX_LOG_TAIL_LINES = 1000
#: Restarts after which a JobManager in back-off counts as crash-looping.
DEFAULT_RESTART_LIMIT = 3


def check_report_options(log_tail_lines: int, jobmanager_restart_limit: int) -> None:
    """Raise ``ValueError`` naming the argument when either is out of range."""
    if isinstance(log_tail_lines, bool) or not isinstance(log_tail_lines, int) \
            or not 0 <= log_tail_lines <= MAX_LOG_TAIL_LINES:
        raise ValueError(f"log_tail_lines: must be an integer in 0..{MAX_LOG_TAIL_LINES} (0: no log), "
                         f"got {log_tail_lines!r}")
    limit = jobmanager_restart_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"jobmanager_restart_limit: must be an integer >= 1, got {limit!r}")
