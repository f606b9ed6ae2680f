"""Named health checks of what the engine depends on (Redis, brokers, ...): ``/readyz`` and
``engine::health::check`` report them.

Workers add a check to ``engine.health_checks`` under their adapter's name. A check is a plain
callable: it returns a bool, or an awaitable that raises (or returns False) when the dependency
is unusable. The board runs every check with a timeout and keeps each answer for a short while,
so a flood of probes costs the dependency at most one PING per check and cache period.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: ``() -> bool | Awaitable[bool | None]``; raising means "down", the exception is the reason.
HealthCheck = Callable[[], Any]


@dataclass(slots=True)
class HealthStatus:
    ok: bool
    error: str | None
    #: Wall clock of the check (ms since the epoch).
    checked_at_ms: int

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error, "checked_at_ms": self.checked_at_ms}


class HealthBoard:
    def __init__(self, checks: dict[str, HealthCheck], timeout_s: float, cache_s: float) -> None:
        self.checks = checks
        self.timeout_s = timeout_s
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, HealthStatus]] = {}
        self._running: dict[str, asyncio.Task[HealthStatus]] = {}

    async def report(self) -> dict[str, HealthStatus]:
        """The status of every check, each at most ``cache_s`` old, all run concurrently."""
        names = list(self.checks)
        statuses = await asyncio.gather(*(self._status(name) for name in names))
        return dict(zip(names, statuses, strict=True))

    async def _status(self, name: str) -> HealthStatus:
        cached = self._cache.get(name)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.cache_s:
            return cached[1]
        task = self._running.get(name)
        if task is None:  # concurrent probes share one run of the check
            task = asyncio.ensure_future(self._run(name))
            self._running[name] = task
            task.add_done_callback(lambda _t: self._running.pop(name, None))
        return await asyncio.shield(task)

    async def _run(self, name: str) -> HealthStatus:
        check = self.checks.get(name)
        error: str | None = None
        try:
            if check is None:
                raise LookupError("check removed")
            value = check()
            if inspect.isawaitable(value):
                value = await asyncio.wait_for(value, self.timeout_s)
            if value is False:
                error = "check failed"
        except TimeoutError:
            error = f"no answer within {self.timeout_s:g}s"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        status = HealthStatus(error is None, error, int(time.time() * 1000))
        self._cache[name] = (time.monotonic(), status)
        return status
