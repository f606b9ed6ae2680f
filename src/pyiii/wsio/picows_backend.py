"""The picows backend (the default): server and client.

The server reads the HTTP request head itself and awaits the upgrade hook (picows' own hook is
synchronous, and an RBAC auth function or an adapter health check must be awaited); plain HTTP
answers are written here. An accepted request is then handed to picows with the bytes read so
far, and picows validates the upgrade and sends the 101. Both ends write through a
:class:`CorkingTransport`, so the frames posted in a loop turn leave in one write.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Sequence
from typing import Any, cast

from picows import WSAutoPingStrategy, WSHandshakeError, WSUpgradeResponse, WSUpgradeResponseWithListener
from picows.picows import WSProtocol  # type: ignore[attr-defined]  # what ws_create_server builds
from picows.url import parse_url

from pyiii.wsio.corking import CorkingTransport
from pyiii.wsio.http_head import MAX_HEAD_BYTES, BadRequest, encode_reply, parse_head
from pyiii.wsio.picows_connection import PicowsConnection
from pyiii.wsio.target import split_target
from pyiii.wsio.tcp import set_nodelay
from pyiii.wsio.types import Accept, Handler, HandshakeRefused, HttpReply, Options, Request, UpgradeHook

log = logging.getLogger("pyiii.wsio")


_DEMOTED = (("WS parser error", logging.INFO), ("Protocol writing", logging.DEBUG))


class _PeerFaultsAtInfo(logging.LoggerAdapter):  # type: ignore[type-arg]
    """picows logs a peer's protocol violation at ERROR and every flow-control pause at
    WARNING; both are the remote side's doing (a fuzzing client would fill the error log), so
    they go out at INFO / DEBUG. Our own failures (a callback raising) keep their level.
    An adapter also spares picows creating a child logger per connection."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if level >= logging.WARNING and isinstance(msg, str):
            for prefix, lower in _DEMOTED:
                if msg.startswith(prefix):
                    level = lower
                    break
        super().log(level, msg, *args, **kwargs)


_picows_log = _PeerFaultsAtInfo(logging.getLogger("picows"), {})


