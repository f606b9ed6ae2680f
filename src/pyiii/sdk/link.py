"""One live engine connection: an ordered outbox drained by a single writer task.

A single writer keeps frames in the order they were produced (replay first, then anything
registered or called afterwards) no matter how many coroutines produce them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from pyiii.wsio import Connection, ConnectionClosed
from pyiii.wsio.connection import FLUSH_AT_BYTES

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
        one dies before writing them (calls, results); registrations are replayed instead.

        With nothing queued ahead of it and the socket keeping up, the frame is posted at once
        (it leaves with the loop turn's other frames, in one write): no wake-up of the writer
        task per frame. Otherwise the writer takes it, in order, and waits for the socket."""
        ws = self.ws
        if not self._outbox and ws.buffered_bytes < FLUSH_AT_BYTES:
            try:
                ws.post_text(frame)
                return
            except ConnectionClosed:
                pass  # queued below: unsent() carries it over to the next connection
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
