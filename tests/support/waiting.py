"""Wait on a condition, never a fixed time (ARCHITECTURE rule 11).

``eventually`` polls until a predicate holds; ``stays`` checks that it keeps holding for a while
(the only honest way to show that something did *not* happen).
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


async def eventually(probe: Probe, timeout: float = 10.0, interval: float = 0.02, what: str = "condition") -> Any:
    """Poll ``probe`` (sync or async) until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await _value(probe)
        except AssertionError as exc:  # a probe may assert; keep polling until the deadline
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
