"""Change events over Redis pub/sub, shared by every engine on one Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from pyiii.adapters.kv.bus import EventBus

log = logging.getLogger("pyiii.kv.bus")


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
