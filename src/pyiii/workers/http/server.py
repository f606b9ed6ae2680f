"""An HTTP/1.1 server on asyncio Protocol + httptools (the parser uvicorn uses).

Keep-alive, pipelining (one request at a time per connection, in order), TCP_NODELAY, read
backpressure for request bodies, write backpressure for responses, protocol-level limits (URL,
head bytes, header count, body size, connections, how long a head or body may take) checked
while reading and answered with the JSON error envelope, and a draining shutdown.
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
from dataclasses import asdict, dataclass

import httptools

from pyiii.workers.http.body import BodyAborted, BodyError, BodyMalformed, BodyStream, BodyTimeout, BodyTooLarge
from pyiii.workers.http.request import Request
from pyiii.workers.http.sink import ResponseSink, raw_error

log = logging.getLogger("pyiii.http")
access_log = logging.getLogger("pyiii.http.access")

App = Callable[[Request, ResponseSink], Awaitable[None]]

#: After an error answer, input is read and dropped this long before the socket is closed.
LINGER_SECONDS = 1.0
#: ... but no more than this much of it: a client that goes on flooding is then left to the
#: socket buffers (reading paused), so an attacker cannot make the engine read at wire speed.
LINGER_MAX_BYTES = 1024 * 1024

#: Header names as sent -> their lower-case text: most requests repeat the same few names, and
#: a lookup is cheaper than decoding and lower-casing each. Bounded, so clients cannot grow it.
_HEADER_NAMES: dict[bytes, str] = {}
_HEADER_NAMES_MAX = 512
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}


@dataclass(slots=True)
class ServerLimits:
    max_body_bytes: int
    max_url_bytes: int
    max_headers: int
    keep_alive_timeout: float
    max_header_bytes: int = 64 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    body_min_rate: int = 500
    max_connections: int = 10_000


@dataclass(slots=True)
class ServerCounters:
    """What the edge refused since start (``iii-http::stats``)."""

    refused_connections: int = 0
    heads_too_large: int = 0
    header_timeouts: int = 0
    body_timeouts: int = 0
    malformed_requests: int = 0


class HttpServer:
    def __init__(self, app: App, limits: ServerLimits) -> None:
        self.app = app
        self.limits = limits
        self.connections: set[HttpConnection] = set()
        self.counters = ServerCounters()
        self.closing = False
        self._server: asyncio.AbstractServer | None = None
        self._all_closed = asyncio.Event()
        self._full = False

    def admit(self, conn: HttpConnection) -> bool:
        """Count a new connection in, or refuse it when the port is at ``max_connections``."""
        if len(self.connections) >= self.limits.max_connections:
            self.counters.refused_connections += 1
            if not self._full:
                self._full = True
                log.warning("iii-http: %d connections open (max_connections); refusing new ones",
                            len(self.connections))
            return False
        if self._full:
            self._full = False
            log.info("iii-http: accepting connections again")
        self.connections.add(conn)
        return True

    def forget(self, conn: HttpConnection) -> None:
        self.connections.discard(conn)
        if self.closing and not self.connections:
            self._all_closed.set()

    def stats(self) -> dict[str, int]:
        return {"connections": len(self.connections), "max_connections": self.limits.max_connections,
                **asdict(self.counters)}

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
    """One client connection.

    Every wait on the client has a deadline (one timer per connection, re-armed only when it
    fires early): an idle keep-alive connection gets ``keep_alive_timeout``; a request head
    ``header_timeout`` from its first byte, however the bytes trickle in; a body
    ``body_timeout`` plus a second per ``body_min_rate`` bytes. Nothing is asked of the client
    while its whole request is in and being answered, or while we paused reading (backpressure).
    """

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.client = ""
        self.closing = False
        #: The input can no longer be parsed (error answered, or refused): drop what still arrives.
        self._broken = False
        #: bytes dropped while lingering after an error answer (bounded by LINGER_MAX_BYTES)
        self._dropped = 0
        # Parsing state of the request being read.
        self._url = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self._parsing: Request | None = None
        self._rejected: tuple[int, str, str] | None = None
        self._discard_body = False
        #: Waiting for (or reading) a request head; its bytes so far and when the first came.
        self._in_head = True
        self._head_bytes = 0
        self._head_since = 0.0
        #: Body clock: bytes seen (kept or discarded), and the time and count the rate runs from.
        self._body_seen = 0
        self._body_base = 0
        self._body_since = 0.0
        # The request being answered, and those pipelined behind it.
        self._cycle: asyncio.Task[None] | None = None
        #: the client half-closed after whole requests: answer them, then close
        self._client_eof = False
        self._sink: ResponseSink | None = None
        self._current: Request | None = None
        self._queue: deque[tuple[Request, tuple[int, str, str] | None]] = deque()
        #: Written after the in-flight response, then the connection closes.
        self._final_error: tuple[int, str, str] | None = None
        self._paused_for_body = False
        self._reading_paused = False
        self._write_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        #: loop time the connection went idle (waiting for the next request)
        self._idle_since = 0.0

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses
        if not self.server.admit(self):
            self._broken = True
            self.write(raw_error(503, "TOO_MANY_CONNECTIONS",
                                 f"More than {self.limits.max_connections} connections open"))
            transport.close()
            return
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.client = f"{peer[0]}:{peer[1]}"
        self._idle_since = self.loop.time()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.forget(self)
        if self._parsing is not None:
            # A body cut short by the client: whoever reads it (a handler's request channel) gets
            # an error, never a hang and never a clean end.
            self._parsing.body.fail(BodyAborted("the client left before sending the whole body"))
            self._parsing = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._cycle is not None and not self._cycle.done():
            self._cycle.cancel()
        if self._write_waiter is not None and not self._write_waiter.done():
            self._write_waiter.set_exception(ConnectionError("client disconnected"))
        self.transport = None

    def eof_received(self) -> bool:
        """The client half-closed (``printf … | nc -N``). Requests it sent whole are still
        answered, then the connection closes; a request cut short is dropped with it."""
        if self._parsing is None and (self._cycle is not None or self._queue):
            self._client_eof = True
            return True  # keep the transport open for writing the answers
        return False

    def data_received(self, data: bytes | memoryview) -> None:
        if self._broken:  # lingering after an error answer: drop, within a budget
            self._dropped += len(data)
            if self._dropped > LINGER_MAX_BYTES and self.transport is not None and not self._reading_paused:
                self._reading_paused = True
                self.transport.pause_reading()
            return
        if self._in_head:
            # The head is counted in raw bytes before the parser sees them: httptools buffers a
            # header value whole before calling on_header, so counting there would be too late.
            if self._head_bytes == 0:
                self._head_since = self.loop.time()
            room = self.limits.max_header_bytes - self._head_bytes
            if len(data) > room:
                self._feed_bounded(memoryview(data), room)
                return
            self._head_bytes += len(data)
        self._feed(data)
        self._watch()

    def _feed_bounded(self, data: memoryview, room: int) -> None:
        """Feed no more head than the limit allows; the rest only if the head ended within it."""
        self._head_bytes += room
        self._feed(data[:room])
        if self._broken:
            return
        if self._in_head and self._head_bytes >= self.limits.max_header_bytes:
            self.server.counters.heads_too_large += 1
            self._fail(431, "HEADERS_TOO_LARGE", f"Request head larger than {self.limits.max_header_bytes} bytes")
            return
        self.data_received(data[room:])

    def _feed(self, data: bytes | memoryview) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._upgrade_refused()
        except httptools.HttpParserError as exc:
            if not self._broken:  # else a callback already failed the request and said why
                self.server.counters.malformed_requests += 1
                self._fail(400, "BAD_REQUEST", f"Malformed HTTP request: {exc}")
        if self._rejected is not None and not self._broken:
            # A limit crossed before the head was complete: answer now, not when it ends.
            status, code, message = self._rejected
            self._fail(status, code, message)

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
        self._in_head = False
        self._head_bytes = 0
        self._body_seen = self._body_base = 0
        self._body_since = self.loop.time()
        headers: dict[str, str] = {}
        names = _HEADER_NAMES
        for raw_name, raw_value in self._headers:
            name = names.get(raw_name)
            if name is None:
                name = raw_name.decode("latin-1").lower()
                if len(names) < _HEADER_NAMES_MAX:
                    names[raw_name] = name
            try:
                value = raw_value.decode("utf-8")
            except UnicodeDecodeError:
                value = ""
            headers[name] = value
        rejected, self._rejected = self._rejected, None
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
        raw_method = self.parser.get_method()
        method = _METHODS.get(raw_method) or raw_method.decode("ascii")
        request = Request(
            method=method,
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
            # A task, so the handler starts only after this read is parsed: a body whose framing
            # breaks in the same read fails the request before anything ran.
            self._start_cycle(request, rejected)
        else:
            self._queue.append((request, rejected))
            self._set_reading()

    def on_body(self, chunk: bytes) -> None:
        self._body_seen += len(chunk)
        request = self._parsing
        if request is None or self._discard_body:
            return
        body = request.body
        if body.received + len(chunk) > self.limits.max_body_bytes:
            self._fail(413, "PAYLOAD_TOO_LARGE", f"Request body larger than {self.limits.max_body_bytes} bytes",
                       BodyTooLarge)
            raise _StopParsing
        body.feed(chunk)
        if body.over_high_water and not self._paused_for_body:
            self._paused_for_body = True
            self._set_reading()

    def on_message_complete(self) -> None:
        if self._parsing is not None:
            self._parsing.body.finish()
        self._parsing = None
        self._in_head = True

    # ------------------------------------------------------------ request cycles

    def _start_cycle(self, request: Request, rejected: tuple[int, str, str] | None) -> None:
        self._current = request
        self._sink = ResponseSink(self, request)
        self._cycle = self.loop.create_task(self._run_cycle(request, self._sink, rejected))

    async def _run_cycle(self, request: Request, sink: ResponseSink, rejected: tuple[int, str, str] | None) -> None:
        started = time.perf_counter()
        try:
            failure = request.body.failure
            if failure is not None and rejected is None:
                rejected = (failure.status, failure.code, str(failure))
            if rejected is not None:
                sink.close_after = True
                sink.send_error(*rejected)
            else:
                await self.server.app(request, sink)
        except asyncio.CancelledError:
            if self.transport is None or not self.closing:
                return  # connection gone, or _abort_current took over
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
        if self._final_error is not None:
            self.write(raw_error(*self._final_error))
            self._close_softly()
            return
        if sink.close_after or self.closing or request.body.failure is not None:
            if self._parsing is not None:
                self._close_softly()  # its body is still arriving: do not reset the answer away
            else:
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
        if self._client_eof:
            self.transport.close()
            return
        self._set_reading()
        self._idle_since = self.loop.time()
        self._watch()

    def _fail(self, status: int, code: str, message: str, body_error: type[BodyError] = BodyMalformed) -> None:
        """The input cannot go on: answer ``status`` (now, or after the response in flight) and close.

        A request whose body broke fails its body stream, so no reader takes a truncated body for
        a whole one; if it is the one being answered, its handler is cancelled (or never starts)."""
        if self.transport is None or self._broken:
            return
        self._broken = True
        self._in_head = False
        request, self._parsing = self._parsing, None
        if request is not None:
            request.body.fail(body_error(message))
            if request is self._current:
                self._abort_current(status, code, message)
                return
            if not any(queued is request for queued, _ in self._queue):
                self._close_softly()  # it was answered already; nothing more to say
                return
        if self._cycle is None:
            self.write(raw_error(status, code, message))
            self._close_softly()
        else:
            # Answer the request in flight first; then this connection ends.
            self.closing = True
            self._final_error = (status, code, message)

    def _abort_current(self, status: int, code: str, message: str) -> None:
        sink = self._sink
        if self._cycle is not None:
            self._cycle.cancel()
        self._cycle = self._current = self._sink = None
        if sink is not None and not sink.started:
            sink.close_after = True
            sink.send_error(status, code, message)
        self._close_softly()

    def _upgrade_refused(self) -> None:
        self._broken = True
        if self._cycle is None:
            self.write(raw_error(400, "BAD_REQUEST", "Protocol upgrades are not supported here"))
            self._close_softly()
        else:
            self.closing = True  # the upgrade request itself is answered normally, then we close

    def _close_softly(self) -> None:
        """Close after an error answer without losing it: closing a socket that still has unread
        input resets the connection, and the client may never read the answer. So stop writing,
        drop what still arrives for a moment, then close."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self._broken = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, transport.close)

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
        if self.transport is None or self._broken:
            return
        want_pause = self._paused_for_body or bool(self._queue)
        if want_pause and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        elif not want_pause and self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()
            # The client could not send while we did not read: its clocks start again.
            self._body_since = self._head_since = self.loop.time()
            self._body_base = self._body_seen
            self._watch()

    # ------------------------------------------------------------ deadlines

    def _deadline(self) -> float | None:
        """When the client must have sent what we wait for now; None when we wait on nothing."""
        limits = self.limits
        if self._reading_paused:
            return None  # we stopped reading, not the client
        if self._parsing is not None:  # a body is arriving
            earned = (self._body_seen - self._body_base) / limits.body_min_rate if limits.body_min_rate else 0.0
            return self._body_since + limits.body_timeout + earned
        if self._in_head and self._head_bytes:
            return self._head_since + limits.header_timeout
        if self._cycle is None and self._in_head:
            return self._idle_since + limits.keep_alive_timeout
        return None  # answering; the pipeline has its own deadline

    def _watch(self) -> None:
        """Make sure the timer fires no later than the current deadline."""
        deadline = self._deadline()
        if deadline is None or self._broken:
            return
        if self._timer is not None:
            if self._timer_at <= deadline:
                return  # it fires first and re-arms itself
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.transport is None or self._broken:
            return
        deadline = self._deadline()
        if deadline is None:
            return  # busy; the next wait on the client arms it again
        if self.loop.time() < deadline:
            self._timer_at = deadline
            self._timer = self.loop.call_at(deadline, self._on_timer)
            return
        counters = self.server.counters
        if self._parsing is not None:
            counters.body_timeouts += 1
            self._fail(408, "REQUEST_TIMEOUT", "Request body not received in time", BodyTimeout)
        elif self._in_head and self._head_bytes:
            counters.header_timeouts += 1
            self._fail(408, "REQUEST_TIMEOUT", f"Request head not received within {self.limits.header_timeout} s")
        else:
            self.transport.close()  # idle keep-alive connection

    def close_when_idle(self) -> None:
        self.closing = True
        if self._cycle is None and self._parsing is None and self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class _StopParsing(Exception):
    """Raised from a parser callback once the request failed: the parser must not go on."""
