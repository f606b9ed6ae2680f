"""Redis pub/sub: PUBLISH on a channel per topic; every engine subscribed to the channel
delivers to its own subscribers. Fire-and-forget, like Redis pub/sub itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.asyncio as aioredis

from pyiii.adapters.redis_connection import redis_client
from pyiii.workers.pubsub.adapters.base import Deliver, PubsubAdapter
from pyiii.workers.pubsub.config import RedisPubsubConfig

log = logging.getLogger("pyiii.pubsub")


class RedisPubsub(PubsubAdapter):
    remote_kind = "redis"

    def __init__(self, config: RedisPubsubConfig) -> None:
        self.config = config
        # Subscriptions hold one connection of this pool (redis-py's PubSub takes its own).
        self._redis: aioredis.Redis = redis_client(config.redis_url, max_connections=config.max_connections,
                                                   pool_timeout_ms=config.pool_timeout_ms,
                                                   owner="iii-pubsub adapter redis")
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._deliver: Deliver | None = None
        self._channels: set[str] = set()

    def _channel(self, topic: str) -> str:
        return f"{self.config.channel_prefix}{topic}"

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        await self._redis.ping()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)

    async def publish(self, topic: str, body: bytes, traceparent: str | None = None,
                      baggage: str | None = None) -> None:
        # The channel carries the bare data (what other engines expect): no trace context.
        await self._redis.publish(self._channel(topic), body)

    async def subscribe(self, topic: str) -> None:
        channel = self._channel(topic)
        self._channels.add(channel)
        await self._pubsub.subscribe(channel)
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="pubsub-redis-reader")

    async def unsubscribe(self, topic: str) -> None:
        channel = self._channel(topic)
        self._channels.discard(channel)
        await self._pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        prefix = len(self.config.channel_prefix)
        while True:
            try:
                msg = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis pubsub: read failed; resubscribing in 1 s")
                await asyncio.sleep(1)
                with contextlib.suppress(Exception):
                    if self._channels:
                        await self._pubsub.subscribe(*self._channels)
                continue
            if msg is None or msg.get("type") != "message" or self._deliver is None:
                if not self._channels:
                    await asyncio.sleep(0.05)  # nothing subscribed: get_message returns at once
                continue
            channel = msg["channel"].decode() if isinstance(msg["channel"], bytes) else str(msg["channel"])
            self._deliver(channel[prefix:], msg["data"], None, None)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        await self._redis.aclose()
