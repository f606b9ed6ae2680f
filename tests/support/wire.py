"""A raw protocol client for tests that need to see (or forge) exact frames."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.support.waiting import eventually


class RawWorker:
    """One WebSocket connection speaking the iii protocol by hand."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.worker_id: str | None = None
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        #: invocationresult frames for calls made with :meth:`call` go to their waiter, not the inbox.
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> RawWorker:
        ws = await connect(url, additional_headers=headers, max_size=None, **kwargs)
        self = cls(ws)
        first = await self.expect("workerregistered", timeout=10)
        self.worker_id = first["worker_id"]
        return self

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                waiter = self.waiting.pop(frame.get("invocation_id", ""), None) \
                    if frame.get("type") == "invocationresult" else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame)
                else:
                    await self.inbox.put(frame)
        except Exception:
            pass

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def expect(self, frame_type: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """Next frame of ``frame_type`` whose fields equal ``match``; others are skipped."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.inbox.get()
                if frame.get("type") == frame_type and all(frame.get(k) == v for k, v in match.items()):
                    return frame

    async def call(self, function_id: str, data: Any = None, timeout: float = 10.0, **extra: Any) -> dict[str, Any]:
        """Sync invoke; returns the whole invocationresult frame."""
        inv = extra.pop("invocation_id", None) or str(uuid.uuid4())
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[inv] = waiter
        await self.send({"type": "invokefunction", "invocation_id": inv, "function_id": function_id,
                         "data": {} if data is None else data, **extra})
        try:
            return await asyncio.wait_for(waiter, timeout)
        finally:
            self.waiting.pop(inv, None)

    async def register(self, function_id: str, **extra: Any) -> None:
        await self.send({"type": "registerfunction", "id": function_id, **extra})

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


async def wait_function(client: RawWorker, function_id: str, present: bool = True, timeout: float = 5.0) -> None:
    """Wait until ``engine::functions::list`` shows ``function_id`` registered (or no longer)."""

    async def listed() -> bool:
        res = await client.call("engine::functions::list", {"include_internal": True})
        ids = {f["function_id"] for f in res.get("result", {}).get("functions", [])}
        return (function_id in ids) == present

    await eventually(listed, timeout, 0.05, what=f"{function_id} {'registered' if present else 'gone'}")
