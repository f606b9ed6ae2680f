"""tests/support/waiting.py: the one way tests wait (ARCHITECTURE rule 11). A wait that never
holds must fail, and ``stays`` must fail as soon as its condition breaks."""

from __future__ import annotations

import time

import pytest

from tests.support.waiting import eventually, eventually_sync, stays, stays_sync


async def test_eventually_returns_the_first_truthy_value_of_a_sync_or_async_probe() -> None:
    calls = [0]

    def probe() -> int:
        calls[0] += 1
        return calls[0] if calls[0] >= 3 else 0

    async def async_probe() -> str:
        return "ok"

    assert await eventually(probe, 1, 0.001) == 3
    assert await eventually(async_probe, 1) == "ok"


async def test_eventually_fails_with_what_and_the_last_value_when_it_never_holds() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"the thing did not hold within 0.1s \(last: \[\]\)"):
        await eventually(lambda: [], 0.1, 0.01, what="the thing")
    assert time.monotonic() - started >= 0.1


async def test_eventually_retries_only_the_given_errors() -> None:
    def asserts() -> bool:
        raise AssertionError("not yet")

    def breaks() -> bool:
        raise ConnectionError("down")

    with pytest.raises(AssertionError, match="not yet"):
        await eventually(asserts, 0.05, 0.01)
    with pytest.raises(ConnectionError):
        await eventually(breaks, 5, 0.01)  # not retried: fails at once
    with pytest.raises(AssertionError, match="down"):
        await eventually(breaks, 0.05, 0.01, retry_on=(ConnectionError,))


async def test_stays_fails_as_soon_as_the_condition_breaks() -> None:
    await stays(lambda: True, 0.05, 0.01)
    flips = [True, True, False]
    started = time.monotonic()
    with pytest.raises(AssertionError, match="quiet stopped holding"):
        await stays(lambda: flips.pop(0), 5, 0.01, what="quiet")
    assert time.monotonic() - started < 1


def test_sync_variants_behave_the_same() -> None:
    assert eventually_sync(lambda: "x", 1) == "x"
    with pytest.raises(AssertionError, match=r"never did not hold within 0\.05s"):
        eventually_sync(lambda: None, 0.05, 0.01, what="never")
    stays_sync(lambda: True, 0.05, 0.01)
    with pytest.raises(AssertionError):
        stays_sync(lambda: False, 5)
