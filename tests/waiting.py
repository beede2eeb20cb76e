"""Waiting for an event in tests: poll a condition until it holds, with a generous timeout that only turns a hang
into a failure naming what never happened. The timeout is no speed claim; speed goals are benchmarks in ``bench/``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Long enough for a loaded 2-core CI machine; reaching it means the event did not happen, not that it was slow.
GENEROUS = 120.0


def wait_until(what: str, probe: Callable[[], T], timeout: float = GENEROUS, interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something truthy and return that; ``TimeoutError`` naming ``what`` if it
    never does within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        _fail_after(deadline, what, timeout)
        time.sleep(interval)
    return value


async def async_wait_until(what: str, probe: Callable[[], T], timeout: float = GENEROUS,
                           interval: float = 0.05) -> T:
    """:func:`wait_until` inside an event loop: the loop keeps running other tasks between probes."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        _fail_after(deadline, what, timeout)
        await asyncio.sleep(interval)
    return value


def _fail_after(deadline: float, what: str, timeout: float) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"{what}: did not happen within {timeout:.0f} s")
