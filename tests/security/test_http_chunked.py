"""Malformed chunked bodies on iii-http: any framing error is answered 400 at once, the connection
closes, and a handler never runs for a request whose body framing broke in the same read (issue
#16 item 3: a bad chunk size hung 30 s then got 504; an overflowing size or a missing CRLF ran the
handler and got 200)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.security.http_edge import (
    CountingRoute,
    Edge,
    chunked_head,
    counting_route,
    exchange,
    http_engine,
    post,
    read_until_closed,
)
from tests.support.waiting import eventually

#: Well below default_timeout (3 s): an answer this fast is not the request deadline.
AT_ONCE = 1.5

BROKEN = {
    "bad chunk size": b"ZZ\r\nhello\r\n0\r\n\r\n",
    "overflowing chunk size": b"FFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n",
    "missing CRLF after chunk data": b"5\r\nhelloXX0\r\n\r\n",
    "chunk data longer than its size": b"3\r\nhello\r\n0\r\n\r\n",
}


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    with http_engine(tmp_path_factory.mktemp("chunked"), {"default_timeout": 3000}) as e:
        yield e


@pytest.fixture
async def route(edge: Edge) -> AsyncIterator[CountingRoute]:
    async with counting_route(edge) as r:
        yield r


async def assert_only_good_call(edge: Edge, route: CountingRoute) -> None:
    """The handler saw nothing before this good request: invocations reach the worker in order,
    so one made for the broken request would have arrived first."""
    good = await exchange(edge.http_port, post(route.path, b'{"marker": "good"}', "application/json"))
    assert good.status == 200, good.raw
    assert [c.get("body") for c in route.calls] == [{"marker": "good"}]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
@pytest.mark.parametrize("body", BROKEN.values(), ids=BROKEN.keys())
async def test_broken_framing_gets_400_at_once_and_the_handler_never_runs(
        edge: Edge, route: CountingRoute, body: bytes, content_type: str) -> None:
    answer = await exchange(edge.http_port, chunked_head(route.path, content_type) + body, ask_close=False)
    assert answer.status == 400, answer.raw
    assert b'"code":"BAD_REQUEST"' in answer.raw
    assert answer.closed and answer.elapsed < AT_ONCE, answer
    await assert_only_good_call(edge, route)


async def test_framing_that_breaks_while_the_handler_streams_the_body_gets_400_at_once(
        edge: Edge, route: CountingRoute) -> None:
    route.answer = False  # the handler is still reading its body when the framing breaks
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.http_port)
    try:
        writer.write(chunked_head(route.path) + b"5\r\nhello\r\n")
        await eventually(lambda: route.calls, what="the handler started on the streamed body")
        started = time.monotonic()
        writer.write(b"ZZ\r\n")
        answer = await read_until_closed(reader, started, timeout=5.0)
    finally:
        writer.close()
    assert answer.status == 400, answer.raw
    assert answer.closed and answer.elapsed < AT_ONCE, answer


async def test_a_valid_chunked_body_is_still_served(edge: Edge, route: CountingRoute) -> None:
    body = b'5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
    answer = await exchange(edge.http_port, chunked_head(route.path, "application/json") + body)
    assert answer.status == 200, answer.raw
    assert [c.get("body") for c in route.calls] == [{"a": 1}]

