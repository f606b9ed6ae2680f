"""Everything 0.25 adds to a worker's connection, kept out of the client's core (spec iii-0.23-0.25
§2, §3, §5): the engine's features, the observers this worker created (replayed on every
connection), the hosted functions' confirmations and observer sets, local-invocation stats and
``invocationsobserved`` reports.

Observe-family frames (``observe``, ``unobserve``, ``observerack``, ``invocationsobserved``,
``localinvocationstats``) only go out on a connection whose engine advertised observe.v1; they are
never queued with the client's offline calls: observers are replayed, acks are redone on the next
``functionregistered``, reports and stats wait in their own buffers, and only ``unobserve`` is
queued (a reattach would otherwise keep the observer alive).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .codec import dumps
from .errors import InvocationError
from .features import EngineFeatures
from .filter_gate import compile_observer_filter
from .invocation_context import ActiveInvocation, active
from .local_stats import DEFAULT_INTERVAL_S, LocalStats
from .observe_types import ObserveHook, ObserveHooks
from .observe_wire import build_observe_message, caller_for, decode_reason
from .observer_handle import UNSUPPORTED, ObserverHandle, to_state
from .owner import HOOK_TIMEOUT_S, FunctionObservers, Observer, on_accepts
from .reporter import Reporter

log = logging.getLogger("pyiii.sdk.observe")


class AgentClient(Protocol):
    """What the agent needs from the client (all called on the loop thread unless noted)."""

    def link_generation(self) -> int | None: ...

    def post(self, frame: bytes) -> None: ...

    def spawn_awaitable(self, aw: Awaitable[Any]) -> None: ...

    def run_off_loop(self, fn: Callable[[], None]) -> None: ...

    def run_hook(self, hook: ObserveHook, obs: Observer) -> Awaitable[None]: ...

    def identity(self) -> dict[str, str]: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None: ...

    def soon(self, fn: Callable[..., None], *args: Any) -> None: ...

    def on_loop_thread(self) -> bool: ...

    def namespace_for(self, function_id: str, explicit: str | None) -> str | None: ...

    def call_observer_target(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any: ...

    async def call_observer_target_async(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any: ...


class ObserveAgent:
    def __init__(self, client: AgentClient, stats_interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._client = client
        self.features = EngineFeatures()
        self.observers: dict[str, ObserverHandle] = {}
        self._unobserve_queue: list[str] = []
        self.functions: dict[str, FunctionObservers] = {}
        self.stats = LocalStats()
        self.reporter = Reporter(self)
        self.stats_interval_s = stats_interval_s
        self.hook_timeout_s = HOOK_TIMEOUT_S
        self._warned_inactive: set[str] = set()

    # ------------------------------------------------------------------ connection

    def online(self) -> bool:
        return self.features.observe_online(self._client.link_generation())

    def _send_family(self, frame: dict[str, Any]) -> bool:
        if not self.online():
            return False
        self._client.post(dumps(frame))
        return True

    def on_worker_registered(self, features: list[str] | None, generation: int) -> None:
        """``workerregistered``: the registration replay is already queued ahead of what goes here."""
        self.features.update(features, generation)
        if self.features.observe:
            queued, self._unobserve_queue = self._unobserve_queue, []
            for observer_id in queued:
                self._send_family({"type": "unobserve", "id": observer_id})
            for handle in list(self.observers.values()):
                self._send_observe(handle)
            self.reporter.flush()
            return
        self._unobserve_queue.clear()
        for handle in list(self.observers.values()):
            handle.set_state("error", UNSUPPORTED)
        for function_id, state in self.functions.items():
            hooks = state.hooks
            if hooks is not None and function_id not in self._warned_inactive and (
                hooks.delivery == "owner" or hooks.on_observer_added or hooks.on_observer_removed
            ):
                self._warned_inactive.add(function_id)
                log.warning("function %r declares observe hooks, but the engine does not support observe "
                            "(no observe.v1): they stay inactive", function_id)
        self.reporter.clear()

    def on_disconnect(self) -> None:
        for state in self.functions.values():
            state.on_disconnect()

    # ------------------------------------------------------------------ engine → worker frames

    def on_frame(self, frame: dict[str, Any]) -> bool:
        """Handle an observe-family frame from the engine; False if it is not one."""
        kind = frame.get("type")
        if kind == "functionregistered":
            state = self.functions.get(_text(frame.get("id")))
            generation = self._client.link_generation()
            if state is not None and generation is not None:
                observers = frame.get("observers")
                state.on_function_registered(
                    _text(frame.get("namespace")) or "default", _int(frame.get("revision")),
                    frame.get("local_dispatch") is True, observers if isinstance(observers, list) else [],
                    generation,
                )
                self.reporter.flush()
        elif kind == "observeradded":
            state = self.functions.get(_text(frame.get("function_id")))
            if state is not None:
                state.on_observer_added(_text(frame.get("namespace")), frame.get("revision"), frame.get("observer"))
        elif kind == "observerremoved":
            state = self.functions.get(_text(frame.get("function_id")))
            if state is not None:
                state.on_observer_removed(frame.get("revision"), _text(frame.get("id")))
        elif kind == "observeresult":
            warnings = frame.get("warnings")
            if isinstance(warnings, list) and warnings:
                log.warning("observer %s: %s", frame.get("id"), "; ".join(map(str, warnings)))
            self._on_state(frame, "error")
        elif kind == "observerstatechanged":
            self._on_state(frame, "reason")
        else:
            return False
        return True

    def _on_state(self, frame: dict[str, Any], reason_field: str) -> None:
        handle = self.observers.get(_text(frame.get("id")))
        if handle is None:
            return
        state = to_state(frame.get("state"))
        if state == "disposed":
            self.observers.pop(handle.id, None)  # forgotten: never replayed again
        fires = frame.get("fires")
        reason = decode_reason(frame.get(reason_field))
        handle.set_state(state, reason,  # type: ignore[arg-type]
                         fires if isinstance(fires, int) and not isinstance(fires, bool) else None)

    def on_function_conflict(self, function_id: str) -> None:
        state = self.functions.get(function_id)
        if state is not None:
            state.on_rejected()
            self.reporter.discard(function_id)

    # ------------------------------------------------------------------ observing side

    def observe(self, source: Any, target: Any, options: Any) -> ObserverHandle:
        """Any thread. Validates, builds the frame, and hands the handle to the loop."""
        if not isinstance(source, dict):
            raise TypeError("observe: source must be a dict")
        function_id = source.get("function_id")
        if not isinstance(function_id, str) or not function_id.strip():
            raise ValueError("observe: source.function_id is required")
        target_id = target.get("function_id") if isinstance(target, dict) else target
        if not isinstance(target_id, str) or not target_id.strip():
            raise ValueError("observe: target is required (the id of a registered function)")
        if options is not None and not isinstance(options, dict):
            raise TypeError("observe: options must be a dict")
        opts: dict[str, Any] = options or {}
        observer_id = opts.get("id") or str(uuid.uuid4())
        if not isinstance(observer_id, str):
            raise TypeError("observe: options.id must be a string")
        if observer_id in self.observers:
            raise ValueError(f"observe: observer id already in use: {observer_id}")
        message = build_observe_message(observer_id, source, target, opts, self._client.namespace_for)
        handle = ObserverHandle(observer_id, message, self._dispose, self._client.on_loop_thread,
                                self._client.run_off_loop)
        self.observers[observer_id] = handle
        self._client.soon(self._after_observe, handle)
        return handle

    def _after_observe(self, handle: ObserverHandle) -> None:
        generation = self._client.link_generation()
        if self.observers.get(handle.id) is not handle or generation != self.features.registered_on:
            return  # not registered on a live connection yet: sent by the next workerregistered
        if self.features.observe:
            self._send_observe(handle)
        else:
            handle.set_state("error", UNSUPPORTED)

    def _send_observe(self, handle: ObserverHandle) -> None:
        if self._send_family(handle.message):
            handle.sent = True

    def _dispose(self, handle: ObserverHandle) -> None:
        """Any thread (``handle.dispose()``): forgotten at once (its id is free again), the
        ``unobserve`` follows on the loop."""
        if self.observers.get(handle.id) is handle:
            self.observers.pop(handle.id, None)
        self._client.soon(self._unobserve, handle)

    def _unobserve(self, handle: ObserverHandle) -> None:
        if not handle.sent:
            return
        generation = self._client.link_generation()
        if self.online():
            self._send_family({"type": "unobserve", "id": handle.id})
        elif generation is None or generation != self.features.registered_on:
            # Offline, or this connection's workerregistered is still to come: it goes out with the
            # next one that has observe.v1 (a reattach would otherwise keep the observer alive).
            self._unobserve_queue.append(handle.id)

    # ------------------------------------------------------------------ owner side

    def add_function(self, function_id: str, hooks: ObserveHooks | None, local_dispatch: bool,
                     has_handler: bool) -> FunctionObservers:
        state = FunctionObservers(function_id, hooks, local_dispatch, has_handler, self)
        self.functions[function_id] = state
        return state

    def remove_function(self, state: FunctionObservers) -> None:
        if self.functions.get(state.function_id) is state:
            del self.functions[state.function_id]
        state.dispose()
        self.reporter.discard(state.function_id)

    # OwnerHost
    def send_ack(self, frame: dict[str, Any]) -> None:
        self._send_family(frame)  # never queued offline: the next functionregistered acks afresh

    def run_hook(self, hook: ObserveHook, obs: Observer) -> Awaitable[None]:
        return self._client.run_hook(hook, obs)

    def spawn(self, aw: Awaitable[Any]) -> None:
        self._client.spawn_awaitable(aw)

    def emit(self, owner: FunctionObservers, obs: Observer, event: Any) -> bool:
        """``obs.emit`` (any thread): report the event for this observer if it passes its filters."""
        cur = active()
        caller = self._event_caller(owner, cur)
        doc: dict[str, Any] = {"input": event}
        if caller is not None:
            doc["caller"] = caller
        if cur is not None and cur.metadata is not None:
            doc["metadata"] = cur.metadata
        if not obs.matches(doc):
            return False
        own = cur is not None and cur.function_id == owner.function_id
        item: dict[str, Any] = {
            "function_id": owner.function_id,
            "invocation_id": cur.invocation_id if own and cur is not None else str(uuid.uuid4()),
            "matched": [obs.id], "status": "success",
            "started_at_ms": _now_ms(), "duration_ms": 0,
            "observe_depth": cur.observe_depth if cur is not None else 0,
        }
        _capture(item, doc, obs.capture, ok=True)
        if cur is not None and cur.traceparent:
            item["traceparent"] = cur.traceparent
            if cur.baggage:
                item["baggage"] = cur.baggage
        self._client.soon(self._push, owner, item)
        return True

    def _event_caller(self, owner: FunctionObservers, cur: ActiveInvocation | None) -> dict[str, Any] | None:
        if cur is not None and cur.function_id == owner.function_id:
            return cur.caller
        caller: dict[str, Any] = dict(self._client.identity())
        if cur is not None:
            caller.update(caller_for(cur))
        return caller or None

    def call(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any:
        self._check_call(obs, payload)
        return self._client.call_observer_target(obs, payload, timeout_ms)

    async def call_async(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any:
        self._check_call(obs, payload)
        return await self._client.call_observer_target_async(obs, payload, timeout_ms)

    def _check_call(self, obs: Observer, payload: Any) -> None:
        if not obs.matches({"input": payload}):
            raise InvocationError("FILTERS_NOT_MATCHED", f"obs.call: the payload does not pass observer "
                                  f"{obs.id}'s filters", function_id=obs.function_id)

    def report_local(self, owner: FunctionObservers, observers: list[Observer], ctx: ActiveInvocation,
                     payload: Any, result: Any, error: dict[str, Any] | None, started_at_ms: int,
                     duration_ms: float) -> None:
        """A local call of an auto function finished: report it to the observers it matched."""
        ok = error is None
        doc: dict[str, Any] = {"input": payload}
        if ok:
            doc["output"] = result
        else:
            doc["error"] = error
        if ctx.caller is not None:
            doc["caller"] = ctx.caller
        if ctx.metadata is not None:
            doc["metadata"] = ctx.metadata
        matched = [o for o in observers if on_accepts(o.on, ok) and o.matches(doc)]
        if not matched:
            return
        item: dict[str, Any] = {
            "function_id": owner.function_id, "invocation_id": ctx.invocation_id,
            "matched": [o.id for o in matched], "status": "success" if ok else "error",
            "started_at_ms": started_at_ms, "duration_ms": duration_ms, "observe_depth": ctx.observe_depth,
        }
        _capture(item, doc, {c for o in matched for c in o.capture}, ok=ok)
        if ctx.traceparent:
            item["traceparent"] = ctx.traceparent
            if ctx.baggage:
                item["baggage"] = ctx.baggage
        self._push(owner, item)

    def _push(self, owner: FunctionObservers, item: dict[str, Any]) -> None:
        if owner.namespace is not None:
            item["namespace"] = owner.namespace
        if self.functions.get(owner.function_id) is not owner:
            self.stats.drop(owner.function_id, "INACTIVE")
            return
        self.reporter.push(item)

    # ReporterHost
    def deliverable(self, function_id: str) -> bool:
        state = self.functions.get(function_id)
        generation = self._client.link_generation()
        return (state is not None and generation is not None and state.confirmed_on == generation
                and self.online())

    def send_raw(self, frame: bytes) -> None:
        if self.online():
            self._client.post(frame)

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        self._client.call_later(delay_s, callback)

    def dropped(self, function_id: str, reason: str, count: int) -> None:
        self.stats.drop(function_id, reason, count)

    # ------------------------------------------------------------------ stats

    def send_stats(self) -> bool:
        """Send the counts so far when online with observe.v1 and something was counted."""
        if not self.online() or self.stats.empty():
            return False
        frame = self.stats.take()
        return frame is not None and self._send_family(frame)

    async def stats_loop(self) -> None:
        while True:
            await asyncio.sleep(self.stats_interval_s)
            self.send_stats()

    # ------------------------------------------------------------------ filters (for tests/tools)

    @staticmethod
    def compile(value: Any) -> Any:
        return compile_observer_filter(value)


def _capture(item: dict[str, Any], doc: dict[str, Any], captures: Any, *, ok: bool) -> None:
    """Add the parts some matched observer captures; ``null`` and absent stay different."""
    for part in ("input", "output", "error", "caller", "metadata"):
        if part in captures and part in doc:
            if (part == "output" and not ok) or (part == "error" and ok):
                continue
            item[part] = doc[part]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
