"""``iii-engine-functions``: introspection and control functions of spec/protocol.md §4."""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from typing import Any

import msgspec

from pyiii.core import (
    DEFAULT_NAMESPACE,
    Binding,
    CallContext,
    FunctionEntry,
    FunctionError,
    Host,
    Peer,
    WorkerMetadata,
    decode_args,
    is_blank_namespace,
)
from pyiii.core import error_codes as E
from pyiii.workers.base import BuiltinWorker, WorkerContext
from pyiii.workers.engine_functions import MANIFEST
from pyiii.workers.engine_functions import views as V

log = logging.getLogger("pyiii.engine_functions")

WORKER_EVENTS = "engine::workers-available"
FUNCTION_EVENTS = "engine::functions-available"
#: iii-observability owns the workers' resource gauges and serves them through this function.
WORKER_METRICS = "iii-observability::worker-metrics"


class ListFunctionsArgs(msgspec.Struct):
    search: str | None = None
    prefix: str | None = None
    worker: str | None = None
    workers: list[str] | None = None
    include_internal: bool = False


class ListObserversArgs(msgspec.Struct):
    namespace: str | None = None
    function_id: str | None = None


class FunctionInfoArgs(msgspec.Struct):
    function_id: str | None = None
    function_ids: list[str] | None = None
    #: 0.23+: look the id(s) up in this namespace only.
    namespace: str | None = None


class ListTypesArgs(msgspec.Struct):
    search: str | None = None
    prefix: str | None = None
    worker: str | None = None
    include_internal: bool = False


class IdArgs(msgspec.Struct):
    id: str


class ListBindingsArgs(msgspec.Struct):
    search: str | None = None
    trigger_type: str | None = None
    function_id: str | None = None
    worker: str | None = None
    include_internal: bool = False


class ListWorkersArgs(msgspec.Struct):
    search: str | None = None
    runtime: str | None = None
    status: str | None = None


class WorkerInfoArgs(msgspec.Struct):
    name: str
    #: 0.23+: the worker of that name in this namespace only.
    namespace: str | None = None


class TypeInfoArgs(msgspec.Struct):
    id: str
    #: 0.23+ (absent: default).
    namespace: str | None = None


class Telemetry(msgspec.Struct):
    language: str | None = None
    project_name: str | None = None
    framework: str | None = None


class RegisterWorkerArgs(msgspec.Struct):
    _caller_worker_id: str | None = None
    runtime: str | None = None
    version: str | None = None
    name: str | None = None
    description: str | None = None
    os: str | None = None
    pid: int | None = None
    isolation: str | None = None
    telemetry: Telemetry | None = None
    #: 0.23+: the connection's namespace; null = default. Its presence (even null) marks a
    #: namespace-aware SDK (decision D1), so absent and null differ here.
    namespace: str | msgspec.UnsetType | None = msgspec.UNSET
    #: 0.25: the features the SDK implements (spec iii-0.23-0.25 §2; core/features.py).
    features: list[str] | msgspec.UnsetType = msgspec.UNSET


class RegisterTriggerArgs(msgspec.Struct):
    trigger_type: str
    function_id: str
    config: Any = None
    metadata: Any = None


class UnregisterTriggerArgs(msgspec.Struct):
    id: str
    trigger_type: str | None = None


class ChannelArgs(msgspec.Struct):
    buffer_size: int | None = None


_BIDI_AND_CONTROL = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def sanitize(text: str | None, limit: int = 280) -> str | None:
    """Strip control and bidi characters, trim, cap at ``limit`` characters (spec §4.1)."""
    if text is None:
        return None
    cleaned = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    cleaned = _BIDI_AND_CONTROL.sub("", cleaned).strip()
    return cleaned[:limit]


def visible(peer: Peer | None, entry: FunctionEntry) -> bool:
    if peer is None:
        return True
    return peer.access.decide(entry.id, entry.metadata)[0]


