"""An HTTP/1.1 server on asyncio Protocol + httptools (the parser uvicorn uses).

Keep-alive, pipelining (one request at a time per connection, in order), TCP_NODELAY, read
backpressure for request bodies, write backpressure for responses, protocol-level limits (URL,
header count, body size) answered with the JSON error envelope, and a draining shutdown.
The request pipeline itself is ``app(request, sink)``; this module knows nothing about routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httptools

from pyiii.workers.http.body import BodyStream
from pyiii.workers.http.request import Request
from pyiii.workers.http.sink import ResponseSink

log = logging.getLogger("pyiii.http")
access_log = logging.getLogger("pyiii.http.access")

App = Callable[[Request, ResponseSink], Awaitable[None]]


@dataclass(slots=True)
class ServerLimits:
    max_body_bytes: int
    max_url_bytes: int
    max_headers: int
    keep_alive_timeout: float


class HttpServer:
    def __init__(self, app: App, limits: ServerLimits) -> None:
        self.app = app
        self.limits = limits
        self.connections: set[HttpConnection] = set()
        self.closing = False
        self._server: asyncio.AbstractServer | None = None
        self._all_closed = asyncio.Event()

    def forget(self, conn: HttpConnection) -> None:
        self.connections.discard(conn)
        if self.closing and not self.connections:
            self._all_closed.set()

    async def listen(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: HttpConnection(self), host, port, reuse_address=True,
                                                backlog=2048)
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def close(self, grace: float) -> None:
        """Stop accepting, let in-flight requests finish for up to ``grace`` s, then cut."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close_when_idle()
        if self.connections:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), grace)
        for conn in list(self.connections):
            conn.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)


