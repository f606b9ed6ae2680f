"""pyiii.core.spans: pass-through when off, parenting and ending when a recorder is installed."""

from __future__ import annotations

from pyiii.core.errors import FunctionError
from pyiii.core.spans import Span, SpanKind, Tracer

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_disabled_tracer_passes_the_parent_through() -> None:
    span = Tracer().start_span("trigger x", SpanKind.SERVER, PARENT)
    assert span.traceparent == PARENT and not span.recording
    span.end("ok")


def test_recording_span_parents_and_ends_once() -> None:
    ended: list[Span] = []
    tracer = Tracer()
    tracer.install(ended.append)
    span = tracer.start_span("trigger x", SpanKind.SERVER, PARENT, {"faas.trigger": "http"})
    assert isinstance(span, Span) and span.recording
    assert span.trace_id == PARENT.split("-")[1] and span.parent_span_id == PARENT.split("-")[2]
    assert span.traceparent.split("-")[2] == span.span_id
    with span:
        pass
    span.end("error")
    assert ended == [span] and span.status == "ok" and span.end_time_unix_nano >= span.start_time_unix_nano
    root = tracer.start_span("cron_trigger")
    assert isinstance(root, Span) and root.parent_span_id is None


def test_errors_and_unsampled() -> None:
    ended: list[Span] = []
    tracer = Tracer()
    tracer.install(ended.append, lambda name, trace_id, parent: name != "skip")
    try:
        with tracer.start_span("work"):
            raise FunctionError("boom_code", "boom")
    except FunctionError:
        pass
    assert ended[0].status == "error" and ended[0].attributes["error.type"] == "boom_code"
    assert ended[0].events[0].name == "exception"
    skipped = tracer.start_span("skip", parent=PARENT)
    assert not skipped.recording and skipped.traceparent is not None and skipped.traceparent.endswith("-00")


def test_open_trigger_spans_are_known_until_they_end() -> None:
    from pyiii.workers.observability.ingest import trigger_of

    ended: list[Span] = []
    tracer = Tracer()
    tracer.install(ended.append)
    span = tracer.start_span("queue orders", SpanKind.CONSUMER, PARENT,
                             {"faas.trigger": "pubsub", "iii.trigger.type": "durable:subscriber"})
    plain = tracer.start_span("call state::set", SpanKind.SERVER, PARENT, {"faas.trigger": "other"})
    assert isinstance(span, Span) and isinstance(plain, Span)
    assert tracer.open_trigger(span.span_id) == "durable:subscriber"
    assert tracer.open_trigger(plain.span_id) is None
    span.end("ok")
    assert ended == [span] and tracer.open_trigger(span.span_id) is None
    # Stored parents: iii.trigger.type wins over faas.trigger; invocation parents mean a plain call.
    assert trigger_of({"name": "queue orders", "attributes": [["faas.trigger", "pubsub"],
                                                              ["iii.trigger.type", "durable:subscriber"]]}) \
        == "durable:subscriber"
    assert trigger_of({"name": "GET /x", "attributes": [["faas.trigger", "http"]]}) == "http"
    assert trigger_of({"name": "execute a", "attributes": [["iii.trigger.type", "http"]]}) is None
