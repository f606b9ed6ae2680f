"""Queue fixtures: a real engine process with iii-queue, and official-SDK workers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import EngineProcess
from tests.support.official_sdk import official_workers
from tests.support.servers import require_rabbitmq, require_redis
from tests.support.waiting import eventually_sync

os.environ.setdefault("OTEL_ENABLED", "false")


def queue_engine(workdir: Path, config: dict[str, Any] | None = None, **kw: Any) -> EngineProcess:
    return EngineProcess(workdir, workers=[{"name": "iii-queue", "config": config or {}}], **kw)


@pytest.fixture
def sdk() -> Iterator[Callable[..., Any]]:
    """``sdk(url, name)`` -> a connected official Python SDK worker, shut down after the test."""
    with official_workers("test-worker") as connect:
        yield connect


def trigger_ready(worker: Any, function_id: str, trigger_type: str = "durable:subscriber", count: int = 1) -> None:
    """Wait until the engine has ``count`` live bindings of ``function_id``."""

    def ready() -> bool:
        rows = worker.trigger({"function_id": "engine::registered-triggers::list",
                               "payload": {"function_id": function_id, "trigger_type": trigger_type}})
        return len(rows["registered_triggers"]) >= count

    eventually_sync(ready, timeout=15)


def function_ready(worker: Any, function_id: str) -> None:
    def ready() -> bool:
        rows = worker.trigger({"function_id": "engine::functions::list", "payload": {"prefix": function_id}})
        return any(f.get("function_id", f.get("id")) == function_id for f in rows["functions"])

    eventually_sync(ready, timeout=15)


def adapter_spec(name: str) -> dict[str, Any]:
    """The adapter block for ``name``; skips the test when its service is unreachable."""
    if name in ("sqlite", "memory"):
        return {"name": name}
    if name == "redis":
        require_redis("the redis queue adapter", "redis://127.0.0.1:6379")
        return {"name": "redis", "config": {"redis_url": "redis://127.0.0.1:6379",
                                            "key_prefix": f"iii:test:{uuid.uuid4().hex[:10]}"}}
    require_rabbitmq("the rabbitmq queue adapter", "amqp://guest:guest@127.0.0.1:5672/")
    return {"name": "rabbitmq", "config": {"amqp_url": "amqp://guest:guest@127.0.0.1:5672/",
                                           "name_prefix": f"iii-test-{uuid.uuid4().hex[:10]}"}}
