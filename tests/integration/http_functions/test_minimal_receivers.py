"""iii-http-functions against minimal webhook receivers written on raw sockets.

Real-world receivers are often a few lines of socket code. Two shapes the reference engine's
client serves and pyiii's must too:

- one that reads a single ``recv()`` and treats it as the whole request: the client has to send
  the request head and a small body in one write;
- one that answers without ``Content-Length`` and closes the connection: the client has to read
  the body up to end-of-file.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from iii_helpers.http import HttpInvocationConfig

from tests.integration.http.support import sdk_worker
from tests.support.engine import EngineProcess

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """An asyncio server on its own thread running one connection handler."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.requests: list[bytes] = []
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        assert ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self.handler, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


def _split(raw: bytes) -> tuple[bytes, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


def _single_recv(server_box: list[RawServer]) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = await reader.read(65536)  # one recv(): whatever arrived first is "the request"
        server_box[0].requests.append(raw)
        _, body = _split(raw)
        try:
            answer = json.dumps({"echo": json.loads(body)}).encode()
            status = b"200 OK"
        except ValueError:
            answer, status = b'{"error":{"code":"no_body","message":"the body was not in the first read"}}', \
                b"400 Bad Request"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                     + str(len(answer)).encode() + b"\r\nConnection: close\r\n\r\n" + answer)
        await writer.drain()
        writer.close()
    return handle


def _until_close(server_box: list[RawServer]) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = await reader.read(65536)
        server_box[0].requests.append(raw)
        _, body = _split(raw)
        answer = json.dumps({"echo": json.loads(body), "pad": "x" * 20000}).encode()
        # No Content-Length, no chunking: the body ends when the connection does.
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        await writer.drain()
        for i in range(0, len(answer), 4096):
            writer.write(answer[i:i + 4096])
            await writer.drain()
        writer.close()
    return handle


def _server(factory: Callable[[list[RawServer]], Handler]) -> Iterator[RawServer]:
    box: list[RawServer] = []
    server = RawServer(factory(box))
    box.append(server)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def single_recv() -> Iterator[RawServer]:
    yield from _server(_single_recv)


@pytest.fixture
def until_close() -> Iterator[RawServer]:
    yield from _server(_until_close)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    security = {"require_https": False, "block_private_ips": False, "url_allowlist": ["127.0.0.1"]}
    eng = EngineProcess(tmp_path, workers=[{"name": "http-functions", "config": {"security": security}}]).start()
    try:
        yield eng
    finally:
        eng.stop()


def _call(worker: Any, function_id: str, payload: Any) -> Any:
    from tests.integration.http.test_http_functions import _barrier

    _barrier(worker)
    return worker.trigger({"function_id": function_id, "payload": payload})


def test_head_and_small_body_arrive_in_one_read(engine: EngineProcess, single_recv: RawServer) -> None:
    with sdk_worker(engine.url) as w:
        w.register_function("hook::single", HttpInvocationConfig(url=f"http://127.0.0.1:{single_recv.port}/hook"))
        payload = {"event": "order.created", "id": 42}
        assert _call(w, "hook::single", payload)["echo"].items() >= payload.items()
        head, body = _split(single_recv.requests[-1])
        assert head.startswith(b"POST /hook HTTP/1.1") and json.loads(body)["id"] == 42


def test_body_without_length_is_read_to_end_of_file(engine: EngineProcess, until_close: RawServer) -> None:
    with sdk_worker(engine.url) as w:
        w.register_function("hook::eof", HttpInvocationConfig(url=f"http://127.0.0.1:{until_close.port}/hook"))
        payload = {"event": "order.paid", "id": 7}
        result = _call(w, "hook::eof", payload)
        assert result["echo"].items() >= payload.items() and result["pad"] == "x" * 20000
        # Twice: a connection that ended with its body is not reused for the next call.
        assert _call(w, "hook::eof", {"n": 2})["echo"]["n"] == 2