class EngineFunctionsWorker(BuiltinWorker):
    manifest = MANIFEST
    description = "Engine introspection: functions, triggers, workers, channels."

    def __init__(self, host: Host, config: Any, entry_id: str, context: WorkerContext) -> None:
        super().__init__(host, config, entry_id, context)
        self._worker_bindings: dict[str, Binding] = {}
        self._function_bindings: dict[str, Binding] = {}
        self._last_function_ids: list[str] = []
        self._functions_timer: asyncio.TimerHandle | None = None
        #: Coalescing window for engine::functions-available (the reference polls every 5 s).
        self.functions_debounce_s = 0.2

    async def start(self) -> None:
        host = self.host
        reg = host.register_function
        w = self.entry_id
        reg("engine::functions::list", self._list_functions, worker=w, description="List registered functions")
        reg("engine::functions::info", self._function_info, worker=w, description="Describe one or more functions")
        reg("engine::triggers::list", self._list_types, worker=w, description="List trigger types")
        reg("engine::triggers::info", self._type_info, worker=w, description="Describe a trigger type")
        reg("engine::registered-triggers::list", self._list_bindings, worker=w, description="List registered triggers")
        reg(
            "engine::registered-triggers::info",
            self._binding_info,
            worker=w,
            description="Describe a registered trigger",
        )
        reg("engine::workers::list", self._list_workers, worker=w, description="List workers")
        reg("engine::observers::list", self._list_observers, worker=w, description="List observers (iii 0.25 observe)")
        reg("engine::workers::info", self._worker_info, worker=w, description="Describe a worker")
        reg("engine::workers::register", self._register_worker, worker=w, description="Record worker metadata")
        reg("engine::register_trigger", self._register_trigger, worker=w, description="Create a durable trigger")
        reg("engine::unregister_trigger", self._unregister_trigger, worker=w, description="Remove a trigger")
        reg("engine::channels::create", self._create_channel, worker=w, description="Create a data channel")
        await host.register_trigger_type(
            WORKER_EVENTS,
            _Bindings(self._worker_bindings),
            worker=self.kind,
            description="Fires when workers connect, disconnect or report metadata",
        )
        await host.register_trigger_type(
            FUNCTION_EVENTS,
            _Bindings(self._function_bindings),
            worker=self.kind,
            description="Fires when the set of registered functions changes",
        )
        host.on_worker_event(self._on_worker_event)
        host.on_functions_changed(self._on_functions_changed)
        self._last_function_ids = sorted(_qualified(e) for e in host.functions.all())

    # ------------------------------------------------------------------ events

    def _on_worker_event(self, event: str, worker_id: str) -> None:
        for binding in list(self._worker_bindings.values()):
            self.host.call_void(
                binding.function_id, {"event": event, "worker_id": worker_id}, metadata=binding.metadata
            )

    def _on_functions_changed(self) -> None:
        if self._functions_timer is None and self._function_bindings:
            loop = asyncio.get_event_loop()
            self._functions_timer = loop.call_later(self.functions_debounce_s, self._fire_functions_changed)

    def _fire_functions_changed(self) -> None:
        self._functions_timer = None
        entries = sorted(self.host.functions.all(), key=lambda e: e.id)
        ids = sorted(_qualified(e) for e in entries)
        if ids == self._last_function_ids:
            return
        self._last_function_ids = ids
        payload = {"event": "functions_changed", "functions": [V.function_summary(self.host, e) for e in entries]}
        for binding in list(self._function_bindings.values()):
            self.host.call_void(binding.function_id, payload, metadata=binding.metadata)

    # ------------------------------------------------------------------ functions

    async def _list_functions(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, ListFunctionsArgs)
        workers = set(a.workers or [])
        if a.worker:
            workers.add(a.worker)
        rows: list[tuple[int, str, FunctionEntry]] = []
        needle = a.search.lower() if a.search else None
        for entry in self.host.functions.all():
            fid = entry.id
            if not a.include_internal and (
                (fid.startswith("engine::") and not fid.startswith("engine::queue::")) or entry.internal
            ):
                continue
            if a.prefix and not fid.startswith(a.prefix):
                continue
            if workers and V.function_worker_name(self.host, entry) not in workers:
                continue
            if not visible(ctx.caller, entry):
                continue
            tier = 0
            if needle is not None:
                lid = fid.lower()
                if lid.startswith(needle):
                    tier = 0
                elif needle in lid:
                    tier = 1
                elif entry.description and needle in entry.description.lower():
                    tier = 2
                else:
                    continue
            rows.append((tier, fid, entry))
        rows.sort(key=lambda r: (r[0], r[1], r[2].namespace))
        return {"functions": [V.function_summary(self.host, e) for _, _, e in rows]}

    async def _list_observers(self, data: Any, ctx: CallContext) -> Any:
        """Observers with state and fires; optional ``namespace`` / ``function_id`` (the source).
        An RBAC session sees only the observers it owns."""
        a = decode_args(ctx.function_id, data, ListObserversArgs)
        caller = ctx.caller
        own = caller.worker_id if caller is not None and caller.access.rbac else None
        rows = [
            row for row in self.host.observer_rows()
            if (a.namespace is None or row["namespace"] == a.namespace)
            and (a.function_id is None or row["source"]["function_id"] == a.function_id)
            and (own is None or row["worker_id"] == own)
        ]
        rows.sort(key=lambda r: (r["namespace"], r["source"]["function_id"], r["id"]))
        return {"observers": rows}

    async def _function_info(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, FunctionInfoArgs)
        if (a.function_id is None) == (a.function_ids is None):
            raise FunctionError(E.INVALID_ARGUMENTS, "pass exactly one of function_id or function_ids")
        if a.function_id is not None:
            entry = self._resolve_function(a.function_id, a.namespace)
            if not visible(ctx.caller, entry):
                raise FunctionError(E.FORBIDDEN, f"Function '{a.function_id}' is not visible to this session.")
            return V.function_detail(self.host, entry)
        ids = list(dict.fromkeys(a.function_ids or []))
        if not 1 <= len(ids) <= 32:
            raise FunctionError(E.INVALID_ARGUMENTS, "function_ids must hold 1 to 32 ids")
        out: list[dict[str, Any]] = []
        for fid in ids:
            try:
                found: FunctionEntry | None = self._resolve_function(fid, a.namespace)
            except FunctionError:
                found = None
            if found is None:
                out.append({"function_id": fid, "error": "not_found"})
            elif not visible(ctx.caller, found):
                out.append({"function_id": fid, "error": "forbidden"})
            else:
                out.append(V.function_detail(self.host, found))
        return {"functions": out}

    def _resolve_function(self, function_id: str, namespace: str | None) -> FunctionEntry:
        """Spec iii-0.23-0.25 §1.7: a named namespace is strict; otherwise default first, then
        the one namespace holding the id; ambiguous or missing: NOT_FOUND."""
        functions = self.host.functions
        if namespace is not None:
            entry = functions.get(function_id, namespace)
            if entry is None:
                raise FunctionError(
                    E.NOT_FOUND, f"Function '{function_id}' is not registered in namespace '{namespace}'."
                )
            return entry
        entry = functions.get(function_id)
        if entry is not None:
            return entry
        where = functions.namespaces_of(function_id)
        if len(where) == 1:
            found = functions.get(function_id, where[0])
            assert found is not None
            return found
        if where:
            raise FunctionError(E.NOT_FOUND, (
                f"Function '{function_id}' is ambiguous: it is registered in namespace(s): {', '.join(where)}. "
                "Pass `namespace` to select one."
            ))
        raise FunctionError(E.NOT_FOUND, f"Function '{function_id}' is not registered.")

    # ------------------------------------------------------------------ trigger types

    async def _list_types(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, ListTypesArgs)
        needle = a.search.lower() if a.search else None
        rows = []
        for tt in sorted(self.host.trigger_types.values(), key=lambda t: t.id):
            if not a.include_internal and tt.id.startswith("engine::"):
                continue
            if a.prefix and not tt.id.startswith(a.prefix):
                continue
            if a.worker and V.type_worker_name(tt) != a.worker:
                continue
            if needle and needle not in tt.id.lower() and needle not in tt.description.lower():
                continue
            rows.append(V.type_summary(tt))
        return {"triggers": rows}

    async def _type_info(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, TypeInfoArgs)
        tt = self.host.trigger_types.get(a.id)
        if a.namespace not in (None, DEFAULT_NAMESPACE):  # every provider serves default (for now)
            tt = None
        if tt is None:
            if a.namespace is not None:
                raise FunctionError(
                    E.NOT_FOUND, f"Trigger type '{a.id}' is not registered in namespace '{a.namespace}'."
                )
            raise FunctionError(E.NOT_FOUND, f"Trigger type '{a.id}' is not registered.")
        return V.type_detail(self.host, tt)

    # ------------------------------------------------------------------ bindings

    async def _list_bindings(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, ListBindingsArgs)
        needle = a.search.lower() if a.search else None
        rows = []
        for b in sorted(self.host.bindings.values(), key=lambda b: b.id):
            if not a.include_internal and b.function_id.startswith("engine::"):
                continue
            if a.trigger_type and b.trigger_type != a.trigger_type:
                continue
            if a.function_id and b.function_id != a.function_id:
                continue
            if a.worker and V.binding_worker_name(self.host, b) != a.worker:
                continue
            if needle and not any(needle in s.lower() for s in (b.id, b.trigger_type, b.function_id)):
                continue
            rows.append(V.binding_summary(self.host, b))
        return {"registered_triggers": rows}

    async def _binding_info(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, IdArgs)
        b = self.host.bindings.get(a.id)
        if b is None:
            raise FunctionError(E.NOT_FOUND, f"Trigger '{a.id}' is not registered.")
        out = V.binding_summary(self.host, b)
        out.pop("config_summary")
        if b.metadata is not None:
            out["metadata"] = b.metadata
        tt = self.host.trigger_types.get(b.trigger_type)
        out["trigger"] = V.type_detail(self.host, tt) if tt else None
        entry = self.host.functions.get(b.function_id)
        out["function"] = V.function_detail(self.host, entry) if entry else None
        return out

    # ------------------------------------------------------------------ workers

    def _worker_rows(self) -> list[dict[str, Any]]:
        peers = self.host.connected_workers.values()
        rows = [V.peer_summary(self.host, p) for p in peers if p.metadata.pid is not None]
        for w in self.host.in_process_workers.values():
            rows.append(
                {
                    "name": w.name,
                    "namespace": DEFAULT_NAMESPACE,
                    "description": w.description or None,
                    "version": self.host.version,
                    "id": w.id,
                    "runtime": "engine",
                    "os": None,
                    "status": "available",
                    "function_count": len(w.functions),
                    "connected_at_ms": self.engine_started_ms,
                    "active_invocations": 0,
                    "isolation": "in-process",
                    "ip_address": None,
                }
            )
        return rows

    @property
    def engine_started_ms(self) -> int:
        return self.host.started_at_ms

    async def _list_workers(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, ListWorkersArgs)
        rows = [
            r
            for r in self._worker_rows()
            if (not a.search or a.search.lower() in str(r["name"]).lower())
            and (not a.runtime or r["runtime"] == a.runtime)
            and (not a.status or r["status"] == a.status)
        ]
        rows.sort(key=lambda r: (str(r["name"]), str(r["id"])))
        return {"workers": rows}

    async def _worker_info(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, WorkerInfoArgs)
        host = self.host
        named = [p for p in host.connected_workers.values() if a.name in (p.metadata.name, p.worker_id)]
        for peer in self._pick_worker(a.name, a.namespace, named):
                summary = V.peer_summary(host, peer)
                if peer.metadata.pid is not None:
                    summary["pid"] = peer.metadata.pid
                summary["internal"] = False
                metrics = await self._latest_metrics(peer.worker_id)
                if metrics:
                    summary["latest_metrics"] = metrics
                fns = [e for e in host.functions.all() if e.owner is peer]
                types = [t for t in host.trigger_types.values() if t.owner is peer]
                bindings = [b for b in host.bindings.values() if b.owner is peer]
                return self._worker_surface(summary, fns, types, bindings)
        for w in host.in_process_workers.values() if a.namespace in (None, DEFAULT_NAMESPACE) else ():
            if w.name == a.name or w.id == a.name:
                summary = next(r for r in self._worker_rows() if r["id"] == w.id)
                summary["internal"] = True
                fns = [e for e in host.functions.all() if e.worker_name == w.id]
                types = [t for t in host.trigger_types.values() if t.owner is None and t.worker_name in (w.id, w.name)]
                return self._worker_surface(summary, fns, types, [])
        raise FunctionError(E.NOT_FOUND, f"Worker '{a.name}' is not connected.")

    async def _latest_metrics(self, worker_id: str) -> Any:
        """A worker's latest resource gauges, asked of iii-observability (None without it)."""
        if WORKER_METRICS not in self.host.functions:
            return None
        try:
            answer = await self.host.call(WORKER_METRICS, {"worker_id": worker_id})
        except FunctionError as exc:
            log.debug("no resource gauges for %s: %s", worker_id, exc)
            return None
        return answer.get("metrics") if isinstance(answer, dict) else None

    def _worker_surface(
        self, summary: dict[str, Any], fns: list[FunctionEntry], types: list[Any], bindings: list[Binding]
    ) -> dict[str, Any]:
        return {
            "worker": summary,
            "functions": [V.function_summary(self.host, e) for e in sorted(fns, key=lambda e: e.id)],
            "trigger_types": [V.type_summary(t) for t in sorted(types, key=lambda t: t.id)],
            "registered_triggers": [V.binding_summary(self.host, b) for b in sorted(bindings, key=lambda b: b.id)],
        }

    @staticmethod
    def _pick_worker(name: str, namespace: str | None, named: list[Peer]) -> list[Peer]:
        """Spec iii-0.23-0.25 §1.7: the worker called ``name`` in ``namespace`` (strict), or
        without one: default first, then the one namespace it is connected in."""
        where = sorted({p.namespace for p in named})
        if namespace is not None:
            picked = [p for p in named if p.namespace == namespace]
            if not picked and where:
                raise FunctionError(E.NOT_FOUND, (
                    f"Worker '{name}' is not connected in the requested namespace; it is connected in "
                    f"namespace(s): {', '.join(where)}."
                ))
            return picked
        if len(where) <= 1:
            return named
        in_default = [p for p in named if p.namespace == DEFAULT_NAMESPACE]
        if in_default:
            return in_default
        raise FunctionError(E.NOT_FOUND, (
            f"Worker '{name}' is ambiguous: it is connected in namespace(s): {', '.join(where)}. "
            "Pass namespace to disambiguate."
        ))

    async def _register_worker(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, RegisterWorkerArgs)
        peer = ctx.caller
        if peer is None and a._caller_worker_id:
            peer = self.host.connected_workers.get(a._caller_worker_id)
        if peer is None:
            raise FunctionError(E.INVALID_ARGUMENTS, "engine::workers::register must be called by a connected worker")
        declared = a.namespace if isinstance(a.namespace, str) else None
        name = sanitize(a.name) or None
        if is_blank_namespace(declared):
            raise FunctionError(E.INVALID_NAMESPACE, (
                f"namespace is empty: worker '{name}' declared \"{declared}\". Give it a name, "
                "or omit the field to register in 'default'."
            ))
        scoped = peer.access.namespace_refusal(declared or DEFAULT_NAMESPACE)
        if scoped is not None:
            raise FunctionError(E.FORBIDDEN, scoped)
        aware = a.namespace is not msgspec.UNSET or a.features is not msgspec.UNSET
        features = a.features if isinstance(a.features, list) else None
        if not await self.host.declare_namespace(peer, declared, name, aware=aware, features=features):
            return {"success": False}
        self.host.update_worker_metadata(peer, WorkerMetadata(
            runtime=a.runtime or "unknown",
            version=a.version,
            name=name,
            description=sanitize(a.description) or None,
            os=a.os,
            pid=a.pid,
            isolation=a.isolation,
            telemetry=msgspec.to_builtins(a.telemetry) if a.telemetry else {},
        ))
        return {"success": True}

    async def _register_trigger(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, RegisterTriggerArgs)
        trigger_id = await self.host.register_trigger_for(
            ctx.caller, a.trigger_type, a.function_id, a.config, a.metadata
        )
        return {"id": trigger_id}

    async def _unregister_trigger(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, UnregisterTriggerArgs)
        try:
            removed = await self.host.unregister_trigger_for(ctx.caller, a.id)
        except FunctionError:
            raise
        except Exception as exc:
            raise FunctionError("unregister_failed", str(exc)) from None
        return {"removed": removed}

    async def _create_channel(self, data: Any, ctx: CallContext) -> Any:
        a = decode_args(ctx.function_id, data, ChannelArgs)
        return self.host.create_channel(a.buffer_size).refs()


def _qualified(entry: FunctionEntry) -> str:
    """The change-detection form of ``(namespace, id)``: the id in default, ``ns/id`` elsewhere."""
    return entry.id if entry.namespace == DEFAULT_NAMESPACE else f"{entry.namespace}/{entry.id}"


class _Bindings:
    """Provider of the engine event trigger types: it only remembers the bindings."""

    def __init__(self, store: dict[str, Binding]) -> None:
        self.store = store

    async def register_trigger(self, binding: Binding) -> None:
        self.store[binding.id] = binding

    async def unregister_trigger(self, binding: Binding) -> None:
        self.store.pop(binding.id, None)
