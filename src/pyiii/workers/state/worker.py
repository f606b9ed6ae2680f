"""``iii-state``: scope -> key -> JSON value, with change triggers (spec/workers.md §6)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import msgspec

from pyiii.adapters.bridge import BridgeAdapter, BridgeError, RemoteEngine
from pyiii.adapters.kv import MISSING, KvError, KvStore, build_store, encode
from pyiii.adapters.kv.update_ops import OpsDecodeError, apply_ops, change_answer, or_none, parse_ops
from pyiii.core import CallContext, FunctionError, Host, bad_input
from pyiii.core import error_codes as E
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.state import MANIFEST
from pyiii.workers.state.config import StateConfig
from pyiii.workers.state.payloads import ListEntriesArgs, ScopeArgs, ScopeKey, SetArgs, UpdateArgs
from pyiii.workers.state.triggers import REQUEST_FORMAT, StateTriggers

log = logging.getLogger("pyiii.state")

VALUE_TOO_LARGE = "VALUE_TOO_LARGE"
#: Largest page ``state::list_entries`` returns.
MAX_ENTRIES_PAGE = 1000


class _ValueTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"value of {size} bytes exceeds the configured max_value_bytes limit of {limit}")


class StateWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Key/value state by scope, with change triggers."
    config_type = StateConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self.config: StateConfig = config
        self.triggers = StateTriggers(host)
        self.remote: RemoteEngine | None = None
        if isinstance(config.adapter, BridgeAdapter):
            self.remote = RemoteEngine(config.adapter.config, "iii-state-bridge")
        else:
            self.store: KvStore = build_store(config.adapter, namespace="state", default_dir=context.data_dir,
                                              base=context.project_dir)

    async def start(self) -> None:
        if self.remote is not None:
            await self._start_bridge(self.remote)
            return
        await self.store.open()
        if self.store.remote_kind is not None:  # a server that can go away: /readyz reports it
            self.host.add_health_check(f"{self.entry_id}:{self.store.remote_kind}", self.store.ping)
        reg = partial(self.host.register_function, worker=self.entry_id)
        reg("state::set", self._set, input_type=SetArgs, description="Store a value under scope/key")
        reg("state::get", self._get, input_type=ScopeKey, description="Read the value under scope/key")
        reg("state::delete", self._delete, input_type=ScopeKey, description="Delete scope/key; returns the old value")
        reg("state::update", self._update, input_type=UpdateArgs,
            description="Apply update operations to scope/key atomically")
        reg("state::list", self._list, input_type=ScopeArgs, description="Every value of a scope")
        reg("state::list_groups", self._list_groups, description="Every scope holding a value")
        reg("state::list_entries", self._list_entries, input_type=ListEntriesArgs,
            description="pyiii: one page of a scope's keys with their values")
        await self.triggers.register(self.entry_id, "Fires when a state value is created, updated or deleted",
                                     REQUEST_FORMAT)
        log.info("iii-state storing in %s", self.store.description)

    async def stop(self) -> None:
        if self.remote is not None:
            await self.remote.close()
        else:
            await self.store.close()

    def endpoints(self) -> list[str]:
        return [self.remote.description if self.remote is not None else self.store.description]

    # ------------------------------------------------------------------ bridge adapter

    async def _start_bridge(self, remote: RemoteEngine) -> None:
        """``adapter: bridge``: each ``state::*`` call is forwarded to the remote engine's (which
        holds the data and fires its own triggers); this engine's ``state`` triggers fire from the
        results, for the writes made through it (as the reference does)."""
        remote.start()
        self.host.add_health_check(f"{self.entry_id}:bridge", remote.ping)
        reg = partial(self.host.register_function, worker=self.entry_id)
        reg("state::set", self._bridge_set, input_type=SetArgs, description="Store a value (remote engine)")
        reg("state::get", self._forward, input_type=ScopeKey, description="Read a value (remote engine)")
        reg("state::delete", self._bridge_delete, input_type=ScopeKey, description="Delete scope/key (remote engine)")
        reg("state::update", self._bridge_update, input_type=UpdateArgs,
            description="Apply update operations (remote engine)")
        reg("state::list", self._forward, input_type=ScopeArgs,
            description="Every value of a scope (remote engine)")
        reg("state::list_groups", self._forward,
            description="Every scope holding a value (remote engine)")
        reg("state::list_entries", self._forward, input_type=ListEntriesArgs,
            description="pyiii: one page of a scope's entries (remote engine)")
        await self.triggers.register(self.entry_id, "Fires when a state value is created, updated or deleted "
                                     "through this engine", REQUEST_FORMAT)
        log.info("iii-state forwarding to %s", remote.url)

    async def _remote_call(self, function_id: str, payload: Any) -> Any:
        assert self.remote is not None
        try:
            return await self.remote.call(function_id, payload)
        except BridgeError as exc:
            raise FunctionError(exc.code, exc.message) from None

    async def _forward(self, a: Any, ctx: CallContext) -> Any:
        """The same call on the remote engine (its own error codes come back as they are)."""
        payload = msgspec.to_builtins(a) if a is not None else {}
        return await self._remote_call(ctx.function_id, payload)

    async def _bridge_set(self, a: SetArgs, ctx: CallContext) -> Any:
        value = a.value if a.value is not msgspec.UNSET else (a.data if a.data is not msgspec.UNSET else None)
        limit = self.config.max_value_bytes
        if limit is not None and len(encode(value)) > limit:
            raise FunctionError(VALUE_TOO_LARGE, str(_ValueTooLarge(len(encode(value)), limit)))
        result = await self._remote_call("state::set", {"scope": a.scope, "key": a.key, "value": value})
        old = result.get("old_value") if isinstance(result, dict) else None
        self._changed(a.scope, a.key, MISSING if old is None else old, value, ctx)
        return result

    async def _bridge_delete(self, a: ScopeKey, ctx: CallContext) -> Any:
        old = await self._remote_call("state::delete", {"scope": a.scope, "key": a.key})
        if old is not None:
            self._fire(a.scope, a.key, "state:deleted", old, None, ctx)
        return old

    async def _bridge_update(self, a: UpdateArgs, ctx: CallContext) -> Any:
        result = await self._remote_call("state::update", {"scope": a.scope, "key": a.key, "ops": a.ops})
        if isinstance(result, dict) and "new_value" in result:
            old = result.get("old_value")
            self._changed(a.scope, a.key, MISSING if old is None else old, result["new_value"], ctx)
        return result

    # ------------------------------------------------------------------ functions

    async def _set(self, a: SetArgs, ctx: CallContext) -> Any:
        value = a.value if a.value is not msgspec.UNSET else (a.data if a.data is not msgspec.UNSET else None)
        limit = self.config.max_value_bytes
        if limit is not None:
            size = len(encode(value))
            if size > limit:
                raise FunctionError(VALUE_TOO_LARGE, str(_ValueTooLarge(size, limit)))
        try:
            old = await self.store.set(a.scope, a.key, value)
        except KvError as exc:
            raise FunctionError("SET_ERROR", str(exc)) from None
        self._changed(a.scope, a.key, old, value, ctx)
        return change_answer(old, value)

    async def _get(self, a: ScopeKey, ctx: CallContext) -> Any:
        try:
            return or_none(await self.store.get(a.scope, a.key))
        except KvError as exc:
            raise FunctionError("GET_ERROR", str(exc)) from None

    async def _delete(self, a: ScopeKey, ctx: CallContext) -> Any:
        try:
            old = await self.store.delete(a.scope, a.key)
        except KvError as exc:
            raise FunctionError("DELETE_ERROR", str(exc)) from None
        if old is not MISSING:
            self._fire(a.scope, a.key, "state:deleted", old, None, ctx)
        return or_none(old)

    async def _update(self, a: UpdateArgs, ctx: CallContext) -> Any:
        try:
            ops = parse_ops(a.ops)
        except OpsDecodeError as exc:
            raise bad_input(ctx.function_id, exc) from None
        errors: list[dict[str, Any]] = []
        limit = self.config.max_value_bytes

        def mutate(old: Any) -> Any:
            new, op_errors = apply_ops(old, ops)
            if limit is not None and len(encode(new)) > limit:
                raise _ValueTooLarge(len(encode(new)), limit)
            errors[:] = op_errors
            return new

        try:
            old, new = await self.store.update(a.scope, a.key, mutate)
        except _ValueTooLarge as exc:
            raise FunctionError(VALUE_TOO_LARGE, str(exc)) from None
        except KvError as exc:
            raise FunctionError("UPDATE_ERROR", str(exc)) from None
        self._changed(a.scope, a.key, old, new, ctx)
        return change_answer(old, new, errors)

    async def _list(self, a: ScopeArgs, ctx: CallContext) -> Any:
        try:
            return await self.store.values(a.scope)
        except KvError as exc:
            raise FunctionError("LIST_ERROR", str(exc)) from None

    async def _list_entries(self, a: ListEntriesArgs, ctx: CallContext) -> Any:
        limit = min(max(a.limit, 1), MAX_ENTRIES_PAGE)
        try:
            offset = max(int(a.cursor), 0) if a.cursor else 0
        except ValueError:
            raise FunctionError(E.DESERIALIZATION_ERROR, f"{ctx.function_id}: cursor {a.cursor!r} is not one "
                                "this function returned") from None
        try:
            entries = await self.store.entries(a.scope)
        except KvError as exc:
            raise FunctionError("LIST_ERROR", str(exc)) from None
        if a.search:
            needle = a.search.lower()
            entries = [(k, v) for k, v in entries if needle in k.lower() or needle in encode(v).decode().lower()]
        page = entries[offset:offset + limit]
        end = offset + len(page)
        return {"entries": [{"key": k, "value": v} for k, v in page], "total": len(entries),
                "next_cursor": str(end) if end < len(entries) else None}

    async def _list_groups(self, data: Any, ctx: CallContext) -> Any:
        try:
            return {"groups": sorted(set(await self.store.tables()))}
        except KvError as exc:
            raise FunctionError("LIST_GROUPS_ERROR", str(exc)) from None

    # ------------------------------------------------------------------ events

    def _changed(self, scope: str, key: str, old: Any, new: Any, ctx: CallContext) -> None:
        self._fire(scope, key, "state:created" if old is MISSING else "state:updated", old, new, ctx)

    def _fire(self, scope: str, key: str, event_type: str, old: Any, new: Any, ctx: CallContext) -> None:
        if not self.config.triggers_enabled:
            return
        # The deliveries continue the trace of the write that caused them.
        self.triggers.fire({
            "type": "state", "event_type": event_type, "scope": scope, "key": key,
            "old_value": or_none(old), "new_value": new,
        }, ctx.traceparent, ctx.baggage)
