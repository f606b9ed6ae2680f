"""pyiii.core.spans: pass-through when off, parenting and ending when a recorder is installed."""

from __future__ import annotations

from pyiii.core.errors import FunctionError
from pyiii.core.spans import Span, SpanKind, Tracer, in_span

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


def test_fail_records_what_failed_and_a_cancellation_only_ends() -> None:
    import asyncio

    ended: list[Span] = []
    tracer = Tracer()
    tracer.install(ended.append)
    own = tracer.start_span("a")
    own.fail(FunctionError("bad_input", "no name", stacktrace="at handler (app.js:3)"))
    bare = tracer.start_span("b")
    bare.fail(FunctionError("bad_input", "no name"))  # the engine's frames say nothing about it
    try:
        with tracer.start_span("c"):
            raise ValueError("odd")
    except ValueError:
        pass
    cancelled = tracer.start_span("d")
    cancelled.fail(asyncio.CancelledError())
    a, b, c, d = ended
    assert a.status == "error" and a.status_description == "no name"
    assert a.attributes == {"error.message": "no name", "error.type": "bad_input",
                            "error.stack": "at handler (app.js:3)"}
    assert "error.stack" not in b.attributes and b.events[0].name == "exception"
    assert c.attributes["error.type"] == "ValueError" and "Traceback" in c.attributes["error.stack"]
    assert d.status == "error" and d.status_description == "CancelledError" and not d.events and not d.attributes


async def test_in_span_runs_under_the_span_and_ends_it_by_outcome() -> None:
    ended: list[Span] = []
    tracer = Tracer()
    tracer.install(ended.append)
    seen: list[str | None] = []

    async def work(traceparent: str | None) -> str | None:
        seen.append(traceparent)
        return None if len(seen) == 1 else "f: broke"

    span = tracer.start_span("ok", parent=PARENT)
    assert await in_span(span, work, failed=lambda failure: failure) is None
    assert seen == [span.traceparent] and ended[-1].status == "ok"
    assert await in_span(tracer.start_span("reported"), work, failed=lambda failure: failure) == "f: broke"
    assert ended[-1].status == "error" and ended[-1].status_description == "f: broke"

    async def raises(traceparent: str | None) -> None:
        raise FunctionError("boom_code", "boom")

    try:
        await in_span(tracer.start_span("raised"), raises)
    except FunctionError:
        pass
    assert ended[-1].status == "error" and ended[-1].attributes["error.type"] == "boom_code"
    off = Tracer().start_span("off", parent=PARENT)
    seen.clear()
    await in_span(off, work)
    assert seen == [PARENT]
