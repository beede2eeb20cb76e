"""The one sync and the one async driver of this package's sans-I/O generators (readiness evaluations, failure
reports, wait steps).

A sans-I/O generator yields requests, is sent each answer and returns its result. A driver hands every request to
``handle`` and sends back what it returns; an exception ``handle`` raises is thrown into the generator at the
request that caused it, so the generator decides what a failed request means.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import TypeVar

Request = TypeVar("Request")
Answer = TypeVar("Answer")
Result = TypeVar("Result")


def run(steps: Generator[Request, Answer, Result], handle: Callable[[Request], Answer]) -> Result:
    """Drive ``steps`` with a blocking ``handle``; return what the generator returns."""
    try:
        request = next(steps)
        while True:
            try:
                answer = handle(request)
            except Exception as error:
                request = steps.throw(error)
            else:
                request = steps.send(answer)
    except StopIteration as finished:
        result: Result = finished.value
        return result


async def arun(steps: Generator[Request, Answer, Result], handle: Callable[[Request], Awaitable[Answer]]) -> Result:
    """Drive ``steps`` with an async ``handle`` (see :func:`run`)."""
    try:
        request = next(steps)
        while True:
            try:
                answer = await handle(request)
            except Exception as error:
                request = steps.throw(error)
            else:
                request = steps.send(answer)
    except StopIteration as finished:
        result: Result = finished.value
        return result