def _peer(transport: asyncio.BaseTransport) -> tuple[str, int] | None:
    peer = transport.get_extra_info("peername")
    return (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None


def _protocol(factory: Any, options: Options, client: bool, host_port: str | None = None,
              path: str | None = None) -> Any:
    ping = options.ping_interval_s is not None and options.ping_interval_s > 0 and bool(options.ping_timeout_s)
    interval = options.ping_interval_s or 20.0
    # picows requires the reply timeout not to exceed the idle interval.
    reply = min(options.ping_timeout_s or interval, interval)
    return WSProtocol(
        host_port, path, client, factory, _picows_log,
        True,  # an exception in a callback closes the connection
        options.handshake_timeout_s if client else None,  # the server's is ours (whole handshake)
        ping, interval, reply, WSAutoPingStrategy.PING_WHEN_IDLE,
        True,  # answer pings
        options.max_message_bytes,
        list(options.headers) if client else None,
        16 * 1024,
    )


def _feed(protocol: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:
        buffer = protocol.get_buffer(len(view))
        size = min(len(buffer), len(view))
        buffer[:size] = view[:size]
        protocol.buffer_updated(size)
        view = view[size:]


class _Handshake(asyncio.Protocol):
    """Reads one request head, awaits the upgrade hook, then answers or hands over."""

    def __init__(self, server: PicowsServer) -> None:
        self._server = server
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        set_nodelay(transport.get_extra_info("socket"))
        self._server.handshakes.add(self)
        timeout = self._server.options.handshake_timeout_s
        if timeout is not None and timeout > 0:
            self._timer = asyncio.get_running_loop().call_later(timeout, self.abort)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._task is not None:
            if len(self._buffer) > 2 * MAX_HEAD_BYTES:
                self.abort()  # not waiting for our answer: nothing legitimate sends this much
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                self._reply(HttpReply(431, b"request head too large\n"))
            return
        try:
            method, target, headers = parse_head(self._buffer[:end])
        except BadRequest as exc:
            self._reply(HttpReply(400, f"{exc}\n".encode()))
            return
        if method != "GET":
            self._reply(HttpReply(405, b"only GET\n", (("Allow", "GET"),)))
            return
        assert self._transport is not None
        split = split_target(target)
        request = Request(split.path, split.query, headers, _peer(self._transport))
        self._transport.pause_reading()
        self._task = asyncio.get_running_loop().create_task(self._decide(request))

    async def _decide(self, request: Request) -> None:
        try:
            verdict = await self._server.upgrade(request)
        except Exception:
            log.exception("upgrade hook failed for %s", request.path)
            verdict = HttpReply(500)
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if isinstance(verdict, HttpReply):
            self._reply(verdict)
            return
        self._done()
        self._server.hand_over(transport, self._buffer, request, verdict or Accept())

    def _reply(self, reply: HttpReply) -> None:
        assert self._transport is not None
        self._transport.write(encode_reply(reply))
        self._transport.close()
        self._done()

    def _done(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._server.handshakes.discard(self)

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._done()
        if self._task is not None and not self._task.done():
            self._task.cancel()


class PicowsServer:
    def __init__(self, handler: Handler, upgrade: UpgradeHook, options: Options) -> None:
        self.handler = handler
        self.upgrade = upgrade
        self.options = options
        self.handshakes: set[_Handshake] = set()
        self._connections: set[PicowsConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Handshake(self), host, port)
        for sock in self._server.sockets:
            set_nodelay(sock)

    @property
    def sockets(self) -> Sequence[socket.socket]:
        assert self._server is not None
        return list(self._server.sockets)

    def hand_over(self, transport: asyncio.Transport, buffered: bytes, request: Request, accept: Accept) -> None:
        cork = CorkingTransport(transport)
        connection = PicowsConnection(request, accept.state, self.options, cork, on_open=self._opened)
        response = WSUpgradeResponse.create_101_response(list(accept.headers))
        protocol = _protocol(lambda _request: WSUpgradeResponseWithListener(response, connection), self.options, False)
        transport.set_protocol(protocol)
        protocol.connection_made(cork)
        _feed(protocol, buffered)
        if not transport.is_closing():
            transport.resume_reading()

    def _opened(self, connection: PicowsConnection) -> None:
        self._connections.add(connection)
        task = asyncio.get_running_loop().create_task(self._run(connection))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, connection: PicowsConnection) -> None:
        code = 1000
        try:
            await self.handler(connection)
        except Exception:
            log.exception("WebSocket handler failed")
            code = 1011
        finally:
            self._connections.discard(connection)
            # As websockets does: the connection ends with its handler.
            await connection.close(code)

    async def close(self) -> None:
        """Stop listening, drop every connection at once, and wait for their handlers."""
        if self._server is None:
            return
        self._server.close()
        for handshake in list(self.handshakes):
            handshake.abort()
        for connection in list(self._connections):
            connection.abort()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._server.wait_closed()


class _Bootstrap(asyncio.Protocol):
    """Holds a fresh client socket until picows' protocol replaces it."""


async def connect(url: str, options: Options) -> PicowsConnection:
    parsed = parse_url(url)
    loop = asyncio.get_running_loop()
    context: ssl.SSLContext | None = ssl.create_default_context() if parsed.is_secure else None
    timeout = options.handshake_timeout_s
    async with asyncio.timeout(timeout if timeout and timeout > 0 else None):
        transport, _ = await loop.create_connection(
            _Bootstrap, parsed.host, parsed.port, ssl=context,
            server_hostname=parsed.host if context is not None else None)
    holder: list[PicowsConnection] = []
    cork = CorkingTransport(transport)

    def make_listener() -> PicowsConnection:
        remote = _peer(transport)
        split = split_target(parsed.resource_name)
        holder.append(PicowsConnection(Request(split.path, split.query, options.headers, remote), None, options, cork))
        return holder[0]

    protocol = _protocol(make_listener, options, True, parsed.netloc, parsed.resource_name)
    transport.set_protocol(protocol)
    protocol.connection_made(cork)
    try:
        await protocol.wait_until_handshake_complete()
    except WSHandshakeError as exc:
        transport.abort()
        status = int(exc.response.status) if exc.response is not None else 0
        raise HandshakeRefused(status, exc.raw_body or b"") from None
    except BaseException:
        transport.abort()
        raise
    if not holder:
        transport.abort()
        raise ConnectionError(f"WebSocket handshake with {url} did not complete")
    return holder[0]
