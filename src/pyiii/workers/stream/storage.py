"""Where stream items live: the kv store, or a worker's own functions for one stream.

A worker that registers ``stream::set(<name>)`` (and ``get`` / ``delete`` / ``list`` /
``list_groups`` / optionally ``update``) owns the storage of stream ``<name>``: each operation
on that stream is delegated to its function with the same payload (what the SDKs'
``create_stream`` does). Events are still emitted by the built-in.

In the kv store a stream group is the table :func:`layout.table` names (unambiguous).
"""

from __future__ import annotations

import builtins
from typing import Any

import msgspec

from pyiii.adapters.kv import MISSING, KvError, KvStore, encode
from pyiii.adapters.kv.locks import KeyedLocks
from pyiii.adapters.kv.update_ops import UpdateOp, apply_ops
from pyiii.core import FunctionError, Host
from pyiii.workers.stream.layout import parse, table

JSON_ERROR = "JSON_ERROR"
ITEM_TOO_LARGE = "STREAM_ITEM_TOO_LARGE"


class StorageError(Exception):
    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def check_size(value: Any, max_bytes: int) -> None:
    """Refuse a value whose JSON is larger than ``max_bytes`` (typed, before anything is stored)."""
    size = len(encode(value))
    if size > max_bytes:
        raise StorageError(f"item of {size} bytes is larger than max_item_bytes ({max_bytes})", ITEM_TOO_LARGE)


class StreamStorage:
    def __init__(self, host: Host, store: KvStore, max_item_bytes: int) -> None:
        self.host = host
        self.store = store
        self.max_item_bytes = max_item_bytes
        # Serialises get-apply-set updates of custom streams that have no update function.
        self._custom_locks = KeyedLocks()

    def _custom(self, op: str, stream_name: str) -> str | None:
        function_id = f"stream::{op}({stream_name})"
        return function_id if function_id in self.host.functions else None

    async def _delegate(self, function_id: str, payload: dict[str, Any]) -> Any:
        try:
            return await self.host.call(function_id, payload)
        except FunctionError as exc:
            raise StorageError(f"{function_id} failed: {exc.code}: {exc.message}") from None

    # Results use MISSING for "did not exist", like the kv store.

    async def get(self, stream_name: str, group_id: str, item_id: str) -> Any:
        fid = self._custom("get", stream_name)
        if fid:
            return await self._delegate(fid, {"stream_name": stream_name, "group_id": group_id, "item_id": item_id})
        return await self._kv(self.store.get(table(stream_name, group_id), item_id))

    async def set(self, stream_name: str, group_id: str, item_id: str, data: Any) -> Any:
        """Returns the previous value (MISSING when there was none)."""
        check_size(data, self.max_item_bytes)
        fid = self._custom("set", stream_name)
        if fid:
            payload = {"stream_name": stream_name, "group_id": group_id, "item_id": item_id, "data": data}
            result = _result_object(fid, await self._delegate(fid, payload), "new_value")
            return MISSING if result.get("old_value") is None else result["old_value"]
        return await self._kv(self.store.set(table(stream_name, group_id), item_id, data))

    async def delete(self, stream_name: str, group_id: str, item_id: str) -> Any:
        fid = self._custom("delete", stream_name)
        if fid:
            payload = {"stream_name": stream_name, "group_id": group_id, "item_id": item_id}
            result = _result_object(fid, await self._delegate(fid, payload), None)
            return MISSING if result.get("old_value") is None else result["old_value"]
        return await self._kv(self.store.delete(table(stream_name, group_id), item_id))

    async def update(
        self, stream_name: str, group_id: str, item_id: str, ops: list[UpdateOp], raw_ops: Any
    ) -> tuple[Any, Any, builtins.list[dict[str, Any]]]:
        """``(old, new, op_errors)``; atomic for kv stores and custom ``update`` functions."""
        fid = self._custom("update", stream_name)
        if fid:
            payload = {"stream_name": stream_name, "group_id": group_id, "item_id": item_id, "ops": raw_ops}
            result = _result_object(fid, await self._delegate(fid, payload), "new_value")
            errors = result.get("errors") or []
            old = result.get("old_value")
            return (MISSING if old is None else old), result["new_value"], errors if isinstance(errors, list) else []
        if self._custom("set", stream_name):
            async with self._custom_locks.hold((stream_name, group_id, item_id)):
                current = await self.get(stream_name, group_id, item_id)
                old = MISSING if current is None else current
                new, errors = apply_ops(old, ops)
                await self.set(stream_name, group_id, item_id, new)
                return old, new, errors
        op_errors: builtins.list[dict[str, Any]] = []

        def mutate(old: Any) -> Any:
            new, errors = apply_ops(old, ops)
            check_size(new, self.max_item_bytes)  # raises inside the store's transaction: nothing written
            op_errors[:] = errors
            return new

        old, new = await self._kv(self.store.update(table(stream_name, group_id), item_id, mutate))
        return old, new, op_errors

    async def list(self, stream_name: str, group_id: str) -> list[Any]:
        fid = self._custom("list", stream_name)
        if fid:
            result = await self._delegate(fid, {"stream_name": stream_name, "group_id": group_id})
            if not isinstance(result, list):
                raise StorageError(f"{fid} returned {type(result).__name__}, expected an array", JSON_ERROR)
            return result
        return builtins.list(await self._kv(self.store.values(table(stream_name, group_id))))

    async def list_raw(self, stream_name: str, group_id: str) -> builtins.list[tuple[str | None, msgspec.Raw]]:
        """``(item_id, encoded value)`` of a group, as stored (not decoded); a custom ``list``
        gives values only, so the id is the value's own ``id`` field when it has one, else ``None``."""
        if self._custom("list", stream_name):
            values = await self.list(stream_name, group_id)
            return [(v.get("id") if isinstance(v, dict) and isinstance(v.get("id"), str) else None,
                     msgspec.Raw(encode(v))) for v in values]
        rows = await self._kv(self.store.raw_items(table(stream_name, group_id)))
        return [(key, msgspec.Raw(raw)) for key, raw in rows]

    async def list_groups(self, stream_name: str) -> builtins.list[str]:
        fid = self._custom("list_groups", stream_name)
        if fid:
            result = await self._delegate(fid, {"stream_name": stream_name})
            if not isinstance(result, list) or not all(isinstance(g, str) for g in result):
                raise StorageError(f"{fid} returned {result!r}, expected an array of strings", JSON_ERROR)
            return result
        groups = {parsed[1] for name in await self._kv(self.store.tables())
                  if (parsed := parse(name)) is not None and parsed[0] == stream_name}
        return sorted(groups)

    async def list_all(self) -> dict[str, builtins.list[str]]:
        """Stream name -> its groups (kv-stored streams only)."""
        streams: dict[str, set[str]] = {}
        for name in await self._kv(self.store.tables()):
            parsed = parse(name)
            if parsed is not None:
                streams.setdefault(parsed[0], set()).add(parsed[1])
        return {name: sorted(groups) for name, groups in streams.items()}

    @staticmethod
    async def _kv(op: Any) -> Any:
        try:
            return await op
        except KvError as exc:
            raise StorageError(str(exc)) from None


def _result_object(function_id: str, result: Any, required: str | None) -> dict[str, Any]:
    if result is None:
        raise StorageError(f"{function_id}: Function returned no result")
    if not isinstance(result, dict) or (required is not None and required not in result):
        want = f"an object with `{required}`" if required else "an object"
        raise StorageError(f"{function_id} returned {result!r}, expected {want}", JSON_ERROR)
    return result
