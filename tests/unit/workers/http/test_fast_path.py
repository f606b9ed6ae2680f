"""The iii-http hot path in one process: an Engine, the HTTP worker on a real socket and
in-process handlers, so the answer race (result vs response channel) is exercised without a
worker process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyiii.core.channels import EOF, Channel
from pyiii.core.engine import Engine
from pyiii.core.host import Host
from pyiii.workers.base import WorkerContext
from pyiii.workers.http.channel_io import WatchedQueue
from pyiii.workers.http.config import HttpConfig
from pyiii.workers.http.paths import InvalidPath, request_segments
from pyiii.workers.http.worker import HttpWorker

Handler = Callable[[Any, Any], Awaitable[Any]]


class Served:
    def __init__(self, engine: Engine, worker: HttpWorker) -> None:
        self.engine = engine
        self.worker = worker
        assert worker.address is not None
        self.base = f"http://127.0.0.1:{worker.address[1]}"

    async def route(self, function_id: str, handler: Handler, path: str, method: str = "POST",
                    **config: Any) -> None:
        self.engine.register_function(function_id, handler)
        await self.engine.register_trigger("http", function_id, {"api_path": path, "http_method": method, **config})

    def channel(self, ref: dict[str, str]) -> Channel:
        channel = self.engine.channels.lookup(ref["channel_id"], ref["access_key"])
        assert channel is not None
        return channel


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    engine = Engine()
    config = HttpConfig(port=0, host="127.0.0.1", default_timeout=2000, keep_alive_timeout=0.3)
    worker = HttpWorker(Host(engine), config, "iii-http", WorkerContext(tmp_path, tmp_path))
    await worker.start()
    try:
        yield Served(engine, worker)
    finally:
        await worker.stop()


async def test_watched_queue_calls_back_once_per_arming() -> None:
    calls: list[int] = []
    queue = WatchedQueue(2)
    queue.on_put = lambda: calls.append(queue.qsize())
    queue.put_nowait(b"a")
    await queue.put(b"b")  # not armed any more
    assert calls == [1] and queue.on_put is None
    queue.on_put = lambda: calls.append(-queue.qsize())
    assert queue.get_nowait() == b"a"
    await queue.put(EOF)  # ``put`` goes through ``put_nowait``
    assert calls == [1, -2]


async def test_buffered_answer_and_request_body_channel(served: Served) -> None:
    seen: dict[str, Any] = {}

    async def echo(req: Any, _ctx: Any) -> Any:
        seen.update(req)
        reader = served.channel(req["request_body"])
        seen["raw"] = b"".join(item for item in iter(reader.queue.get_nowait, EOF) if isinstance(item, bytes))
        return {"status_code": 201, "headers": {"x-a": "1"}, "body": req["body"]}

    await served.route("t::echo", echo, "/echo/:id")
    async with httpx.AsyncClient(base_url=served.base) as client:
        for _ in range(3):  # keep-alive: several requests on one connection
            response = await client.post("/echo/7?q=1", json={"n": 1})
            assert (response.status_code, response.headers["x-a"], response.json()) == (201, "1", {"n": 1})
    assert seen["path_params"] == {"id": "7"} and seen["query_params"] == {"q": "1"}
    assert seen["raw"] == b'{"n":1}'
    assert seen["request_body"]["direction"] == "read" and seen["response"]["direction"] == "write"
    assert set(seen["request_body"]) == {"channel_id", "access_key", "direction"}
    # Both channels are forgotten once the exchange is over.
    assert served.engine.channels.lookup(seen["response"]["channel_id"], seen["response"]["access_key"]) is None


async def test_streamed_answer_before_the_result(served: Served) -> None:
    release = asyncio.Event()

    async def stream(req: Any, _ctx: Any) -> Any:
        queue = served.channel(req["response"]).queue
        await queue.put('{"type":"set_status","status_code":206}')
        await queue.put('{"type":"set_headers","headers":{"content-type":"text/plain"}}')
        for i in range(3):
            await queue.put(f"line {i}\n".encode())
        await queue.put(EOF)
        await release.wait()  # the handler returns only after the whole body went out
        return {"status_code": 500, "body": "too late"}

    await served.route("t::stream", stream, "/stream", "GET")
    async with httpx.AsyncClient(base_url=served.base) as client:
        response = await client.get("/stream")
    release.set()
    assert response.status_code == 206 and response.headers["transfer-encoding"] == "chunked"
    assert response.text == "line 0\nline 1\nline 2\n"


async def test_null_result_then_control_only_channel(served: Served) -> None:
    tasks: list[asyncio.Task[None]] = []

    async def headers_only(req: Any, _ctx: Any) -> Any:
        queue = served.channel(req["response"]).queue

        async def later() -> None:
            await asyncio.sleep(0.05)  # after the null result was seen
            await queue.put('{"type":"set_status","status_code":204}')
            await queue.put(EOF)

        tasks.append(asyncio.ensure_future(later()))
        return None

    await served.route("t::null", headers_only, "/null", "GET")
    async with httpx.AsyncClient(base_url=served.base) as client:
        response = await client.get("/null")
    assert (response.status_code, response.content) == (204, b"")


async def test_result_wins_over_control_messages(served: Served) -> None:
    async def both(req: Any, _ctx: Any) -> Any:
        await served.channel(req["response"]).queue.put('{"type":"set_status","status_code":299}')
        return {"status_code": 200, "body": {"ok": True}}

    await served.route("t::both", both, "/both", "GET")
    async with httpx.AsyncClient(base_url=served.base) as client:
        response = await client.get("/both")
    assert (response.status_code, response.json()) == (200, {"ok": True})


async def test_in_process_handler_keeps_the_request_timer(served: Served) -> None:
    # In-process handlers have no invocation timeout: the pipeline's own deadline answers.
    async def slow(_req: Any, _ctx: Any) -> Any:
        await asyncio.sleep(0.5)

    await served.route("t::slow", slow, "/slow", "GET", timeout_ms=100)
    async with httpx.AsyncClient(base_url=served.base) as client:
        response = await client.get("/slow")
    assert response.status_code == 504
    assert response.json() == {"error": {"code": "TIMEOUT", "message": "Request did not complete within 100 ms"}}


async def test_idle_keep_alive_connection_is_closed(served: Served) -> None:
    async def ok(_req: Any, _ctx: Any) -> Any:
        return {"body": 1}

    await served.route("t::ok", ok, "/ok", "GET")
    assert served.worker.address is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", served.worker.address[1])
    try:
        for _ in range(2):
            writer.write(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            await reader.readexactly(1)
            await asyncio.sleep(0.2)  # busy again before the 0.3 s idle limit: stays open
        assert await asyncio.wait_for(reader.read(), 2) == b""  # then closed after 0.3 s idle
    finally:
        writer.close()


@pytest.mark.parametrize("path", ["/a/../b", "/a/./b", "/..", "/a/%2e%2e/b", "/a/..%2fb", "/a/%00", "/a/..\\b"])
def test_unsafe_paths_are_still_refused(path: str) -> None:
    with pytest.raises(InvalidPath):
        request_segments(path)


def test_plain_paths_split_as_before() -> None:
    assert request_segments("/users/42/.well") == ["users", "42", ".well"]
    assert request_segments("/a//b/") == ["a", "", "b", ""]
    assert request_segments("/") == []
