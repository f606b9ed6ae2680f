"""A blocking client for code that runs on its own thread (the SDK's span exporter).

Only websockets has a synchronous client, so this one uses it whatever the backend; the
traffic it carries (a batch of spans now and then) is not on a hot path.
"""

from __future__ import annotations

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from pyiii.wsio.types import ConnectionClosed


class SyncConnection:
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    @classmethod
    def open(cls, url: str, timeout_s: float = 5.0) -> SyncConnection:
        """Raises ``OSError`` when the engine cannot be reached or refuses."""
        try:
            return cls(connect(url, open_timeout=timeout_s, compression=None))
        except WebSocketException as exc:
            raise ConnectionError(f"WebSocket to {url} failed: {exc}") from exc

    def send(self, message: bytes | str) -> None:
        try:
            self._ws.send(message)
        except WebSocketException as exc:
            raise ConnectionClosed(1006, str(exc)) from exc

    def close(self) -> None:
        self._ws.close()
