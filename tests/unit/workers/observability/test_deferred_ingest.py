"""SDK span batches decoded only when the memory store is read: same records as eager ingest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from pyiii.core.engine import Engine
from pyiii.core.host import Host
from pyiii.core.spans import SpanKind
from pyiii.workers.base import WorkerContext
from pyiii.workers.observability.adapters.memory import MemoryStore
from pyiii.workers.observability.config import ObservabilityConfig
from pyiii.workers.observability.worker import ObservabilityWorker


def otlp(trace_id: str, parent: str, span_id: str, name: str) -> bytes:
    span = {"traceId": trace_id, "spanId": span_id, "parentSpanId": parent, "name": name, "kind": 1,
            "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    return orjson.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "sdk"}}]}, "scopeSpans": [{"spans": [span]}]}]})


@pytest.fixture
async def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ObservabilityWorker]:
    for key in ("OTEL_EXPORTER_TYPE", "OTEL_ENABLED", "OTEL_LIVE_SPANS", "III_OTEL_SAMPLING_RATIO"):
        monkeypatch.delenv(key, raising=False)
    engine = Engine()
    w = ObservabilityWorker(Host(engine), ObservabilityConfig(enabled=True, exporter="memory", live_spans=False,
                                                        max_spans=100), "obs", WorkerContext(tmp_path, tmp_path))
    await w.start()
    yield w
    await w.stop()


async def test_child_of_an_open_trigger_decoded_later_keeps_its_trigger(worker: ObservabilityWorker) -> None:
    store = worker.store
    assert isinstance(store, MemoryStore)
    trigger = worker.host.tracer.start_span("GET /orders", SpanKind.SERVER, None,
                                              {"faas.trigger": "http", "iii.trigger.type": "http"})
    assert trigger.traceparent is not None
    _, trace_id, trigger_id, _ = trigger.traceparent.split("-")
    worker.on_frame(b"OTLP", otlp(trace_id, trigger_id, "1" * 16, "execute orders::list"))
    assert store.has_deferred and store.stats()["spans"] == 1
    trigger.end("ok")  # the engine span ends while its SDK child still waits to be decoded
    spans = {s["name"]: s for s in await store.spans({trace_id})}
    assert not store.has_deferred and set(spans) == {"GET /orders", "execute orders::list"}
    attrs = dict(spans["execute orders::list"]["attributes"])
    assert attrs["iii.trigger.type"] == "http" and attrs["iii.function.id"] == "orders::list"


async def test_malformed_frames_are_rejected_on_arrival(worker: ObservabilityWorker) -> None:
    worker.on_frame(b"OTLP", b"not json")
    worker.on_frame(b"OTLP", b'{"resourceSpans": 5}')
    assert worker.rejected_frames == 2
    assert isinstance(worker.store, MemoryStore) and not worker.store.has_deferred
