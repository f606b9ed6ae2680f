"""One fire per tick: whoever takes the tick's lock fires it. A lock key names one job AND one
scheduled time and is never released early, so an engine that wakes a little late cannot fire
a tick another engine already fired."""

from __future__ import annotations

import abc
import time
from typing import TYPE_CHECKING

from pyiii.workers.cron.config import RedisLockConfig

if TYPE_CHECKING:
    import redis.asyncio as aioredis


class TickLock(abc.ABC):
    @abc.abstractmethod
    async def acquire(self, job_id: str, tick: str) -> bool: ...

    async def close(self) -> None:
        return None


class LocalTickLock(TickLock):
    """Process-local: enough for one engine."""

    def __init__(self, ttl_ms: int) -> None:
        self.ttl_s = ttl_ms / 1000
        self._held: dict[tuple[str, str], float] = {}

    async def acquire(self, job_id: str, tick: str) -> bool:
        now = time.monotonic()
        if len(self._held) > 1024:
            self._held = {k: t for k, t in self._held.items() if t > now}
        key = (job_id, tick)
        if self._held.get(key, 0.0) > now:
            return False
        self._held[key] = now + self.ttl_s
        return True


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
