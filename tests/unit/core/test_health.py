"""HealthBoard: every check bounded by a timeout, answers cached, concurrent probes share a run."""

from __future__ import annotations

import asyncio

from pyiii.core.health import HealthBoard, HealthCheck


async def test_each_kind_of_failure_is_named() -> None:
    async def raises() -> None:
        raise ConnectionError("Connection refused")

    async def hangs() -> None:
        await asyncio.sleep(10)

    checks: dict[str, HealthCheck] = {"up": lambda: True, "false": lambda: False, "raises": raises, "hangs": hangs}
    report = await HealthBoard(checks, timeout_s=0.05, cache_s=0).report()
    assert report["up"].ok and report["up"].error is None
    assert report["false"].error == "check failed"
    assert report["raises"].error == "ConnectionError: Connection refused"
    assert report["hangs"].error == "no answer within 0.05s"
    assert all(s.checked_at_ms > 0 for s in report.values())


async def test_answers_are_cached_and_shared() -> None:
    runs = 0

    async def ping() -> None:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.01)

    board = HealthBoard({"redis": ping}, timeout_s=1, cache_s=60)
    await asyncio.gather(*(board.report() for _ in range(20)))
    await board.report()
    assert runs == 1
