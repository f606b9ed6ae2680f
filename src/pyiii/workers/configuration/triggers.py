"""The ``configuration`` trigger type (spec/workers.md §3.3): bindings indexed by configuration
id, matched by event type; and telling the TTL countdown when an id loses (or regains) its last
trigger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyiii.core import Binding, Host
from pyiii.workers.configuration.payloads import TriggerConfig
from pyiii.workers.event_triggers import EventTriggers

TRIGGER_FORMAT = {"type": "object", "properties": {
    "configuration_id": {"type": "string"},
    "event_types": {"type": "array", "items": {"enum": [
        "configuration:registered", "configuration:updated", "configuration:deleted"]}},
    "condition_function_id": {"type": "string"}}}


class ConfigurationTriggers(EventTriggers[TriggerConfig]):
    """Provider of ``configuration``. Its deliveries get no span of their own (as in the
    reference): they run in the trace of the write."""

    kind = "configuration"
    config_type = TriggerConfig

    def __init__(self, host: Host, on_watched: Callable[[str], None] | None = None,
                 on_unwatched: Callable[[str], None] | None = None) -> None:
        super().__init__(host)
        self.on_watched = on_watched
        self.on_unwatched = on_unwatched

    def index_key(self, config: TriggerConfig) -> str | None:
        return config.configuration_id

    def event_key(self, event: dict[str, Any]) -> str | None:
        return event["id"]  # type: ignore[no-any-return]

    def matches(self, config: TriggerConfig, event: dict[str, Any]) -> bool:
        return config.event_types is None or event["event_type"] in config.event_types

    async def register_trigger(self, binding: Binding) -> None:
        await super().register_trigger(binding)
        config = self.config_of(binding.id)
        config_id = config.configuration_id if config is not None else None
        if config_id is not None and self.on_watched is not None:
            self.on_watched(config_id)

    async def unregister_trigger(self, binding: Binding) -> None:
        gone = self.config_of(binding.id)
        await super().unregister_trigger(binding)
        config_id = gone.configuration_id if gone is not None else None
        if config_id is not None and self.on_unwatched is not None and not self.has_key(config_id):
            self.on_unwatched(config_id)
