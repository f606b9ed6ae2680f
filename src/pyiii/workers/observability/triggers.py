"""The ``log`` and ``trace`` trigger types (spec §11.4) and the console live feeds.

Deliveries run under a fresh trace id the worker remembers: spans and logs of that trace
(what the triggered handler itself produces) never fire a trigger again, so a handler that
logs or is traced cannot loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from pyiii.core import Binding, FunctionError, Host, TriggerRegistrationError
from pyiii.w3c_trace import format_traceparent, new_span_id, new_trace_id
from pyiii.workers.observability.queries import is_internal, roots_of

log = logging.getLogger("pyiii.observability.triggers")

LOG_LEVELS = ("info", "warn", "error", "debug", "trace", "all")
FEEDS = ("iii:devtools:trace-rows", "iii:devtools:all-spans", "iii:devtools:trace-spans")
_REMEMBERED_DELIVERIES = 10_000


class BindingSet:
    """An in-process :class:`~pyiii.core.triggers.TriggerProvider` that validates and keeps bindings."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.bindings: dict[str, Binding] = {}

    async def register_trigger(self, binding: Binding) -> None:
        config = binding.config if binding.config is not None else {}
        if not isinstance(config, dict):
            raise TriggerRegistrationError("invalid_config", f"{self.kind} trigger config must be an object")
        if self.kind == "log":
            level = str(config.get("level") or "all").lower()
            if level not in LOG_LEVELS:
                raise TriggerRegistrationError("invalid_config", f"log level must be one of {', '.join(LOG_LEVELS)}")
        else:
            status = config.get("status")
            if status is not None and str(status).lower() not in ("ok", "error", "unset"):
                raise TriggerRegistrationError("invalid_config", "trace status must be ok, error or unset")
        self.bindings[binding.id] = binding

    async def unregister_trigger(self, binding: Binding) -> None:
        self.bindings.pop(binding.id, None)


class Dispatcher:
    def __init__(self, host: Host, window_s: float, live_feeds: bool) -> None:
        self.host = host
        self.window_s = window_s
        self.live_feeds = live_feeds
        self.logs = BindingSet("log")
        self.traces = BindingSet("trace")
        self._deliveries: OrderedDict[str, None] = OrderedDict()
        self._pending_spans: list[dict[str, Any]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Spans held for the next tick; beyond this the oldest are not announced.
        self.max_pending = 10_000

    # ------------------------------------------------------------------ deliveries

    def _delivery_traceparent(self) -> str:
        trace_id = new_trace_id()
        self._deliveries[trace_id] = None
        if len(self._deliveries) > _REMEMBERED_DELIVERIES:
            self._deliveries.popitem(last=False)
        return format_traceparent(trace_id, new_span_id(), True)

    def is_delivery(self, trace_id: str | None) -> bool:
        return trace_id is not None and trace_id in self._deliveries

    def _deliver(self, function_id: str, payload: Any, metadata: Any = None, traceparent: str | None = None) -> None:
        async def run() -> None:
            try:
                await self.host.call(function_id, payload, metadata=metadata, traceparent=traceparent)
            except FunctionError as exc:
                log.debug("delivery to %s failed: %s", function_id, exc)

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ log trigger

    def on_logs(self, records: list[dict[str, Any]]) -> None:
        if not self.logs.bindings:
            return
        for record in records:
            if self.is_delivery(record.get("trace_id")):
                continue
            level = str(record.get("severity_text") or "").lower()
            for binding in list(self.logs.bindings.values()):
                wanted = str((binding.config or {}).get("level") or "all").lower()
                if wanted in ("all", level):
                    self._deliver(binding.function_id, record, binding.metadata, self._delivery_traceparent())

    # ------------------------------------------------------------------ trace trigger + live feeds

    def wants_spans(self) -> bool:
        """Someone is told about new spans: a ``trace`` trigger, or a live feed with a stream
        worker to carry it."""
        return bool(self.traces.bindings) or (self.live_feeds and "stream::send" in self.host.functions)

    def on_spans(self, spans: list[dict[str, Any]]) -> None:
        if not self.wants_spans():
            return
        fresh = [s for s in spans if not self.is_delivery(s["trace_id"])]
        if not fresh:
            return
        room = self.max_pending - len(self._pending_spans)
        self._pending_spans.extend(fresh[: max(0, room)])
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window_s, self._tick)

    def _tick(self) -> None:
        self._timer = None
        spans, self._pending_spans = self._pending_spans, []
        if self.traces.bindings:
            visible = [s for s in spans if not is_internal(s)]
            for binding in list(self.traces.bindings.values()):
                config = binding.config or {}
                service = str(config.get("service_name") or "").lower()
                status = str(config.get("status") or "").lower()
                ids = sorted({
                    s["trace_id"] for s in visible
                    if (not service or (s.get("service_name") or "").lower() == service)
                    and (not status or (s.get("status") or "") == status)
                })
                if ids:
                    self._deliver(binding.function_id, {"trace_ids": ids}, binding.metadata,
                                  self._delivery_traceparent())
        if self.live_feeds and "stream::send" in self.host.functions:
            self._feed(spans)

    def _feed(self, spans: list[dict[str, Any]]) -> None:
        rows = roots_of(spans)
        for stream, group, batch in (
            (FEEDS[0], "all", rows),
            (FEEDS[1], "all", spans),
            *((FEEDS[2], trace_id, [s for s in spans if s["trace_id"] == trace_id])
              for trace_id in sorted({s["trace_id"] for s in spans})),
        ):
            if batch:
                self._deliver("stream::send", {"stream_name": stream, "group_id": group, "type": "spans",
                                               "data": {"spans": batch}})

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
