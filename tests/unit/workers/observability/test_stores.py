"""Store caps: count, bytes and age; memory stays flat under sustained writes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pyiii.workers.observability.adapters.base import Caps, record_size
from pyiii.workers.observability.adapters.memory import MemoryStore
from pyiii.workers.observability.adapters.sqlite import SqliteStore


def span(i: int, trace_id: str | None = None) -> dict[str, Any]:
    return {"trace_id": trace_id or os.urandom(16).hex(), "span_id": os.urandom(8).hex(), "parent_span_id": None,
            "name": f"span {i}", "start_time_unix_nano": time.time_ns(), "end_time_unix_nano": time.time_ns(),
            "status": "ok", "attributes": [["i", str(i)]], "service_name": "s", "events": [], "links": []}


def log(i: int) -> dict[str, Any]:
    return {"timestamp_unix_nano": time.time_ns(), "body": f"log {i}", "severity_number": 9, "trace_id": None}


async def test_memory_store_stays_flat() -> None:
    size = record_size(span(0))
    store = MemoryStore(Caps(1000, 200 * size, 3600), Caps(500, 10**9, 3600))
    for batch in range(100):
        store.add_spans([span(batch * 100 + i) for i in range(100)])
        store.add_logs([log(i) for i in range(100)])
    stats = store.stats()
    assert stats["spans"] <= 200 and stats["span_bytes"] <= 200 * size and stats["logs"] == 500
    assert len(store._by_trace) == stats["spans"]  # the trace index shrinks with the store
    names = [s["name"] for s in await store.spans()]
    assert names[-1] == "span 9999"


async def test_memory_store_age_and_replace() -> None:
    store = MemoryStore(Caps(10, 10**9, 1), Caps(10, 10**9, 1))
    first = span(1)
    store.add_spans([first])
    store.add_spans([{**first, "name": "replaced"}])
    assert [s["name"] for s in await store.spans()] == ["replaced"]
    store._spans[(first["trace_id"], first["span_id"])] = (0, 100, first)  # stored long ago
    store.prune()
    assert await store.spans() == []


async def test_sqlite_store_bytes_and_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    size = len(__import__("orjson").dumps(span(0)))
    store = SqliteStore(tmp_path / "t.db", Caps(10_000, 30 * size, 3600), Caps(10_000, 10**9, 1),
                        flush_interval_ms=5)
    try:
        store.add_spans([span(i) for i in range(100)])
        store.add_logs([log(i) for i in range(5)])
        await store.flush()
        kept = await store.spans()
        assert 20 <= len(kept) <= 30 and kept[-1]["name"] == "span 99"
        assert store.stats()["span_bytes"] <= 30 * size
        # The clock moves on 1.1 s, past retention_seconds=1 (the store stamps rows with now_ns()).
        store_module = sys.modules[SqliteStore.__module__]
        later = store_module.now_ns() + 1_100_000_000
        monkeypatch.setattr(store_module, "now_ns", lambda: later)
        store.add_logs([log(99)])
        await store.flush()
        assert [r["body"] for r in await store.logs()] == ["log 99"]
        await store.clear_spans()
        assert await store.spans() == []
    finally:
        await store.close()


async def test_memory_store_deferred_batches() -> None:
    store = MemoryStore(Caps(10, 10**9, 3600), Caps(10, 10**9, 3600))
    built: list[int] = []

    def batch(n: int, tag: int) -> Any:
        def build() -> list[dict[str, Any]]:
            built.append(tag)
            return [span(tag * 100 + i) for i in range(n)]
        return build

    store.add_spans([span(i) for i in range(4)])
    for tag in range(1, 6):
        store.add_deferred(4, 100, batch(4, tag))
    assert store.stats()["spans"] == 10 and store.has_deferred
    names = [s["name"] for s in await store.spans()]  # reading decodes, oldest batch first
    assert built == [3, 4, 5] and not store.has_deferred  # batches 1 and 2 were evicted unread
    assert names == [f"span {n}" for n in (302, 303, 400, 401, 402, 403, 500, 501, 502, 503)]
    store.add_deferred(2, 100, batch(2, 9))
    await store.clear_spans()
    assert await store.spans() == [] and built == [3, 4, 5]
