"""``ttl_seconds``: delete an entry some time after its last ``configuration`` trigger went away."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class Countdowns:
    def __init__(self, seconds: float, expire: Callable[[str], Awaitable[None]]) -> None:
        self.seconds = seconds
        self.expire = expire
        self.pending: dict[str, asyncio.Task[None]] = {}

    def start(self, config_id: str) -> None:
        if self.seconds <= 0:
            return
        self.cancel(config_id)
        self.pending[config_id] = asyncio.ensure_future(self._run(config_id))

    def cancel(self, config_id: str) -> None:
        task = self.pending.pop(config_id, None)
        if task is not None:
            task.cancel()

    async def _run(self, config_id: str) -> None:
        await asyncio.sleep(self.seconds)
        self.pending.pop(config_id, None)
        await self.expire(config_id)

    def close(self) -> None:
        for task in self.pending.values():
            task.cancel()
        self.pending.clear()
