"""The picows backend's connection: a picows listener turned into an awaitable connection.

picows hands us frames from C; here they become messages (fragments reassembled up to
``max_message_bytes``, larger ones refused with 1009), a bounded queue (reading pauses when it
is full: TCP backpressure to the sender) and the close handshake.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, cast

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from pyiii.wsio.connection import FLUSH_AT_BYTES, Connection, every_message
from pyiii.wsio.corking import CorkingTransport
from pyiii.wsio.inline import Suspended, first_step, rest_of
from pyiii.wsio.types import (
    ABNORMAL_CLOSURE,
    MESSAGE_TOO_BIG,
    ConnectionClosed,
    Options,
    Request,
    fit_close_reason,
)

PROTOCOL_ERROR = 1002
INVALID_TEXT = 1007
# Read on every frame: module constants, not enum attribute lookups.
_TEXT, _BINARY, _CONTINUATION, _CLOSE = WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION, WSMsgType.CLOSE

#: True while a handler runs inside the socket callback for a message that was the last one of
#: its read: the first frame it posts is written at once (see ``post_text``).
_lone_message = False


class PicowsConnection(WSListener, Connection):
    def __init__(self, request: Request, state: object, options: Options, cork: CorkingTransport,
                 on_open: Callable[[PicowsConnection], None] | None = None) -> None:
        super().__init__()
        self.request = request
        self.state = state
        self._options = options
        self._cork = cork
        self._on_open = on_open
        self._loop = asyncio.get_running_loop()
        self._ws: WSTransport | None = None
        self._messages: deque[tuple[bytes, bool]] = deque()
        self._reader: asyncio.Future[None] | None = None
        self._parts: list[bytes] | None = None
        self._parts_text = False
        self._parts_size = 0
        self._reading_paused = False
        self._writing_paused = False
        self._drainers: list[asyncio.Future[None]] = []
        self._close_received = False
        self._gone: asyncio.Future[None] = self._loop.create_future()
        self._flush_scheduled = False
        self._posted_bytes = 0
        self._abort_timer: asyncio.TimerHandle | None = None
        # serve(): its handler, task and context; a handler that stopped at an await in the
        # socket callback, or failed there, for the serving task to take over.
        self._handler: Callable[[bytes], Coroutine[Any, Any, None]] | None = None
        self._inline: Callable[[bytes], bool] | None = None
        self._server_task: asyncio.Task[Any] | None = None
        self._context = contextvars.Context()
        self._suspended: Suspended | None = None
        self._failure: BaseException | None = None

    # ------------------------------------------------------------------ picows callbacks

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._ws = transport
        if self._on_open is not None:
            self._on_open(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if transport.is_close_frame_sent and kind != _CLOSE:
            # Closing: nothing more is delivered. This also drops the rest of a frame picows
            # refused as too big (it sends 1009 but goes on parsing that frame).
            return
        if kind == _TEXT or kind == _BINARY:
            if self._parts is not None:
                self._fail(PROTOCOL_ERROR, "new message before the previous one finished")
            elif frame.fin:
                global _lone_message
                _lone_message = bool(frame.last_in_buffer)
                try:
                    self._deliver(frame.get_payload_as_bytes(), kind == _TEXT)
                finally:
                    _lone_message = False
            else:
                self._parts, self._parts_text, self._parts_size = [], kind == _TEXT, 0
                self._add_part(frame)
        elif kind == _CONTINUATION:
            if self._parts is None:
                self._fail(PROTOCOL_ERROR, "continuation frame without a message")
            else:
                self._add_part(frame)
        elif kind == _CLOSE:
            self._close_received = True
            self.flush()
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
            self._wake_reader()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self._abort_timer is not None:
            self._abort_timer.cancel()
        if not self._gone.done():
            self._gone.set_result(None)
        self._wake_reader()
        self._wake_drainers()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drainers()

    # ------------------------------------------------------------------ receiving

    def _add_part(self, frame: WSFrame) -> None:
        assert self._parts is not None
        self._parts_size += frame.payload_size
        if self._parts_size > self._options.max_message_bytes:
            self._parts = None
            self._fail(MESSAGE_TOO_BIG, f"message over {self._options.max_message_bytes} bytes")
            return
        self._parts.append(frame.get_payload_as_bytes())
        if frame.fin:
            parts, self._parts = self._parts, None
            self._deliver(b"".join(parts), self._parts_text)

    def _deliver(self, payload: bytes, text: bool) -> None:
        reader = self._reader
        inline = self._inline
        if (inline is not None and not self._messages and reader is not None and not reader.done()
                and (inline is every_message or inline(payload))):
            self._handle_now(payload)  # serve() waits for this message: no queue, no task switch
            return
        self._messages.append((payload, text))
        self._wake_reader()
        if len(self._messages) >= self._options.max_queue and not self._reading_paused:
            self._reading_paused = True
            self._cork.real.pause_reading()

    def _wake_reader(self) -> None:
        reader = self._reader
        if reader is not None and not reader.done():
            reader.set_result(None)

    def _handle_now(self, payload: bytes) -> None:
        assert self._handler is not None and self._server_task is not None
        try:
            self._suspended = first_step(self._context, self._loop, self._server_task, self._handler(payload))
        except BaseException as exc:  # raised by serve(), in its task, as if it had run there
            self._failure = exc
            self._wake_reader()
            return
        if self._suspended is not None:
            self._wake_reader()

    async def serve(
        self,
        handler: Callable[[bytes], Coroutine[Any, Any, None]],
        inline: Callable[[bytes], bool] | None = None,
    ) -> None:
        self._handler, self._inline, self._server_task = handler, inline, asyncio.current_task()
        self._context = contextvars.copy_context()
        messages = self._messages
        try:
            while True:
                if self._suspended is not None:
                    suspended, self._suspended = self._suspended, None
                    await rest_of(self._context, suspended)
                elif self._failure is not None:
                    failure, self._failure = self._failure, None
                    raise failure
                elif messages:
                    await rest_of(self._context, handler(self._pop()[0]))
                elif self._close_received or self._gone.done():
                    raise self._closed_error()
                else:
                    self._reader = self._loop.create_future()
                    try:
                        await self._reader
                    except asyncio.CancelledError as cancelled:
                        if self._suspended is None:
                            raise
                        # Cancelled between a handler's first step and its take-over: the
                        # cancellation is that handler's (wsio/inline.py).
                        suspended, self._suspended = self._suspended, None
                        await rest_of(self._context, suspended, cancelled)
        finally:
            self._handler = self._inline = self._server_task = None

    def _pop(self) -> tuple[bytes, bool]:
        messages = self._messages
        message = messages.popleft()
        if self._reading_paused and len(messages) <= self._options.max_queue // 2:
            self._reading_paused = False
            if not self._gone.done():
                self._cork.real.resume_reading()
        return message

    async def recv(self, decode: bool = True) -> str | bytes:
        messages = self._messages
        while not messages:
            if self._close_received or self._gone.done():
                raise self._closed_error()
            self._reader = self._loop.create_future()
            await self._reader
        payload, text = self._pop()
        if text and decode:
            try:
                return payload.decode()
            except UnicodeDecodeError:
                self._fail(INVALID_TEXT, "invalid UTF-8 in a text message")
                raise ConnectionClosed(INVALID_TEXT, "invalid UTF-8 in a text message") from None
        return payload

    # ------------------------------------------------------------------ sending

    def _writer(self) -> WSTransport:
        ws = self._ws
        if ws is None or ws.is_close_frame_sent or self._close_received or self._gone.done():
            raise self._closed_error()
        return ws

    async def send(self, message: str | bytes) -> None:
        ws = self._writer()
        self.flush()
        ws.send(WSMsgType.TEXT if isinstance(message, str) else WSMsgType.BINARY, message)
        await self.wait_writable()

    async def send_text(self, payload: bytes) -> None:
        ws = self._writer()
        self.flush()
        ws.send(WSMsgType.TEXT, payload)
        await self.wait_writable()

    def post_text(self, payload: bytes) -> None:
        ws = self._ws
        if ws is None or ws.is_close_frame_sent or self._close_received or self._gone.done():
            raise self._closed_error()  # what _writer() checks, inline: once per frame sent
        global _lone_message
        if _lone_message and not self._flush_scheduled:
            # Nothing else arrived with the message being handled, so nothing else is likely to
            # leave with this frame in this loop turn: write it now, as a relay does, instead of
            # holding it to the end of the turn (a loop iteration and a callback later). Frames
            # after it (or posted while frames keep arriving) are batched as usual.
            _lone_message = False
            ws.send(_TEXT, payload)
            return
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._posted_bytes = 0
            self._cork.cork()
            self._loop.call_soon(self.flush)
        if ws.is_client_side:
            ws.send(_TEXT, payload)  # a client masks its frames: picows does that
        else:
            self._cork.hold_text(payload)
        self._posted_bytes += len(payload)
        if self._posted_bytes >= FLUSH_AT_BYTES:
            self.flush()

    def write_text(self, payload: bytes) -> None:
        ws = self._ws  # _writer(), inlined: a fan-out calls this once per subscriber
        if ws is None or ws.is_close_frame_sent or self._close_received or self._gone.done():
            raise self._closed_error()
        if self._flush_scheduled:
            self.flush()
        ws.send(_TEXT, payload)  # straight to the socket: no cork, no end-of-turn callback

    def flush(self) -> None:
        if self._flush_scheduled:
            self._flush_scheduled = False
            self._cork.uncork()

    async def wait_writable(self) -> None:
        while self._writing_paused:
            if self._gone.done():
                raise self._closed_error()
            waiter = self._loop.create_future()
            self._drainers.append(waiter)
            await waiter
        if self._gone.done():
            raise self._closed_error()

    def _wake_drainers(self) -> None:
        drainers, self._drainers = self._drainers, []
        for waiter in drainers:
            if not waiter.done():
                waiter.set_result(None)

    @property
    def write_paused(self) -> bool:
        return self._writing_paused

    @property
    def raw_transport(self) -> asyncio.Transport:
        return self._cork.real

    @property
    def buffered_bytes(self) -> int:
        return int(self._cork.real.get_write_buffer_size()) + self._cork.held_bytes

    # ------------------------------------------------------------------ closing

    @property
    def open(self) -> bool:
        ws = self._ws
        return ws is not None and not ws.is_close_frame_sent and not self._close_received and not self._gone.done()

    def _fail(self, code: int, reason: str) -> None:
        """Close because of what the peer sent; abort if it does not answer in time."""
        ws = self._ws
        if ws is None or self._gone.done():
            return
        self.flush()
        if not ws.is_close_frame_sent:
            ws.send_close(WSCloseCode(code), fit_close_reason(reason).encode())
        if self._abort_timer is None:
            self._abort_timer = self._loop.call_later(self._options.close_timeout_s, self.abort)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        ws = self._ws
        if self._gone.done():
            return
        if ws is None:
            self.abort()
            return
        self.flush()
        if not ws.is_close_frame_sent:
            ws.send_close(WSCloseCode(code), fit_close_reason(reason).encode())
        if self._close_received:
            ws.disconnect()
        try:
            await asyncio.wait_for(asyncio.shield(self._gone), self._options.close_timeout_s)
        except TimeoutError:
            self.abort()
            await asyncio.shield(self._gone)

    def abort(self) -> None:
        if self._ws is not None:
            self._ws.disconnect(False)
        else:
            self._cork.real.abort()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._gone)

    def _first_close(self) -> tuple[int, str] | None:
        handshake = self._ws.close_handshake if self._ws is not None else None
        if handshake is None:
            return None
        first = handshake.recv if (handshake.recv_then_sent or handshake.sent is None) else handshake.sent
        return None if first is None else (int(cast(Any, first.code)), first.reason)

    @property
    def close_code(self) -> int | None:
        if self.open:
            return None
        first = self._first_close()
        if first is None:
            return ABNORMAL_CLOSURE if self._gone.done() else None
        return first[0]

    @property
    def close_reason(self) -> str:
        first = self._first_close()
        return "" if first is None else first[1]

    def _closed_error(self) -> ConnectionClosed:
        first = self._first_close()
        return ConnectionClosed(ABNORMAL_CLOSURE) if first is None else ConnectionClosed(*first)
