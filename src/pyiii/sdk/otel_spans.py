"""The cheap half of span export (imported only once export is installed, so plain pyiii.sdk
users never import OpenTelemetry): :class:`FastSpan`, the SDK's ``execute`` span without the
OpenTelemetry SDK's per-span machinery, and :class:`EngineSpanProcessor`, which queues finished
spans and sends them to the engine in batches from one thread through
:class:`EngineSpanExporter` (OTLP/JSON on the engine's ``/otel`` WebSocket).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import orjson
from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags, set_span_in_context

from pyiii.w3c_trace import format_traceparent, new_span_id, new_trace_id

from .trace_context import TraceContext, _current

log = logging.getLogger("pyiii.sdk.otel")

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_STATUS_CODES = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}


class FastSpan(trace_api.Span):
    """A recording INTERNAL span with the OpenTelemetry API but none of the SDK's per-span cost
    (sampler call, id generator, bounded attributes, locks, a ReadableSpan copy at end). Ids are
    hex text, as they go on the wire; the :class:`SpanContext` is built only if someone asks
    (an application span started under it, or a propagator)."""

    __slots__ = ("_context", "_processor", "attributes", "end_time", "events", "name", "parent_span_id", "span_id",
                 "start_time", "status_code", "status_description", "trace_id")

    def __init__(self, name: str, trace_id: str, span_id: str, parent_span_id: str | None,
                 processor: EngineSpanProcessor) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.start_time = time.time_ns()
        self.end_time = 0
        self.attributes: dict[str, Any] | None = None
        self.events: list[tuple[str, int, dict[str, Any] | None]] | None = None
        self.status_code = 0
        self.status_description: str | None = None
        self._processor: EngineSpanProcessor | None = processor
        self._context: SpanContext | None = None

    @property
    def traceparent(self) -> str:
        return format_traceparent(self.trace_id, self.span_id)

    def get_span_context(self) -> SpanContext:
        if self._context is None:
            self._context = SpanContext(int(self.trace_id, 16), int(self.span_id, 16), is_remote=False,
                                        trace_flags=_SAMPLED)
        return self._context

    def is_recording(self) -> bool:
        return self._processor is not None

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_attribute(self, key: str, value: Any) -> None:
        if self._processor is None or value is None:
            return
        if self.attributes is None:
            self.attributes = {}
        self.attributes[key] = value

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None,
                  timestamp: int | None = None) -> None:
        if self._processor is None:
            return
        if self.events is None:
            self.events = []
        self.events.append((name, timestamp or time.time_ns(), dict(attributes) if attributes else None))

    def update_name(self, name: str) -> None:
        if self._processor is not None:
            self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # The SDK's rules: OK is final, UNSET is ignored, a description only goes with ERROR.
        if self._processor is None or self.status_code == 1:
            return
        if isinstance(status, Status):
            code, description = status.status_code, status.description
        else:
            code = status
        if code is StatusCode.UNSET:
            return
        self.status_code = _STATUS_CODES[code]
        self.status_description = description if code is StatusCode.ERROR else None

    def record_exception(self, exception: BaseException, attributes: Mapping[str, Any] | None = None,
                         timestamp: int | None = None, escaped: bool = False) -> None:
        """The ``exception`` event the SDK records."""
        module = type(exception).__module__
        qualname = type(exception).__qualname__
        event: dict[str, Any] = {
            "exception.type": f"{module}.{qualname}" if module and module != "builtins" else qualname,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        if attributes:
            event.update(attributes)
        self.add_event("exception", event, timestamp)

    def end(self, end_time: int | None = None) -> None:
        processor = self._processor
        if processor is None:
            return
        self._processor = None
        self.end_time = end_time or time.time_ns()
        processor.add(self)


class FastSpanScope:
    """``execute <fn>`` as a :class:`FastSpan`, current in OpenTelemetry's context (application
    spans nest under it, the received baggage is there) and in pyiii's; an escaping error is
    recorded as ``use_span`` records it."""

    __slots__ = ("_baggage", "_function_id", "_otel_token", "_span", "_token")

    def __init__(self, processor: EngineSpanProcessor, name: str, trace_id: str | None, parent_id: str | None,
                 baggage: str | None, function_id: str) -> None:
        self._span = FastSpan(name, trace_id or new_trace_id(), new_span_id(), parent_id, processor)
        self._baggage = baggage
        self._function_id = function_id

    def __enter__(self) -> None:
        span = self._span
        base = None
        if self._baggage:
            base = context_api.Context({**context_api.get_current(), **_baggage_context(self._baggage)})
        self._otel_token = context_api.attach(set_span_in_context(span, base))
        self._token = _current.set(TraceContext(span.traceparent, self._baggage, self._function_id))

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        _current.reset(self._token)
        context_api.detach(self._otel_token)
        span = self._span
        if isinstance(exc, Exception):
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        span.end()


@functools.lru_cache(maxsize=256)
def _baggage_context(baggage: str) -> context_api.Context:
    """The received ``baggage`` header as OpenTelemetry context entries, parsed once per
    distinct header (the engine stamps the same few function ids over and over)."""
    return W3CBaggagePropagator().extract({"baggage": baggage}, context=context_api.Context())


class EngineSpanExporter:
    """Writes ``OTLP`` frames to the engine; also usable as an OpenTelemetry ``SpanExporter``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._ws: Any = None

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        ok = self.send(b"OTLP" + serialize(spans))
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def send(self, frame: bytes) -> bool:
        from ..wsio import ConnectionClosed
        from ..wsio.sync_client import SyncConnection

        for _attempt in range(2):
            try:
                if self._ws is None:
                    self._ws = SyncConnection.open(self.url, timeout_s=5)
                self._ws.send(frame)
                return True
            except (OSError, ConnectionClosed) as exc:
                log.debug("span export to %s failed: %s", self.url, exc)
                self._ws = None
        return False

    def shutdown(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def shutdown_after_fork(self) -> None:
        """The parent's socket is not ours to close: just forget it and connect anew."""
        self._ws = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list | tuple):
        return {"arrayValue": {"values": [_value(x) for x in v]}}
    return {"stringValue": str(v)}


