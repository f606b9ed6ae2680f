"""Slow clients on iii-http: a head must arrive within ``header_timeout`` of its first byte, a body
at ``body_min_rate`` after ``body_timeout``, and the port holds at most ``max_connections``
(issue #16 item 2: the idle timer restarted on every byte and there was no cap; one byte every
2 s kept 20/20 connections open 60 s)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.security.http_edge import (
    Answer,
    CountingRoute,
    Edge,
    call,
    counting_route,
    exchange,
    http_engine,
    post,
    read_until_closed,
)
from tests.support.waiting import eventually

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 0.6
BODY_MIN_RATE = 1000
MAX_CONNECTIONS = 12


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    config = {"header_timeout": HEADER_TIMEOUT, "body_timeout": BODY_TIMEOUT, "body_min_rate": BODY_MIN_RATE,
              "max_connections": MAX_CONNECTIONS, "keep_alive_timeout": 30, "default_timeout": 5000}
    with http_engine(tmp_path_factory.mktemp("slowloris"), config) as e:
        yield e


@pytest.fixture
async def route(edge: Edge) -> AsyncIterator[CountingRoute]:
    async with counting_route(edge) as r:
        yield r


async def trickle(port: int, first: bytes, drip: bytes, interval: float, cap: float) -> Answer:
    """Send ``first``, then ``drip`` every ``interval`` s until the server answers or closes
    (or ``cap`` s pass). The answer's ``elapsed`` counts from the first byte."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()

    async def drip_forever() -> None:
        writer.write(first)
        with contextlib.suppress(ConnectionError):
            while True:
                await asyncio.sleep(interval)
                writer.write(drip)
                await writer.drain()

    dripping = asyncio.ensure_future(drip_forever())
    try:
        return await read_until_closed(reader, started, timeout=cap)
    finally:
        dripping.cancel()
        writer.close()


async def test_a_head_sent_a_byte_at_a_time_is_cut_at_header_timeout(edge: Edge) -> None:
    answers = await asyncio.gather(*(
        trickle(edge.http_port, b"GET / HTTP/1.1\r\n", b"X", 0.1, cap=4 * HEADER_TIMEOUT) for _ in range(8)))
    for answer in answers:
        assert answer.closed, answer
        assert answer.status == 408 and b'"code":"REQUEST_TIMEOUT"' in answer.raw, answer.raw
        assert HEADER_TIMEOUT * 0.9 < answer.elapsed < HEADER_TIMEOUT * 2.5, answer.elapsed
    stats = await call(edge, "iii-http::stats")
    assert stats["header_timeouts"] >= 8


async def test_a_head_sent_a_line_at_a_time_is_cut_too(edge: Edge) -> None:
    answer = await trickle(edge.http_port, b"GET / HTTP/1.1\r\n", b"X-Line: 1\r\n", 0.2, cap=4 * HEADER_TIMEOUT)
    assert answer.closed and answer.status == 408, answer
    assert answer.elapsed < HEADER_TIMEOUT * 2.5, answer.elapsed


async def test_a_body_slower_than_the_minimum_rate_gets_408(edge: Edge, route: CountingRoute) -> None:
    head = post(route.path, b"", "application/json").replace(b"Content-Length: 0", b"Content-Length: 1000")
    answer = await trickle(edge.http_port, head, b" ", 0.05, cap=4.0)
    assert answer.closed and answer.status == 408, answer
    # body_timeout plus what the few bytes earned (1 ms each), well before default_timeout (5 s)
    assert BODY_TIMEOUT * 0.9 < answer.elapsed < BODY_TIMEOUT + 1.5, answer.elapsed
    assert route.calls == []  # a JSON body is read before the handler runs
    assert (await call(edge, "iii-http::stats"))["body_timeouts"] >= 1


async def test_a_body_at_the_minimum_rate_takes_longer_than_body_timeout_and_is_served(
        edge: Edge, route: CountingRoute) -> None:
    payload = b'{"v": "' + b"a" * 1990 + b'"}'
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.http_port)
    started = time.monotonic()
    writer.write(post(route.path, b"", "application/json").replace(
        b"Content-Length: 0", f"Connection: close\r\nContent-Length: {len(payload)}".encode()))
    for start in range(0, len(payload), 250):  # 2 kB in ~1 s: 2000 B/s, over 1.6 x body_timeout
        await asyncio.sleep(0.12)
        writer.write(payload[start:start + 250])
    answer = await read_until_closed(reader, started, timeout=5.0)
    writer.close()
    assert answer.status == 200, answer
    assert answer.elapsed > BODY_TIMEOUT


async def test_past_max_connections_new_ones_are_refused_and_open_ones_keep_working(
        edge: Edge, route: CountingRoute) -> None:
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        stats = await call(edge, "iii-http::stats")
        for _ in range(MAX_CONNECTIONS - stats["connections"]):
            held.append(await asyncio.open_connection("127.0.0.1", edge.http_port))
        await eventually(lambda: _connections(edge, MAX_CONNECTIONS), what="every held connection counted")
        refused_before = (await call(edge, "iii-http::stats"))["refused_connections"]

        extra = await exchange(edge.http_port, post(route.path, b"{}", "application/json"))
        assert extra.status == 503 and b'"code":"TOO_MANY_CONNECTIONS"' in extra.raw, extra
        assert extra.closed and route.calls == []

        reader, writer = held[0]
        writer.write(post(route.path, b'{"held": 1}', "application/json"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
        assert head.startswith(b"HTTP/1.1 200"), head
        stats = await call(edge, "iii-http::stats")
        assert stats["refused_connections"] > refused_before
        assert stats["max_connections"] == MAX_CONNECTIONS
        health = await call(edge, "engine::health::check")  # the same counters, in the engine's health
        assert health["components"]["http"]["details"]["refused_connections"] == stats["refused_connections"]
    finally:
        for _, writer in held:
            writer.close()
    await eventually(lambda: _connections(edge, 0), what="held connections closed")
    assert (await exchange(edge.http_port, post(route.path, b"{}", "application/json"))).status == 200


async def _connections(edge: Edge, n: int) -> bool:
    return bool((await call(edge, "iii-http::stats"))["connections"] == n)
