"""Wait on a condition, never a fixed time (ARCHITECTURE rule 11).

``eventually`` polls until a predicate holds; ``stays`` checks that it keeps holding for a while
(the only honest way to show that something did *not* happen). ``eventually_sync`` and
``stays_sync`` are the same for sync tests (they block the calling thread between polls).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

Probe = Callable[[], Any]


async def _value(probe: Probe) -> Any:
    value = probe()
    if inspect.isawaitable(value):
        value = await value
    return value


Errors = tuple[type[BaseException], ...]


async def eventually(probe: Probe, timeout: float = 10.0, interval: float = 0.02, what: str = "condition",
                     retry_on: Errors = (AssertionError,)) -> Any:
    """Poll ``probe`` (sync or async) until it returns something truthy; return that value.

    A probe that raises one of ``retry_on`` (by default: a failed assert) is polled again; pass
    e.g. ``(Exception,)`` while a peer may be restarting. The last value or error is in the
    failure message."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await _value(probe)
        except retry_on as exc:  # a probe may assert; keep polling until the deadline
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s (last: {last!r})")
        await asyncio.sleep(interval)


async def stays(probe: Probe, for_s: float, interval: float = 0.05, what: str = "condition") -> None:
    """Check that ``probe`` holds now and at every poll for ``for_s`` seconds."""
    deadline = time.monotonic() + for_s
    while True:
        value = await _value(probe)
        if not value:
            raise AssertionError(f"{what} stopped holding ({value!r})")
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(interval)


def eventually_sync(probe: Probe, timeout: float = 10.0, interval: float = 0.02, what: str = "condition",
                    retry_on: Errors = (AssertionError,)) -> Any:
    """``eventually`` for sync tests: poll ``probe`` (a plain callable) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
        except retry_on as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s (last: {last!r})")
        time.sleep(interval)


def stays_sync(probe: Probe, for_s: float, interval: float = 0.05, what: str = "condition") -> None:
    """``stays`` for sync tests: ``probe`` holds now and at every poll for ``for_s`` seconds."""
    deadline = time.monotonic() + for_s
    while True:
        value = probe()
        if not value:
            raise AssertionError(f"{what} stopped holding ({value!r})")
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)
