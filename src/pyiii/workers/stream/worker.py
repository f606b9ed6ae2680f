"""``iii-stream``: real-time items pushed to WebSocket clients and triggers (spec/workers.md §7).

A write goes: storage -> ``stream`` triggers (on this engine only) -> the encoded envelope is
published on the event bus -> every engine's hub fans the same bytes out to its clients. With
the Redis adapter the bus is Redis pub/sub, so clients of every engine see every write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

import msgspec

from pyiii.adapters.bridge import BridgeAdapter, BridgeError, RemoteEngine
from pyiii.adapters.kv import MISSING, EventBus, KvStore, build_bus, build_store, encode
from pyiii.adapters.kv.update_ops import OpsDecodeError, change_answer, or_none, parse_ops
from pyiii.core import CallContext, FunctionError, Host, bad_input
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.stream import MANIFEST, layout, snapshot
from pyiii.workers.stream import envelope as env
from pyiii.workers.stream.bridge import RemoteEvents, RemoteStreamStorage
from pyiii.workers.stream.config import StreamConfig
from pyiii.workers.stream.hub import Hub
from pyiii.workers.stream.payloads import (
    GroupArgs,
    ItemArgs,
    SendArgs,
    SetArgs,
    StreamArgs,
    SubscriptionData,
    UpdateArgs,
)
from pyiii.workers.stream.server import StreamServer
from pyiii.workers.stream.storage import StorageError, StreamStorage, check_size
from pyiii.workers.stream.triggers import JoinLeaveTriggers, StreamTriggers

log = logging.getLogger("pyiii.stream")

EVENTS_CHANNEL = "stream::events"


class StreamWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Real-time streams: items pushed to WebSocket subscribers and triggers."
    config_type = StreamConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self.config: StreamConfig = config
        self.hub = Hub(config.subscriber_buffer_bytes)
        self.remote: RemoteEngine | None = None
        self.remote_events: RemoteEvents | None = None
        self.storage: StreamStorage | RemoteStreamStorage
        if isinstance(config.adapter, BridgeAdapter):
            self.remote = RemoteEngine(config.adapter.config, "iii-stream-bridge")
            self.storage = RemoteStreamStorage(self.remote, config.max_item_bytes)
            self.remote_events = RemoteEvents(self.remote, self.hub.dispatch, config.adapter.config.max_watched_streams)
            self.bus: EventBus = EventBus()
        else:
            self.store: KvStore = build_store(config.adapter, namespace="stream", default_dir=context.data_dir,
                                              base=context.project_dir)
            self.bus = build_bus(self.store, EVENTS_CHANNEL)
            self.storage = StreamStorage(host, self.store, config.max_item_bytes)
        self.triggers = StreamTriggers(host)
        timeout_s = config.join_timeout_ms / 1000
        self.joins = JoinLeaveTriggers(host, timeout_s)
        self.leaves = JoinLeaveTriggers(host, timeout_s)
        self.server = StreamServer(host, config, self.hub, self.joins, self.leaves, self._sync, self._refusal)

    async def start(self) -> None:
        if self.remote is not None:
            self.remote.start()
            self.host.add_health_check(f"{self.entry_id}:bridge", self.remote.ping)
        else:
            await self._open_store()
        self.bus.listen(self.hub.dispatch)
        await self.bus.start()
        reg = partial(self.host.register_function, worker=self.entry_id)
        reg("stream::set", self._set, input_type=SetArgs, description="Store an item and notify subscribers")
        reg("stream::get", self._get, input_type=ItemArgs, description="Read an item")
        reg("stream::delete", self._delete, input_type=ItemArgs, description="Delete an item and notify subscribers")
        reg("stream::update", self._update, input_type=UpdateArgs, description="Apply update operations atomically")
        reg("stream::list", self._list, input_type=GroupArgs, description="Every item of a group")
        reg("stream::list_groups", self._list_groups, input_type=StreamArgs, description="Every group of a stream")
        reg("stream::list_all", self._list_all, description="Every stream with its groups")
        reg("stream::send", self._send, input_type=SendArgs, description="Send a custom event to a group's subscribers")
        t = partial(self.host.register_trigger_type, worker=self.entry_id)
        await self.triggers.register(self.entry_id, "Fires on every change or custom event of a stream")
        await t("stream:join", self.joins, description="A client subscribes; return {unauthorized: true} to refuse")
        await t("stream:leave", self.leaves, description="A client unsubscribes or disconnects")
        await self.server.start()
        log.info("iii-stream on ws://%s:%d, storing in %s", self.config.host, self.server.port, self._where)

    async def _open_store(self) -> None:
        await self.store.open()
        renamed = await self.store.migrate_tables(layout.MARKER, layout.legacy_plan)
        if renamed:
            log.warning("iii-stream: %d group table(s) of the old `<stream>:<group>` layout renamed in %s",
                        renamed, self.store.description)
        if self.store.remote_kind is not None:  # a server that can go away: /readyz reports it
            self.host.add_health_check(f"{self.entry_id}:{self.store.remote_kind}", self.store.ping)

    @property
    def _where(self) -> str:
        return self.remote.description if self.remote is not None else self.store.description

    async def stop(self) -> None:
        await self.server.stop()
        await self.bus.stop()
        if self.remote is not None:
            await self.remote.close()
        else:
            await self.store.close()

    def endpoints(self) -> list[str]:
        port = self.server.port if self.server._server is not None else self.config.port
        return [f"ws://{self.config.host}:{port}", self._where]

    # ------------------------------------------------------------------ events

    async def _emit(self, stream_name: str, group_id: str, item_id: str | None, event: dict[str, Any],
                    ctx: CallContext) -> None:
        envelope = env.envelope(stream_name, group_id, item_id, event)
        self.triggers.fire(envelope, ctx.traceparent, ctx.baggage)  # in the trace of the write
        if self.remote is None:  # bridged: clients get the remote engine's own event (bridge.py)
            await self.bus.publish(encode(envelope))

    async def _sync(self, sub: SubscriptionData) -> Iterable[bytes]:
        if self.remote_events is not None:
            await self.remote_events.watch(sub.stream_name)
        if sub.id is not None:
            item = or_none(await self.storage.get(sub.stream_name, sub.group_id, sub.id))
            return snapshot.item_pages(sub.stream_name, sub.group_id, sub.id, item)
        items = await self.storage.list_raw(sub.stream_name, sub.group_id)
        return snapshot.group_pages(sub.stream_name, sub.group_id, items, self.config.sync_page_bytes)

    def _refusal(self, sub: SubscriptionData) -> bytes:
        return encode(env.envelope(sub.stream_name, sub.group_id, sub.id, env.UNAUTHORIZED))

    # ------------------------------------------------------------------ functions

    async def _set(self, a: SetArgs, ctx: CallContext) -> Any:
        try:
            old = await self.storage.set(a.stream_name, a.group_id, a.item_id, a.data)
        except StorageError as exc:
            raise FunctionError(exc.code or "STREAM_SET_ERROR", str(exc)) from None
        kind = "create" if old is MISSING else "update"
        await self._emit(a.stream_name, a.group_id, a.item_id, env.change(kind, a.data), ctx)
        return change_answer(old, a.data)

    async def _get(self, a: ItemArgs, ctx: CallContext) -> Any:
        try:
            return or_none(await self.storage.get(a.stream_name, a.group_id, a.item_id))
        except StorageError as exc:
            raise FunctionError(exc.code or "STREAM_GET_ERROR", str(exc)) from None

    async def _delete(self, a: ItemArgs, ctx: CallContext) -> Any:
        try:
            old = await self.storage.delete(a.stream_name, a.group_id, a.item_id)
        except StorageError as exc:
            raise FunctionError(exc.code or "STREAM_DELETE_ERROR", str(exc)) from None
        if old is not MISSING:
            await self._emit(a.stream_name, a.group_id, a.item_id, env.change("delete", old), ctx)
        return {"old_value": or_none(old)}

    async def _update(self, a: UpdateArgs, ctx: CallContext) -> Any:
        try:
            ops = parse_ops(a.ops)
        except OpsDecodeError as exc:
            raise bad_input(ctx.function_id, exc) from None
        try:
            old, new, errors = await self.storage.update(a.stream_name, a.group_id, a.item_id, ops, a.ops)
        except StorageError as exc:
            raise FunctionError(exc.code or "STREAM_UPDATE_ERROR", str(exc)) from None
        kind = "create" if old is MISSING else "update"
        await self._emit(a.stream_name, a.group_id, a.item_id, env.change(kind, new), ctx)
        return change_answer(old, new, errors)

    async def _list(self, a: GroupArgs, ctx: CallContext) -> Any:
        try:
            return await self.storage.list(a.stream_name, a.group_id)
        except StorageError as exc:
            raise FunctionError(exc.code or "STREAM_GET_GROUP_ERROR", str(exc)) from None

    async def _list_groups(self, a: StreamArgs, ctx: CallContext) -> Any:
        try:
            return await self.storage.list_groups(a.stream_name)
        except StorageError as exc:
            raise FunctionError(exc.code or "STREAM_LIST_GROUPS_ERROR", str(exc)) from None

    async def _list_all(self, data: Any, ctx: CallContext) -> Any:
        try:
            streams = await self.storage.list_all()
        except StorageError as exc:
            raise FunctionError(exc.code or "STREAM_LIST_ALL_ERROR", str(exc)) from None
        rows = [{"id": name, "groups": groups} for name, groups in sorted(streams.items())]
        return {"stream": rows, "count": len(rows)}

    async def _send(self, a: SendArgs, ctx: CallContext) -> Any:
        try:
            check_size(a.data, self.config.max_item_bytes)
        except StorageError as exc:
            raise FunctionError(exc.code or "STREAM_SEND_ERROR", str(exc)) from None
        if self.remote is not None:
            try:
                await self.remote.call("stream::send", msgspec.to_builtins(a))
            except BridgeError as exc:
                raise FunctionError(exc.code, exc.message) from None
        try:
            await self._emit(a.stream_name, a.group_id, a.id, env.custom(a.type, a.data), ctx)
        except Exception as exc:
            raise FunctionError("STREAM_SEND_ERROR", str(exc)) from None
        return None
