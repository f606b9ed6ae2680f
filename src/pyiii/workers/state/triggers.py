"""The ``state`` trigger type (spec/workers.md §6.3): bindings indexed by scope, matched by key."""

from __future__ import annotations

from typing import Any

from pyiii.workers.event_triggers import EventTriggers
from pyiii.workers.state.payloads import TriggerConfig

REQUEST_FORMAT = {"type": "object", "properties": {
    "scope": {"type": "string"}, "key": {"type": "string"}, "condition_function_id": {"type": "string"}}}


class StateTriggers(EventTriggers[TriggerConfig]):
    """Provider of ``state``: fired after every write with ``{type, event_type, scope, key,
    old_value, new_value}``; ``scope`` and ``key`` filter exactly, omitted = any."""

    kind = "state"
    config_type = TriggerConfig
    span_name = "state_triggers"

    def index_key(self, config: TriggerConfig) -> str | None:
        return config.scope

    def event_key(self, event: dict[str, Any]) -> str | None:
        return event["scope"]  # type: ignore[no-any-return]

    def matches(self, config: TriggerConfig, event: dict[str, Any]) -> bool:
        return config.key is None or config.key == event["key"]

    def span_attributes(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"iii.state.scope": event["scope"], "iii.state.key": event["key"],
                "iii.state.event_type": event["event_type"]}
