"""A :class:`~pyiii.core.peer.Peer` backed by a ``websockets`` server connection."""

from __future__ import annotations

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

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

    async def send_frame(self, frame: bytes) -> None:
        # Frames are UTF-8 JSON already: send the bytes as a text frame without decoding them.
        try:
            await self.connection.send(frame, text=True)
        except ConnectionClosed as exc:
            raise ConnectionError(f"worker {self.worker_id} disconnected") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.connection.close(code, reason)
