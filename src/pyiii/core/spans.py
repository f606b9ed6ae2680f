"""Engine spans: the small API workers use to trace the work they originate (spec/workers.md §11.2).

Core keeps no spans. :class:`Tracer` is a no-op until the observability worker installs a
recorder (``tracer.install(on_end, sampler)``); then :meth:`Tracer.start_span` returns a
recording :class:`Span` whose ``traceparent`` is what the next hop must receive, and
:meth:`Span.end` hands the finished span to the recorder. With tracing off, ``start_span``
returns a :class:`PassThroughSpan` that propagates the caller's ``traceparent`` unchanged, so
callers never branch on whether tracing is on.

Running work in a span is one idiom: the span is a context manager that ends it ok, or failed
with the exception's details (:meth:`_SpanBase.fail`), and :func:`in_span` does the same for
work that reports failures in its result. Hot paths check ``tracer.enabled`` first, so that with
tracing off they build no attributes and no span::

    with engine.tracer.start_span("fn_queue orders", SpanKind.CONSUMER, parent=traceparent,
                                  attributes={"faas.trigger": "pubsub"}) as span:
        await engine.call(fid, payload, traceparent=span.traceparent, baggage=baggage)

W3C ``traceparent`` parsing and ids come from the leaf :mod:`pyiii.w3c_trace`, shared with the SDK.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from pyiii.core.errors import FunctionError
from pyiii.w3c_trace import format_traceparent, new_span_id, new_trace_id, parse_traceparent

if TYPE_CHECKING:
    from pyiii.core.functions import CallContext

T = TypeVar("T")


class SpanKind(IntEnum):
    """OTLP numbering (``Span.SpanKind`` in opentelemetry-proto)."""

    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


@dataclass(slots=True)
class SpanEvent:
    name: str
    timestamp_unix_nano: int
    attributes: dict[str, Any] = field(default_factory=dict)


class _SpanBase:
    """What every span handle offers; the pass-through version ignores everything."""

    __slots__ = ()

    @property
    def traceparent(self) -> str | None:
        raise NotImplementedError

    @property
    def recording(self) -> bool:
        return False

    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        return None

    def record_error(self, message: str, error_type: str = "Error", stack: str | None = None) -> None:
        return None

    def end(self, status: str | None = None, error: str | None = None) -> None:
        return None

    def fail(self, exc: BaseException, tb: TracebackType | None = None) -> None:
        """End as failed by ``exc``, with the reference's error attributes and ``exception`` event.
        A :class:`FunctionError` carries the failing function's own stack (or none: the engine's
        frames say nothing about it); another exception gets the traceback of ``tb``. A
        cancellation is no failure of the work: the span just ends as error, with its name."""
        if not isinstance(exc, Exception):
            self.end("error", type(exc).__name__)
            return
        if isinstance(exc, FunctionError):
            message, error_type, stack = exc.message, exc.code, exc.stacktrace
        else:
            message, error_type = str(exc) or type(exc).__name__, type(exc).__name__
            stack = "".join(traceback.format_exception(type(exc), exc, tb)) if tb is not None else None
        self.record_error(message, error_type, stack)
        self.end("error", message)

    def __enter__(self) -> _SpanBase:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None:
            self.end("ok")
        else:
            self.fail(exc, tb)


class PassThroughSpan(_SpanBase):
    """Tracing off, or not sampled: the next hop gets the caller's ``traceparent``."""

    __slots__ = ("_traceparent",)

    def __init__(self, traceparent: str | None) -> None:
        self._traceparent = traceparent

    @property
    def traceparent(self) -> str | None:
        return self._traceparent


class Span(_SpanBase):
    """A recording span. Mutate it until :meth:`end`; the recorder owns it afterwards."""

    __slots__ = (
        "_on_end",
        "attributes",
        "end_time_unix_nano",
        "events",
        "kind",
        "name",
        "parent_span_id",
        "span_id",
        "start_time_unix_nano",
        "status",
        "status_description",
        "trace_id",
        "trace_state",
    )

    def __init__(
        self,
        name: str,
        kind: SpanKind,
        trace_id: str,
        parent_span_id: str | None,
        attributes: dict[str, Any] | None,
        on_end: Callable[[Span], None],
    ) -> None:
        self.name = name
        self.kind = kind
        self.trace_id = trace_id
        self.span_id = new_span_id()
        self.parent_span_id = parent_span_id
        self.attributes: dict[str, Any] = dict(attributes) if attributes else {}
        self.events: list[SpanEvent] = []
        self.start_time_unix_nano = time.time_ns()
        self.end_time_unix_nano = 0
        self.status = "unset"
        self.status_description: str | None = None
        self.trace_state: str | None = None
        self._on_end: Callable[[Span], None] | None = on_end

    @property
    def traceparent(self) -> str:
        return format_traceparent(self.trace_id, self.span_id, True)

    @property
    def recording(self) -> bool:
        return self._on_end is not None

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        self.events.append(SpanEvent(name, time.time_ns(), dict(attributes) if attributes else {}))

    def record_error(self, message: str, error_type: str = "Error", stack: str | None = None) -> None:
        """The attributes and ``exception`` event the reference engine adds on failure."""
        self.attributes["error.message"] = message
        self.attributes["error.type"] = error_type
        event = {"exception.message": message, "exception.type": error_type}
        if stack:
            self.attributes["error.stack"] = stack
            event["exception.stacktrace"] = stack
        self.add_event("exception", event)

    def end(self, status: str | None = None, error: str | None = None) -> None:
        """``status``: ``ok`` | ``error`` | ``unset`` (default: error if ``error`` else ok).
        Ending twice is harmless; only the first end is recorded."""
        on_end = self._on_end
        if on_end is None:
            return
        self._on_end = None
        self.end_time_unix_nano = time.time_ns()
        self.status = status or ("error" if error else "ok")
        if error is not None:
            self.status_description = error
        on_end(self)


