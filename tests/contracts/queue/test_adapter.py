"""The storage contract of ``QueueAdapter`` (workers/queue/adapters/base.py), against every backend.

What the consumer relies on: a publish is delivered (pushed, in order) and leased; ack removes it;
retry counts an attempt and hides it for its delay; release gives it back without one; dead
letters keep the original payload and the error and can be listed, redriven and discarded; an
unknown queue is an empty queue; topics fan out to subscribers and keep a bounded backlog; what
is not settled survives a consumer's death and a re-open.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from pyiii.workers.queue.adapters.base import BacklogFull, QueueAdapter
from pyiii.workers.queue.message import QueueStats, now_ms, subscriber_queue
from pyiii.workers.queue.naming import subscriber_key
from tests.contracts.queue.conftest import Backend
from tests.contracts.queue.support import dead_letters, message, nothing_within, payloads, qname, take
from tests.support.waiting import eventually, stays

# ------------------------------------------------------------------ publish, receive, ack


async def test_a_published_message_is_delivered_as_it_was_published(adapter: QueueAdapter) -> None:
    q = qname()
    sent = message(q, {"n": 1, "text": "héllo", "nested": [1, {"a": None}]}, function_id="fn::a",
                   traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    await adapter.publish(sent)
    (d,) = await take(adapter, q, 1)
    got = d.message
    assert got.id == sent.id and got.queue == q
    assert got.decoded_data() == {"n": 1, "text": "héllo", "nested": [1, {"a": None}]}
    assert (got.attempts, got.interruptions) == (0, 0)
    assert got.function_id == "fn::a" and got.traceparent == sent.traceparent


async def test_receive_waits_for_the_next_publish(adapter: QueueAdapter) -> None:
    """Push, not poll: a receiver waiting on an empty (even never used) queue gets a later
    publish at once."""
    q = qname()
    waiting = asyncio.create_task(adapter.receive(q, 10, 60_000))
    await stays(lambda: not waiting.done(), 0.3, what="receive waiting on an empty queue")
    t0 = time.monotonic()
    await adapter.publish(message(q, "wake"))
    got = await asyncio.wait_for(waiting, 10)
    assert payloads(got) == ["wake"]
    assert time.monotonic() - t0 < 2.0


async def test_messages_are_delivered_in_publish_order(adapter: QueueAdapter) -> None:
    q = qname()
    for i in range(25):
        await adapter.publish(message(q, i))
    got = await take(adapter, q, 25)
    assert payloads(got) == list(range(25))


async def test_receive_leases_at_most_max_count(adapter: QueueAdapter) -> None:
    q = qname()
    for i in range(5):
        await adapter.publish(message(q, i))
    first = await adapter.receive(q, 2, 60_000)
    assert 1 <= len(first) <= 2
    rest = await take(adapter, q, 5 - len(first))
    assert sorted(payloads(first + rest)) == list(range(5))


async def test_a_leased_message_is_not_delivered_again_while_leased(adapter: QueueAdapter) -> None:
    q = qname()
    await adapter.publish(message(q, "a"))
    await adapter.publish(message(q, "b"))
    got = await take(adapter, q, 2)
    assert payloads(got) == ["a", "b"]
    await nothing_within(adapter, q, 0.8)


async def test_ack_removes_the_message_and_only_it(adapter: QueueAdapter) -> None:
    q = qname()
    for i in range(10):
        await adapter.publish(message(q, i))
    got = await take(adapter, q, 10)
    await asyncio.gather(*(adapter.ack(d) for d in reversed(got[::2])))  # one loop turn, out of order
    await asyncio.gather(*(adapter.ack(d) for d in got[1::2]))
    await nothing_within(adapter, q, 0.5)

    async def empty() -> bool:
        s = await adapter.stats(q)
        return (s.waiting, s.delayed, s.in_flight, s.dead) == (0, 0, 0, 0)

    await eventually(empty, what="stats of an emptied queue to be all zero")


async def test_stats_count_waiting_and_in_flight(adapter: QueueAdapter) -> None:
    """Before any receive every message is waiting; afterwards waiting + in flight is what is
    left, and a leased message is in flight (an adapter that prefetches, RabbitMQ, counts what it
    holds for the consumer as in flight too)."""
    q = qname()
    for i in range(3):
        await adapter.publish(message(q, i))

    async def counts(left: int, leased: int) -> bool:
        s = await adapter.stats(q)
        return s.waiting + s.in_flight == left and s.in_flight >= leased and s.dead == 0

    await eventually(lambda: counts(3, 0), what="3 waiting")
    assert (await adapter.stats(q)).waiting == 3
    (d,) = await take(adapter, q, 1)
    await adapter.ack(d)
    (d,) = await take(adapter, q, 1)
    await eventually(lambda: counts(2, 1), what="2 left, at least 1 in flight")


# ------------------------------------------------------------------ retry and release


async def test_retry_counts_an_attempt_and_waits_its_delay(adapter: QueueAdapter) -> None:
    q = qname()
    sent = message(q, {"k": "v"})
    await adapter.publish(sent)
    (d,) = await take(adapter, q, 1)
    t0 = time.monotonic()
    await adapter.retry(d, 400)
    (again,) = await take(adapter, q, 1)
    waited = time.monotonic() - t0
    assert 0.38 <= waited < 3.0, f"delivered again after {waited:.3f}s, the delay was 0.4s"
    assert again.message.attempts == 1 and again.message.interruptions == 0
    assert again.message.decoded_data() == {"k": "v"} and again.message.id == sent.id
    await adapter.retry(again, 1)
    (third,) = await take(adapter, q, 1)
    assert third.message.attempts == 2


@pytest.mark.needs("counts_delayed")
async def test_a_retry_waiting_for_its_delay_counts_as_delayed(adapter: QueueAdapter) -> None:
    q = qname()
    await adapter.publish(message(q, 1))
    (d,) = await take(adapter, q, 1)
    await adapter.retry(d, 30_000)
    s = await adapter.stats(q)
    assert (s.waiting, s.delayed, s.in_flight) == (0, 1, 0), s
    await nothing_within(adapter, q, 0.5)


async def test_release_gives_the_message_back_without_an_attempt(adapter: QueueAdapter) -> None:
    q = qname()
    await adapter.publish(message(q, "x"))
    (d,) = await take(adapter, q, 1)
    await adapter.release(d, 0, interrupted=False)
    (again,) = await take(adapter, q, 1, timeout=5)
    assert (again.message.attempts, again.message.interruptions) == (0, 0)
    await adapter.release(again, 0, interrupted=True)
    (third,) = await take(adapter, q, 1, timeout=5)
    assert (third.message.attempts, third.message.interruptions) == (0, 1)
    assert third.message.decoded_data() == "x"


async def test_release_with_a_delay_hides_the_message_for_it(adapter: QueueAdapter) -> None:
    q = qname()
    await adapter.publish(message(q, "later"))
    (d,) = await take(adapter, q, 1)
    t0 = time.monotonic()
    await adapter.release(d, 400, interrupted=False)
    (again,) = await take(adapter, q, 1)
    assert time.monotonic() - t0 >= 0.38
    assert again.message.attempts == 0


# ------------------------------------------------------------------ dead letters


async def test_dead_letter_keeps_the_original_payload_and_the_error(adapter: QueueAdapter) -> None:
    q = qname()
    sent = message(q, {"order": 7, "items": ["a", "b"]}, function_id="fn::work")
    await adapter.publish(sent)
    (d,) = await take(adapter, q, 1)
    await adapter.retry(d, 1)
    (d,) = await take(adapter, q, 1)
    before = now_ms()
    await adapter.dead_letter(d, "handler_error: boom")
    await nothing_within(adapter, q, 0.5)
    (dead,) = await eventually(lambda: adapter.dlq_list([q], 0, 10), what="the dead letter to be listed")
    assert dead.message.id == sent.id and dead.message.queue == q
    assert dead.message.decoded_data() == {"order": 7, "items": ["a", "b"]}
    assert dead.message.function_id == "fn::work"
    assert dead.message.attempts == 2  # the retried attempt and the final one
    assert dead.error == "handler_error: boom"
    assert before - 1000 <= dead.failed_at <= now_ms() + 1000
    assert (await adapter.dlq_counts()).get(q) == 1
    s = await adapter.stats(q)
    assert (s.waiting, s.in_flight, s.dead) == (0, 0, 1), s


async def test_dlq_list_is_newest_first_and_pages(adapter: QueueAdapter) -> None:
    q = qname()
    for i in range(4):
        await adapter.publish(message(q, i))
    got = await take(adapter, q, 4)
    for d in got:
        stamp = now_ms()
        await eventually(lambda stamp=stamp: now_ms() > stamp, what="the clock to move on")  # distinct failed_at
        await adapter.dead_letter(d, f"e{d.message.decoded_data()}")
    rows = await dead_letters(adapter, q, 4)
    assert [r.message.decoded_data() for r in rows] == [3, 2, 1, 0]
    page = await adapter.dlq_list([q], 1, 2)
    assert [r.message.decoded_data() for r in page] == [2, 1]


async def test_redrive_all_puts_dead_letters_back_with_fresh_counts(adapter: QueueAdapter) -> None:
    q = qname()
    for i in range(3):
        await adapter.publish(message(q, i))
    for d in await take(adapter, q, 3):
        await adapter.release(d, 0, interrupted=True)
    for d in await take(adapter, q, 3):
        await adapter.dead_letter(d, "boom")
    await dead_letters(adapter, q, 3)
    assert await adapter.redrive([q], None) == 3
    back = await take(adapter, q, 3)
    assert sorted(payloads(back)) == [0, 1, 2]
    assert all((d.message.attempts, d.message.interruptions) == (0, 0) for d in back)
    assert await adapter.dlq_list([q], 0, 10) == []
    assert q not in await adapter.dlq_counts()


async def test_redrive_one_moves_only_that_message(adapter: QueueAdapter) -> None:
    q = qname()
    for i in range(3):
        await adapter.publish(message(q, i))
    got = await take(adapter, q, 3)
    for d in got:
        await adapter.dead_letter(d, "boom")
    await dead_letters(adapter, q, 3)
    assert await adapter.redrive([q], got[1].message.id) == 1
    (back,) = await take(adapter, q, 1)
    assert back.message.decoded_data() == 1 and back.message.attempts == 0
    rows = await adapter.dlq_list([q], 0, 10)
    assert sorted(r.message.decoded_data() for r in rows) == [0, 2]
    assert await adapter.redrive([q], "no-such-id") == 0


async def test_discard_removes_one_dead_letter(adapter: QueueAdapter) -> None:
    q = qname()
    for i in range(2):
        await adapter.publish(message(q, i))
    got = await take(adapter, q, 2)
    for d in got:
        await adapter.dead_letter(d, "boom")
    await dead_letters(adapter, q, 2)
    assert await adapter.discard([q], got[0].message.id) is True
    assert [r.message.decoded_data() for r in await adapter.dlq_list([q], 0, 10)] == [1]
    assert await adapter.discard([q], got[0].message.id) is False
    assert await adapter.discard([q], "no-such-id") is False
    await nothing_within(adapter, q, 0.3)


# ------------------------------------------------------------------ unknown queue


async def test_an_unknown_queue_is_an_empty_queue(adapter: QueueAdapter) -> None:
    q = qname("never-used")
    assert await adapter.stats(q) == QueueStats()
    assert await adapter.dlq_list([q], 0, 10) == []
    assert await adapter.redrive([q], None) == 0
    assert await adapter.redrive([q], "x") == 0
    assert await adapter.discard([q], "x") is False
    assert q not in await adapter.dlq_counts()
    await nothing_within(adapter, q, 0.3)


# ------------------------------------------------------------------ leases and dead consumers


@pytest.mark.needs("lease_expiry")
async def test_an_expired_lease_delivers_the_message_again(adapter: QueueAdapter) -> None:
    q = qname()
    await adapter.publish(message(q, "again"))
    await take(adapter, q, 1, lease_ms=300)
    t0 = time.monotonic()
    (again,) = await take(adapter, q, 1, lease_ms=300, timeout=10)
    assert time.monotonic() - t0 >= 0.2
    assert again.message.decoded_data() == "again"
    assert again.message.attempts == 0  # a lapsed lease is not a failed attempt
    await adapter.ack(again)
    await nothing_within(adapter, q, 0.8, lease_ms=300)


@pytest.mark.needs("lease_expiry")
async def test_extend_keeps_a_running_message_leased(adapter: QueueAdapter) -> None:
    q = qname()
    await adapter.publish(message(q, "long job"))
    (d,) = await take(adapter, q, 1, lease_ms=400)

    async def renew() -> None:
        while True:
            await adapter.extend([d], 400)
            await asyncio.sleep(0.1)  # the heartbeat period (what the consumer does), not a wait

    heartbeat = asyncio.create_task(renew())
    try:
        await nothing_within(adapter, q, 1.5, lease_ms=400)
    finally:
        heartbeat.cancel()
    (again,) = await take(adapter, q, 1, lease_ms=400, timeout=10)
    assert again.message.decoded_data() == "long job"


@pytest.mark.needs("shared")
async def test_a_dead_consumers_unsettled_messages_go_to_another(backend: Backend) -> None:
    a, b = await backend.open(), await backend.open()
    q = qname()
    for i in range(6):
        await a.publish(message(q, i))
    got = await take(a, q, 6, lease_ms=600)
    await asyncio.gather(*(a.ack(d) for d in got[:2]))
    await a.close()  # died with four unsettled
    back = await take(b, q, 4, lease_ms=600, timeout=20)
    assert sorted(payloads(back)) == [2, 3, 4, 5]
    assert all(d.message.attempts == 0 for d in back)
    await asyncio.gather(*(b.ack(d) for d in back))
    await nothing_within(b, q, 1.5, lease_ms=600)


# ------------------------------------------------------------------ durability across a re-open


@pytest.mark.needs("durable")
async def test_a_reopened_adapter_has_the_unsettled_messages(backend: Backend) -> None:
    a = await backend.open()
    q = qname()
    for i in range(5):
        await a.publish(message(q, i))
    got = await take(a, q, 2)
    await a.ack(got[0])
    await a.close()
    b = await backend.open()
    back = await take(b, q, 4, lease_ms=500, timeout=20)  # one was leased by the dead instance
    assert sorted(payloads(back)) == [1, 2, 3, 4]
    await asyncio.gather(*(b.ack(d) for d in back))
    await nothing_within(b, q, 1.0, lease_ms=500)


@pytest.mark.needs("durable")
async def test_a_reopened_adapter_has_the_retries_and_dead_letters(backend: Backend) -> None:
    a = await backend.open()
    q = qname()
    await a.publish(message(q, "retried"))
    await a.publish(message(q, "dead"))
    retried, dead = await take(a, q, 2)
    await a.retry(retried, 300)
    await a.dead_letter(dead, "boom")
    await a.close()
    b = await backend.open()
    (again,) = await take(b, q, 1, lease_ms=500, timeout=20)
    assert again.message.decoded_data() == "retried" and again.message.attempts == 1
    rows = await eventually(lambda: b.dlq_list([q], 0, 10), what="the dead letter after a re-open")
    assert [(r.message.decoded_data(), r.error) for r in rows] == [("dead", "boom")]


@pytest.mark.needs("durable")
async def test_a_reopened_adapter_counts_the_dead_letters(backend: Backend) -> None:
    a = await backend.open()
    q = qname()
    await a.publish(message(q, "dead"))
    (d,) = await take(a, q, 1)
    await a.dead_letter(d, "boom")
    await eventually(lambda: (a.dlq_counts()), what="a dlq count")
    await a.close()
    b = await backend.open()
    assert (await b.dlq_counts()).get(q) == 1


@pytest.mark.needs("durable")
async def test_a_subscription_outlives_a_reopen(backend: Backend) -> None:
    a = await backend.open()
    topic = qname("topic")
    await a.add_subscriber(topic, subscriber_key("fn::sub"))
    await a.close()
    b = await backend.open()
    await b.publish_topic(topic, message(topic, "after restart"), 100)
    (d,) = await take(b, subscriber_queue(topic, subscriber_key("fn::sub")), 1)
    assert d.message.decoded_data() == "after restart"


@pytest.mark.needs("durable")
async def test_a_reopened_adapter_lists_the_subscribers_and_topics(backend: Backend) -> None:
    a = await backend.open()
    topic = qname("topic")
    await a.add_subscriber(topic, subscriber_key("fn::sub"))
    await a.close()
    b = await backend.open()
    assert await b.subscribers(topic) == [subscriber_key("fn::sub")]
    assert topic in await b.topics()


# ------------------------------------------------------------------ topics


async def test_a_topic_publish_copies_to_every_subscriber(adapter: QueueAdapter) -> None:
    topic = qname("topic")
    assert await adapter.add_subscriber(topic, subscriber_key("fn::a")) == 0
    assert await adapter.add_subscriber(topic, subscriber_key("fn::b")) == 0
    assert sorted(await adapter.subscribers(topic)) == [subscriber_key("fn::a"), subscriber_key("fn::b")]
    assert topic in await adapter.topics()
    assert await adapter.publish_topic(topic, message(topic, {"e": 1}), 100) == 2
    (da,) = await take(adapter, subscriber_queue(topic, subscriber_key("fn::a")), 1)
    (db,) = await take(adapter, subscriber_queue(topic, subscriber_key("fn::b")), 1)
    assert da.message.decoded_data() == db.message.decoded_data() == {"e": 1}
    assert da.message.id != db.message.id  # each copy is settled on its own
    assert da.message.queue == subscriber_queue(topic, subscriber_key("fn::a"))
    await adapter.ack(da)
    await adapter.dead_letter(db, "boom")
    rows = await eventually(lambda: adapter.dlq_list([subscriber_queue(topic, subscriber_key("fn::b"))], 0, 10))
    assert rows[0].message.id == db.message.id
    assert await adapter.dlq_list([subscriber_queue(topic, subscriber_key("fn::a"))], 0, 10) == []


async def test_a_topic_without_subscribers_keeps_a_backlog_for_the_first(adapter: QueueAdapter) -> None:
    topic = qname("topic")
    for i in range(3):
        assert await adapter.publish_topic(topic, message(topic, i), 100) == 0
    assert topic in await adapter.topics()
    assert await adapter.add_subscriber(topic, subscriber_key("fn::first")) == 3
    assert await adapter.add_subscriber(topic, subscriber_key("fn::second")) == 0
    got = await take(adapter, subscriber_queue(topic, subscriber_key("fn::first")), 3)
    assert payloads(got) == [0, 1, 2]
    await nothing_within(adapter, subscriber_queue(topic, subscriber_key("fn::second")), 0.3)


async def test_a_topic_backlog_is_bounded(adapter: QueueAdapter) -> None:
    topic = qname("topic")
    for i in range(2):
        await adapter.publish_topic(topic, message(topic, i), 2)
    with pytest.raises(BacklogFull):
        await adapter.publish_topic(topic, message(topic, 2), 2)
    assert await adapter.add_subscriber(topic, subscriber_key("fn::a")) == 2


async def test_a_removed_subscriber_gets_no_new_copies(adapter: QueueAdapter) -> None:
    topic = qname("topic")
    await adapter.add_subscriber(topic, subscriber_key("fn::a"))
    await adapter.add_subscriber(topic, subscriber_key("fn::b"))
    await adapter.publish_topic(topic, message(topic, "both"), 100)
    await adapter.remove_subscriber(topic, subscriber_key("fn::b"))
    assert await adapter.subscribers(topic) == [subscriber_key("fn::a")]
    assert await adapter.publish_topic(topic, message(topic, "only a"), 100) == 1
    assert payloads(await take(adapter, subscriber_queue(topic, subscriber_key("fn::a")), 2)) == ["both", "only a"]
    # what was already in b's queue stays there
    assert payloads(await take(adapter, subscriber_queue(topic, subscriber_key("fn::b")), 1)) == ["both"]
    await nothing_within(adapter, subscriber_queue(topic, subscriber_key("fn::b")), 0.5)
