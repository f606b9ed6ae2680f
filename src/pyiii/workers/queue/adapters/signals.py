"""Per-queue wake-ups for in-process adapters: a publish wakes the waiting consumer at once."""

from __future__ import annotations

import asyncio
import contextlib


class QueueSignals:
    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def event(self, queue: str) -> asyncio.Event:
        ev = self._events.get(queue)
        if ev is None:
            ev = self._events[queue] = asyncio.Event()
        return ev

    def wake(self, queue: str) -> None:
        ev = self._events.get(queue)
        if ev is not None:
            ev.set()

    async def wait(self, event: asyncio.Event, timeout_s: float | None) -> None:
        """Wait for a wake-up, or for ``timeout_s`` (the next delayed message / lease expiry)."""
        if timeout_s is not None and timeout_s <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)
