"""Payloads of the ``stream::*`` functions and of the client WebSocket protocol."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class ItemArgs(msgspec.Struct):
    stream_name: str
    group_id: str
    item_id: str


class SetArgs(msgspec.Struct):
    stream_name: str
    group_id: str
    item_id: str
    data: Any = None


class UpdateArgs(msgspec.Struct):
    stream_name: str
    group_id: str
    item_id: str
    ops: Any


class GroupArgs(msgspec.Struct):
    stream_name: str
    group_id: str


class StreamArgs(msgspec.Struct):
    stream_name: str


class SendArgs(msgspec.Struct):
    stream_name: str
    group_id: str
    type: str
    data: Any = None
    id: str | None = None


class StreamTriggerConfig(msgspec.Struct):
    """``stream`` trigger: ``stream_name`` is required; empty filters match anything."""

    stream_name: str
    group_id: str | None = None
    item_id: str | None = None
    condition_function_id: str | None = None


# ---- client WebSocket messages (camelCase on this wire) ----


class SubscriptionData(msgspec.Struct, rename="camel"):
    subscription_id: str
    stream_name: str
    group_id: str
    id: str | None = None


class ClientMessage(msgspec.Struct):
    type: Literal["join", "leave"]
    data: SubscriptionData


class EnvelopeHead(msgspec.Struct, rename="camel"):
    """The routing part of an event envelope, decoded without the payload."""

    stream_name: str
    group_id: str
    id: str | None = None
