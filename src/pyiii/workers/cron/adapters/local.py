"""Process-local tick locks (the ``kv`` and ``memory`` adapters): enough for one engine."""

from __future__ import annotations

import time

from pyiii.workers.cron.adapters.base import TickLock


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
