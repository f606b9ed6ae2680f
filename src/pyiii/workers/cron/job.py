"""One cron job: sleep until the next tick, take the tick's lock, call the function.

Missed-fire policy: no catch-up. A tick is fired if the job wakes for it within
``misfire_grace_ms`` of its time; ticks that passed while the engine was down (or the loop was
stalled longer than the grace) are skipped and the job continues with the next future tick.
Each tick's call runs on its own, so a slow handler does not delay the next tick (runs may
overlap; use a condition function or your own lock to prevent that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from pyiii.cron_expressions import CronSchedule
from pyiii.workers.cron.adapters.base import TickLock

log = logging.getLogger("pyiii.cron")

Fire = Callable[[dict[str, Any]], Awaitable[None]]


def rfc3339(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


class CronJob:
    def __init__(self, job_id: str, schedule: CronSchedule, tz: tzinfo, lock: TickLock, fire: Fire,
                 misfire_grace_ms: int, lock_id: str | None = None) -> None:
        self.job_id = job_id
        #: What the tick lock is keyed on; the same job registered on several engines shares it.
        self.lock_id = lock_id or job_id
        self.schedule = schedule
        self.tz = tz
        self.lock = lock
        self._fire = fire
        self.grace = timedelta(milliseconds=misfire_grace_ms)
        self._task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self.fired = 0
        self.skipped_missed = 0
        #: The latest tick this engine fired: ``{scheduled_time, actual_time, status, duration_ms, error?}``.
        self.last_run: dict[str, Any] | None = None

    def next_run(self) -> datetime | None:
        return self.schedule.next_after(datetime.now(UTC), self.tz)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"cron:{self.job_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        last: datetime | None = None
        while True:
            now = datetime.now(UTC)
            tick = self.schedule.next_after(last or now, self.tz)
            if tick is not None and now - tick > self.grace:
                self.skipped_missed += 1
                log.info("cron %s: missed tick(s) up to %s skipped (no catch-up)", self.job_id, rfc3339(tick))
                tick = self.schedule.next_after(now, self.tz)
            if tick is None:
                log.info("cron %s: no future occurrence; job ends", self.job_id)
                return
            await _sleep_until(tick)
            last = tick
            task = asyncio.create_task(self._tick(tick))
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)

    async def _tick(self, tick: datetime) -> None:
        scheduled = rfc3339(tick)
        try:
            if not await self.lock.acquire(self.lock_id, scheduled):
                return
        except Exception:
            log.exception("cron %s: lock backend failed; tick %s skipped", self.job_id, scheduled)
            return
        payload = {"trigger": "cron", "job_id": self.job_id, "scheduled_time": scheduled,
                   "actual_time": rfc3339(datetime.now(UTC))}
        self.fired += 1
        run: dict[str, Any] = {"scheduled_time": scheduled, "actual_time": payload["actual_time"],
                               "status": "running", "duration_ms": None}
        self.last_run = run
        started = time.perf_counter()
        try:
            await self._fire(payload)
            run["status"] = "ok"
        except Exception as exc:
            run["status"], run["error"] = "error", str(exc)
            log.warning("cron %s: tick %s failed: %s", self.job_id, scheduled, exc)
        finally:
            run["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)


async def _sleep_until(when: datetime) -> None:
    while True:
        delay = (when - datetime.now(UTC)).total_seconds()
        if delay <= 0:
            return
        await asyncio.sleep(delay)
