"""Where change events travel: inside the process, or over Redis pub/sub between engines.

Events are opaque bytes (an encoded JSON envelope): encoded once by the writer, handed as the
same bytes object to every listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("pyiii.kv.bus")

Listener = Callable[[bytes], None]


class EventBus:
    """In-process bus: :meth:`publish` calls every listener before it returns."""

    description = "in process"

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _deliver(self, event: bytes) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, event: bytes) -> None:
        self._deliver(event)


class RedisEventBus(EventBus):
    """Every engine subscribed to ``channel`` delivers every event, its own included, so all
    engines see one order of events. The subscription is re-established after a Redis outage."""

    def __init__(self, redis: Redis, channel: str = "stream::events", reconnect_delay_s: float = 0.5) -> None:
        super().__init__()
        self.redis = redis
        self.channel = channel
        self.reconnect_delay_s = reconnect_delay_s
        self.description = f"Redis pub/sub channel {channel}"
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"redis-bus-{self.channel}")
        await asyncio.wait_for(self._subscribed.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def publish(self, event: bytes) -> None:
        await self.redis.publish(self.channel, event)

    async def _run(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("Redis pub/sub %s lost (%s); resubscribing", self.channel, exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(self.reconnect_delay_s)
