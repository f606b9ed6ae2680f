"""``workers/cron/job.py``: a job started at a given (fake) time waits for its next tick and never
fires a tick in the past. The clock is the module's ``datetime``, replaced; nothing sleeps long."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pyiii.cron_expressions import CronSchedule
from pyiii.workers.cron import job as job_module
from pyiii.workers.cron.adapters.local import LocalTickLock
from pyiii.workers.cron.job import CronJob

#: More tick tasks than this without the loop ever waiting: the job spins.
SPIN = 50


class CountingJob(CronJob):
    """Counts the ticks ``_run`` starts; raises once it starts SPIN of them."""

    def __init__(self, expression: str, tz: tzinfo) -> None:
        super().__init__("job", CronSchedule.parse(expression), tz, LocalTickLock(60_000), self._never, 1_000)
        self.started: list[datetime] = []

    async def _never(self, payload: dict[str, Any]) -> None:
        raise AssertionError("no tick should fire")

    def _tick(self, tick: datetime) -> Coroutine[Any, Any, None]:  # type: ignore[override]
        self.started.append(tick)
        if len(self.started) >= SPIN:
            raise RuntimeError(f"the job loop spins: {len(self.started)} ticks started, first {self.started[:3]}")
        return asyncio.sleep(0)


def frozen_clock(monkeypatch: pytest.MonkeyPatch, now: datetime) -> None:
    class Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Frozen:  # type: ignore[override]
            return now  # type: ignore[return-value]

    monkeypatch.setattr(job_module, "datetime", Frozen)


async def run_briefly(job: CronJob) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(job._run(), 0.2)  # waiting for the next tick is the expected outcome


async def test_a_job_waits_for_its_next_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_clock(monkeypatch, datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC))
    job = CountingJob("0 */20 * * * *", ZoneInfo("America/New_York"))
    await run_briefly(job)
    assert job.started == [] and job.next_run() == datetime(2026, 6, 1, 12, 20, tzinfo=UTC)


async def test_a_job_started_in_the_repeated_dst_hour_does_not_spin(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_clock(monkeypatch, datetime(2026, 11, 1, 6, 0, 0, tzinfo=UTC))  # 01:00 EST, the second 01:00
    job = CountingJob("0 */20 * * * *", ZoneInfo("America/New_York"))
    await run_briefly(job)
    assert job.started == []
