"""What a ``*_stream.py`` file declares: a stream name, its item schema and optional hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyiii.steps.keys import pick
from pyiii.steps.schemas import to_json_schema


@dataclass
class StreamConfig:
    name: str
    description: str | None = None
    schema: Any = None
    base_config: dict[str, Any] | None = None
    #: ``on_join(subscription, ctx, auth_context) -> {"unauthorized": bool} | bool | None``
    on_join: Callable[..., Any] | None = None
    #: ``on_leave(subscription, ctx, auth_context) -> None``
    on_leave: Callable[..., Any] | None = None
    #: ``authenticate(request, ctx) -> bool | {"authorized", "context"}``
    authenticate: Callable[..., Any] | None = None

    @classmethod
    def from_any(cls, raw: Any) -> StreamConfig:
        if isinstance(raw, StreamConfig):
            return raw
        if not isinstance(raw, dict):
            dump = getattr(raw, "model_dump", None)
            raw = dump() if callable(dump) else vars(raw)
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("a stream config needs a `name`")
        return cls(
            name=name,
            description=raw.get("description"),
            schema=raw.get("schema"),
            base_config=pick(raw, "base_config", "baseConfig"),
            on_join=pick(raw, "on_join", "onJoin"),
            on_leave=pick(raw, "on_leave", "onLeave"),
            authenticate=pick(raw, "authenticate", "canAccess", "can_access"),
        )

    def describe(self) -> dict[str, Any]:
        """JSON-safe summary (for metadata and the console)."""
        return {"name": self.name, "description": self.description, "schema": to_json_schema(self.schema)}
