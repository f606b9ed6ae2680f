"""The ``websockets`` backend (``PYIII_WS_BACKEND=websockets``): server and client."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import websockets
from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse

from pyiii.wsio.connection import Connection
from pyiii.wsio.target import split_target
from pyiii.wsio.tcp import set_nodelay
from pyiii.wsio.types import Accept, Handler, HandshakeRefused, HttpReply, Options, Request, UpgradeHook
from pyiii.wsio.websockets_connection import WebsocketsConnection


def _response(reply: HttpReply) -> WsResponse:
    headers = Headers(list(reply.headers))
    headers["Content-Length"] = str(len(reply.body))
    return WsResponse(reply.status, reply.phrase, headers, reply.body)


def _timer(seconds: float | None) -> float | None:
    return seconds if seconds is not None and seconds > 0 else None


class WebsocketsServer:
    def __init__(self, handler: Handler, upgrade: UpgradeHook, options: Options) -> None:
        self._handler = handler
        self._upgrade = upgrade
        self._options = options
        self._server: WsServer | None = None
        self._accepted: dict[object, tuple[Request, Accept]] = {}
        self._connections: set[ServerConnection] = set()

    async def start(self, host: str, port: int) -> None:
        opts = self._options
        self._server = await serve(
            self._handle, host, port,
            process_request=self._process_request,
            process_response=self._process_response,
            compression=None,  # permessage-deflate declined: more CPU than it saves on JSON
            max_size=opts.max_message_bytes,
            open_timeout=opts.handshake_timeout_s,
            ping_interval=_timer(opts.ping_interval_s),
            ping_timeout=_timer(opts.ping_timeout_s),
            close_timeout=opts.close_timeout_s,
            max_queue=opts.max_queue,
            server_header=None,
        )
        for sock in self._server.sockets:
            set_nodelay(sock)

    @property
    def sockets(self) -> Sequence[socket.socket]:
        assert self._server is not None
        return list(self._server.sockets)

    async def _process_request(self, connection: ServerConnection, ws_request: WsRequest) -> WsResponse | None:
        split = split_target(ws_request.path)
        remote = connection.remote_address
        request = Request(split.path, split.query, tuple(ws_request.headers.raw_items()),
                          (str(remote[0]), int(remote[1])) if remote else None)
        verdict = await self._upgrade(request)
        if isinstance(verdict, HttpReply):
            return _response(verdict)
        self._accepted[connection.id] = (request, verdict or Accept())
        return None

    def _process_response(self, connection: ServerConnection, _request: WsRequest,
                          response: WsResponse) -> WsResponse:
        entry = self._accepted.get(connection.id)
        if entry is not None and response.status_code == 101:
            for name, value in entry[1].headers:
                response.headers[name] = value
        return response

    async def _handle(self, ws: ServerConnection) -> None:
        set_nodelay(ws.transport.get_extra_info("socket"))
        request, accept = self._accepted.pop(ws.id)
        self._connections.add(ws)
        try:
            await self._handler(WebsocketsConnection(ws, request, accept.state))
        finally:
            self._connections.discard(ws)

    async def close(self) -> None:
        """Stop listening and drop every connection at once (their handlers see the close)."""
        if self._server is None:
            return
        self._server.close(close_connections=False)
        for ws in list(self._connections):
            ws.transport.abort()
        await self._server.wait_closed()


async def connect(url: str, options: Options) -> Connection:
    try:
        ws = await websockets.connect(
            url,
            additional_headers=list(options.headers),
            max_size=options.max_message_bytes,
            ping_interval=_timer(options.ping_interval_s),
            ping_timeout=_timer(options.ping_timeout_s),
            open_timeout=options.handshake_timeout_s,
            close_timeout=options.close_timeout_s,
            max_queue=options.max_queue,
            compression=None,
        )
    except InvalidStatus as exc:
        raise HandshakeRefused(exc.response.status_code, bytes(exc.response.body or b"")) from None
    set_nodelay(ws.transport.get_extra_info("socket"))
    split = split_target(ws.request.path if ws.request else "/")
    remote = ws.remote_address
    request = Request(split.path, split.query, tuple(ws.request.headers.raw_items()) if ws.request else (),
                      (str(remote[0]), int(remote[1])) if remote else None)
    return WebsocketsConnection(ws, request)

