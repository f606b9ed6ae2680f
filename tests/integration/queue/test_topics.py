"""Topic mode with the official Python SDK: publish, fan-out, aliases, backlog, typed errors."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.integration.queue.conftest import adapter_spec, queue_engine, trigger_ready
from tests.support.waiting import eventually_sync


@pytest.fixture(params=["sqlite", "redis", "rabbitmq"])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    proc = queue_engine(tmp_path, {"adapter": adapter_spec(request.param)}).start()
    try:
        yield proc.url
    finally:
        proc.stop()


def test_every_subscribed_function_gets_its_own_copy(engine_url: str, sdk: Any) -> None:
    worker = sdk(engine_url)
    got: dict[str, list[Any]] = {"a": [], "b": []}
    lock = threading.Lock()

    def handler(name: str) -> Any:
        def run(data: Any) -> None:
            with lock:
                got[name].append(data)
        return run

    worker.register_function("t.a", handler("a"))
    worker.register_function("t.b", handler("b"))
    worker.register_trigger({"type": "durable:subscriber", "function_id": "t.a", "config": {"topic": "orders"}})
    # Motia 1.0 spelling: trigger type `queue`, topic key `queue`.
    worker.register_trigger({"type": "queue", "function_id": "t.b", "config": {"queue": "orders"}})
    trigger_ready(worker, "t.a")
    trigger_ready(worker, "t.b", "queue")
    for i in range(5):
        worker.trigger({"function_id": "iii::durable::publish", "payload": {"topic": "orders", "data": {"n": i}}})
    worker.trigger({"function_id": "enqueue", "payload": {"topic": "orders", "data": {"n": 5}}})
    eventually_sync(lambda: len(got["a"]) == 6 and len(got["b"]) == 6, timeout=15)
    assert sorted(d["n"] for d in got["a"]) == list(range(6))
    assert sorted(d["n"] for d in got["b"]) == list(range(6))
    stats = worker.trigger({"function_id": "engine::queue::topic_stats", "payload": {"topic": "orders"}})
    assert stats["depth"] == 0 and stats["in_flight"] == 0 and stats["consumer_count"] == 2
    topics = worker.trigger({"function_id": "engine::queue::list_topics", "payload": {}})
    row = next(t for t in topics if t["name"] == "orders")
    assert row["subscriber_count"] == 2 and row["broker_type"] in ("builtin", "redis", "rabbitmq")


def test_messages_published_before_any_subscriber_wait_in_the_backlog(engine_url: str, sdk: Any) -> None:
    worker = sdk(engine_url)
    for i in range(3):
        worker.trigger({"function_id": "iii::durable::publish", "payload": {"topic": "early", "data": i}})
    stats = worker.trigger({"function_id": "engine::queue::topic_stats", "payload": {"topic": "early"}})
    assert stats["depth"] == 0  # not in any subscriber's queue yet
    got: list[Any] = []
    worker.register_function("t.early", lambda data: got.append(data))
    worker.register_trigger({"type": "durable:subscriber", "function_id": "t.early", "config": {"topic": "early"}})
    eventually_sync(lambda: len(got) == 3, timeout=15)
    assert sorted(got) == [0, 1, 2]


def test_bad_publish_input_gets_typed_errors(engine_url: str, sdk: Any) -> None:
    from iii import InvocationError

    worker = sdk(engine_url)
    with pytest.raises(InvocationError) as info:
        worker.trigger({"function_id": "iii::durable::publish", "payload": {"topic": "", "data": 1}})
    assert info.value.code == "topic_not_set"
    with pytest.raises(InvocationError) as info:
        worker.trigger({"function_id": "iii::durable::publish", "payload": {"data": 1}})
    assert info.value.code == "topic_not_set"
    with pytest.raises(InvocationError) as info:
        worker.trigger({"function_id": "iii::durable::publish", "payload": {"topic": "x"}})
    assert info.value.code == "deserialization_error"
    with pytest.raises(InvocationError) as info:
        worker.trigger({"function_id": "engine::queue::topic_stats", "payload": {}})
    assert info.value.code == "topic_required"
