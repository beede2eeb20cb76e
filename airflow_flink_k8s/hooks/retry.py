"""The one retry policy of the Kubernetes API calls: an answer the server marks as transient (429, 5xx) is tried
again with exponential back-off and each retry is logged; any other failure raises at once.

Writes (``retrying_call``) wait 0.5, 1, 2 s between 4 attempts; reads (``FlinkKubernetesHook.request`` GETs)
use the same policy with ``READ_ATTEMPTS`` and ``READ_FIRST_WAIT``. ``aretrying_call`` is the same policy for
coroutines.

The one loop that is not a call under this policy is the shared watch (``namespace_watch.NamespaceWatch._run``): a
list+watch is not a call that ends, it re-lists forever with its own capped back-off while subscribers wait, and it
reacts to statuses a call never sees (410: list again at once; 401: once more with the credentials read anew).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from airflow_flink_k8s.core.errors import KubernetesApiError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: API answers that say "try again": throttled, or the server (or a proxy in front of it) briefly failing.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
#: How often a write is tried before a transient answer is final, and the first wait (doubling after each try).
WRITE_ATTEMPTS, WRITE_FIRST_WAIT = 4, 0.5
#: How often a GET is tried before a transient answer is final (back-off 0.25, 0.5, 1 s between tries).
READ_ATTEMPTS, READ_FIRST_WAIT = 4, 0.25


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is an API answer worth trying again (``TRANSIENT_STATUSES``)."""
    return isinstance(error, KubernetesApiError) and error.status in TRANSIENT_STATUSES


def _policy(what: str, attempts: int, first_wait: float) -> dict[str, Any]:
    """The tenacity arguments of the policy; ``what`` names the call in the retry log lines."""
    if attempts < 1:
        raise ValueError(f"attempts: must be >= 1, got {attempts}")

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s: %s; retrying (%d/%d)", what, error, state.attempt_number, attempts - 1)

    return {"retry": retry_if_exception(is_transient), "stop": stop_after_attempt(attempts),
            "wait": wait_exponential(multiplier=first_wait, exp_base=2), "before_sleep": log_retry, "reraise": True}


def retrying_call(call: Callable[[], T], what: str, *, attempts: int = WRITE_ATTEMPTS,
                  first_wait: float = WRITE_FIRST_WAIT) -> T:
    """``call()``, tried again while it raises a transient ``KubernetesApiError``; the last error is raised."""
    return Retrying(**_policy(what, attempts, first_wait))(call)


async def aretrying_call(call: Callable[[], Awaitable[T]], what: str, *, attempts: int = WRITE_ATTEMPTS,
                         first_wait: float = WRITE_FIRST_WAIT) -> T:
    """``await call()`` under the same policy as :func:`retrying_call`, sleeping with ``asyncio.sleep``."""
    async def attempt() -> T:  # a coroutine function, so tenacity awaits it (it calls a plain callable as sync)
        return await call()

    return await AsyncRetrying(**_policy(what, attempts, first_wait))(attempt)
