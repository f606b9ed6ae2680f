"""A hand-written WebSocket client over a plain TCP stream: sends what the wsio clients never
would (fragments, oversized messages, silence to pings) and reads frames as they are."""

from __future__ import annotations

import asyncio
import base64
import os
import struct

TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A masked client frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (size // 4 + 1))[:size], "big")).to_bytes(
        size, "big") if size else b""
    return head + mask + masked


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int, head: str) -> None:
        self.reader = reader
        self.writer = writer
        self.status = status
        self.head = head

    @classmethod
    async def open(cls, port: int, path: str = "/", headers: dict[str, str] | None = None,
                   upgrade: bool = True) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        if upgrade:
            key = base64.b64encode(os.urandom(16)).decode()
            lines += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                      "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        return cls(reader, writer, int(head.split(" ", 2)[1]), head)

    async def body(self) -> bytes:
        return await self.reader.read()

    def send(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        self.writer.write(frame(opcode, payload, fin))

    async def read_frame(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return first & 0x0F, await self.reader.readexactly(size)

    async def read_until(self, opcode: int) -> bytes:
        """Skip other frames (pings) until one of ``opcode``."""
        while True:
            kind, payload = await self.read_frame()
            if kind == opcode:
                return payload

    def close(self) -> None:
        self.writer.close()
