"""Structured logs sent to the engine's ``engine::log::<level>`` functions.

Logs go through the most recently created live client (a worker normally has one);
with no client the standard ``logging`` module gets them instead.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any, Protocol

from . import tracing
from .constants import LOG_FUNCTION_PREFIX

log = logging.getLogger("pyiii.sdk.logger")


class LogSink(Protocol):
    def get_connection_state(self) -> str: ...

    def _fire_and_forget(self, function_id: str, payload: Any) -> None: ...


_lock = threading.Lock()
_sinks: list[weakref.ref[LogSink]] = []


def register_sink(sink: LogSink) -> None:
    with _lock:
        _sinks.append(weakref.ref(sink))


def unregister_sink(sink: LogSink) -> None:
    with _lock:
        _sinks[:] = [ref for ref in _sinks if ref() not in (None, sink)]


def active_sink() -> LogSink | None:
    """Newest connected client, else the newest live one (its call is queued)."""
    with _lock:
        live = [s for s in (ref() for ref in reversed(_sinks)) if s is not None]
    for sink in live:
        if sink.get_connection_state() == "connected":
            return sink
    return live[0] if live else None


_FALLBACK = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR, "debug": logging.DEBUG}


class Logger:
    """``info``/``warn``/``error``/``debug(message, data=None)``, correlated with the trace
    of the invocation being handled unless ``trace_id``/``span_id`` are given."""

    def __init__(
        self,
        trace_id: str | None = None,
        service_name: str | None = None,
        span_id: str | None = None,
    ) -> None:
        self._trace_id = trace_id
        self._service_name = service_name or ""
        self._span_id = span_id

    def _emit(self, level: str, message: str, data: Any) -> None:
        sink = active_sink()
        if sink is None:
            log.log(_FALLBACK[level], "[%s] %s", self._service_name, message, extra={"data": data})
            return
        ctx = tracing.current()
        trace_id, span_id = tracing.ids(ctx.traceparent if ctx else None)
        payload = {
            "message": message,
            "data": data,
            "trace_id": self._trace_id or trace_id,
            "span_id": self._span_id or span_id,
            "service_name": self._service_name or None,
        }
        sink._fire_and_forget(LOG_FUNCTION_PREFIX + level, payload)

    def info(self, message: str, data: Any = None) -> None:
        self._emit("info", message, data)

    def warn(self, message: str, data: Any = None) -> None:
        self._emit("warn", message, data)

    def error(self, message: str, data: Any = None) -> None:
        self._emit("error", message, data)

    def debug(self, message: str, data: Any = None) -> None:
        self._emit("debug", message, data)
