"""A scripted fake engine: pins what an official SDK puts on the wire (spec iii-0.23-0.25, App. C).

It is a bare WebSocket server (the ``websockets`` library, no pyiii): every connection gets a
``workerregistered`` (with ``features`` when given), every frame the SDK sends is recorded with
the index of its connection, and the test pushes whatever the engine would send
(``registrationrejected``, ``functionregistered``, ``observeresult`` ...) or closes the socket.
Calls the SDK makes are answered with a null result unless ``answer_calls`` is off, so a
``trigger()`` through the "engine" does not hang. With ``ack_functions`` it also plays the 0.25
engine's part of local dispatch (spec §1.2, §3.1): each ``registerfunction`` is held until
``engine::workers::register`` names the connection's namespace, then answered with
``functionregistered`` in that namespace (``local_dispatch: true``, no observers).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.support.loopback_ws import LoopbackWs

Frame = dict[str, Any]


@dataclass
class Received:
    """One frame from the SDK and the connection (0, 1, ... in accept order) it came on."""

    connection: int
    frame: Frame


@dataclass
class ScriptedEngine:
    features: list[str] | None = None
    answer_calls: bool = True
    ack_functions: bool = False
    received: list[Received] = field(default_factory=list)
    connections: list[ServerConnection] = field(default_factory=list)
    #: The handshake headers of each connection (lower-case names).
    headers: list[dict[str, str]] = field(default_factory=list)
    worker_ids: list[str] = field(default_factory=list)
    _listener: LoopbackWs = field(default_factory=LoopbackWs)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def start(self) -> ScriptedEngine:
        await self._listener.start(self._serve)
        return self

    @property
    def url(self) -> str:
        return self._listener.url

    async def stop(self) -> None:
        await self._listener.stop()

    async def _serve(self, ws: ServerConnection) -> None:
        index = len(self.connections)
        self.connections.append(ws)
        request = ws.request
        self.headers.append({k.lower(): v for k, v in request.headers.raw_items()} if request else {})
        worker_id = str(uuid.uuid4())
        self.worker_ids.append(worker_id)
        hello: Frame = {"type": "workerregistered", "worker_id": worker_id, "reattach_token": str(uuid.uuid4())}
        if self.features is not None:
            hello["features"] = self.features
        await ws.send(json.dumps(hello))
        async with self._changed:
            self._changed.notify_all()
        namespace: str | None = None  # unknown until engine::workers::register
        held: list[str] = []
        try:
            async for raw in ws:
                frame = json.loads(raw)
                async with self._changed:
                    self.received.append(Received(index, frame))
                    self._changed.notify_all()
                if self.ack_functions and frame.get("type") == "registerfunction":
                    held.append(frame["id"])
                if (self.ack_functions and frame.get("type") == "invokefunction"
                        and frame.get("function_id") == "engine::workers::register"):
                    namespace = (frame.get("data") or {}).get("namespace") or "default"
                if namespace is not None:
                    for function_id in held:
                        await ws.send(json.dumps({"type": "functionregistered", "id": function_id,
                                                  "namespace": namespace, "revision": 0,
                                                  "local_dispatch": True, "observers": []}))
                    held.clear()
                if self.answer_calls and frame.get("type") == "invokefunction" and frame.get("invocation_id"):
                    await ws.send(json.dumps({"type": "invocationresult", "invocation_id": frame["invocation_id"],
                                              "function_id": frame.get("function_id"), "result": None}))
        except ConnectionClosed:
            pass

    # ------------------------------------------------------------------ what the SDK sent

    def frames(self, type_: str | None = None, connection: int | None = None) -> list[Frame]:
        return [r.frame for r in self.received
                if (type_ is None or r.frame.get("type") == type_)
                and (connection is None or r.connection == connection)]

    async def wait_for(self, pred: Callable[[Received], bool], timeout: float = 10.0, what: str = "frame") -> Received:
        """The first recorded frame (in arrival order) matching ``pred``, waiting for it."""

        async def find() -> Received:
            async with self._changed:
                while True:
                    for r in self.received:
                        if pred(r):
                            return r
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {what} within {timeout}s; received {self.received}") from None

    async def wait_frame(self, type_: str, timeout: float = 10.0, connection: int | None = None,
                         **fields: Any) -> Frame:
        """The first frame of ``type_`` (on ``connection``, if given) whose fields equal ``fields``."""

        def match(r: Received) -> bool:
            f = r.frame
            return (f.get("type") == type_ and (connection is None or r.connection == connection)
                    and all(f.get(k) == v for k, v in fields.items()))

        return (await self.wait_for(match, timeout, f"{type_} {fields or ''} frame")).frame

    async def wait_connections(self, count: int, timeout: float = 10.0) -> None:
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.connections) >= count)

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            raise AssertionError(f"{len(self.connections)} connections within {timeout}s, wanted {count}") from None

    # ------------------------------------------------------------------ what the engine sends

    async def push(self, frame: Frame, connection: int = -1) -> None:
        await self.connections[connection].send(json.dumps(frame))

    async def close(self, connection: int = -1, code: int = 1000) -> None:
        await self.connections[connection].close(code)

    def is_open(self, connection: int = -1) -> bool:
        from websockets.protocol import State

        return self.connections[connection].state is State.OPEN
