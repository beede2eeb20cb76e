"""The one retry policy of Kubernetes API reads, sync and async: an answer the server marks as transient (429, 5xx)
is tried again with exponential back-off; any other failure raises at once.

Use ``for attempt in retrying(what): with attempt: ...`` (or ``async for`` with :func:`aretrying`); the last error
is re-raised when the attempts run out.
"""

from __future__ import annotations

import logging

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from airflow_flink_k8s.core.errors import KubernetesApiError

log = logging.getLogger(__name__)

#: API answers that say "try again": throttled, or the server (or a proxy in front of it) briefly failing.
TRANSIENT_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
#: How often a read is tried before a transient answer is final (back-off 0.25, 0.5, 1 s between tries).
READ_ATTEMPTS = 4


def _transient(error: BaseException) -> bool:
    return isinstance(error, KubernetesApiError) and error.status in TRANSIENT_STATUSES


def _policy(what: str, attempts: int, base_delay: float) -> dict[str, object]:
    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s: %s; trying again (%d/%d)", what, error, state.attempt_number, attempts - 1)

    return {"retry": retry_if_exception(_transient), "stop": stop_after_attempt(attempts),
            "wait": wait_exponential(multiplier=base_delay, exp_base=2), "before_sleep": log_retry, "reraise": True}


def retrying(what: str, attempts: int = READ_ATTEMPTS, base_delay: float = 0.25) -> Retrying:
    """The blocking policy; ``what`` names the call in the log line of each retry."""
    return Retrying(**_policy(what, attempts, base_delay))  # type: ignore[arg-type]


def aretrying(what: str, attempts: int = READ_ATTEMPTS, base_delay: float = 0.25) -> AsyncRetrying:
    """The same policy for coroutines (sleeps with ``asyncio.sleep``)."""
    return AsyncRetrying(**_policy(what, attempts, base_delay))  # type: ignore[arg-type]
