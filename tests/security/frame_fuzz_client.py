"""One fuzzing WebSocket connection: writes generated frames in batches over a raw socket, serves
calls to its own ``echo`` function, and counts every answer the engine owes it."""

from __future__ import annotations

import asyncio
import struct
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import msgspec

from tests.support.fuzz_frames import FuzzFrame
from tests.support.wsraw import frame, read_frame, upgrade


class _Incoming(msgspec.Struct):
    """The fields the client acts on; payloads stay raw (they may hold 1E400 or 5,000-digit
    integers the fuzz itself sent, which the engine passes through untouched)."""

    type: str = ""
    invocation_id: Any = None
    function_id: Any = None
    data: msgspec.Raw = msgspec.Raw(b"null")


_decode = msgspec.json.Decoder(_Incoming).decode
_encode = msgspec.json.Encoder().encode


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


class EngineClosed(AssertionError):
    """The engine closed a connection that only sent well-framed messages under the size limit."""


class FuzzConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.answers: Counter[str] = Counter()  # invocation id -> invocationresults received
        self.owed: dict[str, str] = {}  # invocation id -> kind of the frame that owes it
        self.owed_count: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.sent = 0
        self.closed: str | None = None
        self.last_kind = ""
        #: Text frames from the engine that were not UTF-8 (a strict client would drop the connection).
        self.invalid_text: list[bytes] = []
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._sync = 0
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, port: int, echo: str) -> FuzzConnection:
        reader, writer = await upgrade(port)
        conn = cls(reader, writer)
        _, first = await asyncio.wait_for(read_frame(reader), 10)
        assert _decode(first).type == "workerregistered", first[:100]
        conn._task = asyncio.ensure_future(conn._read())
        conn._send(_encode({"type": "registerfunction", "id": echo}))
        return conn

    def _send(self, payload: bytes, binary: bool = False) -> None:
        self.writer.write(frame(0x2 if binary else 0x1, payload))

    async def _read(self) -> None:
        try:
            while True:
                opcode, body = await read_frame(self.reader)
                if opcode == 0x8:
                    code = struct.unpack("!H", body[:2])[0] if len(body) >= 2 else None
                    self.closed = f"close frame {code} {body[2:]!r}"
                    return
                if opcode == 0x9:
                    self.writer.write(frame(0xA, body))
                if opcode == 0x1 and not _is_utf8(body):
                    # RFC 6455 §8.1: a strict client (websockets, the SDKs) fails the connection.
                    self.invalid_text.append(body[:120])
                    continue
                if opcode in (0x1, 0x2):
                    self._on_message(_decode(body))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.closed = f"EOF ({type(exc).__name__})"
        except Exception as exc:  # a frame we could not read is a finding too: report it
            self.closed = f"unreadable frame from the engine: {type(exc).__name__}: {exc}"
        finally:
            for waiter in self._waiters.values():
                if not waiter.done():
                    waiter.set_exception(EngineClosed(self.closed or "closed"))

    def _on_message(self, msg: _Incoming) -> None:
        if msg.type == "invocationresult":
            inv = str(msg.invocation_id)
            self.answers[inv] += 1
            waiter = self._waiters.pop(inv, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif msg.type == "invokefunction" and msg.invocation_id:
            # A call to our echo function: answer like any worker would, with the data it got.
            self._send(_encode({"type": "invocationresult", "invocation_id": msg.invocation_id,
                                "function_id": msg.function_id or "", "result": msg.data}))

    async def run(self, frames: Iterator[FuzzFrame], n: int, batch: int, sync_timeout: float) -> None:
        """Send ``n`` frames, ``batch`` at a time; after each batch a sync call (an invoke of a
        missing function) must be answered within ``sync_timeout``: the engine keeps up."""
        left = n
        while left > 0:
            for fz in (next(frames) for _ in range(min(batch, left))):
                self.kinds[fz.kind] += 1
                self.last_kind = fz.kind
                if fz.answer is not None:
                    self.owed[fz.answer] = fz.kind
                    self.owed_count[fz.answer] += 1
                self._send(fz.payload, fz.binary)
            left -= batch
            await self.sync(sync_timeout)
            self.sent = n - max(left, 0)

    async def sync(self, timeout: float) -> float:
        """Round trip of one call through everything sent so far; returns its duration."""
        if self.closed:
            raise EngineClosed(f"{self.closed} after a {self.last_kind} frame")
        self._sync += 1
        inv = f"sync-{id(self)}-{self._sync}"
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[inv] = waiter
        started = time.monotonic()
        self._send(_encode({"type": "invokefunction", "invocation_id": inv, "function_id": "fz::sync", "data": {}}))
        await self.writer.drain()
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise AssertionError(f"engine did not answer a call within {timeout}s "
                                 f"(last fuzz frame: {self.last_kind})") from None
        return time.monotonic() - started

    def unanswered(self) -> Counter[str]:
        """Kinds of frames whose owed answer has not (or not as often) arrived."""
        missing: Counter[str] = Counter()
        for inv, n in self.owed_count.items():
            if self.answers[inv] < n:
                missing[self.owed[inv]] += n - self.answers[inv]
        return missing

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.writer.close()
