"""Asset events: put what a task found Flink did (``core.asset_metadata``) on the events of its Asset outlets.

Airflow emits one event per Asset in a task's ``outlets`` when, and only when, the task succeeds (a failed or
timed-out task emits none); a deferred task's events go out when ``execute_complete`` returns. The task SDK sends
``context["outlet_events"][asset].extra`` with the success, so this sets it on the way out of ``execute`` /
``execute_complete``. Asset aliases are left alone: which Asset an alias stands for is the DAG author's to say
(``outlet_events[alias].add(asset, extra=...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context


def attach_event_extra(task: BaseOperator, context: Context, extra: Callable[[], Mapping[str, Any]]) -> None:
    """Add ``extra()`` to the event of every Asset among ``task.outlets`` (keys a DAG author set stay unless ours
    have the same name); without Asset outlets nothing is built or read."""
    from airflow.sdk import Asset

    assets = [outlet for outlet in task.outlets if isinstance(outlet, Asset)]
    if not assets:  # nothing to emit: the context need not hold outlet events at all
        return
    events, added = context["outlet_events"], extra()
    for asset in assets:
        accessor = events[asset]
        accessor.extra = {**accessor.extra, **added}
