"""Waiting for something to come up: the one poll loop behind every start-up wait of the project.

``wait_until(ready, ...)`` calls ``ready()`` every ``interval_s`` until it gives a true value and
returns that value. Before each try it asks ``alive()`` (is the process being waited on still
running?); the caller says which error each way of giving up raises, so each keeps its own named
error and message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


def _always() -> bool:
    return True


def wait_until(
    ready: Callable[[], T],
    *,
    timeout_s: float,
    timed_out: Callable[[], Exception] | None,
    interval_s: float = 0.2,
    alive: Callable[[], bool] = _always,
    stopped: Callable[[], Exception] | None = None,
) -> T:
    """``ready()``'s first true value within ``timeout_s``.

    ``timed_out``: the error raised when time runs out (None: return the last, false answer).
    ``stopped``: the error raised when ``alive()`` turns False; the two come together.
    """
    assert (alive is _always) == (stopped is None), "alive and stopped are given together"
    deadline = time.monotonic() + timeout_s
    while True:
        if not alive():
            assert stopped is not None
            raise stopped()
        answer = ready()
        if answer:
            return answer
        if time.monotonic() > deadline:
            if timed_out is None:
                return answer
            raise timed_out()
        time.sleep(interval_s)


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``url`` answers 200 now (a refused or slow connection is a plain no)."""
    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False
