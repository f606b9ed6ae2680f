"""WebSocket by hand (RFC 6455) for tests that must send what no client library would: any
opcode, unmasked or fragmented frames, lying lengths, thousands of frames without per-frame cost."""

from __future__ import annotations

import asyncio
import base64
import os
import struct


async def upgrade(port: int, path: str = "/") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection and complete the WebSocket handshake; the 101 head is consumed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        writer.close()
        raise ConnectionError(f"upgrade refused: {head[:40]!r}")
    return reader, writer


def _mask(payload: bytes, key: bytes) -> bytes:
    # One big-int XOR instead of a per-byte loop: masking 100k frames stays cheap.
    n = len(payload)
    if not n:
        return b""
    keystream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keystream, "big")).to_bytes(n, "big")


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True, length: int | None = None) -> bytes:
    """One frame as a client sends it; ``length`` may lie about the payload size."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 1 << 16:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _mask(payload, key)


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Next server frame as (opcode, payload); raises IncompleteReadError at EOF."""
    head = await reader.readexactly(2)
    n = head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    return head[0] & 0x0F, await reader.readexactly(n)


async def close_code(reader: asyncio.StreamReader, timeout: float = 5.0) -> int | None:
    """Read until the server's close frame (returns its code) or EOF (None)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                opcode, body = await read_frame(reader)
            except asyncio.IncompleteReadError:
                return None
            if opcode == 0x8:
                return struct.unpack("!H", body[:2])[0] if len(body) >= 2 else None
