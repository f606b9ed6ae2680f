"""``queue/adapters/subscribers.py``: the in-process subscriber map of the queue backends."""

from __future__ import annotations

from pyiii.workers.queue.adapters.subscribers import TopicSubscribers


def test_subscribers_keep_their_order_and_a_topic_goes_with_its_last_one() -> None:
    subs = TopicSubscribers()
    subs.add("t", "b")
    subs.add("t", "a")
    subs.add("t", "b")  # again: keeps its place
    subs.add("u", "c")
    assert subs.of("t") == ["b", "a"] and subs.has("t", "a") and not subs.has("u", "a")
    assert subs.topics() == {"t", "u"}
    subs.remove("t", "b")
    subs.remove("t", "nobody")
    subs.remove("never", "x")
    assert subs.of("t") == ["a"]
    subs.remove("t", "a")
    assert subs.of("t") == [] and subs.topics() == {"u"}
