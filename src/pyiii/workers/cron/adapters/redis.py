"""Redis tick locks: one fire per tick across every engine sharing the Redis."""

from __future__ import annotations

from pyiii.workers.cron.adapters.base import TickLock
from pyiii.workers.cron.config import RedisLockConfig


class RedisTickLock(TickLock):
    """``SET key 1 NX PX ttl`` on a Redis every engine shares."""

    def __init__(self, config: RedisLockConfig) -> None:
        self.config = config
        import redis.asyncio as aioredis  # redis-py only when the Redis lock is configured

        self._redis: aioredis.Redis = aioredis.Redis.from_url(config.redis_url)

    async def acquire(self, job_id: str, tick: str) -> bool:
        key = f"{self.config.key_prefix}:{job_id}:{tick}"
        return bool(await self._redis.set(key, b"1", nx=True, px=self.config.lock_ttl_ms))

    async def close(self) -> None:
        await self._redis.aclose()
