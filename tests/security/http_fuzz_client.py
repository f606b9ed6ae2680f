"""Play one generated HTTP case over a raw socket and judge what came back."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from dataclasses import dataclass

from tests.support.fuzz_http import HttpCase


@dataclass
class Outcome:
    statuses: list[int]
    seconds: float
    #: Still open (no EOF) when the bound ran out: a hang.
    hung: bool = False


async def _read_response(reader: asyncio.StreamReader) -> int | None:
    """One response (head and body); its status, or None at EOF/reset before a full head."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    try:
        if "content-length" in headers:
            await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the status is what we judge
    return status


async def play(port: int, case: HttpCase, bound: float) -> Outcome:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    statuses: list[int] = []
    try:
        try:
            for chunk in case.chunks:
                writer.write(chunk)
                await writer.drain()
            if case.abort:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()  # RST: the client vanished mid-request
                return Outcome([], time.monotonic() - started)
            if case.half_close:
                writer.write_eof()
        except OSError:
            pass  # the server refused early (e.g. 413 before the body); read what it said
        try:
            async with asyncio.timeout(bound):
                while (status := await _read_response(reader)) is not None:
                    statuses.append(status)
        except TimeoutError:
            return Outcome(statuses, time.monotonic() - started, hung=True)
        return Outcome(statuses, time.monotonic() - started)
    finally:
        writer.close()


def judge(case: HttpCase, out: Outcome, bound: float) -> str | None:
    """What is wrong with the outcome, or None."""
    if out.hung:
        return f"no answer or close within {bound}s (got {out.statuses})"
    if case.abort:
        return None
    if any(s >= 500 and s not in case.allow for s in out.statuses):
        return f"5xx: {out.statuses}"
    lead, rest = out.statuses[: case.ok], out.statuses[case.ok :]
    if len(lead) < case.ok or any(not 200 <= s < 300 for s in lead):
        return f"expected {case.ok} 2xx first, got {out.statuses}"
    if case.then == "none" and rest:
        return f"unexpected extra responses {rest}"
    if case.then == "reject" and any(not 400 <= s < 500 and s not in case.allow for s in rest):
        return f"expected a 4xx or a close, got {out.statuses}"
    return None
