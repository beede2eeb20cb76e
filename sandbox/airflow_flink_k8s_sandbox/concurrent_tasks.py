"""Run real operator instances concurrently in one process: each ``execute`` in a thread of its own, all released
at once by a barrier, with the minimal task context the provider's operators read (``run_id``, ``ti.try_number``,
``ti.xcom_push``/``xcom_pull``). Used by the race and load tests and by ``bench/load.py``: ``dag.test()`` runs one
DAG run at a time in a process, so it cannot make two task instances race.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class InProcessTaskInstance:
    """The task instance side of a context: try number and an XCom store of its own."""

    task_id: str
    try_number: int = 1
    xcoms: dict[tuple[str, str], Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[(self.task_id, key)] = value

    def xcom_pull(self, task_ids: str | None = None, key: str = "return_value") -> Any:
        return self.xcoms.get((task_ids or self.task_id, key))


@dataclass
class TaskOutcome:
    """What one ``execute`` returned or raised, and when it started and ended (monotonic seconds)."""

    dag_id: str
    task_id: str
    result: Any = None
    error: BaseException | None = None
    started: float = 0.0
    ended: float = 0.0
    trace: str = ""
    tries: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def execute(operator: Any, run_id: str, *, try_number: int = 1) -> Any:
    """``operator.execute`` with a minimal context, as the task runner would call it (no DAG run in a DB)."""
    from airflow.sdk.bases.operator import ExecutorSafeguard

    ti = InProcessTaskInstance(operator.task_id, try_number)
    context = {"run_id": run_id, "ti": ti, "task_instance": ti, "task": operator}
    sentinel = {f"{type(operator).__name__}__sentinel": ExecutorSafeguard.sentinel_value}
    return operator.execute(context, **sentinel)


def run_concurrently(chains: Sequence[Any | Sequence[Any]], run_ids: Sequence[str], *,
                     timeout: float = 600, retry_delay: float = 1.0) -> list[TaskOutcome]:
    """Run each chain (an operator, or operators run one after the other, each whatever the one before did) in a
    thread of its own, all threads released together; the outcomes in chain order, then operator order.

    A failed ``execute`` is tried again up to ``operator.retries`` times with the next try number, as Airflow's
    retries would, but ``retry_delay`` seconds later instead of the operator's own delay."""
    chains = [tuple(c) if isinstance(c, (list, tuple)) else (c,) for c in chains]
    barrier = threading.Barrier(len(chains))
    outcomes = [[TaskOutcome(op.dag_id, op.task_id) for op in chain] for chain in chains]

    def work(index: int) -> None:
        barrier.wait()
        for operator, outcome in zip(chains[index], outcomes[index], strict=True):
            outcome.started = time.monotonic()
            for try_number in range(1, int(operator.retries or 0) + 2):
                outcome.tries = try_number
                try:
                    outcome.result, outcome.error = execute(operator, run_ids[index], try_number=try_number), None
                    break
                except BaseException as error:
                    outcome.error, outcome.trace = error, traceback.format_exc()
                    time.sleep(retry_delay)
            outcome.ended = time.monotonic()

    threads = [threading.Thread(target=work, args=(i,), name=f"task-{chain[0].dag_id}.{chain[0].task_id}",
                                daemon=True) for i, chain in enumerate(chains)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        raise TimeoutError(f"tasks still running after {timeout:.0f} s: {', '.join(stuck)}")
    return [outcome for chain in outcomes for outcome in chain]
