"""A minimal stream-protocol client for tests (spec/workers.md §7.5)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class StreamClient:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, port: int, **kwargs: Any) -> StreamClient:
        return cls(await connect(f"ws://127.0.0.1:{port}/", **kwargs))

    async def join(self, sid: str, stream: str, group: str, item: str | None = None) -> None:
        data = {"subscriptionId": sid, "streamName": stream, "groupId": group}
        if item is not None:
            data["id"] = item
        await self.connection.send(json.dumps({"type": "join", "data": data}))

    async def leave(self, sid: str, stream: str, group: str) -> None:
        data = {"subscriptionId": sid, "streamName": stream, "groupId": group}
        await self.connection.send(json.dumps({"type": "leave", "data": data}))

    async def next(self, timeout: float = 10.0) -> dict[str, Any]:
        message = await asyncio.wait_for(self.connection.recv(), timeout)
        assert isinstance(message, str), "stream events are text frames"
        event: dict[str, Any] = json.loads(message)
        return event

    async def close(self) -> None:
        await self.connection.close()
