"""The ``websockets`` backend's connection: a thin wrapper over its asyncio connection.

Batching frames the posted messages with websockets' sans-I/O protocol object and writes them
at once (websockets_batch.py).
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.connection import Connection as WsConnection
from websockets.exceptions import ConnectionClosed as WsClosed
from websockets.protocol import State

from pyiii.wsio.connection import FLUSH_AT_BYTES, Connection
from pyiii.wsio.types import ABNORMAL_CLOSURE, ConnectionClosed, Request, fit_close_reason
from pyiii.wsio.websockets_batch import can_write_now, wait_writable, write_text_frames


def _closed(exc: WsClosed) -> ConnectionClosed:
    first = exc.rcvd if exc.rcvd_then_sent or exc.sent is None else exc.sent
    if first is None:
        return ConnectionClosed(ABNORMAL_CLOSURE)
    return ConnectionClosed(first.code, first.reason)


class WebsocketsConnection(Connection):
    def __init__(self, ws: WsConnection, request: Request, state: object = None) -> None:
        self.ws = ws
        self.request = request
        self.state = state
        self._outbox: list[bytes] = []
        self._outbox_bytes = 0

    async def recv(self, decode: bool = True) -> str | bytes:
        try:
            return await self.ws.recv(decode=None if decode else False)
        except WsClosed as exc:
            raise _closed(exc) from None

    async def send(self, message: str | bytes) -> None:
        self.flush()
        try:
            await self.ws.send(message)
        except WsClosed as exc:
            raise _closed(exc) from None

    async def send_text(self, payload: bytes) -> None:
        self.flush()
        try:
            await self.ws.send(payload, text=True)
        except WsClosed as exc:
            raise _closed(exc) from None

    def post_text(self, payload: bytes) -> None:
        if self.ws.protocol.state is not State.OPEN:
            raise self._closed_now()
        if not self._outbox:
            self.ws.loop.call_soon(self.flush)
            self._outbox_bytes = 0
        self._outbox.append(payload)
        self._outbox_bytes += len(payload)
        if self._outbox_bytes >= FLUSH_AT_BYTES:
            self.flush()

    def flush(self) -> None:
        frames, self._outbox = self._outbox, []
        # Closing (or a fragmented send half done): these cannot go out any more; the caller
        # learns of the close on its next read or send.
        if frames and can_write_now(self.ws):
            write_text_frames(self.ws, frames)

    async def wait_writable(self) -> None:
        try:
            await wait_writable(self.ws)
        except WsClosed as exc:
            raise _closed(exc) from None
        except Exception:
            raise self._closed_now() from None

    @property
    def write_paused(self) -> bool:
        return bool(self.ws.paused)

    @property
    def raw_transport(self) -> asyncio.Transport:
        return self.ws.transport

    @property
    def buffered_bytes(self) -> int:
        return int(self.ws.transport.get_write_buffer_size()) + (self._outbox_bytes if self._outbox else 0)

    @property
    def open(self) -> bool:
        return self.ws.protocol.state is State.OPEN

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.flush()
        await self.ws.close(code, fit_close_reason(reason))

    def abort(self) -> None:
        self.ws.transport.abort()

    async def wait_closed(self) -> None:
        await self.ws.wait_closed()

    def _closed_now(self) -> ConnectionClosed:
        return ConnectionClosed(self.close_code or ABNORMAL_CLOSURE, self.close_reason)

    def _first_close(self) -> tuple[int, str] | None:
        protocol = self.ws.protocol
        rcvd, sent = protocol.close_rcvd, protocol.close_sent
        first = rcvd if (rcvd is not None and (sent is None or protocol.close_rcvd_then_sent)) else sent
        return None if first is None else (first.code, first.reason)

    @property
    def close_code(self) -> int | None:
        if self.ws.protocol.state is State.OPEN:
            return None
        first = self._first_close()
        if first is None:
            return None if self.ws.protocol.state is not State.CLOSED else ABNORMAL_CLOSURE
        return first[0]

    @property
    def close_reason(self) -> str:
        first = self._first_close()
        return "" if first is None else first[1]
