"""Trigger types ``stream``, ``stream:join`` and ``stream:leave`` (spec/workers.md §7.4)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from pyiii.core import Binding, FunctionError, Host, PassThroughSpan, Span, SpanKind, TriggerRegistrationError
from pyiii.workers.stream.auth import join_verdict
from pyiii.workers.stream.payloads import StreamTriggerConfig
from pyiii.workers.trigger_delivery import deliver

log = logging.getLogger("pyiii.stream")


class StreamTriggers:
    """Provider of ``stream``: fired on set / update / delete / send with the event envelope."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.bindings: dict[str, tuple[Binding, StreamTriggerConfig]] = {}

    async def register_trigger(self, binding: Binding) -> None:
        try:
            config = msgspec.convert(binding.config or {}, StreamTriggerConfig)
        except msgspec.ValidationError as exc:
            # The reference crashes on a missing stream_name; refusing it is the useful answer.
            raise TriggerRegistrationError(f"invalid stream trigger config: {exc}") from None
        self.bindings[binding.id] = (binding, config)

    async def unregister_trigger(self, binding: Binding) -> None:
        self.bindings.pop(binding.id, None)

    def fire(self, event: dict[str, Any], traceparent: str | None = None, baggage: str | None = None) -> None:
        """Deliver in the trace of the write (``traceparent``/``baggage`` of the stream call)."""
        stream_name, group_id, item_id = event["streamName"], event["groupId"], event["id"]
        targets = [
            (b, c) for b, c in self.bindings.values()
            if c.stream_name == stream_name
            and (not c.group_id or c.group_id == group_id)
            and (not c.item_id or c.item_id == item_id)
        ]
        if not targets:
            return
        tracer = self.host.tracer
        if tracer.enabled:
            span = tracer.start_span("stream_triggers", SpanKind.INTERNAL, traceparent, {
                "iii.trigger.type": "stream", "faas.trigger": "datasource", "iii.stream.name": stream_name,
                "iii.stream.group_id": group_id, "iii.trigger.count": len(targets)})
            self.host.spawn(self._traced(span, targets, event, baggage))
        else:
            self.host.spawn(self._deliver(targets, event, traceparent, baggage))

    async def _traced(self, span: Span | PassThroughSpan, targets: list[tuple[Binding, StreamTriggerConfig]],
                      event: dict[str, Any], baggage: str | None) -> None:
        with span:
            failed = await self._deliver(targets, event, span.traceparent, baggage)
            if failed:
                span.end("error", failed)

    async def _deliver(self, targets: list[tuple[Binding, StreamTriggerConfig]], event: dict[str, Any],
                       traceparent: str | None, baggage: str | None) -> str | None:
        return await deliver(self.host, "stream", ((b, c.condition_function_id) for b, c in targets), event,
                             traceparent, baggage)



class JoinLeaveTriggers:
    """Provider of ``stream:join`` or ``stream:leave``; config is ignored (every stream)."""

    def __init__(self, host: Host, timeout_s: float) -> None:
        self.host = host
        self.timeout_s = timeout_s
        self.bindings: dict[str, Binding] = {}

    async def register_trigger(self, binding: Binding) -> None:
        self.bindings[binding.id] = binding

    async def unregister_trigger(self, binding: Binding) -> None:
        self.bindings.pop(binding.id, None)

    async def authorize(self, event: dict[str, Any]) -> bool:
        """Run every handler in turn; any denial (:func:`join_verdict`), error or timeout refuses
        the join (fail closed; the reference counts a failing handler as authorising)."""
        allowed = True  # every handler still runs, as in the reference
        for binding in list(self.bindings.values()):
            try:
                result = await self.host.fire(binding, event, timeout=self.timeout_s)
            except Exception as exc:
                log.warning("stream:join handler %s failed, join refused: %s", binding.function_id, exc)
                allowed = False
                continue
            allowed = join_verdict(result) and allowed
        return allowed

    async def notify(self, event: dict[str, Any]) -> None:
        for binding in list(self.bindings.values()):
            try:
                await self.host.fire(binding, event, timeout=self.timeout_s)
            except (TimeoutError, FunctionError) as exc:
                log.warning("stream:leave handler %s failed: %s", binding.function_id, exc)
