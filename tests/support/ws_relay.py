"""A recording WebSocket relay between a worker and a real engine: every JSON message either side
sends is kept with its direction, so a test can see what the engine put on the wire to an
official SDK (and what the SDK sent back) without changing either of them.

    relay = await WireRelay(engine.url).start()
    ... connect the SDK to relay.url ...
    relay.frames("to_worker", "functionregistered")

Messages are relayed whole (fragmented ones reassembled) with no size limit of its own, so the
limits that apply are the engine's and the SDK's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.support.loopback_ws import LoopbackWs

Direction = Literal["to_engine", "to_worker"]


@dataclass
class Relayed:
    connection: int
    direction: Direction
    frame: dict[str, Any]


@dataclass
class WireRelay:
    upstream: str
    relayed: list[Relayed] = field(default_factory=list)
    _listener: LoopbackWs = field(default_factory=LoopbackWs)
    _count: int = 0

    async def start(self) -> WireRelay:
        await self._listener.start(self._serve)
        return self

    @property
    def url(self) -> str:
        return self._listener.url

    async def stop(self) -> None:
        await self._listener.stop()

    def frames(self, direction: Direction, frame_type: str | None = None, **match: Any) -> list[dict[str, Any]]:
        return [
            r.frame for r in self.relayed
            if r.direction == direction and (frame_type is None or r.frame.get("type") == frame_type)
            and all(r.frame.get(k) == v for k, v in match.items())
        ]

    async def _serve(self, worker: ServerConnection) -> None:
        index = self._count
        self._count += 1
        path = worker.request.path if worker.request is not None else "/"
        async with connect(self.upstream + path, max_size=None) as engine:
            pumps = [
                asyncio.ensure_future(self._pump(worker, engine, index, "to_engine")),
                asyncio.ensure_future(self._pump(engine, worker, index, "to_worker")),
            ]
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pumps:
                pump.cancel()
            with contextlib.suppress(ConnectionClosed):
                await worker.close()

    async def _pump(self, source: ServerConnection | ClientConnection, sink: ServerConnection | ClientConnection,
                    index: int, direction: Direction) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in source:
                if isinstance(message, str):
                    try:
                        decoded = json.loads(message)
                    except ValueError:
                        decoded = None
                    if isinstance(decoded, dict):
                        self.relayed.append(Relayed(index, direction, decoded))
                await sink.send(message)
