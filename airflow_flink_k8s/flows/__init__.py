"""I/O sequences for one task step (launch, teardown, wait), built from the hooks and decided by the core; no
Airflow imports."""

from __future__ import annotations

from typing import Any, Protocol


class TaskLog(Protocol):
    """Where a flow reports what it does: a ``logging.Logger``, or the task's own logger (``self.log``)."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...
