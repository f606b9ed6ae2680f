"""FIFO queues keep order per message group, also across a retry."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.queue.conftest import adapter_spec, function_ready, queue_engine, trigger_ready
from tests.support.waiting import eventually_sync


@pytest.mark.parametrize("adapter", ["sqlite", "redis", "rabbitmq"])
def test_named_fifo_queue_keeps_order_per_group_across_retries(tmp_path: Path, sdk: Any, adapter: str) -> None:
    from iii import InvocationError, TriggerAction

    queues = {"ordered": {"type": "fifo", "message_group_field": "group", "concurrency": 4, "backoff_ms": 20}}
    engine = queue_engine(tmp_path, {"adapter": adapter_spec(adapter), "queue_configs": queues}).start()
    try:
        worker = sdk(engine.url)
        seen: list[tuple[str, int]] = []
        failed_once: set[tuple[str, int]] = set()
        lock = threading.Lock()

        def handle(data: dict[str, Any]) -> None:
            key = (data["group"], data["n"])
            time.sleep(0.002)
            with lock:
                if data["n"] % 7 == 3 and key not in failed_once:
                    failed_once.add(key)
                    raise RuntimeError("fail once")
                seen.append(key)

        worker.register_function("fifo.handle", handle)
        function_ready(worker, "fifo.handle")
        per_group = 30
        for n in range(per_group):
            for group in ("a", "b", "c"):
                worker.trigger({"function_id": "fifo.handle", "payload": {"group": group, "n": n},
                                "action": TriggerAction.Enqueue(queue="ordered")})
        eventually_sync(lambda: len(seen) == 3 * per_group, timeout=60)
        for group in ("a", "b", "c"):
            assert [n for g, n in seen if g == group] == list(range(per_group))
        with pytest.raises(InvocationError) as info:
            worker.trigger({"function_id": "fifo.handle", "payload": {"n": 1},
                            "action": TriggerAction.Enqueue(queue="ordered")})
        assert "message_group_required" in info.value.message
    finally:
        engine.stop()


def test_fifo_subscriber_keeps_publish_order(tmp_path: Path, sdk: Any) -> None:
    engine = queue_engine(tmp_path).start()
    try:
        worker = sdk(engine.url)
        seen: list[int] = []
        worker.register_function("fifo.sub", lambda data: seen.append(data["n"]))
        worker.register_trigger({"type": "durable:subscriber", "function_id": "fifo.sub",
                                 "config": {"topic": "seq", "queue_config": {"type": "fifo", "concurrency": 8}}})
        trigger_ready(worker, "fifo.sub")
        for n in range(50):
            worker.trigger({"function_id": "iii::durable::publish", "payload": {"topic": "seq", "data": {"n": n}}})
        eventually_sync(lambda: len(seen) == 50, timeout=15)
        assert seen == list(range(50))
    finally:
        engine.stop()
