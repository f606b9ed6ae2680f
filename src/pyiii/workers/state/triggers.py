"""The ``state`` trigger type: who wants to hear about which writes, and telling them."""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from pyiii.core import Binding, Host, PassThroughSpan, Span, SpanKind, TriggerRegistrationError
from pyiii.workers.state.payloads import TriggerConfig
from pyiii.workers.trigger_delivery import deliver

log = logging.getLogger("pyiii.state")


class StateTriggers:
    """Provider of the ``state`` trigger type."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.bindings: dict[str, tuple[Binding, TriggerConfig]] = {}

    async def register_trigger(self, binding: Binding) -> None:
        try:
            config = msgspec.convert(binding.config or {}, TriggerConfig)
        except msgspec.ValidationError as exc:
            raise TriggerRegistrationError(f"invalid state trigger config: {exc}") from None
        self.bindings[binding.id] = (binding, config)

    async def unregister_trigger(self, binding: Binding) -> None:
        self.bindings.pop(binding.id, None)

    def matching(self, scope: str, key: str) -> list[tuple[Binding, TriggerConfig]]:
        return [
            (b, c) for b, c in self.bindings.values()
            if (c.scope is None or c.scope == scope) and (c.key is None or c.key == key)
        ]

    def fire(self, scope: str, key: str, event: dict[str, Any], traceparent: str | None = None,
             baggage: str | None = None) -> None:
        """Fire-and-forget: matching bindings run one after another in one background task,
        in the trace of the write (``traceparent``/``baggage`` of the state call)."""
        targets = self.matching(scope, key)
        if not targets:
            return
        tracer = self.host.tracer
        if tracer.enabled:
            span = tracer.start_span("state_triggers", SpanKind.INTERNAL, traceparent, {
                "iii.trigger.type": "state", "faas.trigger": "datasource", "iii.state.scope": scope,
                "iii.state.key": key, "iii.state.event_type": event["event_type"], "iii.trigger.count": len(targets)})
            self.host.spawn(self._traced(span, targets, event, baggage))
        else:
            self.host.spawn(self._deliver(targets, event, traceparent, baggage))

    async def _traced(self, span: Span | PassThroughSpan, targets: list[tuple[Binding, TriggerConfig]],
                      event: dict[str, Any], baggage: str | None) -> None:
        with span:
            failed = await self._deliver(targets, event, span.traceparent, baggage)
            if failed:
                span.end("error", failed)

    async def _deliver(self, targets: list[tuple[Binding, TriggerConfig]], event: dict[str, Any],
                       traceparent: str | None, baggage: str | None) -> str | None:
        return await deliver(self.host, "state", ((b, c.condition_function_id) for b, c in targets), event,
                             traceparent, baggage)
