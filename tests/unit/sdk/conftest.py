"""A tiny fake engine (a websockets server) that records what the SDK sends.

It is a test double for the SDK only: it speaks just enough of the protocol to observe
frames and answer them from the test.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest_asyncio
import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.http11 import Request, Response

try:
    import pyiii  # noqa: F401
except ImportError:  # not installed yet: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "src"))

from pyiii.sdk import III, InitOptions, ReconnectionConfig, register_worker

Frame = dict[str, Any]


class FakeConn:
    """One worker connection as seen by the fake engine."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.worker_id = str(uuid.uuid4())
        self.reattach_token = str(uuid.uuid4())
        self.frames: list[Frame] = []
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()

    async def record(self, frame: Frame) -> None:
        async with self._changed:
            self.frames.append(frame)
            self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[Frame], bool], timeout: float = 5.0
    ) -> Frame:
        async def find() -> Frame:
            async with self._changed:
                while True:
                    for frame in self.frames:
                        if predicate(frame):
                            return frame
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def wait_count(
        self, predicate: Callable[[Frame], bool], count: int, timeout: float = 5.0
    ) -> list[Frame]:
        async def find() -> list[Frame]:
            async with self._changed:
                while True:
                    hits = [f for f in self.frames if predicate(f)]
                    if len(hits) >= count:
                        return hits
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def invoke(
        self, function_id: str, data: Any, *, invocation_id: str | None = None, **extra: Any
    ) -> str:
        invocation_id = invocation_id or str(uuid.uuid4())
        await self.send(
            {
                "type": "invokefunction",
                "invocation_id": invocation_id,
                "function_id": function_id,
                "data": data,
                **extra,
            }
        )
        return invocation_id

    async def result_of(self, invocation_id: str, timeout: float = 5.0) -> Frame:
        return await self.wait_for(
            lambda f: f["type"] == "invocationresult" and f["invocation_id"] == invocation_id,
            timeout,
        )


class FakeChannel:
    def __init__(self, to_reader: list[str | bytes]) -> None:
        self.to_reader = to_reader
        self.written: list[str | bytes] = []
        self.write_done = asyncio.Event()
        self.queries: list[dict[str, list[str]]] = []


class FakeEngine:
    def __init__(self) -> None:
        self.conns: list[FakeConn] = []
        self.reject = False
        self.channels: dict[str, FakeChannel] = {}
        #: Called for each frame: lets a test auto-answer calls.
        self.on_frame: Callable[[FakeConn, Frame], Any] | None = None
        self._new_conn = asyncio.Condition()
        self._server: Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await websockets.serve(
            self._handle, "127.0.0.1", 0, process_request=self._gate, max_size=None
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _gate(self, conn: ServerConnection, request: Request) -> Response | None:
        if self.reject and not request.path.startswith("/ws/channels/"):
            return conn.respond(HTTPStatus.SERVICE_UNAVAILABLE, "not now\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        path = ws.request.path
        if path.startswith("/ws/channels/"):
            await self._handle_channel(ws, path)
            return
        conn = FakeConn(ws)
        async with self._new_conn:
            self.conns.append(conn)
            self._new_conn.notify_all()
        await ws.send(
            json.dumps(
                {
                    "type": "workerregistered",
                    "worker_id": conn.worker_id,
                    "reattach_token": conn.reattach_token,
                }
            )
        )
        try:
            async for raw in ws:
                frame = json.loads(raw)
                await conn.record(frame)
                if self.on_frame is not None:
                    out = self.on_frame(conn, frame)
                    if asyncio.iscoroutine(out):
                        await out
        except websockets.ConnectionClosed:
            pass
        finally:
            conn.closed.set()

    async def _handle_channel(self, ws: ServerConnection, path: str) -> None:
        parts = urlsplit(path)
        channel_id = parts.path.rsplit("/", 1)[-1]
        query = parse_qs(parts.query)
        channel = self.channels[channel_id]
        channel.queries.append(query)
        if query["dir"] == ["read"]:
            for item in channel.to_reader:
                await ws.send(item)
            await ws.close()
            return
        try:
            async for item in ws:
                channel.written.append(item)
        except websockets.ConnectionClosed:
            pass
        channel.write_done.set()

    async def connection(self, index: int, timeout: float = 5.0) -> FakeConn:
        async def find() -> FakeConn:
            async with self._new_conn:
                while len(self.conns) <= index:
                    await self._new_conn.wait()
                return self.conns[index]

        return await asyncio.wait_for(find(), timeout)


FAST_RECONNECT = ReconnectionConfig(initial_delay_ms=30, max_delay_ms=100, jitter_factor=0.1)


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[FakeEngine]:
    fake = FakeEngine()
    await fake.start()
    yield fake
    await fake.stop()


ClientFactory = Callable[..., Any]


@pytest_asyncio.fixture
async def connect(engine: FakeEngine) -> AsyncIterator[ClientFactory]:
    """``await connect(**options)`` -> a connected client; all are shut down afterwards."""
    clients: list[III] = []

    async def make(**options: Any) -> III:
        options.setdefault("reconnection_config", FAST_RECONNECT)
        options.setdefault("worker_name", "test-worker")
        client = await asyncio.to_thread(register_worker, engine.url, InitOptions(**options))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await asyncio.to_thread(client.shutdown)
