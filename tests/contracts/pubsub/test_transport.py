"""The contract of ``PubsubAdapter`` (workers/pubsub/adapters/__init__.py), against every
transport: a publish on a subscribed topic reaches ``deliver`` with its bytes intact and in
order; across engines where the transport is shared; nothing after the last unsubscribe where
the transport filters."""

from __future__ import annotations

import msgspec
import pytest

from tests.contracts.pubsub.conftest import Backend, Engine
from tests.support.waiting import eventually, stays

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_a_publish_on_a_subscribed_topic_is_delivered_intact(engine: Engine) -> None:
    await engine.adapter.subscribe("orders")
    body = msgspec.json.encode({"id": 1, "text": "ü€😀", "nested": [None, 1.5]})
    await engine.adapter.publish("orders", body)
    await eventually(lambda: [(t, b) for t, b, _, _ in engine.got] == [("orders", body)], what="one delivery")
    await stays(lambda: len(engine.got) == 1, 0.3, what="exactly one delivery")


async def test_publishes_are_delivered_in_order(engine: Engine) -> None:
    await engine.adapter.subscribe("seq")
    bodies = [msgspec.json.encode(i) for i in range(50)]
    for body in bodies:
        await engine.adapter.publish("seq", body)
    await eventually(lambda: [b for _, b, _, _ in engine.got] == bodies, what="50 deliveries in order")


async def test_topics_are_delivered_under_their_own_name(engine: Engine) -> None:
    for topic in ("a", "a.b", "a:b"):
        await engine.adapter.subscribe(topic)
    for topic in ("a", "a.b", "a:b"):
        await engine.adapter.publish(topic, msgspec.json.encode(topic))
    await eventually(lambda: sorted((t, msgspec.json.decode(b)) for t, b, _, _ in engine.got)
                     == [("a", "a"), ("a.b", "a.b"), ("a:b", "a:b")], what="one delivery per topic")


@pytest.mark.needs("trace_context")
async def test_the_trace_context_travels_with_the_publish(engine: Engine) -> None:
    await engine.adapter.subscribe("traced")
    await engine.adapter.publish("traced", b"1", TRACEPARENT, "k=v")
    await eventually(lambda: engine.got == [("traced", b"1", TRACEPARENT, "k=v")], what="the trace context")


@pytest.mark.needs("shared")
async def test_every_subscribed_engine_gets_a_publish(backend: Backend) -> None:
    a, b, c = await backend.open(), await backend.open(), await backend.open()
    await a.adapter.subscribe("fanout")
    await b.adapter.subscribe("fanout")
    await c.adapter.publish("fanout", b'"hi"')
    await eventually(lambda: a.got and b.got, what="both subscribed engines to get it")
    assert a.got == b.got == [("fanout", b'"hi"', None, None)]
    await stays(lambda: c.got == [] and len(a.got) == len(b.got) == 1, 0.3, what="no extra delivery")


@pytest.mark.needs("filters")
async def test_nothing_is_delivered_after_unsubscribe(engine: Engine) -> None:
    await engine.adapter.subscribe("t1")
    await engine.adapter.subscribe("t2")
    await engine.adapter.publish("t1", b"1")
    await eventually(lambda: len(engine.got) == 1, what="a delivery while subscribed")
    await engine.adapter.unsubscribe("t1")
    await engine.adapter.publish("t1", b"2")
    await engine.adapter.publish("never-subscribed", b"3")
    await engine.adapter.publish("t2", b"4")  # still subscribed: shows the reader is alive
    await eventually(lambda: len(engine.got) == 2, what="the t2 delivery")
    await stays(lambda: [b for _, b, _, _ in engine.got] == [b"1", b"4"], 0.4, what="no delivery of t1")
