"""Trigger types ``stream``, ``stream:join`` and ``stream:leave`` (spec/workers.md §7.4)."""

from __future__ import annotations

import logging
from typing import Any

from pyiii.core import Binding, FunctionError, Host
from pyiii.workers.event_triggers import EventTriggers
from pyiii.workers.stream.auth import join_verdict
from pyiii.workers.stream.payloads import StreamTriggerConfig

log = logging.getLogger("pyiii.stream")


class StreamTriggers(EventTriggers[StreamTriggerConfig]):
    """Provider of ``stream``: fired on set / update / delete / send with the event envelope.
    Bindings are indexed by ``stream_name``; ``group_id`` / ``item_id`` filter exactly (empty =
    any; a group-level send has no item id, so an ``item_id`` filter never matches it). A config
    without ``stream_name`` is refused (the reference crashes on it)."""

    kind = "stream"
    config_type = StreamTriggerConfig
    span_name = "stream_triggers"

    def index_key(self, config: StreamTriggerConfig) -> str | None:
        return config.stream_name

    def event_key(self, event: dict[str, Any]) -> str | None:
        return event["streamName"]  # type: ignore[no-any-return]

    def matches(self, config: StreamTriggerConfig, event: dict[str, Any]) -> bool:
        return (not config.group_id or config.group_id == event["groupId"]) and (
            not config.item_id or config.item_id == event["id"])

    def span_attributes(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"iii.stream.name": event["streamName"], "iii.stream.group_id": event["groupId"]}


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
