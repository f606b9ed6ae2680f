"""Helpers shared by the state and stream integration tests: adapter blocks, Redis probing,
an official-SDK worker with concurrent calls."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from tests.support.servers import REDIS_URL, require_redis

ADAPTERS = ("in_memory", "file_based", "redis")


def adapter_block(kind: str) -> dict[str, Any]:
    if kind == "redis":
        require_redis("the redis adapter", REDIS_URL)
        return {"name": "redis", "config": {"redis_url": REDIS_URL}}
    if kind == "file_based":
        return {"name": "kv", "config": {"store_method": "file_based", "file_path": "./data/kv"}}
    return {"name": "kv", "config": {"store_method": "in_memory"}}


def unique(prefix: str) -> str:
    """Names unique per test, so tests sharing one Redis never see each other's data."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@contextmanager
def sdk_worker(url: str, name: str = "test-worker") -> Iterator[Any]:
    os.environ.setdefault("OTEL_ENABLED", "false")
    from iii import InitOptions, register_worker

    worker = register_worker(url, InitOptions(worker_name=name))
    try:
        yield worker
    finally:
        worker.shutdown()


def call(worker: Any, function_id: str, payload: Any, timeout_ms: int = 10_000) -> Any:
    return worker.trigger({"function_id": function_id, "payload": payload, "timeout_ms": timeout_ms})


def call_concurrently(worker: Any, requests: list[tuple[str, Any]]) -> list[Any]:
    """Issue every call at once on the SDK's own loop and wait for all of them."""
    futures: list[Future[Any]] = [
        asyncio.run_coroutine_threadsafe(worker.trigger_async({"function_id": f, "payload": p}), worker._loop)
        for f, p in requests
    ]
    return [f.result(30) for f in futures]
