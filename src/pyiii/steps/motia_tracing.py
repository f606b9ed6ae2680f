"""``motia.tracing``: Motia's span helpers. pyiii's SDK already carries the trace context of
every invocation (and exports spans when OpenTelemetry is configured), so these are the no-ops
Motia itself falls back to without ``motia[otel]``."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any


def step_span(*_args: Any, **_kwargs: Any) -> AbstractContextManager[None]:
    return nullcontext()


def operation_span(*_args: Any, **_kwargs: Any) -> AbstractContextManager[None]:
    return nullcontext()


def instrument_bridge(*_args: Any, **_kwargs: Any) -> None:
    return None


__all__ = ["instrument_bridge", "operation_span", "step_span"]
