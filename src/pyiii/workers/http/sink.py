"""Writing one response on a connection: buffered in one write, or streamed chunk by chunk."""

from __future__ import annotations

from http import HTTPStatus
from typing import Protocol

import orjson

from pyiii.workers.http.request import Request

Headers = list[tuple[str, str]]

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_JSON = ("content-type", "application/json")


_STATUS_LINES = {code: f"HTTP/1.1 {code} {phrase}\r\n" for code, phrase in _REASONS.items()}


def status_line(status: int) -> str:
    line = _STATUS_LINES.get(status)
    return line if line is not None else f"HTTP/1.1 {status} Unknown\r\n"


def error_body(code: str, message: str, error_id: str | None = None, **extra: object) -> bytes:
    error: dict[str, str] = {"code": code, "message": message}
    if error_id is not None:
        error["error_id"] = error_id
    return orjson.dumps({"error": error, **extra})


def raw_error(status: int, code: str, message: str) -> bytes:
    """A whole error response that closes the connection, for when no request can carry it."""
    body = error_body(code, message)
    return (f"{status_line(status)}content-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode() + body


class Connection(Protocol):
    """What a sink needs of the connection it writes on (``server.HttpConnection``; the server
    imports this module, never the other way round)."""

    closing: bool

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...


class ResponseSink:
    __slots__ = ("_chunked", "_conn", "_head_only", "body_bytes", "close_after", "extra_headers", "finished",
                 "request", "started", "status")

    def __init__(self, conn: Connection, request: Request) -> None:
        self._conn = conn
        self.request = request
        self._head_only = request.method == "HEAD"
        self._chunked = False
        self.started = False
        self.finished = False
        self.status = 0
        self.body_bytes = 0
        #: Set when the connection must close after this response.
        self.close_after = not request.keep_alive
        #: Headers every response of this request carries (CORS).
        self.extra_headers: Headers = []

    def _head(self, status: int, headers: Headers, framing: str) -> bytes:
        parts = [status_line(status)]
        for name, value in headers:
            parts += (name, ": ", value, "\r\n")
        for name, value in self.extra_headers:
            parts += (name, ": ", value, "\r\n")
        parts.append(framing)
        if self.close_after or self._conn.closing:
            self.close_after = True
            parts.append("connection: close\r\n\r\n")
        elif self.request.http_version == "1.0":
            parts.append("connection: keep-alive\r\n\r\n")
        else:
            parts.append("\r\n")
        return "".join(parts).encode("utf-8")

    def send(self, status: int, headers: Headers, body: bytes) -> None:
        """A whole response at once. ``headers`` must not carry framing headers."""
        assert not self.started
        self.started = self.finished = True
        self.status = status
        head = self._head(status, headers, f"content-length: {len(body)}\r\n")
        self.body_bytes = len(body)
        self._conn.write(head if self._head_only or not body else head + body)

    def send_json(self, status: int, body: bytes, headers: Headers | None = None) -> None:
        self.send(status, [_JSON, *(headers or ())], body)

    def send_error(self, status: int, code: str, message: str, error_id: str | None = None,
                   headers: Headers | None = None, **extra: object) -> None:
        self.send_json(status, error_body(code, message, error_id, **extra), headers)

    def start(self, status: int, headers: Headers) -> None:
        """Begin a streamed body: chunked on HTTP/1.1, delimited by close on HTTP/1.0."""
        assert not self.started
        self.started = True
        self.status = status
        if self.request.http_version == "1.0":
            self.close_after = True
            framing = ""
        else:
            self._chunked = True
            framing = "transfer-encoding: chunked\r\n"
        self._conn.write(self._head(status, headers, framing))

    async def write(self, chunk: bytes) -> None:
        if not chunk or self._head_only:
            return
        self.body_bytes += len(chunk)
        if self._chunked:
            self._conn.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        else:
            self._conn.write(chunk)
        await self._conn.drain()

    def end(self) -> None:
        if self.finished:
            return
        self.finished = True
        if self._chunked and not self._head_only:
            self._conn.write(b"0\r\n\r\n")
