"""Trace context of the invocation being handled, carried in a contextvar.

Without an OpenTelemetry setup the SDK still propagates: calls a handler makes while
serving an invocation carry that invocation's ``traceparent``/``baggage`` (spec §8).
When the application has configured OpenTelemetry and a span is active, that span wins.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Any

from pyiii.w3c_trace import format_traceparent, parse_traceparent

from . import otel_export
from .trace_context import TraceContext, _current, enter, leave
from .trace_context import current as current  # tracing.current(): the SDK's public spelling


def _from_opentelemetry() -> tuple[str | None, str | None] | None:
    # No span can be current unless something imported OpenTelemetry's API (and the SDK does
    # not import it on its own): then the per-call import machinery is skipped.
    if "opentelemetry.trace" not in sys.modules:
        return None
    try:
        from opentelemetry import propagate, trace
    except ImportError:
        return None
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent"), carrier.get("baggage")


def outgoing() -> tuple[str | None, str | None]:
    """``(traceparent, baggage)`` to put on an outgoing ``invokefunction``."""
    otel = _from_opentelemetry()
    if otel is not None and otel[0]:
        return otel
    ctx = _current.get()
    if ctx is None:
        return None, None
    return ctx.traceparent, ctx.baggage


def ids(traceparent: str | None) -> tuple[str | None, str | None]:
    """``(trace_id, span_id)`` from a W3C ``traceparent``, or ``(None, None)``."""
    parsed = parse_traceparent(traceparent)
    if parsed is None:
        return None, None
    return parsed.trace_id, parsed.span_id


_tracer_cache: tuple[Any, Any] = (None, None)  # (provider, its tracer)


def _sdk_tracer() -> Any:
    """A tracer of the application's OpenTelemetry SDK provider, or None (no OTel, or only the
    API's no-op provider): then handlers run without a span, at no cost."""
    global _tracer_cache
    # An SDK provider is an instance of a class of this module: none exists while it is not
    # imported (the common case, checked per invocation without the import machinery).
    if "opentelemetry.sdk.trace" not in sys.modules:
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        return None
    provider = trace.get_tracer_provider()
    if provider is _tracer_cache[0]:
        return _tracer_cache[1]
    tracer = provider.get_tracer("pyiii-sdk") if isinstance(provider, TracerProvider) else None
    _tracer_cache = (provider, tracer)
    return tracer


def handling(traceparent: str | None, baggage: str | None, function_id: str) -> AbstractContextManager[None]:
    """Run a handler in the invocation's trace: an ``execute <function_id>`` INTERNAL span, child
    of the received ``traceparent``, when OpenTelemetry is configured (as the official SDKs do);
    otherwise just the received context, so the handler's calls and logs carry it."""
    # A parent marked not-sampled gets no span (what ParentBased sampling decides anyway), cheaply.
    if traceparent is not None and traceparent.endswith("-00"):
        return _Propagating(TraceContext(traceparent, baggage, function_id))
    processor = otel_export.fast_processor()
    if processor is not None:
        if traceparent is None:
            return processor.scope(f"execute {function_id}", None, None, baggage, function_id)
        parent = parse_traceparent(traceparent)
        # Sampled, well-formed parents (all of them in practice); anything else: the SDK decides.
        if parent is not None:
            trace_id, span_id, flags = parent
            if flags & 1:
                return processor.scope(f"execute {function_id}", trace_id, span_id, baggage, function_id)
    tracer = _sdk_tracer()
    if tracer is None:
        return _Propagating(TraceContext(traceparent, baggage, function_id))
    return _sdk_span(tracer, traceparent, baggage, function_id)


class _Propagating:
    """No span: the handler's calls and logs carry the received context."""

    __slots__ = ("_ctx", "_token")

    def __init__(self, ctx: TraceContext) -> None:
        self._ctx = ctx

    def __enter__(self) -> None:
        self._token = _current.set(self._ctx)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        _current.reset(self._token)


@contextmanager
def _sdk_span(tracer: Any, traceparent: str | None, baggage: str | None, function_id: str) -> Iterator[None]:
    from opentelemetry import trace

    with tracer.start_as_current_span(f"execute {function_id}", context=_parent_context(traceparent, baggage),
                                      kind=trace.SpanKind.INTERNAL) as span:
        sc = span.get_span_context()
        own = format_traceparent(f"{sc.trace_id:032x}", f"{sc.span_id:016x}", sc.trace_flags.sampled)
        token = enter(TraceContext(own, baggage, function_id))
        try:
            yield
        finally:
            leave(token)


def _parent_context(traceparent: str | None, baggage: str | None) -> Any:
    """The received W3C headers as an OpenTelemetry context, without the generic propagator
    round trip (it costs more than the span on the hot path)."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    received = parse_traceparent(traceparent)
    context = None
    if received is not None:
        parent = SpanContext(int(received.trace_id, 16), int(received.span_id, 16), is_remote=True,
                             trace_flags=TraceFlags(received.flags))
        context = trace.set_span_in_context(NonRecordingSpan(parent))
    if baggage:
        from opentelemetry.baggage.propagation import W3CBaggagePropagator

        context = W3CBaggagePropagator().extract({"baggage": baggage}, context=context)
    return context
