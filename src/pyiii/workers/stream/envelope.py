"""The event envelope sent to WebSocket clients and ``stream`` triggers (spec §7.3)."""

from __future__ import annotations

import time
from typing import Any


def envelope(stream_name: str, group_id: str, item_id: str | None, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "stream",
        "timestamp": int(time.time() * 1000),
        "streamName": stream_name,
        "groupId": group_id,
        "id": item_id,
        "event": event,
    }


def change(kind: str, data: Any) -> dict[str, Any]:
    """``create`` / ``update`` / ``delete`` / ``sync``."""
    return {"type": kind, "data": data}


def custom(event_type: str, data: Any) -> dict[str, Any]:
    return {"type": "event", "event": {"type": event_type, "data": data}}


UNAUTHORIZED: dict[str, Any] = {"type": "unauthorized"}
