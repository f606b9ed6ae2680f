"""``Stream(name)`` / ``ctx.streams[name]``: the iii-stream functions for one stream.

Methods work awaited and called directly, like :class:`~pyiii.steps.state.StateManager`.
Items stored through :meth:`Stream.set` get their item id as ``id`` when they are objects
without one, so group listings (which carry values only) still say which item is which.
"""

from __future__ import annotations

from typing import Any

from pyiii.steps.calls import call, then
from pyiii.steps.stream_config import StreamConfig


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) and not isinstance(value, type) else value


class Stream:
    def __init__(self, name_or_config: str | StreamConfig | dict[str, Any]) -> None:
        if isinstance(name_or_config, str):
            self.config = StreamConfig(name=name_or_config)
        elif isinstance(name_or_config, StreamConfig):
            self.config = name_or_config
        else:
            self.config = StreamConfig.from_any(name_or_config)
        self.name = self.config.name

    def _key(self, group_id: str, item_id: str | None = None) -> dict[str, Any]:
        key: dict[str, Any] = {"stream_name": self.name, "group_id": group_id}
        if item_id is not None:
            key["item_id"] = item_id
        return key

    def get(self, group_id: str, item_id: str) -> Any:
        return call("stream::get", self._key(group_id, item_id))

    def set(self, group_id: str, item_id: str, data: Any) -> Any:
        """Returns ``{"old_value", "new_value"}``."""
        value = _dump(data)
        if isinstance(value, dict) and "id" not in value:
            value = {"id": item_id, **value}
        return call("stream::set", {**self._key(group_id, item_id), "data": value})

    def update(self, group_id: str, item_id: str, ops: list[dict[str, Any]]) -> Any:
        return call("stream::update", {**self._key(group_id, item_id), "ops": [_dump(op) for op in ops]})

    def delete(self, group_id: str, item_id: str) -> Any:
        return call("stream::delete", self._key(group_id, item_id))

    def list(self, group_id: str) -> Any:
        return call("stream::list", self._key(group_id))

    #: Motia name.
    get_group = list

    def list_groups(self) -> Any:
        return then(call("stream::list_groups", {"stream_name": self.name}), lambda r: list(r or []))

    def send(self, channel: dict[str, Any], event: dict[str, Any]) -> Any:
        """Ephemeral event to subscribers: ``send({"groupId", "id"?}, {"type", "data"})``."""
        group_id = channel.get("groupId", channel.get("group_id"))
        payload: dict[str, Any] = {**self._key(str(group_id)), "type": event.get("type"), "data": event.get("data")}
        item_id = channel.get("id", channel.get("item_id"))
        if item_id is not None:
            payload["id"] = item_id
        return call("stream::send", payload)

    def __repr__(self) -> str:
        return f"Stream({self.name!r})"
