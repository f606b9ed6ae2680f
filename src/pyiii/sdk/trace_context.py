"""The trace context of the invocation being handled, in a contextvar: a leaf of the SDK's
tracing (:mod:`.tracing` sets it around handlers, :mod:`.otel_spans` around FastSpans), so that
neither imports the other for it."""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(frozen=True)
class TraceContext:
    traceparent: str | None = None
    baggage: str | None = None
    function_id: str | None = None


_current: ContextVar[TraceContext | None] = ContextVar("pyiii_trace_context", default=None)


def current() -> TraceContext | None:
    return _current.get()


def enter(ctx: TraceContext) -> Token[TraceContext | None]:
    return _current.set(ctx)


def leave(token: Token[TraceContext | None]) -> None:
    _current.reset(token)
