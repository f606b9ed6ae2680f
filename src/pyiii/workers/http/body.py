"""A request body as it arrives: a small buffer between the parser and whoever reads it.

The connection feeds chunks in; when the buffer passes ``high_water`` bytes the connection stops
reading the socket (TCP backpressure) until the reader has taken it below ``low_water``. The size
limit is counted as bytes arrive, so a chunked body without a length is refused when it crosses
the limit, without ever being held whole. A body that cannot be completed (too large, broken
chunked framing, too slow) fails: whoever reads it gets the error, never a clean end, so a
truncated body is never mistaken for a whole one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable


class BodyError(Exception):
    """The body cannot be completed; ``status`` and ``code`` are what the client is answered."""

    status = 400
    code = "BAD_REQUEST"


class BodyTooLarge(BodyError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class BodyMalformed(BodyError):
    """Broken framing (a bad chunk size, a missing CRLF ...)."""


class BodyTimeout(BodyError):
    status = 408
    code = "REQUEST_TIMEOUT"


class BodyAborted(BodyError):
    """The client's connection ended before the body was complete (nobody is left to answer)."""


class BodyStream:
    __slots__ = ("_buffered", "_chunks", "_on_drained", "_waiter", "complete", "failure", "high_water",
                 "low_water", "received")

    def __init__(self, on_drained: Callable[[], None], high_water: int = 256 * 1024) -> None:
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._on_drained = on_drained
        self.high_water = high_water
        self.low_water = high_water // 4
        self.received = 0
        self.complete = False
        self.failure: BodyError | None = None

    @property
    def too_large(self) -> bool:
        return isinstance(self.failure, BodyTooLarge)

    @property
    def over_high_water(self) -> bool:
        return self._buffered > self.high_water

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        self._wake()

    def finish(self) -> None:
        self.complete = True
        self._wake()

    def fail(self, error: BodyError) -> None:
        if self.failure is None:
            self.failure = error
        self._chunks.clear()
        self._buffered = 0
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def read(self) -> bytes | None:
        """The next chunk, or ``None`` at the end of the body."""
        while True:
            if self.failure is not None:
                raise self.failure
            if self._chunks:
                chunk = self._chunks.popleft()
                before = self._buffered
                self._buffered -= len(chunk)
                if before > self.low_water >= self._buffered:
                    self._on_drained()
                return chunk
            if self.complete:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def take_all(self) -> bytes:
        """Everything buffered, without waiting (for a body that is already complete)."""
        data = b"".join(self._chunks) if len(self._chunks) != 1 else self._chunks[0]
        self._chunks.clear()
        if self._buffered > self.low_water:
            self._on_drained()
        self._buffered = 0
        return data

    async def read_all(self) -> bytes:
        if self.complete and self.failure is None:
            return self.take_all()
        parts: list[bytes] = []
        while (chunk := await self.read()) is not None:
            parts.append(chunk)
        return b"".join(parts)
