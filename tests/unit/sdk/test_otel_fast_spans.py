"""pyiii.sdk's cheap ``execute`` spans: parenting, baggage, errors, nesting and the OTLP they export."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry import baggage as otel_baggage
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from pyiii.sdk import otel_export, tracing
from pyiii.sdk.otel_spans import EngineSpanProcessor, FastSpan
from pyiii.workers.observability.otlp_json import decode_traces

TRACE, PARENT = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


class Capture:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send(self, frame: bytes) -> bool:
        self.frames.append(frame)
        return True

    def shutdown(self) -> None:
        return None


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fast path switched on with a capturing exporter; returns a function that flushes and
    decodes what was exported."""
    capture = Capture()
    processor = EngineSpanProcessor(capture, 60.0, Resource.create({"service.name": "svc"}))  # type: ignore[arg-type]
    provider = SimpleNamespace(_active_span_processor=SimpleNamespace(_span_processors=(processor,)))
    monkeypatch.setattr(otel_export, "_fast", (lambda: provider, provider, processor))

    def flush() -> list[dict[str, Any]]:
        processor.force_flush()
        records = [r for frame in capture.frames for r in decode_traces(frame[4:]).records]
        capture.frames.clear()
        return records

    yield flush
    processor.shutdown()


def test_execute_span_is_a_child_of_the_received_traceparent(exported: Any) -> None:
    with tracing.handling(f"00-{TRACE}-{PARENT}-01", "iii.function.id=a%3A%3Ab,tenant=t1", "a::b"):
        ctx = tracing.current()
        span = trace.get_current_span()
        assert isinstance(span, FastSpan) and ctx is not None
        assert ctx.traceparent == f"00-{TRACE}-{span.span_id}-01" and (ctx.baggage or "").startswith("iii.function.id")
        assert format(span.get_span_context().trace_id, "032x") == TRACE
        assert otel_baggage.get_baggage("tenant") == "t1"  # the received baggage, as OTel context
        assert tracing.outgoing()[0] == ctx.traceparent
    assert tracing.current() is None and not trace.get_current_span().get_span_context().is_valid
    [record] = exported()
    assert (record["trace_id"], record["parent_span_id"], record["span_id"]) == (TRACE, PARENT, span.span_id)
    assert record["name"] == "execute a::b" and record["kind"] == "internal" and record["status"] == "unset"
    assert record["service_name"] == "svc" and record["end_time_unix_nano"] >= record["start_time_unix_nano"]


def test_errors_roots_and_unsampled_parents(exported: Any) -> None:
    with pytest.raises(ValueError), tracing.handling(None, None, "x::fail"):
        raise ValueError("bad input")
    with tracing.handling(f"00-{TRACE}-{PARENT}-00", None, "x::skipped"):
        assert not isinstance(trace.get_current_span(), FastSpan)
    [failed] = exported()
    assert failed["parent_span_id"] is None and failed["trace_id"] != TRACE  # a new trace
    assert failed["status"] == "error" and failed["status_description"] == "ValueError: bad input"
    [event] = failed["events"]
    attrs = dict(event["attributes"])
    assert event["name"] == "exception" and attrs["exception.type"] == "ValueError"
    assert attrs["exception.message"] == "bad input" and "Traceback" in attrs["exception.stacktrace"]


def test_application_spans_nest_under_the_execute_span(exported: Any) -> None:
    app = TracerProvider().get_tracer("app")
    with tracing.handling(f"00-{TRACE}-{PARENT}-01", None, "a::b"):
        execute = trace.get_current_span()
        assert isinstance(execute, FastSpan)
        execute.set_attribute("order.id", 7)
        execute.add_event("checkpoint", {"n": 1})
        with app.start_as_current_span("inner") as inner:
            parent = getattr(inner, "parent", None)
    assert parent is not None and parent.span_id == int(execute.span_id, 16)
    [record] = exported()
    assert ["order.id", "7"] in record["attributes"] and record["events"][0]["name"] == "checkpoint"


def test_no_fast_path_when_the_application_adds_processors(exported: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, provider, processor = otel_export._fast  # type: ignore[misc]
    assert otel_export.fast_processor() is processor
    monkeypatch.setattr(provider._active_span_processor, "_span_processors", (processor, object()))
    assert otel_export.fast_processor() is None
