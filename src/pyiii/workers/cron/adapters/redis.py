"""Redis tick locks: one fire per tick across every engine sharing the Redis."""

from __future__ import annotations

import redis.asyncio as aioredis

from pyiii.adapters.redis_connection import redis_client
from pyiii.workers.cron.adapters.base import TickLock
from pyiii.workers.cron.config import RedisLockConfig


class RedisTickLock(TickLock):
    """``SET key 1 NX PX ttl`` on a Redis every engine shares."""

    def __init__(self, config: RedisLockConfig) -> None:
        self.config = config
        self._redis: aioredis.Redis = redis_client(config.redis_url, max_connections=config.max_connections,
                                                   pool_timeout_ms=config.pool_timeout_ms,
                                                   owner="iii-cron adapter redis")

    async def acquire(self, job_id: str, tick: str) -> bool:
        key = f"{self.config.key_prefix}:{job_id}:{tick}"
        return bool(await self._redis.set(key, b"1", nx=True, px=self.config.lock_ttl_ms))

    async def close(self) -> None:
        await self._redis.aclose()
