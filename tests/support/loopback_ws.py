"""A WebSocket server on a free loopback port, for test doubles that stand in for an engine
(scripted_engine.py, ws_relay.py): start it with a connection handler, read its ``url``, stop it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from websockets.asyncio.server import Server, ServerConnection, serve


class LoopbackWs:
    def __init__(self) -> None:
        self._server: Server | None = None

    async def start(self, handler: Callable[[ServerConnection], Awaitable[None]]) -> None:
        # No size limit of its own: the limits under test are the engine's and the SDK's.
        self._server = await serve(handler, "127.0.0.1", 0, max_size=None)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
