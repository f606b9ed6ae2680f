"""The worker client: ``register_worker(address, options)`` returns a connected :class:`III`.

Like iii-sdk, the client runs its own asyncio loop on a background thread, so plain
(synchronous) scripts can use it; handlers and ``trigger_async`` run on that loop. All
connection state is only touched on the loop thread; public methods called from other
threads hand work over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sys
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar, cast

from .. import protocol, wsio
from ..protocol import (
    EnqueueAction,
    ErrorBody,
    ErrorFrame,
    FrameError,
    InvocationResult,
    InvokeFunction,
    Ping,
    Pong,
    Reattach,
    RegisterFunction,
    RegisterTrigger,
    RegisterTriggerType,
    RegistrationRejected,
    TriggerRegistrationResult,
    UnregisterFunction,
    UnregisterTrigger,
    UnregisterTriggerType,
    VoidAction,
    WorkerRegistered,
)
from . import frames, otel_export, tracing
from . import logger as log_registry
from .actions import request_fields, wire_action
from .backoff import reconnect_delay_s, retries_exhausted
from .channels import (
    Channel,
    ChannelReader,
    ChannelWriter,
    StreamChannelRef,
    resolve_channel_refs,
)
from .codec import from_payload, loads, to_optional_payload, to_payload
from .constants import CHANNELS_CREATE, EngineFunctions
from .errors import ForwardedError, InvocationError
from .formats import extract_request_format, extract_response_format, resolve_format
from .handlers import ThreadPerCall, is_async_callable, wrap_handler
from .http import is_http_invocation, to_wire_invocation
from .invocation_context import ActiveInvocation, InvocationContext, active, running
from .invocation_context import current_invocation as _current_invocation
from .link import Link
from .namespaces import call_namespace, worker_namespace
from .observe_agent import ObserveAgent
from .observe_types import ObserveHook, ObserveHooks
from .observe_wire import caller_for, decode_activation, decode_caller, decode_observe_depth, snapshot
from .observer_handle import ObserverHandle
from .options import (
    MAX_QUEUE_SIZE,
    ConnectionStateCallback,
    FunctionRef,
    IIIConnectionState,
    InitOptions,
    ReconnectionConfig,
    default_sync_workers,
)
from .owner import FunctionObservers, Observer
from .pending import PendingCalls
from .registry import Registration, Registry, Table
from .triggers import (
    Trigger,
    TriggerConfig,
    TriggerTypeRef,
    trigger_input_fields,
    trigger_type_input_fields,
)
from .worker_info import default_worker_name, worker_metadata, worker_name

log = logging.getLogger("pyiii.sdk")

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The SDK's own loop (its thread runs frames and handlers): uvloop where installed, as the
    engine; its per-frame cost is a fraction of asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


#: How long ``register_worker`` blocks waiting for the first connection.
CONNECT_WAIT_S = 30.0


class III:
    """A worker's connection to the engine. Create it with :func:`register_worker`."""

    def __init__(self, address: str, options: InitOptions | None = None) -> None:
        # pyiii addition: "ws://a:49134,ws://b:49134" lists several engines of one cluster; the
        # worker is connected to one at a time and moves to the next when it cannot connect or
        # its connection drops (docs/deployment.md).
        self._addresses = [a.strip() for a in address.split(",") if a.strip()] or [address]
        self._address = self._addresses[0]
        self._options = options or InitOptions()
        self._namespace = worker_namespace(self._options)  # a blank one fails here, at start
        self._reconnection: ReconnectionConfig = (
            self._options.reconnection_config or ReconnectionConfig()
        )
        self._registry = Registry()
        self._offline: deque[bytes] = deque()
        self._pending = PendingCalls()
        self._link: Link | None = None
        self._generation = 0
        self._state: IIIConnectionState = "disconnected"
        self._listeners: list[ConnectionStateCallback] = []
        self._connected_event = threading.Event()
        self._worker_id: str | None = None
        self._reattach_token: str | None = None
        #: ``(code, message)`` once the engine refused this worker (a name taken in its
        #: namespace): it stops reconnecting and every call fails with it (iii 0.23).
        self._rejected: tuple[str, str] | None = None
        self._running = True
        self._tasks: set[asyncio.Task[Any]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()
        named = self._options.worker_name or os.environ.get("III_WORKER_NAME")
        self._default_name = None if named else _claim_default_name()
        #: iii 0.25: features, observers, local dispatch, reports (sdk/observe_agent.py).
        self._observe = ObserveAgent(self, self._options.local_stats_interval_s)
        self._observe.hook_timeout_s = self._options.observe_hook_timeout_s
        self._local_calls = ThreadPerCall()

        self._loop = new_event_loop()
        # Not a daemon: like iii-sdk, a script that only registers handlers keeps running.
        self._thread = threading.Thread(target=self._run_loop, name="pyiii-sdk-loop", daemon=False)
        self._thread.start()
        self._supervisor = asyncio.run_coroutine_threadsafe(self._connection_loop(), self._loop)
        self._stats_task = asyncio.run_coroutine_threadsafe(self._observe.stats_loop(), self._loop)
        _serving(self)
        log_registry.register_sink(self)
        if self._options.otel is not None or os.environ.get("OTEL_ENABLED"):
            otel_export.install(self._address, self._options.otel or {})

    # ------------------------------------------------------------------ loop plumbing

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            if tasks:
                self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    def _on_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def _run_on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the SDK loop and block for its result (sync API)."""
        if self._on_loop_thread():
            coro.close()
            raise RuntimeError(
                "Cannot call sync SDK methods from the event loop thread. "
                "Use the async variants (e.g. trigger_async) inside async handlers."
            )
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _bridge(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine that must run on the SDK loop from whatever loop we are on."""
        if asyncio.get_running_loop() is self._loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    def _soon(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn`` on the loop thread: now if we are on it, else as soon as possible."""
        if self._on_loop_thread():
            fn(*args)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)  # keep a strong reference until done
        task.add_done_callback(self._tasks.discard)

    def _get_executor(self) -> Executor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._options.sync_handler_workers or default_sync_workers(),
                    thread_name_prefix="pyiii-handler",
                )
            return self._executor

    # ------------------------------------------------------------------ connection

    async def _connection_loop(self) -> None:
        attempt = 0
        self._set_state("connecting")
        while self._running:
            try:
                ws = await wsio.connect(
                    self._address,
                    wsio.Options(
                        headers=tuple((self._options.headers or {}).items()),
                        max_message_bytes=self._options.max_message_size,
                        ping_interval_s=self._options.ping_interval_s,
                        ping_timeout_s=self._options.ping_timeout_s,
                        handshake_timeout_s=10,
                    ),
                )
            except Exception as exc:  # any failure must lead to a retry
                log.warning("connection to %s failed: %s: %s", self._address, type(exc).__name__, exc)
                self._next_address()
            else:
                attempt = 0
                await self._serve(ws)
                if not self._running:
                    return
                if self._rejected is not None:
                    self._set_state("failed")
                    return
                self._set_state("disconnected")
                if self._next_address():
                    continue  # another engine of the cluster: try it at once
            if retries_exhausted(self._reconnection, attempt):
                log.error("giving up after %d reconnection attempts", attempt)
                self._set_state("failed")
                return
            delay = reconnect_delay_s(self._reconnection, attempt)
            attempt += 1
            self._set_state("reconnecting")
            log.debug("reconnecting in %.0f ms (attempt %d)", delay * 1000, attempt)
            await asyncio.sleep(delay)

    def _next_address(self) -> bool:
        """Move to the next engine address, if several were given."""
        if len(self._addresses) < 2:
            return False
        index = self._addresses.index(self._address)
        self._address = self._addresses[(index + 1) % len(self._addresses)]
        return True

    async def _serve(self, ws: wsio.Connection) -> None:
        """Replay, then read until the socket closes for any reason (1000/1001 included)."""
        self._generation += 1
        link = Link(ws, self._generation)
        self._open_link(link)
        writer = self._loop.create_task(link.write_loop())
        try:
            await ws.serve(self._frame, inline=wsio.every_message)
        except wsio.ConnectionClosed:
            log.debug("connection closed: %s %s", ws.close_code, ws.close_reason)
        except Exception:
            log.exception("connection failed")
        finally:
            self._link = None
            self._observe.on_disconnect()
            writer.cancel()
            # Calls and results not yet written go first on the next connection.
            self._offline.extendleft(reversed(link.unsent()))
            while len(self._offline) > MAX_QUEUE_SIZE:
                self._offline.popleft()
            await ws.close()

    def _open_link(self, link: Link) -> None:
        """Queue the connect sequence (spec §1.4) synchronously, so nothing registered
        concurrently can slip in twice or be missed."""
        self._link = link
        self._set_state("connected")
        if self._worker_id:
            link.send(
                protocol.encode(
                    Reattach(previous_worker_id=self._worker_id, reattach_token=self._reattach_token)
                )
            )
        for entry in self._registry.replay_order():
            entry.sent_on = link.generation
            link.send(entry.frame)
        queued, self._offline = self._offline, deque()
        for frame in queued:
            link.send(frame, requeue=True)
        link.send(
            protocol.encode(
                InvokeFunction(
                    function_id=EngineFunctions.REGISTER_WORKER,
                    data=to_payload(worker_metadata(self._options, self._default_name)),
                    action=VoidAction(),
                )
            )
        )

    def _send(self, frame: bytes) -> None:
        """Send a call/result now, or keep it (bounded) until the next connection."""
        link = self._link
        if link is not None:
            link.send(frame, requeue=True)
            return
        if len(self._offline) >= MAX_QUEUE_SIZE:
            log.warning("message queue full, dropping oldest message")
            self._offline.popleft()
        self._offline.append(frame)

    def _fire_and_forget(self, function_id: str, payload: Any) -> None:
        """A void call from any thread (used by :class:`Logger`)."""
        trace = tracing.outgoing()
        frame = protocol.encode(
            InvokeFunction(
                function_id=function_id,
                data=to_payload(payload),
                traceparent=trace[0],
                baggage=trace[1],
                action=VoidAction(),
                namespace=call_namespace(function_id, None, self._namespace),
            )
        )
        self._soon(self._send, frame)

    def _announce(self, table: Table, entry: Registration) -> None:
        """Loop thread: send a registration unless it is gone or this link already has it."""
        link = self._link
        if link is None or entry.sent_on == link.generation or not table.is_current(entry):
            return
        entry.sent_on = link.generation
        link.send(entry.frame)

    def _retract(self, entry: Registration, frame: bytes) -> None:
        """Loop thread: tell the engine, if this connection ever heard of the entry."""
        link = self._link
        if link is not None and entry.sent_on == link.generation:
            link.send(frame)

    # ------------------------------------------------------------------ incoming frames

    async def _frame(self, raw: bytes) -> None:
        try:
            self._on_frame(raw)
        except Exception:  # one bad frame must not take the connection down
            log.exception("error handling a frame")

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            msg = protocol.decode(raw)
        except FrameError as exc:
            # 0.25 frames this SDK reads leniently itself (observe_agent); others are dropped.
            if exc.raw is not None and self._observe.on_frame(exc.raw):
                return
            if raw.strip():
                log.debug("dropping frame: %s", exc)
            return
        if isinstance(msg, InvocationResult):
            error = msgspec_to_builtins(msg.error) if msg.error is not None else None
            self._pending.resolve(msg.invocation_id, from_payload(msg.result), error)
        elif isinstance(msg, InvokeFunction):
            self._spawn(self._handle_invoke(msg))
        elif isinstance(msg, RegisterTrigger):
            self._spawn(self._handle_register_trigger(msg))
        elif isinstance(msg, UnregisterTrigger):
            self._spawn(self._handle_unregister_trigger(msg))
        elif isinstance(msg, TriggerRegistrationResult):
            if msg.error is not None:
                entry = self._registry.triggers.get(msg.id)
                if entry is not None and entry.step:
                    who = f"step '{entry.step}'"
                elif entry is not None and entry.function_id:
                    who = f"function '{entry.function_id}'"
                else:
                    who = "a trigger"
                log.error("%s: its %s trigger was refused: %s (trigger %s)", who, msg.trigger_type,
                          msg.error.message, msg.id)
        elif isinstance(msg, WorkerRegistered):
            if self._link is not None:  # the engine's features first: worker_id says "registered"
                self._observe.on_worker_registered(msg.features, self._link.generation)
            self._worker_id = msg.worker_id
            self._reattach_token = msg.reattach_token
            log.debug("registered as worker %s", msg.worker_id)
        elif isinstance(msg, Ping):
            if self._link is not None:
                self._link.send(protocol.encode(Pong()))
        elif isinstance(msg, RegistrationRejected):
            self._on_rejected(msg)
        elif isinstance(msg, ErrorFrame):
            log.warning("engine refused the connection: %s: %s", msg.error.code, msg.error.message)
        else:  # a frame type protocol.py decodes but this client leaves to the observe agent
            frame = loads(protocol.encode(msg))
            if isinstance(frame, dict):
                self._observe.on_frame(frame)

    def _on_rejected(self, msg: RegistrationRejected) -> None:
        """iii 0.23 (spec iii-0.23-0.25 §4.3): a function id taken in the namespace is logged and
        the worker keeps serving; anything else (a worker name taken) is final."""
        if msg.code == "FUNCTION_NAMESPACE_CONFLICT":
            # 0.25: no local dispatch and no observers for it on this connection (spec §4.3).
            self._observe.on_function_conflict(msg.function_id or "")
            log.warning("function %s not registered: namespace %s already has it (worker %s)",
                        msg.function_id, msg.namespace, msg.owner_worker_id or "the engine")
            return
        message = (f"the engine refused this worker: {msg.code} (name {msg.worker_name!r} in namespace "
                   f"{msg.namespace!r}, held by {msg.owner_worker_id})")
        log.error("%s; not reconnecting", message)
        self._rejected = (msg.code, message)
        self._pending.fail_all(msg.code, message)

    def _reply_error(
        self, msg: InvokeFunction, code: str, message: str, stacktrace: str | None = None
    ) -> None:
        if msg.invocation_id is None:
            return
        self._send(
            protocol.encode(
                InvocationResult(
                    invocation_id=msg.invocation_id,
                    function_id=msg.function_id,
                    error=ErrorBody(code=code, message=message, stacktrace=stacktrace),
                    traceparent=msg.traceparent,
                    baggage=msg.baggage,
                )
            )
        )

    async def _handle_invoke(self, msg: InvokeFunction) -> None:
        entry = self._registry.functions.get(msg.function_id)
        if entry is None or entry.handler is None:
            if entry is None:
                code, text = "function_not_found", f"Function '{msg.function_id}' not found"
            else:
                code, text = "function_not_invokable", "Function is HTTP-invoked and cannot be invoked locally"
            log.warning(text)
            self._reply_error(msg, code, text)
            return
        metadata = from_payload(msg.metadata)
        ctx = ActiveInvocation(
            function_id=msg.function_id,
            invocation_id=msg.invocation_id or str(uuid.uuid4()),
            # Absent in most frames (an absent payload is falsy): no decoding then.
            observe_depth=decode_observe_depth(from_payload(msg.observe_depth)) if msg.observe_depth else 0,
            caller=decode_caller(from_payload(msg.caller)) if msg.caller else None,
            activation=decode_activation(from_payload(msg.activation)) if msg.activation else None,
            metadata=metadata,
            traceparent=msg.traceparent,
            baggage=msg.baggage,
        )
        try:
            with tracing.handling(msg.traceparent, msg.baggage, msg.function_id), running(ctx):
                data = resolve_channel_refs(from_payload(msg.data), self._address, self._loop)
                result = await entry.handler(data, metadata)
            result_raw = to_optional_payload(result) if msg.invocation_id else protocol.ABSENT
        except Exception as exc:
            trace_id, span_id = tracing.ids(msg.traceparent)  # the engine's log store links it to the trace
            log.error("error in handler %s", msg.function_id, exc_info=frames.exc_info(exc),
                      extra={"trace_id": trace_id, "span_id": span_id})
            if isinstance(exc, ForwardedError):  # a handler passing on another call's error keeps its code
                self._reply_error(msg, exc.code, exc.message, exc.stacktrace)
            else:
                self._reply_error(msg, "invocation_failed", str(exc), frames.format_exception(exc))
            return
        if msg.invocation_id is None:
            return  # void delivery: nobody is waiting
        self._send(
            protocol.encode(
                InvocationResult(
                    invocation_id=msg.invocation_id,
                    function_id=msg.function_id,
                    result=result_raw,
                    traceparent=msg.traceparent,
                    baggage=msg.baggage,
                )
            )
        )

    def _trigger_config(self, msg: RegisterTrigger | UnregisterTrigger) -> TriggerConfig[Any]:
        if isinstance(msg, RegisterTrigger):
            metadata = from_payload(msg.metadata)
            return TriggerConfig(
                id=msg.id,
                function_id=msg.function_id,
                config=from_payload(msg.config),
                metadata=metadata if isinstance(metadata, dict) else None,
                namespace=msg.namespace,
            )
        return TriggerConfig(id=msg.id, function_id="", config=None, metadata=None)

    async def _handle_register_trigger(self, msg: RegisterTrigger) -> None:
        entry = self._registry.trigger_types.get(msg.trigger_type)
        if entry is None:
            return  # like iii-sdk: no answer for a type we do not provide
        error: ErrorBody | None = None
        try:
            await entry.provider.register_trigger(self._trigger_config(msg))
        except Exception as exc:
            log.exception("error registering trigger %s", msg.id)
            error = ErrorBody(code="trigger_registration_failed", message=str(exc))
        self._send(
            protocol.encode(
                TriggerRegistrationResult(
                    id=msg.id, trigger_type=msg.trigger_type, function_id=msg.function_id, error=error
                )
            )
        )

    async def _handle_unregister_trigger(self, msg: UnregisterTrigger) -> None:
        entry = self._registry.trigger_types.get(msg.trigger_type or "")
        if entry is None:
            return
        try:
            await entry.provider.unregister_trigger(self._trigger_config(msg))
        except Exception:
            log.exception("error unregistering trigger %s", msg.id)

    # ------------------------------------------------------------------ state

    def _set_state(self, state: IIIConnectionState) -> None:
        if state == self._state:
            return
        self._state = state
        # Also wakes register_worker on "failed", so it raises at once instead of after 30 s.
        if state in ("connected", "failed"):
            self._connected_event.set()
        else:
            self._connected_event.clear()
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:
                log.exception("connection state listener raised")

    def add_connection_state_listener(self, handler: ConnectionStateCallback) -> Callable[[], None]:
        """Call ``handler`` now with the current state, then on every transition (from the
        SDK thread). Returns an idempotent unsubscribe function."""
        self._listeners.append(handler)
        try:
            handler(self._state)
        except Exception:
            log.exception("connection state listener raised")
        done = False

        def unsubscribe() -> None:
            nonlocal done
            if done:
                return
            done = True
            try:
                self._listeners.remove(handler)
            except ValueError:
                pass

        return unsubscribe

    def get_connection_state(self) -> IIIConnectionState:
        return self._state

    @property
    def engine_features(self) -> frozenset[str]:
        """pyiii addition: the features of the engine's latest ``workerregistered`` (iii 0.25)."""
        return self._observe.features.features

    @property
    def worker_id(self) -> str | None:
        """The id from the engine's latest ``workerregistered`` frame."""
        return self._worker_id

    def _wait_until_connected(self, timeout: float = CONNECT_WAIT_S) -> None:
        if self._state == "connected":
            return
        if self._state == "failed":
            raise ConnectionError(f"Connection to {self._address} failed")
        connected = self._connected_event.wait(timeout=timeout)
        if cast(IIIConnectionState, self._state) == "failed":
            raise ConnectionError(f"Connection to {self._address} failed after max retries")
        if not connected:
            log.warning(
                "Timed out after %.0fs waiting for connection to %s; continuing to retry in background",
                timeout, self._address,
            )

    async def connect_async(self) -> None:
        """Wait until connected (the client connects by itself on creation)."""
        await asyncio.to_thread(self._connected_event.wait, CONNECT_WAIT_S)

    # ------------------------------------------------------------------ registration API

    def register_function(
        self,
        function_id: str,
        handler_or_invocation: Any,
        *,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        request_format: Any = None,
        response_format: Any = None,
        observe: ObserveHooks | dict[str, Any] | None = None,
        local_dispatch: bool = True,
    ) -> FunctionRef:
        """Register a local handler (sync or async) or an HTTP-invoked function.

        Formats default to JSON Schemas derived from the handler's type hints. iii 0.25:
        ``observe`` (an :class:`ObserveHooks` or a dict of its fields) sets how the function's
        observers are delivered and the hooks run when one is added or removed;
        ``local_dispatch`` (default True) lets this worker's own calls to it run in-process once
        the engine confirmed it (``functionregistered``).
        """
        hooks = ObserveHooks.from_value(observe)
        descriptor = _observe_descriptor(function_id, hooks)
        if not isinstance(function_id, str):
            raise TypeError(f"function_id must be str, got {type(function_id).__name__}")
        if not function_id.strip():
            raise ValueError("id is required")
        http = is_http_invocation(handler_or_invocation)
        if not http and not callable(handler_or_invocation):
            raise TypeError(
                "handler_or_invocation must be callable or HttpInvocationConfig, "
                f"got {type(handler_or_invocation).__name__}"
            )
        if not http:
            if request_format is None:
                request_format = extract_request_format(handler_or_invocation)
            if response_format is None:
                response_format = extract_response_format(handler_or_invocation)
        frame = protocol.encode(
            RegisterFunction(
                id=function_id,
                description=description,
                request_format=to_optional_payload(resolve_format(request_format)),
                response_format=to_optional_payload(resolve_format(response_format)),
                metadata=to_optional_payload(metadata),
                invocation=to_wire_invocation(handler_or_invocation) if http else None,
                observe=to_optional_payload(descriptor),
            )
        )
        state = FunctionObservers(function_id, hooks, local_dispatch, not http, self._observe)
        entry = Registration(
            key=function_id,
            frame=frame,
            handler=None if http else wrap_handler(handler_or_invocation, self._get_executor),
            local_handler=None if http else _local_handler(handler_or_invocation, self._local_calls,
                                                           self._get_executor),
            observe=state,
        )
        table = self._registry.functions
        table.add(entry, unique=True)

        def announce() -> None:
            self._observe.functions[function_id] = state  # before the frame: its ack finds it
            self._announce(table, entry)

        self._soon(announce)

        def unregister() -> None:
            if table.remove(entry):
                self._soon(self._observe.remove_function, state)
                self._soon(self._retract, entry, protocol.encode(UnregisterFunction(id=function_id)))

        return FunctionRef(id=function_id, unregister=unregister, observers=state.active,
                           is_observed=state.is_observed)

    def register_trigger(self, trigger: Any) -> Trigger:
        """Bind ``{type, function_id, config, metadata}``; the id is a fresh UUID."""
        spec = trigger_input_fields(trigger)
        trigger_id = str(uuid.uuid4())
        frame = protocol.encode(
            RegisterTrigger(
                id=trigger_id,
                trigger_type=spec.type,
                function_id=spec.function_id,
                config=to_payload(_plain(spec.config)),  # always present, even when null
                metadata=to_optional_payload(_plain(spec.metadata)),
                namespace=spec.namespace or self._namespace,
                trigger_namespace=spec.trigger_namespace,
            )
        )
        metadata = spec.metadata if isinstance(spec.metadata, dict) else {}
        step = metadata.get("step")
        entry = Registration(key=trigger_id, frame=frame, trigger_type=spec.type, function_id=spec.function_id,
                             step=step if isinstance(step, str) else None)
        table = self._registry.triggers
        table.add(entry)
        self._soon(self._announce, table, entry)

        def unregister() -> None:
            if table.remove(entry):
                retract = protocol.encode(UnregisterTrigger(id=trigger_id, trigger_type=spec.type))
                self._soon(self._retract, entry, retract)

        return Trigger(unregister, trigger_id)

    def register_trigger_type(self, trigger_type: Any, handler: Any) -> TriggerTypeRef[Any, Any]:
        """Provide a trigger type; ``handler`` arms/disarms bindings the engine sends."""
        spec = trigger_type_input_fields(trigger_type)
        frame = protocol.encode(
            RegisterTriggerType(
                id=spec.id,
                description=spec.description,
                trigger_request_format=to_optional_payload(resolve_format(spec.trigger_request_format)),
                call_request_format=to_optional_payload(resolve_format(spec.call_request_format)),
            )
        )
        entry = Registration(key=spec.id, frame=frame, provider=handler)
        table = self._registry.trigger_types
        table.add(entry)
        self._soon(self._announce, table, entry)
        return TriggerTypeRef(
            self,
            spec.id,
            spec.trigger_request_format if isinstance(spec.trigger_request_format, type) else None,
            spec.call_request_format if isinstance(spec.call_request_format, type) else None,
        )

    def unregister_trigger_type(self, trigger_type: Any) -> None:
        type_id = trigger_type["id"] if isinstance(trigger_type, dict) else trigger_type.id
        entry = self._registry.trigger_types.pop(type_id)
        if entry is not None:
            self._soon(self._retract, entry, protocol.encode(UnregisterTriggerType(id=type_id)))

    # ------------------------------------------------------------------ calls

    def trigger(self, request: Any) -> Any:
        """Call a function and block for its result (``None`` for void, a receipt for enqueue)."""
        # Read the trace context here: the coroutine runs on the SDK thread, which does
        # not see this thread's contextvars.
        return self._run_on_loop(self._trigger(request, tracing.outgoing(), active()))

    async def trigger_async(self, request: Any) -> Any:
        """Awaitable :meth:`trigger`, usable from handlers or from another event loop."""
        return await self._bridge(self._trigger(request, tracing.outgoing(), active()))

    async def _trigger(
        self, request: Any, trace: tuple[str | None, str | None], parent: ActiveInvocation | None
    ) -> Any:
        """``parent``: the invocation the caller runs in, read on the caller's thread (the SDK loop
        does not see that thread's context)."""
        fields = request_fields(request)
        function_id = fields["function_id"]
        action = wire_action(fields.get("action"))
        dispatch = fields.get("dispatch")
        if dispatch not in (None, "auto", "remote"):
            raise ValueError(f"dispatch must be 'auto' or 'remote', got {dispatch!r}")
        timeout_ms = fields.get("timeout_ms") or self._options.invocation_timeout_ms
        namespace = call_namespace(function_id, fields.get("namespace"), self._namespace)
        if dispatch != "remote" and not isinstance(action, EnqueueAction):
            local = self._local_target(function_id, namespace, parent)
            if local is not None:
                if self._rejected is not None:
                    raise InvocationError(*self._rejected, function_id=function_id)
                return await self._invoke_local(local, fields, parent, trace, timeout_ms,
                                                void=isinstance(action, VoidAction))
        caller, depth = self._outgoing_observe_fields(parent)
        invoke = InvokeFunction(
            function_id=function_id,
            data=to_payload(fields.get("payload")),  # always present: null when None
            metadata=to_optional_payload(fields.get("metadata")),
            traceparent=trace[0],
            baggage=trace[1],
            action=action,
            namespace=namespace,
            caller=to_optional_payload(caller),
            observe_depth=to_optional_payload(depth or None),
        )
        return await self._routed(invoke, timeout_ms)

    async def _routed(self, invoke: InvokeFunction, timeout_ms: int) -> Any:
        """Send an ``invokefunction`` through the engine and wait for its result (not for void)."""
        function_id = invoke.function_id
        action = invoke.action
        if isinstance(action, VoidAction):
            self._send(protocol.encode(invoke))
            return None
        if not self._running:
            raise InvocationError("SHUTDOWN", "iii is shutting down", function_id=function_id)
        if self._rejected is not None:
            raise InvocationError(*self._rejected, function_id=function_id)
        invoke.invocation_id = invocation_id = str(uuid.uuid4())
        future = self._pending.add(invocation_id, function_id)
        self._send(protocol.encode(invoke))
        try:
            return await asyncio.wait_for(future, timeout_ms / 1000.0)
        except TimeoutError:
            self._pending.drop(invocation_id)
            raise InvocationError(
                "TIMEOUT",
                f"invocation timed out after {timeout_ms}ms",
                function_id=function_id,
                invocation_id=invocation_id,
            ) from None

    # ------------------------------------------------------------------ local dispatch (0.25)

    def _local_target(self, function_id: str, namespace: str | None,
                      parent: ActiveInvocation | None) -> Registration | None:
        """The own function a call may run in-process (spec §3.3): confirmed by the engine for local
        dispatch, with a handler, in the namespace it was confirmed in, nested < 64 local calls."""
        entry = self._registry.functions.get(function_id)
        if entry is None or entry.local_handler is None:
            return None
        state = entry.observe
        if not isinstance(state, FunctionObservers) or not state.local_dispatch:
            return None
        if namespace is not None and namespace != state.namespace:
            return None
        if parent is not None and parent.local_depth >= MAX_LOCAL_DEPTH:
            return None  # a deeper chain goes through the engine: no stack overflow on recursion
        return entry

    async def _invoke_local(
        self, entry: Registration, fields: dict[str, Any], parent: ActiveInvocation | None,
        trace: tuple[str | None, str | None], timeout_ms: int, *, void: bool,
    ) -> Any:
        """Run an own function in-process: a fresh invocation id, a caller built here, the payload
        copied (the handler cannot change the caller's objects), stats and observer reports."""
        state: FunctionObservers = entry.observe
        handler = entry.local_handler
        assert handler is not None
        function_id = entry.key
        caller: dict[str, Any] = dict(self.identity())
        if parent is not None:
            caller.update(caller_for(parent))
        payload = snapshot(fields.get("payload"), "payload")
        metadata = snapshot(fields.get("metadata"), "metadata")
        ctx = ActiveInvocation(
            function_id=function_id, invocation_id=str(uuid.uuid4()),
            observe_depth=parent.observe_depth if parent is not None else 0,
            caller=caller, metadata=metadata, traceparent=trace[0], baggage=trace[1],
            local_depth=(parent.local_depth if parent is not None else 0) + 1,
        )
        # The observers considered are those active when the invocation starts (spec §5.7).
        observers = state.active() if state.delivery == "auto" else []
        observed_input = snapshot(payload, "payload") if observers else None

        async def run() -> Any:
            started_ms = int(time.time() * 1000)
            t0 = time.perf_counter()
            error: dict[str, Any] | None = None
            result: Any = None
            failure: InvocationError | None = None
            try:
                # An invocation like a routed one: its own calls carry the caller's trace context.
                with tracing.handling(trace[0], trace[1], function_id), running(ctx):
                    result = await asyncio.wait_for(handler(payload, metadata), timeout_ms / 1000.0)
                result = snapshot(result, "result")
            except TimeoutError:
                failure = InvocationError("TIMEOUT", f"invocation timed out after {timeout_ms}ms",
                                          function_id=function_id, invocation_id=ctx.invocation_id)
                error = {"code": "TIMEOUT", "message": failure.message}
            except Exception as exc:
                error = {"code": "invocation_failed", "message": str(exc),
                         "stacktrace": frames.format_exception(exc)}
                failure = InvocationError("invocation_failed", str(exc), function_id=function_id,
                                          stacktrace=error["stacktrace"], invocation_id=ctx.invocation_id)
                failure.__cause__ = exc
            duration_ms = (time.perf_counter() - t0) * 1000.0
            self._observe.stats.record(function_id, error is None, duration_ms)
            if observers:
                self._observe.report_local(state, observers, ctx, observed_input, result, error,
                                           started_ms, duration_ms)
            if failure is not None:
                if void:
                    log.error("error in local call of %s: %s", function_id, failure.message)
                raise failure
            return result

        if void:
            self._spawn(_quiet(run()))
            return None
        return await run()

    def _outgoing_observe_fields(self, parent: ActiveInvocation | None) -> tuple[dict[str, Any] | None, int]:
        """``caller`` and ``observe_depth`` a routed call carries from inside a handler (engines
        with observe.v1 only; the view is kept while disconnected)."""
        if parent is None or not self._observe.features.observe:
            return None, 0
        return caller_for(parent), parent.observe_depth

    # ------------------------------------------------------------------ observe (0.25)

    def observe(self, source: Any, target: Any, options: Any = None) -> ObserverHandle:
        """Observe a function: every event of ``source`` that passes ``source["filters"]``
        invokes ``target``. Returns at once (also offline); the observer is replayed with the same
        id on every connection until disposed. Refusals (``INVALID_ARGS``, ``INVALID_FILTER``,
        ``FORBIDDEN``, an owner's code, ``UNSUPPORTED``) show as state ``error``: ``ready()``
        raises :class:`ObserveRejection`."""
        return self._observe.observe(source, target, options)

    def current_invocation(self) -> InvocationContext | None:
        """The invocation the calling code runs in (any handler, routed or local), else ``None``."""
        return _current_invocation()

    # AgentClient: what the observe agent uses of this client

    def link_generation(self) -> int | None:
        link = self._link
        return link.generation if link is not None else None

    def post(self, frame: bytes) -> None:
        link = self._link
        if link is not None:
            link.send(frame)

    def spawn_awaitable(self, aw: Any) -> None:
        task = asyncio.ensure_future(aw)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def run_off_loop(self, fn: Callable[[], None]) -> None:
        try:
            self._get_executor().submit(fn)
        except RuntimeError:  # shutting down: listeners are not called any more
            pass

    def run_hook(self, hook: ObserveHook, obs: Observer) -> Any:
        """An async hook runs on the loop, a sync one on a thread of its own (it may call the sync API)."""
        if is_async_callable(hook):
            return hook(obs)
        return self._loop.run_in_executor(self._local_calls, contextvars.copy_context().run, hook, obs)

    def identity(self) -> dict[str, str]:
        who = {"worker_name": worker_name(self._options, self._default_name)}
        if self._worker_id:
            who = {"worker_id": self._worker_id, **who}
        return who

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None:
        self._loop.call_later(delay_s, callback)

    def soon(self, fn: Callable[..., None], *args: Any) -> None:
        self._soon(fn, *args)

    def on_loop_thread(self) -> bool:
        return self._on_loop_thread()

    def namespace_for(self, function_id: str, explicit: str | None) -> str | None:
        return call_namespace(function_id, explicit, self._namespace)

    def call_observer_target(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any:
        return self._run_on_loop(self._owner_call(obs, payload, timeout_ms, tracing.outgoing(), active()))

    async def call_observer_target_async(self, obs: Observer, payload: Any, timeout_ms: int | None) -> Any:
        return await self._bridge(self._owner_call(obs, payload, timeout_ms, tracing.outgoing(), active()))

    async def _owner_call(self, obs: Observer, payload: Any, timeout_ms: int | None,
                          trace: tuple[str | None, str | None], parent: ActiveInvocation | None) -> Any:
        """``obs.call``: an ``invokefunction`` marked ``activation: {observer_id}``; the engine routes
        it to the observer's stored target (no namespace is sent)."""
        caller, depth = self._outgoing_observe_fields(parent)
        invoke = InvokeFunction(
            function_id=obs.target, data=to_payload(payload), traceparent=trace[0], baggage=trace[1],
            caller=to_optional_payload(caller), observe_depth=to_optional_payload(depth or None),
            activation=to_payload({"observer_id": obs.id}),
        )
        return await self._routed(invoke, timeout_ms or self._options.invocation_timeout_ms)

    # ------------------------------------------------------------------ helpers' backing

    def _helpers_create_channel(self, buffer_size: int | None = None) -> Channel:
        return self._run_on_loop(self._helpers_create_channel_async(buffer_size))

    async def _helpers_create_channel_async(self, buffer_size: int | None = None) -> Channel:
        refs = await self.trigger_async({"function_id": CHANNELS_CREATE, "payload": {"buffer_size": buffer_size}})
        writer_ref = StreamChannelRef(**_ref_fields(refs["writer"]))
        reader_ref = StreamChannelRef(**_ref_fields(refs["reader"]))
        return Channel(
            writer=ChannelWriter(self._address, writer_ref, loop=self._loop),
            reader=ChannelReader(self._address, reader_ref, loop=self._loop),
            writer_ref=writer_ref,
            reader_ref=reader_ref,
        )

    # ------------------------------------------------------------------ shutdown

    async def _shutdown_on_loop(self) -> None:
        self._running = False
        log_registry.unregister_sink(self)
        self._observe.send_stats()  # the last window, while the link is still up (spec §3.4)
        self._stats_task.cancel()
        self._supervisor.cancel()
        self._pending.fail_all("SHUTDOWN", "iii is shutting down")
        link, self._link = self._link, None
        if link is not None:
            await link.ws.close()
        self._set_state("disconnected")

    async def shutdown_async(self) -> None:
        """Stop reconnecting, fail pending calls with ``SHUTDOWN``, close, stop the thread."""
        if not self._loop.is_running():
            return
        await self._bridge(self._shutdown_on_loop())
        self._finish()

    def shutdown(self) -> None:
        if self._on_loop_thread():
            raise RuntimeError("use shutdown_async() from the SDK event loop")
        if self._loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown_on_loop(), self._loop).result(timeout=10)
            except Exception:
                log.exception("error during shutdown")
        self._finish()
        self._thread.join(timeout=5)

    def __enter__(self) -> III:
        return self

    def __exit__(self, *_exc: object) -> None:
        """``with register_worker(...) as worker:`` disconnects when the block ends."""
        self.shutdown()

    def _finish(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


_clients: weakref.WeakSet[III] = weakref.WeakSet()
_clients_lock = threading.Lock()
_exit_hook_installed = False


def _serving(client: III) -> None:
    """Remember a live client; the first one installs :func:`_wait_at_exit`."""
    global _exit_hook_installed
    with _clients_lock:
        _clients.add(client)
        if not _exit_hook_installed:
            _exit_hook_installed = True
            threading._register_atexit(_wait_at_exit)  # type: ignore[attr-defined]
            _previous_excepthook[0] = sys.excepthook
            sys.excepthook = _excepthook


_previous_excepthook = [sys.excepthook]
_main_failed = threading.Event()


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """The main code of a script with a live client ended with an exception: stop serving at exit
    instead of waiting, and let Ctrl-C end the worker without a traceback from the wait."""
    _main_failed.set()
    if issubclass(kind, KeyboardInterrupt):
        return
    _previous_excepthook[0](kind, value, tb)


def _wait_at_exit() -> None:
    """A script whose main code ended keeps serving its handlers until Ctrl-C (as iii-sdk's
    does). Python would wait for the loop threads in ``threading._shutdown`` and print a
    ``KeyboardInterrupt`` traceback from its own code on Ctrl-C; this waits for them first,
    and Ctrl-C shuts every client down cleanly instead."""
    try:
        while not _main_failed.is_set():
            with _clients_lock:
                alive = [c for c in _clients if c._thread.is_alive()]
            if not alive:
                return
            alive[0]._thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    with _clients_lock:
        clients = [c for c in _clients if c._thread.is_alive()]
    for client in clients:
        try:
            client.shutdown()
        except Exception:  # leaving anyway: a client that cannot close is not worth a traceback
            log.debug("shutdown at exit failed", exc_info=True)


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) and not isinstance(value, type) else value


def _ref_fields(ref: Any) -> dict[str, Any]:
    return {k: ref[k] for k in ("channel_id", "access_key", "direction")}


#: Local calls nested deeper than this go through the engine (spec §3.3).
MAX_LOCAL_DEPTH = 64

_names_lock = threading.Lock()
_names_taken = 0


def _claim_default_name() -> str:
    """``hostname:pid`` for a process's first client, ``hostname:pid#N`` for the next ones: a 0.23+
    engine allows one live worker per name in a namespace, and this SDK declares features (so it
    is held to that rule), so two default-named clients of one process must not share a name."""
    global _names_taken
    with _names_lock:
        _names_taken += 1
        count = _names_taken
    base = default_worker_name()
    return base if count == 1 else f"{base}#{count}"


def _observe_descriptor(function_id: str, hooks: ObserveHooks | None) -> dict[str, Any] | None:
    """The ``registerfunction.observe`` object: only the members set; None when none is."""
    if hooks is None:
        return None
    if hooks.delivery not in (None, "auto", "owner"):
        raise InvocationError("INVALID_OBSERVE_DESCRIPTOR", f"{function_id}: delivery must be 'auto' or "
                              f"'owner', got {hooks.delivery!r}", function_id=function_id)
    if hooks.args_format is not None and hooks.delivery != "owner":
        raise InvocationError("INVALID_OBSERVE_DESCRIPTOR", f"{function_id}: args_format needs "
                              "delivery='owner'", function_id=function_id)
    descriptor: dict[str, Any] = {}
    if hooks.delivery is not None:
        descriptor["delivery"] = hooks.delivery
    if hooks.args_format is not None:
        descriptor["args_format"] = resolve_format(hooks.args_format)
    if hooks.legacy_trigger_type is not None:
        descriptor["legacy_trigger_type"] = hooks.legacy_trigger_type
    if hooks.allow is not None:
        descriptor["allow"] = bool(hooks.allow)
    return descriptor or None


def _local_handler(handler: Callable[..., Any], local_calls: Executor, pool: Callable[[], Executor]) -> Any:
    """The handler as local calls run it: a sync one on a thread of its own, so nested local calls
    cannot exhaust the shared pool."""
    return wrap_handler(handler, lambda: local_calls)


async def _quiet(coro: Coroutine[Any, Any, Any]) -> None:
    """A void local call: its failure was logged; nobody waits for it."""
    try:
        await coro
    except Exception:
        pass


def msgspec_to_builtins(error: ErrorBody) -> dict[str, Any]:
    return error.to_wire()


def register_worker(address: str, options: InitOptions | None = None) -> III:
    """Create a client for the engine at ``address`` and wait (up to 30 s) until it is
    connected; after that it keeps retrying in the background with a warning."""
    client = III(address, options)
    client._wait_until_connected()
    return client


__all__ = ["III", "register_worker"]
