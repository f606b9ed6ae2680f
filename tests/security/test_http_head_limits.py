"""Oversized request heads on iii-http: the head is counted in bytes as it arrives and refused
with 431 as soon as it passes ``max_header_bytes``, before the engine buffers it (issue #16 item
1: one 200 MB header was answered 200 OK, the engine's RSS peaked at 1,158 MB and /healthz took
6.1 s meanwhile)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import pytest

from tests.security.http_edge import Answer, Edge, exchange, http_engine, read_until_closed

LIMIT = 8192


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    with http_engine(tmp_path_factory.mktemp("head"), {"max_header_bytes": LIMIT, "header_timeout": 30}) as e:
        yield e


def head_of(size: int) -> bytes:
    """A GET whose whole head (request line to the blank line) is exactly ``size`` bytes."""
    start, end = b"GET /nowhere HTTP/1.1\r\nHost: edge\r\nConnection: close\r\nX-Pad: ", b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


async def flood(port: int, header_bytes: int, piece: int, pause: float) -> tuple[Answer, int]:
    """Send a head with one ``header_bytes`` header in ``piece``-byte writes while reading what
    comes back; stop sending once the server answered. Returns the answer and bytes sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    sent = 0

    async def send() -> None:
        nonlocal sent
        writer.write(b"GET /nowhere HTTP/1.1\r\nHost: edge\r\nX-Big: ")
        filler = b"a" * piece
        with contextlib.suppress(ConnectionError):
            while sent < header_bytes:
                writer.write(filler)
                await writer.drain()
                sent += piece
                if pause:
                    await asyncio.sleep(pause)
            writer.write(b"\r\n\r\n")
            await writer.drain()

    sending = asyncio.ensure_future(send())
    try:
        answer = await read_until_closed(reader, started, timeout=20.0)
    finally:
        sending.cancel()
        writer.close()
    return answer, sent


async def test_a_head_at_the_limit_is_served_and_one_byte_more_gets_431(edge: Edge) -> None:
    assert (await exchange(edge.http_port, head_of(LIMIT), ask_close=False)).status == 404
    answer = await exchange(edge.http_port, head_of(LIMIT + 1), ask_close=False)
    assert answer.status == 431 and b'"code":"HEADERS_TOO_LARGE"' in answer.raw, answer.raw
    assert answer.closed


async def test_pipelined_heads_each_get_the_whole_limit(edge: Edge) -> None:
    keep = head_of(LIMIT - 1).replace(b"Connection: close", b"Connection: keep")
    answer = await exchange(edge.http_port, keep * 3 + head_of(LIMIT), ask_close=False)
    assert answer.raw.count(b"HTTP/1.1 404") == 4, answer.raw[:200]


async def test_a_huge_header_gets_431_at_once_and_is_never_buffered(edge: Edge) -> None:
    hwm_before = edge.rss_mb("VmHWM")
    answer, sent = await flood(edge.http_port, 256 * 1024 * 1024, 1 << 20, 0.0)
    assert answer.status == 431, answer.raw[:200]
    assert answer.elapsed < 5.0, answer.elapsed
    # A few socket buffers' worth went out before the answer, not the 256 MB.
    assert sent < 64 * 1024 * 1024, sent
    assert edge.rss_mb("VmHWM") - hwm_before < 16, "the engine's peak RSS grew with the header"


async def test_a_many_mb_header_sent_slowly_is_cut_at_the_limit(edge: Edge) -> None:
    answer, sent = await flood(edge.http_port, 8 * 1024 * 1024, 1024, 0.002)
    assert answer.status == 431, answer.raw[:200]
    assert sent < 16 * LIMIT, sent  # answered once the limit passed, not after the 8 MB
