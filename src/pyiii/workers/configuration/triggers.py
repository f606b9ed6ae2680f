"""The ``configuration`` trigger type: filters, condition functions, delivery, and telling the
TTL countdown when an id loses (or regains) its last trigger."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec

from pyiii.core import Binding, Host, TriggerRegistrationError
from pyiii.workers.configuration.payloads import TriggerConfig
from pyiii.workers.trigger_delivery import deliver

log = logging.getLogger("pyiii.configuration")

TRIGGER_FORMAT = {"type": "object", "properties": {
    "configuration_id": {"type": "string"},
    "event_types": {"type": "array", "items": {"enum": [
        "configuration:registered", "configuration:updated", "configuration:deleted"]}},
    "condition_function_id": {"type": "string"}}}


class ConfigurationTriggers:
    """Provider of the ``configuration`` trigger type."""

    def __init__(self, host: Host, on_watched: Callable[[str], None] | None = None,
                 on_unwatched: Callable[[str], None] | None = None) -> None:
        self.host = host
        self.bindings: dict[str, tuple[Binding, TriggerConfig]] = {}
        self.on_watched = on_watched
        self.on_unwatched = on_unwatched

    async def register_trigger(self, binding: Binding) -> None:
        try:
            config = msgspec.convert(binding.config or {}, TriggerConfig)
        except msgspec.ValidationError as exc:
            raise TriggerRegistrationError(f"invalid configuration trigger config: {exc}") from None
        self.bindings[binding.id] = (binding, config)
        if config.configuration_id is not None and self.on_watched is not None:
            self.on_watched(config.configuration_id)

    async def unregister_trigger(self, binding: Binding) -> None:
        gone = self.bindings.pop(binding.id, None)
        if gone is None or gone[1].configuration_id is None or self.on_unwatched is None:
            return
        config_id = gone[1].configuration_id
        if not any(c.configuration_id == config_id for _, c in self.bindings.values()):
            self.on_unwatched(config_id)

    def matching(self, config_id: str, event_type: str) -> list[tuple[Binding, TriggerConfig]]:
        return [
            (b, c) for b, c in self.bindings.values()
            if (c.configuration_id is None or c.configuration_id == config_id)
            and (c.event_types is None or event_type in c.event_types)
        ]

    def fire(self, event: dict[str, Any], traceparent: str | None = None, baggage: str | None = None) -> None:
        """Fire-and-forget: matching bindings run one after another in one background task."""
        targets = self.matching(event["id"], event["event_type"])
        if targets:
            self.host.spawn(self._deliver(targets, event, traceparent, baggage))

    async def _deliver(self, targets: list[tuple[Binding, TriggerConfig]], event: dict[str, Any],
                       traceparent: str | None, baggage: str | None) -> None:
        await deliver(self.host, "configuration", ((b, c.condition_function_id) for b, c in targets), event,
                      traceparent, baggage)
