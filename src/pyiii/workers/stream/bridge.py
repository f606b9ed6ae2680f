"""iii-stream with ``adapter: bridge``: the items live on a remote engine.

Every operation is forwarded to the remote engine's ``stream::*`` function (which stores the
item and notifies its own subscribers and triggers). This engine's WebSocket clients get their
events from the remote engine too: the first time a client joins a stream, a ``stream`` trigger
for that stream name is registered on the remote engine, whose deliveries are fanned out here.
So clients of this engine see every change of the remote engine's data — made through this
engine, through another bridged engine, or by a worker of the remote engine itself.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from pyiii.adapters.bridge import BridgeError, RemoteEngine
from pyiii.adapters.kv import MISSING, encode
from pyiii.adapters.kv.update_ops import UpdateOp
from pyiii.workers.stream.storage import JSON_ERROR, StorageError, check_size

log = logging.getLogger("pyiii.stream")


class RemoteStreamStorage:
    """The :class:`~pyiii.workers.stream.storage.StreamStorage` interface, on a remote engine."""

    def __init__(self, remote: RemoteEngine, max_item_bytes: int) -> None:
        self.remote = remote
        self.max_item_bytes = max_item_bytes

    async def _call(self, function_id: str, payload: dict[str, Any]) -> Any:
        try:
            return await self.remote.call(function_id, payload)
        except BridgeError as exc:
            raise StorageError(exc.message, exc.code) from None

    async def get(self, stream_name: str, group_id: str, item_id: str) -> Any:
        return await self._call("stream::get", {"stream_name": stream_name, "group_id": group_id, "item_id": item_id})

    async def set(self, stream_name: str, group_id: str, item_id: str, data: Any) -> Any:
        check_size(data, self.max_item_bytes)
        result = await self._call("stream::set", {"stream_name": stream_name, "group_id": group_id,
                                                  "item_id": item_id, "data": data})
        return _old(result)

    async def delete(self, stream_name: str, group_id: str, item_id: str) -> Any:
        result = await self._call("stream::delete", {"stream_name": stream_name, "group_id": group_id,
                                                     "item_id": item_id})
        return _old(result)

    async def update(self, stream_name: str, group_id: str, item_id: str, ops: list[UpdateOp],
                     raw_ops: Any) -> tuple[Any, Any, builtins.list[dict[str, Any]]]:
        result = await self._call("stream::update", {"stream_name": stream_name, "group_id": group_id,
                                                     "item_id": item_id, "ops": raw_ops})
        if not isinstance(result, dict) or "new_value" not in result:
            raise StorageError(f"stream::update on the remote engine returned {result!r}", JSON_ERROR)
        errors = result.get("errors") or []
        return _old(result), result["new_value"], errors if isinstance(errors, list) else []

    async def list(self, stream_name: str, group_id: str) -> builtins.list[Any]:
        result = await self._call("stream::list", {"stream_name": stream_name, "group_id": group_id})
        if not isinstance(result, list):
            raise StorageError(f"stream::list on the remote engine returned {result!r}", JSON_ERROR)
        return result

    async def list_raw(self, stream_name: str, group_id: str) -> builtins.list[tuple[str | None, msgspec.Raw]]:
        """Values only cross the bridge: an item's id is its value's ``id`` field when it has one."""
        return [(v.get("id") if isinstance(v, dict) and isinstance(v.get("id"), str) else None,
                 msgspec.Raw(encode(v))) for v in await self.list(stream_name, group_id)]

    async def list_groups(self, stream_name: str) -> builtins.list[str]:
        result = await self._call("stream::list_groups", {"stream_name": stream_name})
        if not isinstance(result, list):
            raise StorageError(f"stream::list_groups on the remote engine returned {result!r}", JSON_ERROR)
        return result

    async def list_all(self) -> dict[str, builtins.list[str]]:
        result = await self._call("stream::list_all", {})
        rows = result.get("stream") if isinstance(result, dict) else None
        if not isinstance(rows, list):
            raise StorageError(f"stream::list_all on the remote engine returned {result!r}", JSON_ERROR)
        return {row["id"]: list(row.get("groups") or []) for row in rows if isinstance(row, dict) and "id" in row}


def _old(result: Any) -> Any:
    if not isinstance(result, dict):
        raise StorageError(f"the remote engine returned {result!r}, expected an object", JSON_ERROR)
    old = result.get("old_value")
    return MISSING if old is None else old


class RemoteEvents:
    """Watches streams on the remote engine and hands their events to ``deliver`` (the hub)."""

    def __init__(self, remote: RemoteEngine, deliver: Callable[[bytes], None], max_streams: int) -> None:
        self.remote = remote
        self.deliver = deliver
        self.max_streams = max_streams
        self.handler_id = f"stream::bridge::on_event::{uuid.uuid4()}"
        self.watched: dict[str, Callable[[], None]] = {}

    async def watch(self, stream_name: str) -> None:
        if stream_name in self.watched:
            return
        if len(self.watched) >= self.max_streams:
            raise StorageError(f"this engine already watches {self.max_streams} streams on "
                               f"{self.remote.url} (max_watched_streams)", "STREAM_BRIDGE_LIMIT")
        if not self.watched:
            self.remote.register_function(self.handler_id, self._on_event,
                                          description="Stream events for a bridged engine")
        self.watched[stream_name] = self.remote.register_trigger("stream", self.handler_id,
                                                                 {"stream_name": stream_name})
        log.info("iii-stream: watching stream %r on %s", stream_name, self.remote.url)
        # Frames of one connection are handled in order: once this answers, the trigger above is
        # in place, so nothing written after the joining client's snapshot is missed.
        try:
            await self.remote.call("stream::list_groups", {"stream_name": stream_name})
        except BridgeError as exc:
            raise StorageError(exc.message, exc.code) from None

    async def _on_event(self, event: Any) -> None:
        if isinstance(event, dict) and event.get("type") == "stream":
            self.deliver(encode(event))
