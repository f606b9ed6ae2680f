"""A client that half-closes after its request (``printf … | nc -N``) still gets its answers:
the fuzz suite found that iii-http closed such connections without answering."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.security.http_edge import CountingRoute, Edge, counting_route, http_engine, post, read_until_closed


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    with http_engine(tmp_path_factory.mktemp("halfclose"), {"default_timeout": 3000}) as e:
        yield e


@pytest.fixture
async def route(edge: Edge) -> AsyncIterator[CountingRoute]:
    async with counting_route(edge) as r:
        yield r


async def _send_then_half_close(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        writer.write_eof()
        answer = await read_until_closed(reader, time.monotonic(), 5.0)
        assert answer.closed, "the server must close once it has answered"
        return answer.raw
    finally:
        writer.close()


async def test_a_whole_request_then_eof_is_answered(edge: Edge, route: CountingRoute) -> None:
    raw = await _send_then_half_close(edge.http_port, post(route.path, b'{"n": 1}', "application/json"))
    assert raw.startswith(b"HTTP/1.1 200"), raw
    assert [c.get("body") for c in route.calls] == [{"n": 1}]


async def test_pipelined_requests_then_eof_are_all_answered_in_order(edge: Edge, route: CountingRoute) -> None:
    requests = b"".join(post(route.path, f'{{"n": {i}}}'.encode(), "application/json") for i in range(3))
    raw = await _send_then_half_close(edge.http_port, requests)
    assert raw.count(b"HTTP/1.1 200") == 3, raw
    assert [c.get("body") for c in route.calls] == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_a_request_cut_short_by_eof_never_reaches_the_handler(edge: Edge, route: CountingRoute) -> None:
    cut = post(route.path, b'{"n": 1}', "application/json")[:-3]
    raw = await _send_then_half_close(edge.http_port, cut)
    assert not raw.startswith(b"HTTP/1.1 200"), raw
    assert route.calls == []
