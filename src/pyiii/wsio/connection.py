"""The connection both backends implement.

Sending has two shapes. ``send`` writes one message and waits for flow control, as usual.
``post_text`` queues a text frame without waiting: every frame posted during one event-loop
turn leaves in **one** socket write, in order. The engine and the SDK post many small frames
per turn (invocations, results); a write per frame made the syscall and the peer's wake-up the
largest cost of a message. A sender that keeps posting calls ``wait_writable`` to respect the
peer's pace instead of growing memory.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, cast

from pyiii.wsio.types import ConnectionClosed, Request

#: Posted bytes that make ``post_text`` write at once instead of at the end of the loop turn.
FLUSH_AT_BYTES = 64 * 1024


def every_message(_message: bytes) -> bool:
    """``serve``'s ``inline`` for a handler that may run for any message in the socket callback."""
    return True


class Connection(abc.ABC):
    #: The upgrade request (a client sees the request it sent, remote address included).
    request: Request
    #: What the upgrade hook attached (``Accept.state``); ``None`` on a client.
    state: object = None

    @property
    def remote_address(self) -> tuple[str, int] | None:
        return self.request.remote

    @property
    @abc.abstractmethod
    def raw_transport(self) -> asyncio.Transport:
        """The socket's asyncio transport (pause reading, buffer sizes; tests count writes)."""

    # ------------------------------------------------------------------ receiving

    @abc.abstractmethod
    async def recv(self, decode: bool = True) -> str | bytes:
        """The next message: a text message as ``str`` (``bytes`` of its UTF-8 with
        ``decode=False``), a binary one as ``bytes``. Raises :class:`ConnectionClosed`."""

    async def __aiter__(self) -> AsyncIterator[str | bytes]:
        """Messages until the connection closes, for whatever reason (see ``close_code``)."""
        while True:
            try:
                message = await self.recv()
            except ConnectionClosed:
                return
            yield message

    async def serve(
        self,
        handler: Callable[[bytes], Coroutine[Any, Any, None]],
        inline: Callable[[bytes], bool] | None = None,
    ) -> None:
        """Hand every message to ``handler`` as ``recv(decode=False)`` returns it, one at a time
        and in order (the next one waits until the handler returns), until the connection
        closes: then raises :class:`ConnectionClosed`. An exception of ``handler`` ends it too.
        A backend may run the handler for a message ``inline`` accepts as the message arrives,
        without a task switch, while nothing is queued (picows: ``wsio/inline.py``)."""
        while True:
            await handler(cast(bytes, await self.recv(decode=False)))

    # ------------------------------------------------------------------ sending

    @abc.abstractmethod
    async def send(self, message: str | bytes) -> None:
        """Send ``str`` as a text message, ``bytes`` as binary. Raises :class:`ConnectionClosed`."""

    @abc.abstractmethod
    async def send_text(self, payload: bytes) -> None:
        """Send UTF-8 ``payload`` as a text message."""

    @abc.abstractmethod
    def post_text(self, payload: bytes) -> None:
        """Queue a text message for the write at the end of this loop turn (module docstring).
        Raises :class:`ConnectionClosed` when the connection is no longer open."""

    def write_text(self, payload: bytes) -> None:
        """Write a text frame at once (after anything posted this turn), without waiting for
        flow control: for a fan-out, where batching to the end of the turn would hold the first
        peers' frame until it is posted to the last one. Raises :class:`ConnectionClosed` when
        the connection is no longer open."""
        self.post_text(payload)
        self.flush()

    @abc.abstractmethod
    def flush(self) -> None:
        """Write what ``post_text`` queued now (idempotent)."""

    @abc.abstractmethod
    async def wait_writable(self) -> None:
        """Wait while the socket's send buffer is over its high-water mark; raises
        :class:`ConnectionClosed` if the connection is lost meanwhile."""

    @property
    def write_paused(self) -> bool:
        """Whether a sender that just posted must await :meth:`wait_writable` (a post that did
        not raise and a buffer under its mark: the wait would return at once)."""
        return True

    @property
    @abc.abstractmethod
    def buffered_bytes(self) -> int:
        """Bytes written but not yet taken by the socket (how far the peer lags)."""

    # ------------------------------------------------------------------ closing

    @property
    @abc.abstractmethod
    def open(self) -> bool:
        """Open for sending: no close frame sent or received, socket connected."""

    @abc.abstractmethod
    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close handshake (what was posted goes first), bounded by ``close_timeout_s``."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Drop the socket at once."""

    @abc.abstractmethod
    async def wait_closed(self) -> None:
        """Until the socket is gone."""

    @property
    @abc.abstractmethod
    def close_code(self) -> int | None:
        """The close handshake's code (the first close frame, ours or theirs); 1006 when the
        socket ended without one; ``None`` while open."""

    @property
    @abc.abstractmethod
    def close_reason(self) -> str:
        """The reason that came with ``close_code``."""
