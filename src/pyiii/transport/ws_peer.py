"""A :class:`~pyiii.core.peer.Peer` backed by a WebSocket connection (:mod:`pyiii.wsio`).

Frames go out with ``post_text``: every frame sent during one event-loop turn leaves in one
socket write, in order. At high concurrency the engine sends many invocations per turn, and a
write per frame made the write syscall and the wake-up of the worker the largest cost of an
invocation.
"""

from __future__ import annotations

from pyiii.core.access import Access
from pyiii.core.peer import Peer
from pyiii.wsio import Connection, ConnectionClosed


class WebSocketPeer(Peer):
    def __init__(
        self,
        connection: Connection,
        worker_id: str,
        reattach_token: str,
        *,
        ip_address: str | None,
        listener: str,
        access: Access,
    ) -> None:
        super().__init__(worker_id, reattach_token, ip_address=ip_address, listener=listener, access=access)
        self.connection = connection

    async def send_frame(self, frame: bytes) -> None:
        connection = self.connection
        try:
            connection.post_text(frame)
            # A slow worker holds back its senders instead of growing the engine's memory.
            if connection.write_paused:
                await connection.wait_writable()
        except ConnectionClosed as exc:
            # The disconnect cleanup fails the invocations these frames carried.
            raise ConnectionError(f"worker {self.worker_id} disconnected") from exc

    def post_frame(self, frame: bytes) -> bool:
        # What send_frame does before it waits: a waiting sender's frame is queued all the same.
        try:
            self.connection.post_text(frame)
        except ConnectionClosed as exc:
            raise ConnectionError(f"worker {self.worker_id} disconnected") from exc
        return True

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason)  # what was sent before goes out first
