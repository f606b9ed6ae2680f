"""``configuration`` (mandatory): register / set / get / list / schema of schema-checked
settings, the ``configuration`` trigger type, hand edits and TTL (spec/workers.md §3)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from functools import partial
from typing import Any

from pyiii.adapters.bridge import BridgeAdapter, BridgeError, RemoteEngine
from pyiii.core import CallContext, FunctionError, Host
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.configuration import MANIFEST, codes
from pyiii.workers.configuration.config import ConfigurationConfig, FsAdapter
from pyiii.workers.configuration.entry import Entry, event
from pyiii.workers.configuration.expand import expand
from pyiii.workers.configuration.fs_store import BadFile, FsStore
from pyiii.workers.configuration.payloads import GetArgs, IdArgs, RegisterArgs, SetArgs
from pyiii.workers.configuration.schema import schema_problem, violations
from pyiii.workers.configuration.triggers import TRIGGER_FORMAT, ConfigurationTriggers
from pyiii.workers.configuration.ttl import Countdowns
from pyiii.workers.configuration.watcher import watch

log = logging.getLogger("pyiii.configuration")

REGISTERED, UPDATED, DELETED = "configuration:registered", "configuration:updated", "configuration:deleted"


class ConfigurationWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Schema-checked configuration entries, stored one YAML file per id."
    config_type = ConfigurationConfig

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self.config: ConfigurationConfig = config
        self.remote: RemoteEngine | None = None
        if isinstance(config.adapter, BridgeAdapter):
            self.remote = RemoteEngine(config.adapter.config, "iii-configuration-bridge")
        else:
            assert isinstance(config.adapter, FsAdapter)
            self.store = FsStore((context.project_dir / config.adapter.config.directory).resolve())
        self.entries: dict[str, Entry] = {}
        # Memory and files change together under this lock, so the watcher, reading a file
        # under it, sees our own writes as "same content" and never mistakes them for edits.
        self.lock = asyncio.Lock()
        self.countdowns = Countdowns(config.ttl_seconds, self._expire)
        self.triggers = ConfigurationTriggers(host, self.countdowns.cancel, self.countdowns.start)
        self.watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.remote is not None:
            await self._start_bridge(self.remote)
            return
        try:
            self.store.open()
            self.entries = self.store.load_all()
        except OSError as exc:
            raise RuntimeError(f"configuration: cannot use {self.store.directory}: {exc}") from None
        reg = partial(self.host.register_function, worker=self.entry_id)
        reg("configuration::register", self._register, input_type=RegisterArgs,
            description="Declare a configuration id with its JSON Schema (and an initial value)")
        reg("configuration::set", self._set, input_type=SetArgs, description="Replace a configuration value")
        reg("configuration::get", self._get, input_type=GetArgs,
            description="Read a configuration value (env placeholders expanded unless raw)")
        reg("configuration::list", self._list, description="Every configuration entry, without values")
        reg("configuration::schema", self._schema, input_type=IdArgs, description="One entry's schema view")
        await self.triggers.register(
            self.entry_id, "Fires when a configuration entry is registered, updated or deleted", TRIGGER_FORMAT)
        self.watcher = asyncio.ensure_future(watch(self.store, self._file_changed))
        log.info("configuration stored in %s (%d entries)", self.store.directory, len(self.entries))

    async def _start_bridge(self, remote: RemoteEngine) -> None:
        """``adapter: bridge``: every ``configuration::*`` call is forwarded to the remote engine,
        which holds the entries; this engine's ``configuration`` triggers fire from the remote
        engine's own events (one remote trigger for every id), so they also see changes made
        there or through other bridged engines."""
        remote.start()
        self.host.add_health_check(f"{self.entry_id}:bridge", remote.ping)
        reg = partial(self.host.register_function, worker=self.entry_id)
        for name, text in (("register", "Declare a configuration id with its JSON Schema (remote engine)"),
                           ("set", "Replace a configuration value (remote engine)"),
                           ("get", "Read a configuration value (remote engine)"),
                           ("list", "Every configuration entry, without values (remote engine)"),
                           ("schema", "One entry's schema view (remote engine)")):
            reg(f"configuration::{name}", self._forward, description=text)
        await self.triggers.register(
            self.entry_id, "Fires when a configuration entry of the remote engine is registered, updated or deleted",
            TRIGGER_FORMAT)
        handler = f"configuration::bridge::on_event::{uuid.uuid4()}"
        remote.register_function(handler, self._remote_event, description="Configuration events for a bridged engine")
        remote.register_trigger("configuration", handler, {})
        log.info("configuration forwarding to %s", remote.url)

    async def _forward(self, data: Any, ctx: CallContext) -> Any:
        assert self.remote is not None
        try:
            return await self.remote.call(ctx.function_id, data if data is not None else {})
        except BridgeError as exc:
            raise FunctionError(exc.code, exc.message) from None

    async def _remote_event(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("type") == "configuration":
            self.triggers.fire(data, None, None)

    async def stop(self) -> None:
        if self.remote is not None:
            await self.remote.close()
            return
        self.countdowns.close()
        if self.watcher is not None:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher

    def endpoints(self) -> list[str]:
        return [self.remote.description if self.remote is not None else str(self.store.directory)]

    # ------------------------------------------------------------------ functions

    async def _register(self, a: RegisterArgs, ctx: CallContext) -> Any:
        codes.check_id(a.id)
        problem = schema_problem(a.schema)
        if problem is not None:
            raise FunctionError(codes.SCHEMA_INVALID, f"schema of '{a.id}': {problem}")
        if a.initial_value is not None:
            self._validate(a.id, a.schema, a.initial_value)
        async with self.lock:
            old = self.entries.get(a.id)
            value = a.initial_value if a.initial_value is not None else (old.value if old else None)
            entry = Entry(a.id, a.name, a.description, value, a.metadata, a.schema)
            if old is None or not old.same_content(entry):
                await self._write(entry)
            self.entries[a.id] = entry
        old_value = None if old is None else self._expanded(old)
        self._fire(REGISTERED if old is None else UPDATED, entry, old_value, self._expanded(entry), ctx)
        out = entry.view()
        out["value"] = entry.value
        return out

    async def _set(self, a: SetArgs, ctx: CallContext) -> Any:
        codes.check_id(a.id)
        async with self.lock:
            old = self.entries.get(a.id)
            if old is None:
                raise FunctionError(codes.NOT_REGISTERED, f"configuration '{a.id}' is not registered")
            if old.schema is None:
                raise FunctionError(codes.SCHEMA_UNAVAILABLE, f"no worker registered the schema of '{a.id}' "
                                    "since the engine started; it must call configuration::register first")
            self._validate(a.id, old.schema, a.value)
            entry = Entry(old.id, old.name, old.description, a.value, old.metadata, old.schema)
            await self._write(entry)
            self.entries[a.id] = entry
        self._fire(UPDATED, entry, self._expanded(old), self._expanded(entry), ctx)
        return {"old_value": old.value, "new_value": entry.value}

    async def _get(self, a: GetArgs, ctx: CallContext) -> Any:
        entry = self._find(a.id)
        return {"id": entry.id, "value": entry.value if a.raw else self._expanded(entry)}

    async def _list(self, data: Any, ctx: CallContext) -> Any:
        return {"configurations": [self.entries[i].view() for i in sorted(self.entries)]}

    async def _schema(self, a: IdArgs, ctx: CallContext) -> Any:
        return self._find(a.id).view()

    # ------------------------------------------------------------------ helpers

    def _find(self, config_id: str) -> Entry:
        codes.check_id(config_id)
        entry = self.entries.get(config_id)
        if entry is None:
            raise FunctionError(codes.NOT_FOUND, f"configuration '{config_id}' not found")
        return entry

    def _validate(self, config_id: str, schema: dict[str, Any], value: Any) -> None:
        # Checked as it will be read: after ${VAR} expansion.
        found = violations(schema, expand(value, self.host.version))
        if found:
            raise FunctionError(codes.SCHEMA_INVALID,
                                f"value of '{config_id}' does not match its schema: " + "; ".join(found))

    def _expanded(self, entry: Entry) -> Any:
        missing: set[str] = set()
        value = expand(entry.value, self.host.version, missing)
        if missing:
            log.warning("configuration '%s': environment variable(s) %s not set; left as written",
                        entry.id, ", ".join(sorted(missing)))
        return value

    async def _write(self, entry: Entry) -> None:
        try:
            await asyncio.to_thread(self.store.write, entry)
        except OSError as exc:
            raise FunctionError(codes.ADAPTER_ERROR, f"cannot store '{entry.id}': {exc}") from None

    def _fire(self, event_type: str, entry: Entry, old: Any, new: Any, ctx: CallContext | None = None) -> None:
        traceparent, baggage = (ctx.traceparent, ctx.baggage) if ctx is not None else (None, None)
        self.triggers.fire(event(event_type, entry, old, new), traceparent, baggage)

    # ------------------------------------------------------------------ ttl and hand edits

    async def _expire(self, config_id: str) -> None:
        async with self.lock:
            entry = self.entries.pop(config_id, None)
            if entry is None:
                return
            try:
                await asyncio.to_thread(self.store.delete, config_id)
            except OSError as exc:
                log.warning("configuration: cannot delete %s: %s", self.store.path(config_id), exc)
        log.info("configuration '%s' deleted: no trigger watched it for %ss", config_id, self.config.ttl_seconds)
        self._fire(DELETED, entry, self._expanded(entry), None)

    async def _file_changed(self, config_id: str) -> None:
        async with self.lock:
            current = self.entries.get(config_id)
            try:
                found = await asyncio.to_thread(self.store.read, config_id)
            except BadFile as exc:
                log.warning("configuration: hand edit of %s rejected (previous value kept): %s",
                            self.store.path(config_id), exc)
                return
            if found is None:
                if current is None:
                    return
                del self.entries[config_id]
                fired = (DELETED, current, self._expanded(current), None)
            else:
                if current is not None and current.same_content(found):
                    return  # our own write, or a save without changes
                found.schema = current.schema if current is not None else None
                if found.schema is not None:
                    problems = violations(found.schema, expand(found.value, self.host.version))
                    if problems:
                        log.warning("configuration: hand edit of %s rejected (previous value kept): %s",
                                    self.store.path(config_id), "; ".join(problems))
                        return
                self.entries[config_id] = found
                fired = (UPDATED, found, None if current is None else self._expanded(current), self._expanded(found))
        self._fire(*fired)
