"""iii-pubsub with the official Python SDK, on the local and Redis adapters."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.queue.conftest import trigger_ready
from tests.support.engine import EngineProcess
from tests.support.official_sdk import official_workers
from tests.support.servers import require_redis
from tests.support.waiting import eventually_sync

os.environ.setdefault("OTEL_ENABLED", "false")


def redis_adapter() -> dict[str, Any]:
    require_redis("the redis pubsub adapter", "redis://127.0.0.1:6379")
    return {"name": "redis", "config": {"redis_url": "redis://127.0.0.1:6379",
                                        "channel_prefix": f"test-{uuid.uuid4().hex[:8]}:"}}


@pytest.fixture
def sdk() -> Iterator[Callable[..., Any]]:
    with official_workers("pubsub-test") as connect:
        yield connect


class Inbox:
    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def handler(self, name: str) -> Any:
        def run(data: Any) -> None:
            with self.lock:
                self.items.append((name, data))
        return run

    def of(self, name: str) -> list[Any]:
        with self.lock:
            return [d for n, d in self.items if n == name]


@pytest.mark.parametrize("adapter", ["local", "redis"])
def test_removing_one_subscriber_leaves_the_others(tmp_path: Path, sdk: Any, adapter: str) -> None:
    spec = {"name": "local"} if adapter == "local" else redis_adapter()
    engine = EngineProcess(tmp_path, workers=[{"name": "pubsub", "config": {"adapter": spec}}]).start()
    try:
        worker = sdk(engine.url)
        inbox = Inbox()
        worker.register_function("ps.a", inbox.handler("a"))
        worker.register_function("ps.b", inbox.handler("b"))
        trig_a = worker.register_trigger({"type": "subscribe", "function_id": "ps.a", "config": {"topic": "news"}})
        worker.register_trigger({"type": "subscribe", "function_id": "ps.b", "config": {"topic": "news"}})
        trigger_ready(worker, "ps.a", "subscribe")
        trigger_ready(worker, "ps.b", "subscribe")
        assert worker.trigger({"function_id": "publish", "payload": {"topic": "news", "data": {"n": 1}}}) is None
        eventually_sync(lambda: inbox.of("a") == [{"n": 1}] and inbox.of("b") == [{"n": 1}], timeout=15)
        trig_a.unregister()
        eventually_sync(lambda: not worker.trigger({"function_id": "engine::registered-triggers::list",
                                               "payload": {"function_id": "ps.a"}})["registered_triggers"], timeout=15)
        worker.trigger({"function_id": "publish", "payload": {"topic": "news", "data": {"n": 2}}})
        eventually_sync(lambda: inbox.of("b") == [{"n": 1}, {"n": 2}], timeout=15)
        assert inbox.of("a") == [{"n": 1}]
    finally:
        engine.stop()


def test_redis_pubsub_reaches_subscribers_on_another_engine(tmp_path: Path, sdk: Any) -> None:
    spec = redis_adapter()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = EngineProcess(tmp_path / "a", workers=[{"name": "iii-pubsub", "config": {"adapter": spec}}]).start()
    two = EngineProcess(tmp_path / "b", workers=[{"name": "iii-pubsub", "config": {"adapter": spec}}]).start()
    try:
        sub, pub = sdk(one.url), sdk(two.url)
        inbox = Inbox()
        sub.register_function("ps.remote", inbox.handler("r"))
        sub.register_trigger({"type": "subscribe", "function_id": "ps.remote", "config": {"topic": "x"}})
        trigger_ready(sub, "ps.remote", "subscribe")
        pub.trigger({"function_id": "publish", "payload": {"topic": "x", "data": "hello"}})
        eventually_sync(lambda: inbox.of("r") == ["hello"], timeout=15)
    finally:
        one.stop()
        two.stop()


def test_publish_without_topic_is_a_typed_error(tmp_path: Path, sdk: Any) -> None:
    from iii import InvocationError

    engine = EngineProcess(tmp_path, workers=[{"name": "iii-pubsub"}]).start()
    try:
        worker = sdk(engine.url)
        with pytest.raises(InvocationError) as info:
            worker.trigger({"function_id": "publish", "payload": {"data": 1}})
        assert info.value.code == "topic_not_set"
    finally:
        engine.stop()