#: ``(span_name, trace_id, parent_sampled_or_None) -> keep?``
Sampler = Callable[[str, str, bool | None], bool]


class Tracer:
    """One per engine (``engine.tracer``). Cheap when off: one attribute check per call."""

    def __init__(self) -> None:
        self.enabled = False
        #: Built-in calls without a caller traceparent get a span too (``III_OTEL_TRACE_BUILTINS``).
        self.trace_builtins = False
        #: Function ids whose in-process calls are never traced (the observability queries).
        self.untraced: set[str] = set()
        self._on_end: Callable[[Span], None] | None = None
        self._sampler: Sampler | None = None
        #: ``span_id -> trigger type`` of trigger spans still open: the invocation span a
        #: trigger causes usually reaches the recorder before the trigger span has ended.
        self._open_triggers: dict[str, str] = {}

    def install(self, on_end: Callable[[Span], None], sampler: Sampler | None = None) -> None:
        self._on_end = on_end
        self._sampler = sampler
        self.enabled = True

    def uninstall(self) -> None:
        self.enabled = False
        self._on_end = None
        self._sampler = None
        self._open_triggers.clear()

    def start_span(
        self,
        name: str,
        kind: SpanKind = SpanKind.INTERNAL,
        parent: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Span | PassThroughSpan:
        """Start a span under the W3C ``parent`` (a new trace if absent or invalid)."""
        on_end = self._on_end
        if not self.enabled or on_end is None:
            return PassThroughSpan(parent)
        parsed = parse_traceparent(parent)
        if parsed is None:
            trace_id, parent_span_id, parent_sampled = new_trace_id(), None, None
        else:
            trace_id, parent_span_id = parsed.trace_id, parsed.span_id
            parent_sampled = parsed.sampled
        sampler = self._sampler
        if sampler is not None and not sampler(name, trace_id, parent_sampled):
            # Not sampled: keep the trace id flowing, marked unsampled, so downstream SDKs agree.
            return PassThroughSpan(format_traceparent(trace_id, parent_span_id or new_span_id(), False))
        if attributes is not None:
            trigger = attributes.get("iii.trigger.type")
            if trigger is not None:
                return self._open_trigger_span(name, kind, trace_id, parent_span_id, attributes, on_end, str(trigger))
        return Span(name, kind, trace_id, parent_span_id, attributes, on_end)

    def _open_trigger_span(self, name: str, kind: SpanKind, trace_id: str, parent_span_id: str | None,
                           attributes: dict[str, Any], on_end: Callable[[Span], None], trigger: str) -> Span:
        open_triggers = self._open_triggers

        def ended(span: Span) -> None:
            # Still known as open while the recorder runs: children it decodes then find it.
            try:
                on_end(span)
            finally:
                open_triggers.pop(span.span_id, None)

        span = Span(name, kind, trace_id, parent_span_id, attributes, ended)
        open_triggers[span.span_id] = trigger
        return span

    def open_trigger(self, span_id: str) -> str | None:
        """The ``iii.trigger.type`` of a trigger span that has started and not ended yet."""
        return self._open_triggers.get(span_id)

    def wants_builtin_span(self, function_id: str, traceparent: str | None) -> bool:
        """Spec §11.2: a ``call <fn>`` span for an in-process function when the caller sent
        a traceparent (or ``trace_builtins``), except for the untraced query functions."""
        return (traceparent is not None or self.trace_builtins) and function_id not in self.untraced


async def traced_builtin_call(tracer: Tracer, ctx: CallContext, run: Callable[[], Awaitable[Any]]) -> Any:
    """Run an in-process function inside a ``call <fn>`` server span (spec §11.2). Calls the
    handler makes carry the span as their parent, and the caller's result echoes it."""
    function_id = ctx.function_id
    span = tracer.start_span(
        f"call {function_id}",
        SpanKind.SERVER,
        ctx.traceparent,
        {"faas.invoked_name": function_id, "faas.trigger": "other", "function_id": function_id,
         "iii.function.kind": "internal"},
    )
    if not span.recording:
        return await run()
    ctx.traceparent = span.traceparent
    with span:
        return await run()


async def in_span(span: Span | PassThroughSpan, work: Callable[[str | None], Awaitable[T]],
                  failed: Callable[[T], str | None] | None = None) -> T:
    """Run ``work(traceparent)`` in ``span`` (the next hop gets ``span.traceparent``) and end it:
    ok; or error, with the exception's details, when ``work`` raises; or error with the message
    ``failed(result)`` returns, for work that reports failures instead of raising them."""
    with span:
        result = await work(span.traceparent)
        message = failed(result) if failed is not None else None
        if message:
            span.end("error", message)
        return result
