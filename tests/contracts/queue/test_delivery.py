"""The delivery policy on top of each backend: the queue worker's ``Consumer`` (attempts, backoff,
dead-lettering, concurrency, FIFO message groups) driving a real adapter, in this process.

The policy is decided once, in the consumer; these tests show that every adapter gives it what it
needs (retries come back at their due time with their attempt count, the order of a queue is
kept, leases are not lost while handlers run).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from pyiii.core import errors as E
from pyiii.core.errors import FunctionError
from pyiii.workers.queue.adapters.base import QueueAdapter
from pyiii.workers.queue.consumer import Consumer, ConsumerSettings
from pyiii.workers.queue.message import QueueMessage
from pyiii.workers.queue.policy import DeliveryPolicy
from tests.contracts.queue.support import dead_letters, message, qname
from tests.support.waiting import eventually, stays

Handler = Callable[[QueueMessage], Awaitable[Any]]
Start = Callable[..., Consumer]


@pytest.fixture
async def consume(adapter: QueueAdapter) -> AsyncIterator[Start]:
    """``consume(queue, policy, handler, **settings)`` starts a consumer; stopped after the test."""
    started: list[Consumer] = []

    def start(queue: str, policy: DeliveryPolicy, handler: Handler, **settings: Any) -> Consumer:
        c = Consumer(adapter, queue, policy, handler, function_of=lambda m: "fn::handler",
                     function_exists=lambda f: True, settings=ConsumerSettings(**{"lease_ms": 5_000, **settings}))
        c.start()
        started.append(c)
        return c

    yield start
    for c in started:
        await c.stop(cancel_running=True)


async def empty(adapter: QueueAdapter, queue: str) -> bool:
    s = await adapter.stats(queue)
    return (s.waiting, s.delayed, s.in_flight) == (0, 0, 0)


async def test_a_handled_message_is_acked(adapter: QueueAdapter, consume: Start) -> None:
    q = qname()
    seen: list[Any] = []

    async def handler(m: QueueMessage) -> None:
        seen.append(m.decoded_data())

    c = consume(q, DeliveryPolicy(), handler)
    await adapter.publish(message(q, {"ok": True}))
    await eventually(lambda: seen == [{"ok": True}] and c.processed == 1, what="one call")
    await eventually(lambda: empty(adapter, q), what="the queue to be empty")
    await stays(lambda: len(seen) == 1, 0.5, what="a single call")
    assert await adapter.dlq_list([q], 0, 10) == []


async def test_failures_retry_with_the_policys_backoff_then_dead_letter(adapter: QueueAdapter,
                                                                        consume: Start) -> None:
    q = qname()
    calls: list[tuple[float, int]] = []

    async def handler(m: QueueMessage) -> None:
        calls.append((time.monotonic(), m.attempts))
        raise FunctionError("handler_failed", "no luck")

    consume(q, DeliveryPolicy(max_attempts=3, backoff_ms=250), handler)
    sent = message(q, {"order": 42})
    await adapter.publish(sent)
    rows = await dead_letters(adapter, q, 1)
    assert [a for _, a in calls] == [0, 1, 2]
    first_gap, second_gap = calls[1][0] - calls[0][0], calls[2][0] - calls[1][0]
    assert 0.24 <= first_gap < 2.0, f"first retry after {first_gap:.3f}s, backoff 0.25s"
    assert 0.49 <= second_gap < 2.5, f"second retry after {second_gap:.3f}s, backoff 0.5s (doubled)"
    dead = rows[0]
    assert dead.message.id == sent.id and dead.message.decoded_data() == {"order": 42}
    assert dead.message.attempts == 3
    assert dead.error == "handler_failed: no luck"
    await stays(lambda: len(calls) == 3, 0.8, what="no call after the last attempt")
    await eventually(lambda: empty(adapter, q), what="nothing left in the queue")


async def test_a_retry_that_succeeds_is_acked(adapter: QueueAdapter, consume: Start) -> None:
    q = qname()
    attempts: list[int] = []

    async def handler(m: QueueMessage) -> None:
        attempts.append(m.attempts)
        if m.attempts == 0:
            raise FunctionError("handler_failed", "first time only")

    consume(q, DeliveryPolicy(max_attempts=3, backoff_ms=50), handler)
    await adapter.publish(message(q, "flaky"))
    await eventually(lambda: attempts == [0, 1], what="a failure and a success")
    await eventually(lambda: empty(adapter, q), what="the queue to be empty")
    await stays(lambda: attempts == [0, 1], 0.5, what="no further call")
    assert await adapter.dlq_list([q], 0, 10) == []


async def test_interrupted_deliveries_do_not_use_attempts_but_are_bounded(adapter: QueueAdapter,
                                                                          consume: Start) -> None:
    q = qname()
    seen: list[tuple[int, int]] = []

    async def handler(m: QueueMessage) -> None:
        seen.append((m.attempts, m.interruptions))
        raise FunctionError(E.INVOCATION_STOPPED, "worker left")

    consume(q, DeliveryPolicy(max_attempts=1), handler, max_interruptions=3)
    await adapter.publish(message(q, "poison"))
    (dead,) = await dead_letters(adapter, q, 1)
    assert seen == [(0, 0), (0, 1), (0, 2)]
    assert dead.error.startswith(E.INVOCATION_STOPPED) and dead.message.decoded_data() == "poison"


async def test_concurrency_is_limited_by_the_policy(adapter: QueueAdapter, consume: Start) -> None:
    q = qname()
    gate = asyncio.Event()
    running = 0
    most = 0
    done: list[int] = []

    async def handler(m: QueueMessage) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await gate.wait()
        finally:
            running -= 1
        done.append(m.decoded_data())

    for i in range(9):
        await adapter.publish(message(q, i))
    consume(q, DeliveryPolicy(concurrency=3), handler)
    await eventually(lambda: running == 3, what="3 handlers running")
    await stays(lambda: running == 3 and most == 3, 0.6, what="no more than 3 at once")
    gate.set()
    await eventually(lambda: sorted(done) == list(range(9)), what="all 9 handled")
    assert most == 3
    await eventually(lambda: empty(adapter, q), what="the queue to be empty")


async def test_fifo_keeps_order_per_group_and_groups_run_side_by_side(adapter: QueueAdapter,
                                                                      consume: Start) -> None:
    q = qname()
    hold_a0 = asyncio.Event()
    calls: list[tuple[str, int, int]] = []
    done: dict[str, list[int]] = {"A": [], "B": []}

    async def handler(m: QueueMessage) -> None:
        data = m.decoded_data()
        group, n = data["g"], data["n"]
        calls.append((group, n, m.attempts))
        if (group, n) == ("A", 0):
            await hold_a0.wait()
        if (group, n) == ("A", 1) and sum(1 for c in calls if c[:2] == ("A", 1)) == 1:
            raise FunctionError("handler_failed", "A1 fails once")
        done[group].append(n)

    for n in range(3):
        await adapter.publish(message(q, {"g": "A", "n": n}))
        await adapter.publish(message(q, {"g": "B", "n": n}))
    consume(q, DeliveryPolicy(fifo=True, group_field="g", concurrency=10, max_attempts=3, backoff_ms=50), handler)
    # B is not held up by A's first message
    await eventually(lambda: done["B"] == [0, 1, 2], what="group B done while A0 runs")
    assert [c for c in calls if c[0] == "A"] == [("A", 0, 0)]
    hold_a0.set()
    await eventually(lambda: done["A"] == [0, 1, 2], what="group A done in order")
    # A1 failed once and was retried before A2 started
    assert [c[1] for c in calls if c[0] == "A"] == [0, 1, 1, 2]
    await eventually(lambda: empty(adapter, q), what="the queue to be empty")
