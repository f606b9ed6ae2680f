"""One live engine connection: an ordered outbox drained by a single writer task.

A single writer keeps frames in the order they were produced (replay first, then anything
registered or called afterwards) no matter how many coroutines produce them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from pyiii.wsio import Connection, ConnectionClosed

log = logging.getLogger("pyiii.sdk.link")


class Link:
    def __init__(self, ws: Connection, generation: int) -> None:
        self.ws = ws
        self.generation = generation
        self._outbox: deque[tuple[bytes, bool]] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False

    def send(self, frame: bytes, *, requeue: bool = False) -> None:
        """Queue a frame. ``requeue`` marks frames to keep for the next connection if this
        one dies before writing them (calls, results); registrations are replayed instead."""
        self._outbox.append((frame, requeue))
        self._wakeup.set()

    async def write_loop(self) -> None:
        outbox = self._outbox
        ws = self.ws
        while True:
            try:
                while outbox:
                    # Everything produced since the last write leaves in one socket write.
                    for frame, _ in outbox:
                        ws.post_text(frame)
                    outbox.clear()
                    ws.flush()
                    await ws.wait_writable()
            except ConnectionClosed:
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    def unsent(self) -> list[bytes]:
        """Frames worth carrying over to the next connection, in order."""
        frames = [frame for frame, requeue in self._outbox if requeue]
        self._outbox.clear()
        return frames
