"""Group commit (``adapters.batching``) and coalesced AMQP acks (``adapters.amqp_acks``)."""

from __future__ import annotations

import asyncio

import pytest

from pyiii.workers.queue.adapters.amqp_acks import ChannelAcks
from pyiii.workers.queue.adapters.batching import GroupCommit
from tests.support.waiting import eventually, stays


async def test_one_turn_is_one_flush_and_callers_wait_for_it() -> None:
    flushed: list[list[int]] = []
    release = asyncio.Event()

    async def flush(items: list[int]) -> None:
        flushed.append(items)
        await release.wait()

    gc: GroupCommit[int] = GroupCommit(flush)
    calls = [asyncio.create_task(gc.submit(i)) for i in range(5)]
    await eventually(lambda: flushed, what="the first flush")
    assert flushed == [[0, 1, 2, 3, 4]]
    assert not any(c.done() for c in calls)  # nobody is told "done" before the store confirmed
    # submitted while a flush is in flight: the next batch
    late = [asyncio.create_task(gc.submit(i)) for i in (5, 6)]
    # No second flush while the first is in flight: one would start within a loop turn or two of
    # the late submits; 0.05 s is many turns.
    await stays(lambda: len(flushed) == 1, 0.05, interval=0.01, what="a single flush in flight")
    release.set()
    await asyncio.gather(*calls, *late)
    assert flushed == [[0, 1, 2, 3, 4], [5, 6]]


async def test_a_failed_flush_fails_every_caller_of_that_batch_only() -> None:
    fail = True

    async def flush(items: list[int]) -> None:
        if fail:
            raise ConnectionError("store down")

    gc: GroupCommit[int] = GroupCommit(flush)
    results = await asyncio.gather(gc.submit(1), gc.submit(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    fail = False
    await gc.submit(3)


async def test_per_item_errors() -> None:
    async def flush(items: list[int]) -> list[Exception | None]:
        return [ValueError(i) if i % 2 else None for i in items]

    gc: GroupCommit[int] = GroupCommit(flush)
    results = await asyncio.gather(*(gc.submit(i) for i in range(4)), return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError) and isinstance(results[3], ValueError)


async def test_max_batch_splits() -> None:
    sizes: list[int] = []

    async def flush(items: list[int]) -> None:
        sizes.append(len(items))

    gc: GroupCommit[int] = GroupCommit(flush, max_batch=3)
    await asyncio.gather(*(gc.submit(i) for i in range(7)))
    assert sizes == [3, 3, 1]
    await gc.drain()


def acks_for(*tags: int) -> ChannelAcks:
    acks = ChannelAcks(object())
    for t in tags:
        acks.delivered(t)
    return acks


def test_in_order_settles_are_one_multiple_ack() -> None:
    acks = acks_for(1, 2, 3, 4)
    assert acks.plan([2, 1, 3]) == (3, [])
    assert acks.unacked == 1
    assert acks.plan([4]) == (4, [])
    assert acks.unacked == 0


def test_a_gap_is_never_covered_by_a_multiple_ack() -> None:
    acks = acks_for(1, 2, 3, 4, 5)
    # 2 is still running: 3 and 5 are acked one by one, nothing waits for 2
    assert acks.plan([3, 5]) == (None, [3, 5])
    assert acks.plan([1]) == (1, [])
    # 2 settles: the run 2..3 is covered (3 already acked alone), 4 still open -> top is 2
    assert acks.plan([2]) == (2, [])
    assert acks.plan([4]) == (4, [])
    assert acks.unacked == 0


@pytest.mark.parametrize("twice", [[1, 1], [1]])
def test_a_tag_is_acked_once(twice: list[int]) -> None:
    acks = acks_for(1, 2)
    assert acks.plan(twice) == (1, [])
    assert acks.plan([1]) == (None, [])  # a second ack of a tag would close the channel
    assert acks.unacked == 1
