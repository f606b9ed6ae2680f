"""One live engine connection: an ordered outbox drained by a single writer task.

A single writer keeps frames in the order they were produced (replay first, then anything
registered or called afterwards) no matter how many coroutines produce them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from pyiii.ws_write import can_write_now, wait_writable, write_text_frames

log = logging.getLogger("pyiii.sdk.link")


class Link:
    def __init__(self, ws: ClientConnection, generation: int) -> None:
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
        while True:
            while outbox:
                if not can_write_now(self.ws):
                    try:
                        await self.ws.send(outbox[0][0], text=True)  # raises ConnectionClosed
                    except ConnectionClosed:
                        return
                    outbox.popleft()
                    continue
                # Everything produced since the last write leaves in one socket write.
                write_text_frames(self.ws, [frame for frame, _ in outbox])
                outbox.clear()
                try:
                    await wait_writable(self.ws)
                except Exception:
                    return
            self._wakeup.clear()
            await self._wakeup.wait()

    def unsent(self) -> list[bytes]:
        """Frames worth carrying over to the next connection, in order."""
        frames = [frame for frame, requeue in self._outbox if requeue]
        self._outbox.clear()
        return frames
