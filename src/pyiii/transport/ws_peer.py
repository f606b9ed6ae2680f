"""A :class:`~pyiii.core.peer.Peer` backed by a ``websockets`` server connection.

Frames sent during one event-loop turn leave in one socket write: at high concurrency the engine
sends many invocations per turn, and a write per frame (websockets' ``send``) made the write
syscall and the wake-up of the worker the largest cost of an invocation. Order is kept: frames
are written in the order they were sent.
"""

from __future__ import annotations

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from pyiii.core.access import Access
from pyiii.core.peer import Peer


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

    async def send_frame(self, frame: bytes) -> None:
        connection = self.connection
        if connection.protocol.state is not State.OPEN or connection.send_in_progress is not None:
            await self._send_now(frame)  # websockets raises ConnectionClosed (or waits) as it should
            return
        if not self._outbox:
            connection.loop.call_soon(self.flush)
        self._outbox.append(frame)
        if connection.paused:
            # The socket's buffer is over its high-water mark: wait like websockets' send() does,
            # so a slow worker holds back its senders instead of growing the engine's memory.
            try:
                await connection.drain()
            except Exception as exc:
                raise ConnectionError(f"worker {self.worker_id} disconnected") from exc

    def flush(self) -> None:
        """Write the frames queued so far (idempotent; called once per loop turn)."""
        frames, self._outbox = self._outbox, []
        connection = self.connection
        protocol = connection.protocol
        if not frames or protocol.state is not State.OPEN:
            # Closing: these frames cannot be delivered any more. The disconnect cleanup fails
            # the invocations they carried, as it does for frames lost in the socket's buffer.
            return
        for frame in frames:
            # Frames are UTF-8 JSON already: send the bytes as text frames without decoding them.
            protocol.send_text(frame)
        chunks = protocol.data_to_send()  # only ours: websockets flushes its own (pong, close) at once
        try:
            connection.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        except Exception as exc:  # the transport failed: end the connection as websockets would
            connection.set_connection_exc(exc)
            connection.transport.abort()

    async def _send_now(self, frame: bytes) -> None:
        try:
            await self.connection.send(frame, text=True)
        except ConnectionClosed as exc:
            raise ConnectionError(f"worker {self.worker_id} disconnected") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.flush()  # what was sent before close() goes out before the close frame
        await self.connection.close(code, reason)