class HttpConnection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.client = ""
        self.closing = False
        # Parsing state of the request being read.
        self._url = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self._parsing: Request | None = None
        self._rejected: tuple[int, str, str] | None = None
        self._discard_body = False
        # The request being answered, and those pipelined behind it.
        self._cycle: asyncio.Task[None] | None = None
        self._sink: ResponseSink | None = None
        self._current: Request | None = None
        self._queue: deque[tuple[Request, tuple[int, str, str] | None]] = deque()
        self._paused_for_body = False
        self._reading_paused = False
        self._write_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._idle_timer: asyncio.TimerHandle | None = None
        #: loop time the connection went idle; None while a request is being read or answered
        self._idle_since: float | None = None

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.client = f"{peer[0]}:{peer[1]}"
        self.server.connections.add(self)
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.forget(self)
        self._stop_idle_timer()
        if self._cycle is not None and not self._cycle.done():
            self._cycle.cancel()
        if self._write_waiter is not None and not self._write_waiter.done():
            self._write_waiter.set_exception(ConnectionError("client disconnected"))
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self._cancel_idle_timer()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._protocol_error(400, "BAD_REQUEST", "Protocol upgrades are not supported here")
        except httptools.HttpParserError as exc:
            self._protocol_error(400, "BAD_REQUEST", f"Malformed HTTP request: {exc}")
        if self._rejected is not None and self._parsing is None:
            status, code, message = self._rejected
            self._protocol_error(status, code, message)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._write_waiter is not None and not self._write_waiter.done():
            self._write_waiter.set_result(None)
        self._write_waiter = None

    # ------------------------------------------------------------ httptools callbacks

    def on_message_begin(self) -> None:
        self._url.clear()
        self._headers = []
        self._rejected = None
        self._discard_body = False

    def on_url(self, url: bytes) -> None:
        if len(self._url) + len(url) > self.limits.max_url_bytes:
            self._rejected = (414, "URI_TOO_LONG", f"Request target longer than {self.limits.max_url_bytes} bytes")
            return
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self._headers) >= self.limits.max_headers:
            self._rejected = (431, "HEADERS_TOO_LARGE", f"More than {self.limits.max_headers} header lines")
            return
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        headers: dict[str, str] = {}
        for raw_name, raw_value in self._headers:
            try:
                value = raw_value.decode("utf-8")
            except UnicodeDecodeError:
                value = ""
            headers[raw_name.decode("latin-1").lower()] = value
        rejected = self._rejected
        path, query = "/", ""
        if rejected is None:
            try:
                parsed = httptools.parse_url(bytes(self._url))
                path = (parsed.path or b"/").decode("utf-8")
                query = (parsed.query or b"").decode("utf-8")
            except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
                rejected = (400, "BAD_REQUEST", "Invalid request target")
        length: int | None = None
        if "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                rejected = rejected or (400, "BAD_REQUEST", "Invalid Content-Length")
        if rejected is None and length is not None and length > self.limits.max_body_bytes:
            # Refuse before reading a byte of it.
            rejected = (413, "PAYLOAD_TOO_LARGE", f"Request body larger than {self.limits.max_body_bytes} bytes")
        request = Request(
            method=self.parser.get_method().decode("ascii"),
            path=path,
            query=query,
            headers=headers,
            http_version=self.parser.get_http_version(),
            keep_alive=self.parser.should_keep_alive() and rejected is None,
            content_length=length,
            body=BodyStream(self._body_drained),
            client=self.client,
        )
        self._parsing = request
        self._discard_body = rejected is not None
        if self._cycle is None:
            self._start_cycle(request, rejected)
        else:
            self._queue.append((request, rejected))
            self._set_reading()

    def on_body(self, chunk: bytes) -> None:
        request = self._parsing
        if request is None or self._discard_body:
            return
        body = request.body
        if body.received + len(chunk) > self.limits.max_body_bytes:
            body.fail_too_large()
            self._discard_body = True
            if request is self._current:
                self._body_too_large()
            return
        body.feed(chunk)
        if body.over_high_water and not self._paused_for_body:
            self._paused_for_body = True
            self._set_reading()

    def on_message_complete(self) -> None:
        if self._parsing is not None:
            self._parsing.body.finish()
        self._parsing = None

    # ------------------------------------------------------------ request cycles

    def _start_cycle(self, request: Request, rejected: tuple[int, str, str] | None) -> None:
        self._current = request
        self._sink = ResponseSink(self, request)
        self._cycle = self.loop.create_task(self._run_cycle(request, self._sink, rejected))

    async def _run_cycle(self, request: Request, sink: ResponseSink, rejected: tuple[int, str, str] | None) -> None:
        started = time.perf_counter()
        try:
            if rejected is not None or request.body.too_large:
                status, code, message = rejected or (413, "PAYLOAD_TOO_LARGE",
                                                     f"Request body larger than {self.limits.max_body_bytes} bytes")
                sink.close_after = True
                sink.send_error(status, code, message)
            else:
                await self.server.app(request, sink)
        except asyncio.CancelledError:
            if self.transport is None or not self.closing:
                return  # connection gone, or _body_too_large took over
            raise
        except Exception:
            log.exception("HTTP pipeline failed on %s %s", request.method, request.path)
            if not sink.started:
                sink.send_error(500, "INTERNAL_ERROR", "internal server error")
            else:
                sink.close_after = True
        if access_log.isEnabledFor(logging.DEBUG):
            access_log.debug('%s "%s %s" %d %dB %.2fms', request.client, request.method, request.path,
                             sink.status, sink.body_bytes, (time.perf_counter() - started) * 1000)
        self._cycle_done(request, sink)

    def _cycle_done(self, request: Request, sink: ResponseSink) -> None:
        self._cycle = None
        self._current = None
        self._sink = None
        if self.transport is None:
            return
        if not sink.finished:
            sink.close_after = True
        if sink.close_after or self.closing or request.body.too_large:
            self.transport.close()
            return
        if not request.body.complete:
            # The handler did not read all of the body: drop the rest as it arrives.
            if self._parsing is request:
                self._discard_body = True
            self._paused_for_body = False
        if self._queue:
            next_request, rejected = self._queue.popleft()
            self._set_reading()
            self._start_cycle(next_request, rejected)
            return
        self._set_reading()
        self._arm_idle_timer()

    def _body_too_large(self) -> None:
        """A body without (or lying about) a length crossed the limit mid-request."""
        sink = self._sink
        if self._cycle is not None:
            self._cycle.cancel()
            self._cycle = None
        if sink is not None and not sink.started:
            sink.close_after = True
            sink.send_error(413, "PAYLOAD_TOO_LARGE", f"Request body larger than {self.limits.max_body_bytes} bytes")
        if self.transport is not None:
            self.transport.close()

    def _protocol_error(self, status: int, code: str, message: str) -> None:
        if self.transport is None:
            return
        if self._cycle is None:
            body = (f'{{"error":{{"code":"{code}","message":"{message}"}}}}').encode()
            from pyiii.workers.http.sink import status_line

            head = (f"{status_line(status)}content-type: application/json\r\ncontent-length: {len(body)}\r\n"
                    "connection: close\r\n\r\n").encode()
            self.transport.write(head + body)
            self.transport.close()
        else:
            # Answer the request in flight first; then this connection ends.
            self.closing = True

    # ------------------------------------------------------------ helpers for the sink

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def drain(self) -> None:
        if self.transport is None:
            raise ConnectionError("client disconnected")
        if not self._write_paused:
            return
        if self._write_waiter is None:
            self._write_waiter = self.loop.create_future()
        await self._write_waiter

    def _body_drained(self) -> None:
        if self._paused_for_body:
            self._paused_for_body = False
            self._set_reading()

    def _set_reading(self) -> None:
        if self.transport is None:
            return
        want_pause = self._paused_for_body or bool(self._queue)
        if want_pause and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        elif not want_pause and self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()

    def _arm_idle_timer(self) -> None:
        # One timer per connection, re-armed only when it fires early: a keep-alive connection
        # does not pay a call_later + cancel per request.
        self._idle_since = self.loop.time()
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_at(self._idle_since + self.limits.keep_alive_timeout,
                                                 self._idle_timeout)

    def _cancel_idle_timer(self) -> None:
        self._idle_since = None

    def _stop_idle_timer(self) -> None:
        self._idle_since = None
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _idle_timeout(self) -> None:
        self._idle_timer = None
        since = self._idle_since
        if since is None:
            return  # busy; the next idle period arms it again
        deadline = since + self.limits.keep_alive_timeout
        if self.loop.time() < deadline:
            self._idle_timer = self.loop.call_at(deadline, self._idle_timeout)
            return
        if self._cycle is None and self._parsing is None and self.transport is not None:
            self.transport.close()

    def close_when_idle(self) -> None:
        self.closing = True
        if self._cycle is None and self._parsing is None and self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
