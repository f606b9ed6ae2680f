"""Exact attempt counts, the dead-letter queue, redrive and discard (official Python SDK)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.integration.queue.conftest import adapter_spec, function_ready, queue_engine, trigger_ready
from tests.support.waiting import eventually_sync

QUEUES = {
    "four": {"max_retries": 4, "backoff_ms": 5},
    "once": {"max_retries": 0, "backoff_ms": 5},
}


@pytest.fixture(params=["sqlite", "memory", "redis", "rabbitmq"])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    proc = queue_engine(tmp_path, {"adapter": adapter_spec(request.param), "queue_configs": QUEUES}).start()
    try:
        yield proc.url
    finally:
        proc.stop()


class Counter:
    def __init__(self, fail_until: int = 10**9) -> None:
        self.calls: list[Any] = []
        self.fail_until = fail_until
        self.lock = threading.Lock()

    def __call__(self, data: Any) -> Any:
        with self.lock:
            self.calls.append(data)
            n = len(self.calls)
        if n <= self.fail_until:
            raise RuntimeError(f"boom {n}")
        return {"ok": True}


def dlq(worker: Any, name: str) -> list[dict[str, Any]]:
    return worker.trigger({"function_id": "engine::queue::dlq_messages", "payload": {"topic": name}})


def test_subscriber_max_retries_means_retries_after_the_first_attempt(engine_url: str, sdk: Any) -> None:
    worker = sdk(engine_url)
    counter = Counter()
    worker.register_function("r.sub", counter)
    worker.register_trigger({"type": "durable:subscriber", "function_id": "r.sub",
                             "config": {"topic": "fails", "queue_config": {"maxRetries": 2, "backoffDelayMs": 5}}})
    trigger_ready(worker, "r.sub")
    worker.trigger({"function_id": "iii::durable::publish", "payload": {"topic": "fails", "data": {"k": 1}}})
    rows = eventually_sync(lambda: dlq(worker, "fails"), timeout=15)
    assert len(counter.calls) == 3
    assert rows[0]["payload"] == {"k": 1} and rows[0]["retries"] == 3 and "boom 3" in rows[0]["error"]
    topics = worker.trigger({"function_id": "engine::queue::dlq_topics", "payload": {}})
    assert [(t["topic"], t["message_count"]) for t in topics if t["topic"] == "fails"] == [("fails", 1)]
    stats = worker.trigger({"function_id": "engine::queue::topic_stats", "payload": {"topic": "fails"}})
    assert stats["dlq_depth"] == 1 and stats["depth"] == 0


def test_snake_case_queue_config_counts_the_same(engine_url: str, sdk: Any) -> None:
    worker = sdk(engine_url)
    counter = Counter()
    worker.register_function("r.snake", counter)
    worker.register_trigger({"type": "durable:subscriber", "function_id": "r.snake",
                             "config": {"topic": "snake", "queue_config": {"max_retries": 1, "backoff_delay_ms": 5}}})
    trigger_ready(worker, "r.snake")
    worker.trigger({"function_id": "iii::durable::publish", "payload": {"topic": "snake", "data": 1}})
    eventually_sync(lambda: dlq(worker, "snake"), timeout=15)
    assert len(counter.calls) == 2


@pytest.mark.parametrize(("queue", "calls"), [("four", 4), ("once", 1)])
def test_named_queue_max_retries_is_total_attempts(engine_url: str, sdk: Any, queue: str, calls: int) -> None:
    from iii import TriggerAction

    worker = sdk(engine_url)
    counter = Counter()
    worker.register_function(f"r.{queue}", counter)
    function_ready(worker, f"r.{queue}")
    receipt = worker.trigger({"function_id": f"r.{queue}", "payload": {"q": queue},
                              "action": TriggerAction.Enqueue(queue=queue)})
    assert isinstance(receipt["messageReceiptId"], str)
    rows = eventually_sync(lambda: dlq(worker, queue), timeout=15)
    assert len(counter.calls) == calls
    assert rows[0]["retries"] == calls


def test_redrive_delivers_once_and_discard_removes(engine_url: str, sdk: Any) -> None:
    from iii import TriggerAction

    worker = sdk(engine_url)
    counter = Counter(fail_until=1)  # fails once, then succeeds
    worker.register_function("r.redrive", counter)
    function_ready(worker, "r.redrive")
    worker.trigger({"function_id": "r.redrive", "payload": 1, "action": TriggerAction.Enqueue(queue="once")})
    worker.trigger({"function_id": "r.redrive", "payload": 2, "action": TriggerAction.Enqueue(queue="once")})
    rows = eventually_sync(lambda: dlq(worker, "once"), timeout=15)
    assert len(rows) == 1  # the first one failed once -> DLQ; the second succeeded
    result = worker.trigger({"function_id": "iii::queue::redrive_message",
                             "payload": {"queue": "once", "message_id": rows[0]["id"]}})
    assert result == {"queue": "once", "message_id": rows[0]["id"], "redriven": 1}
    eventually_sync(lambda: len(counter.calls) == 3, timeout=15)
    eventually_sync(lambda: worker.trigger({"function_id": "engine::queue::topic_stats",
                                       "payload": {"queue": "once"}})["depth"] == 0, timeout=15)
    assert dlq(worker, "once") == []
    assert sorted(counter.calls) == [1, 1, 2]
    # discard: fail a message into the DLQ, then delete it
    worker.register_function("r.always", Counter())
    function_ready(worker, "r.always")
    worker.trigger({"function_id": "r.always", "payload": 3, "action": TriggerAction.Enqueue(queue="once")})
    rows = eventually_sync(lambda: dlq(worker, "once"), timeout=15)
    gone = worker.trigger({"function_id": "iii::queue::discard_message",
                           "payload": {"queue": "once", "message_id": rows[0]["id"]}})
    assert gone["redriven"] == 1
    assert dlq(worker, "once") == []
    again = worker.trigger({"function_id": "iii::queue::redrive", "payload": {"queue": "once"}})
    assert again == {"queue": "once", "redriven": 0}


def test_enqueue_to_unknown_queue_is_a_typed_error(engine_url: str, sdk: Any) -> None:
    from iii import InvocationError, TriggerAction

    worker = sdk(engine_url)
    with pytest.raises(InvocationError) as info:
        worker.trigger({"function_id": "x", "payload": {}, "action": TriggerAction.Enqueue(queue="nope")})
    assert info.value.code == "enqueue_error"
    assert "queue_not_found" in info.value.message and "nope" in info.value.message
    with pytest.raises(InvocationError) as info:
        worker.trigger({"function_id": "iii::queue::redrive_message", "payload": {"queue": "once"}})
    assert info.value.code == "message_id_not_set"
