"""``TickLock``: one fire per tick. Whoever takes a (job, scheduled time) lock first fires that
tick; the lock is never released early and expires after ``lock_ttl_ms``."""

from __future__ import annotations

import asyncio

import pytest

from pyiii.workers.cron.adapters.base import TickLock
from tests.contracts.cron.conftest import Backend
from tests.support.waiting import eventually

TICK = "2026-01-01T00:00:00Z"


async def test_the_first_acquire_of_a_tick_wins_and_the_next_is_refused(lock: TickLock) -> None:
    assert await lock.acquire("job", TICK) is True
    assert await lock.acquire("job", TICK) is False


async def test_other_ticks_and_other_jobs_have_their_own_locks(lock: TickLock) -> None:
    assert await lock.acquire("job", TICK)
    assert await lock.acquire("job", "2026-01-01T00:01:00Z")
    assert await lock.acquire("other", TICK)


async def test_concurrent_acquires_of_one_tick_have_one_winner(lock: TickLock) -> None:
    results = await asyncio.gather(*(lock.acquire("job", TICK) for _ in range(20)))
    assert results.count(True) == 1


async def test_a_lock_expires_after_its_ttl(lock: TickLock) -> None:
    assert await lock.acquire("job", TICK)
    await eventually(lambda: lock.acquire("job", TICK), timeout=5, what="the lock to expire")


@pytest.mark.needs("shared")
async def test_an_engine_cannot_take_a_tick_another_engine_took(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    assert await first.acquire("job", TICK)
    assert await second.acquire("job", TICK) is False
    assert await second.acquire("job", "2026-01-01T00:01:00Z")
