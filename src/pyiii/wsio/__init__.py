"""One small WebSocket interface for the engine's listeners, the stream server and the SDK.

A leaf package: it imports nothing else of pyiii, and it is the only place that imports a
WebSocket library (tests/unit/test_import_contract.py checks both). Two implementations sit
behind it, picows (default) and websockets (``PYIII_WS_BACKEND=websockets``); see backend.py.

Server: :func:`serve` binds a port; every request first goes to the ``upgrade`` hook, which may
await (an auth function, a health check) and answers with an :class:`HttpReply` (a refusal, or a
plain GET such as /healthz) or an :class:`Accept`; the ``handler`` then owns the
:class:`Connection` until it returns. Client: :func:`connect`.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Protocol

from pyiii.wsio.backend import ENV_VAR, backend_name
from pyiii.wsio.connection import Connection, every_message
from pyiii.wsio.types import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MESSAGE_TOO_BIG,
    Accept,
    ConnectionClosed,
    Handler,
    HandshakeRefused,
    HttpReply,
    Options,
    Request,
    UpgradeHook,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES", "ENV_VAR", "MESSAGE_TOO_BIG", "Accept", "Connection", "ConnectionClosed",
    "HandshakeRefused", "HttpReply", "Options", "Request", "Server", "backend_name", "connect", "every_message",
    "serve",
]


class _Backend(Protocol):
    @property
    def sockets(self) -> Sequence[socket.socket]: ...
    async def start(self, host: str, port: int) -> None: ...
    async def close(self) -> None: ...


class Server:
    def __init__(self, backend: _Backend, name: str) -> None:
        self._backend = backend
        self.backend = name

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        return int(self._backend.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening, drop every connection and wait for their handlers to finish."""
        await self._backend.close()


async def serve(handler: Handler, host: str, port: int, *, upgrade: UpgradeHook,
                options: Options = Options(), backend: str | None = None) -> Server:
    name = backend or backend_name()
    impl: _Backend
    if name == "picows":
        from pyiii.wsio.picows_backend import PicowsServer

        impl = PicowsServer(handler, upgrade, options)
    else:
        from pyiii.wsio.websockets_backend import WebsocketsServer

        impl = WebsocketsServer(handler, upgrade, options)
    await impl.start(host, port)
    return Server(impl, name)


async def connect(url: str, options: Options = Options(), backend: str | None = None) -> Connection:
    """Open a client connection; raises :class:`HandshakeRefused` on an HTTP refusal and
    ``OSError`` / ``TimeoutError`` when the server cannot be reached in time."""
    if (backend or backend_name()) == "picows":
        from pyiii.wsio import picows_backend

        return await picows_backend.connect(url, options)
    from pyiii.wsio import websockets_backend

    return await websockets_backend.connect(url, options)