def attrs_json(attrs: Any) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in (attrs or {}).items()]


class EngineSpanProcessor(SpanProcessor):
    """Queues finished spans (SDK ``ReadableSpan`` s and :class:`FastSpan` s) and sends them as
    OTLP frames from its own thread: every ``delay`` seconds, or sooner once ``batch_size`` are
    waiting. Adding is a deque append, no lock; when the queue is full the oldest spans go."""

    def __init__(self, exporter: EngineSpanExporter, delay: float, resource: Any, batch_size: int = 512,
                 max_queue: int = 8192) -> None:
        self.exporter = exporter
        self.delay = delay
        self.resource = resource
        self.batch_size = batch_size
        self._queue: deque[Any] = deque(maxlen=max_queue)
        self._wake = threading.Event()
        self._export_lock = threading.Lock()
        self._stopped = False
        self._thread = self._start()
        if hasattr(os, "register_at_fork"):  # a forked child gets its own export thread
            os.register_at_fork(after_in_child=self._after_fork)

    def _start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="pyiii-otel-export", daemon=True)
        thread.start()
        return thread

    def _after_fork(self) -> None:
        self._queue.clear()
        self._wake = threading.Event()
        self._export_lock = threading.Lock()
        self.exporter.shutdown_after_fork()
        if not self._stopped:
            self._thread = self._start()

    def scope(self, name: str, trace_id: str | None, parent_id: str | None, baggage: str | None,
              function_id: str) -> FastSpanScope:
        """A context manager running a handler in a new :class:`FastSpan` (``trace_id`` None: a
        new trace)."""
        return FastSpanScope(self, name, trace_id, parent_id, baggage, function_id)

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is not None and context.trace_flags.sampled:
            self.add(span)

    def add(self, span: Any) -> None:
        queue = self._queue
        queue.append(span)
        if len(queue) == self.batch_size:  # once per batch: Event.set takes a lock
            self._wake.set()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self._drain()
        return True

    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(5)
        self._drain()
        self.exporter.shutdown()

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.delay)
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # the export thread must outlive a bad span
                log.exception("span export failed")

    def _drain(self) -> None:
        with self._export_lock:
            queue = self._queue
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), self.batch_size))]
                self.exporter.send(b"OTLP" + serialize(batch, self.resource))


def _fast_item(s: FastSpan) -> dict[str, Any]:
    # Empty lists and an unset status are left out (OTLP/JSON defaults): fewer bytes to decode.
    item: dict[str, Any] = {"traceId": s.trace_id, "spanId": s.span_id, "name": s.name, "kind": 1,
                            "startTimeUnixNano": str(s.start_time), "endTimeUnixNano": str(s.end_time)}
    if s.parent_span_id is not None:
        item["parentSpanId"] = s.parent_span_id
    if s.attributes:
        item["attributes"] = attrs_json(s.attributes)
    if s.events:
        item["events"] = [{"name": n, "timeUnixNano": str(t), "attributes": attrs_json(a)} for n, t, a in s.events]
    if s.status_code:
        item["status"] = {"code": s.status_code, "message": s.status_description or ""}
    return item


def sdk_item(s: Any) -> dict[str, Any]:
    """An SDK ``ReadableSpan`` as an OTLP/JSON span."""
    item: dict[str, Any] = {
        "traceId": format(s.context.trace_id, "032x"),
        "spanId": format(s.context.span_id, "016x"),
        "name": s.name,
        "kind": s.kind.value + 1,  # OTLP numbering starts at UNSPECIFIED=0
        "startTimeUnixNano": str(s.start_time or 0),
        "endTimeUnixNano": str(s.end_time or 0),
        "attributes": attrs_json(s.attributes),
        "events": [{"name": e.name, "timeUnixNano": str(e.timestamp), "attributes": attrs_json(e.attributes)}
                   for e in s.events],
        "status": {"code": s.status.status_code.value, "message": s.status.description or ""},
    }
    if s.parent is not None:
        item["parentSpanId"] = format(s.parent.span_id, "016x")
    return item


def serialize(spans: Sequence[Any], resource: Any = None) -> bytes:
    """Spans -> OTLP/JSON ``ExportTraceServiceRequest`` with hex ids (the OTLP/JSON rule).
    :class:`FastSpan` s belong to ``resource``; SDK spans carry their own."""
    groups: dict[int, tuple[Any, list[dict[str, Any]]]] = {}
    for span in spans:
        if isinstance(span, FastSpan):
            res, item = resource, _fast_item(span)
        else:
            res, item = span.resource, sdk_item(span)
        group = groups.get(id(res))
        if group is None:
            group = groups[id(res)] = (res, [])
        group[1].append(item)
    return orjson.dumps({"resourceSpans": [
        {"resource": {"attributes": attrs_json(getattr(res, "attributes", None))},
         "scopeSpans": [{"scope": {"name": "pyiii-sdk"}, "spans": items}]}
        for res, items in groups.values()]})
