"""A :class:`~pyiii.core.peer.Peer` backed by a ``websockets`` server connection.

Frames sent during one event-loop turn leave in one socket write: at high concurrency the engine
sends many invocations per turn, and a write per frame (websockets' ``send``) made the write
syscall and the wake-up of the worker the largest cost of an invocation. Order is kept: frames
are written in the order they were sent.
"""

from __future__ import annotations

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from pyiii.core.access import Access
from pyiii.core.peer import Peer
from pyiii.ws_write import can_write_now, wait_writable, write_text_frames

#: Queued bytes that make ``send_frame`` write at once instead of at the end of the loop turn.
FLUSH_AT_BYTES = 64 * 1024


class WebSocketPeer(Peer):
    def __init__(
        self,
        connection: ServerConnection,
        worker_id: str,
        reattach_token: str,
        *,
        ip_address: str | None,
        listener: str,
        access: Access,
    ) -> None:
        super().__init__(worker_id, reattach_token, ip_address=ip_address, listener=listener, access=access)
        self.connection = connection
        self._outbox: list[bytes] = []
        self._outbox_bytes = 0

    async def send_frame(self, frame: bytes) -> None:
        connection = self.connection
        if not can_write_now(connection):
            await self._send_now(frame)  # websockets raises ConnectionClosed (or waits) as it should
            return
        outbox = self._outbox
        if not outbox:
            connection.loop.call_soon(self.flush)
            self._outbox_bytes = 0
        outbox.append(frame)
        self._outbox_bytes += len(frame)
        if self._outbox_bytes >= FLUSH_AT_BYTES:
            # A sender that never yields would otherwise grow the outbox without bound: write
            # now, so websockets' flow control (below) sees the socket's buffer.
            self.flush()
        try:
            # A slow worker holds back its senders instead of growing the engine's memory.
            await wait_writable(connection)
        except Exception as exc:
            raise ConnectionError(f"worker {self.worker_id} disconnected") from exc

    def flush(self) -> None:
        """Write the frames queued so far (idempotent; scheduled once per loop turn)."""
        frames, self._outbox = self._outbox, []
        # Closing: these frames cannot be delivered any more. The disconnect cleanup fails the
        # invocations they carried, as it does for frames lost in the socket's buffer.
        if frames and can_write_now(self.connection):
            write_text_frames(self.connection, frames)

    async def _send_now(self, frame: bytes) -> None:
        try:
            await self.connection.send(frame, text=True)
        except ConnectionClosed as exc:
            raise ConnectionError(f"worker {self.worker_id} disconnected") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.flush()  # what was sent before close() goes out before the close frame
        await self.connection.close(code, reason)
