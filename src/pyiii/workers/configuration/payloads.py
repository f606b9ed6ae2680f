"""Payloads of the ``configuration::*`` functions and the trigger config (unknown fields ignored)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

EventType = Literal["configuration:registered", "configuration:updated", "configuration:deleted"]


class RegisterArgs(msgspec.Struct):
    id: str
    name: str
    description: str
    schema: dict[str, Any]
    #: ``null`` counts as absent, as the reference's ``Option`` does.
    initial_value: Any = None
    metadata: Any = None


class SetArgs(msgspec.Struct):
    id: str
    value: Any = None


class GetArgs(msgspec.Struct):
    id: str
    raw: bool = False


class IdArgs(msgspec.Struct):
    id: str


class TriggerConfig(msgspec.Struct):
    """``configuration`` trigger config: omitted filters match everything."""

    configuration_id: str | None = None
    event_types: list[EventType] | None = None
    condition_function_id: str | None = None
