"""What the iii-http attack files share: an engine process with iii-http on free ports, a route
whose handler lives in a raw worker and counts its calls, and a raw-socket HTTP client that
shows exactly what came back and when the server closed."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.engine import EngineProcess, free_port, wait_port
from tests.support.waiting import eventually
from tests.support.wire import RawWorker


@dataclass
class Edge:
    engine: EngineProcess
    http_port: int

    @property
    def pid(self) -> int:
        assert self.engine.proc is not None
        return self.engine.proc.pid

    def rss_mb(self, key: str = "VmRSS") -> float:
        """The engine's resident memory (``VmHWM``: its peak so far), in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        raise AssertionError(f"{key} not in /proc/{self.pid}/status")


@contextmanager
def http_engine(workdir: Path, http_config: dict[str, Any]) -> Iterator[Edge]:
    port = free_port()
    config = {"port": port, "host": "127.0.0.1", **http_config}
    engine = EngineProcess(workdir, workers=[{"name": "iii-http", "config": config}]).start()
    try:
        wait_port(port)
        yield Edge(engine, port)
    finally:
        engine.stop()


@dataclass
class CountingRoute:
    """``POST /<path>`` served by a raw worker that records every invocation it gets."""

    worker: RawWorker
    path: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    #: While False, invocations are recorded but not answered (a handler still at work).
    answer: bool = True


async def _serve(route: CountingRoute) -> None:
    while True:
        frame = await route.worker.inbox.get()
        if frame.get("type") != "invokefunction":
            continue
        route.calls.append(frame.get("data") or {})
        if route.answer and frame.get("invocation_id"):
            await route.worker.send({"type": "invocationresult", "invocation_id": frame["invocation_id"],
                                     "function_id": frame["function_id"],
                                     "result": {"status_code": 200, "body": {"ok": True}}})


@asynccontextmanager
async def counting_route(edge: Edge) -> AsyncIterator[CountingRoute]:
    worker = await RawWorker.connect(edge.engine.url)
    name = uuid.uuid4().hex[:8]
    function_id = f"sec::{name}"
    await worker.register(function_id)
    await worker.send({"type": "registertrigger", "id": name, "trigger_type": "http", "function_id": function_id,
                       "config": {"api_path": name, "http_method": "POST"}})
    route = CountingRoute(worker, f"/{name}")
    serving = asyncio.ensure_future(_serve(route))

    async def routed() -> bool:
        answer = await exchange(edge.http_port, post(route.path, b"{}", "application/json"))
        return answer.status == 200

    try:
        await eventually(routed, what="the route answers")
        route.calls.clear()
        yield route
    finally:
        serving.cancel()
        await worker.close()


def post(path: str, body: bytes, content_type: str = "text/plain") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: edge\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def chunked_head(path: str, content_type: str = "text/plain") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: edge\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()


@dataclass
class Answer:
    raw: bytes
    #: Seconds from the first byte sent to the server's close (or to the read timeout).
    elapsed: float
    #: The server closed the connection (EOF or reset), as opposed to the read timing out.
    closed: bool

    @property
    def status(self) -> int:
        if not self.raw.startswith(b"HTTP/1."):
            return 0
        return int(self.raw.split(b" ", 2)[1])


async def read_until_closed(reader: asyncio.StreamReader, started: float, timeout: float) -> Answer:
    data = bytearray()
    closed = False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            try:
                while chunk := await reader.read(65536):
                    data += chunk
            except ConnectionError:
                pass
            closed = True
    return Answer(bytes(data), time.monotonic() - started, closed)


async def exchange(port: int, request: bytes, timeout: float = 5.0, ask_close: bool = True) -> Answer:
    """Send ``request`` in one write and read until the server closes. ``ask_close``: add
    ``Connection: close``; without it the server closes only if it decides to."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    if ask_close:
        request = request.replace(b"\r\n", b"\r\nConnection: close\r\n", 1)
    writer.write(request)
    try:
        return await read_until_closed(reader, started, timeout)
    finally:
        writer.close()


async def call(edge: Edge, function_id: str, data: Any = None) -> Any:
    worker = await RawWorker.connect(edge.engine.url)
    try:
        frame = await worker.call(function_id, data)
        assert "error" not in frame or frame["error"] is None, frame
        return frame["result"]
    finally:
        await worker.close()
