"""A connection to a remote iii engine, as one worker of it.

Workers that forward their operations to another engine (the ``bridge`` adapters of iii-state,
iii-stream, iii-queue and configuration, and the ``iii-bridge`` worker) talk to it like any
worker does: over the worker WebSocket protocol. This is I/O to an external system, like a
Redis client, so it lives with the other adapters and is shared by every worker that needs it.

It is built on :mod:`pyiii.sdk` (the same client the console uses for a remote engine): the SDK
reconnects with backoff and, after a reconnection, registers again every function and trigger
this engine registered on the remote one. The SDK runs on its own thread and loop; this class
hops between that loop and the engine's, so callers and handlers stay on the engine loop.

Failures are typed (:class:`BridgeError`): ``bridge_unavailable`` when the remote engine cannot
be reached within ``connect_timeout_ms``, ``bridge_timeout`` when an answer takes longer than
the call's timeout, otherwise the remote function's own code and message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from pyiii.adapters.bridge.config import BridgeConfig

if TYPE_CHECKING:
    from pyiii.sdk import III

log = logging.getLogger("pyiii.bridge")

UNAVAILABLE = "bridge_unavailable"
TIMEOUT = "bridge_timeout"

Handler = Callable[[Any], Coroutine[Any, Any, Any]]


class BridgeError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def forwarded_error(code: str, message: str) -> Exception:
    """What a handler the remote engine calls raises to answer with ``code`` and ``message``
    (the SDK's ``ForwardedError``; any other exception answers ``invocation_failed``). Here, so
    that workers using the bridge need not import the SDK themselves."""
    from pyiii.sdk.errors import ForwardedError

    return ForwardedError(code, message)


def incoming_trace() -> tuple[str | None, str | None]:
    """``(traceparent, baggage)`` of the remote engine's call being handled, inside a handler
    registered with :meth:`RemoteEngine.register_function` (``(None, None)`` elsewhere)."""
    from pyiii.sdk.trace_context import current

    ctx = current()
    return (ctx.traceparent, ctx.baggage) if ctx is not None else (None, None)


class RemoteEngine:
    def __init__(self, config: BridgeConfig, worker_name: str) -> None:
        self.config = config
        self.url = config.bridge_url
        self.worker_name = worker_name
        self._client: III | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = asyncio.Event()
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def description(self) -> str:
        return f"bridge {self.url}"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        """Start connecting (in the background: an engine starts even when the remote one is
        down, and its calls fail with ``bridge_unavailable`` until it is up)."""
        from pyiii.sdk import III, InitOptions, ReconnectionConfig

        self._loop = asyncio.get_running_loop()
        cfg = self.config
        self._client = III(self.url, InitOptions(
            worker_name=self.worker_name,
            enable_metrics_reporting=False,
            invocation_timeout_ms=cfg.call_timeout_ms,
            reconnection_config=ReconnectionConfig(initial_delay_ms=cfg.reconnect_initial_delay_ms,
                                                   max_delay_ms=cfg.reconnect_max_delay_ms),
            otel={"enabled": False},
            max_message_size=cfg.max_message_bytes,
        ))
        self._unsubscribe = self._client.add_connection_state_listener(self._on_state)
        self._on_state(self._client.get_connection_state())
        log.info("bridge %s: connecting to %s", self.worker_name, self.url)

    def _on_state(self, state: str) -> None:
        # Called on the SDK thread: move to the engine loop.
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._set_connected, state == "connected")

    def _set_connected(self, up: bool) -> None:
        if up and not self._connected.is_set():
            log.info("bridge %s: connected to %s", self.worker_name, self.url)
            self._connected.set()
        elif not up and self._connected.is_set():
            log.warning("bridge %s: lost %s, reconnecting", self.worker_name, self.url)
            self._connected.clear()

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.shutdown)

    async def ping(self) -> None:
        """``/readyz``: fails while the remote engine is unreachable."""
        if not self.connected:
            raise BridgeError(UNAVAILABLE, f"not connected to {self.url}")

    async def _ready(self) -> III:
        if self._client is None:
            raise BridgeError(UNAVAILABLE, f"bridge to {self.url} is not started")
        if not self._connected.is_set():
            try:
                await asyncio.wait_for(self._connected.wait(), self.config.connect_timeout_ms / 1000)
            except TimeoutError:
                raise BridgeError(UNAVAILABLE, f"remote engine {self.url} unreachable for "
                                  f"{self.config.connect_timeout_ms} ms") from None
        return self._client

    async def call(self, function_id: str, payload: Any, timeout_ms: int | None = None,
                   action: Any = None, traceparent: str | None = None, baggage: str | None = None,
                   namespace: str | None = None) -> Any:
        """Invoke ``function_id`` (in ``namespace``, else default) on the remote engine and return
        its result; ``traceparent`` / ``baggage``: the trace the call belongs to, carried there."""
        from pyiii.sdk import InvocationError
        from pyiii.sdk.trace_context import TraceContext, enter, leave

        client = await self._ready()
        timeout_ms = timeout_ms or self.config.call_timeout_ms
        request: dict[str, Any] = {"function_id": function_id, "payload": payload, "timeout_ms": timeout_ms}
        if action is not None:
            request["action"] = action
        if namespace is not None:
            request["namespace"] = namespace
        # The SDK reads the outgoing trace from its context, as it does inside its own handlers.
        token = enter(TraceContext(traceparent, baggage)) if traceparent is not None else None
        try:
            return await client.trigger_async(request)
        except InvocationError as exc:
            if exc.code == "TIMEOUT":
                raise BridgeError(TIMEOUT, f"{function_id} on {self.url}: no answer within {timeout_ms} ms") from None
            if exc.code == "SHUTDOWN":
                raise BridgeError(UNAVAILABLE, f"bridge to {self.url} is shutting down") from None
            raise BridgeError(str(exc.code), str(exc.message)) from None
        finally:
            if token is not None:
                leave(token)

    async def call_void(self, function_id: str, payload: Any, traceparent: str | None = None,
                        baggage: str | None = None) -> None:
        """Fire and forget (still refused with ``bridge_unavailable`` when disconnected)."""
        from pyiii.sdk import TriggerAction

        await self.call(function_id, payload, action=TriggerAction.Void(), traceparent=traceparent, baggage=baggage)

    async def enqueue(self, function_id: str, payload: Any, queue: str, namespace: str | None = None) -> Any:
        """Enqueue on the remote engine; the job runs ``function_id`` in ``namespace`` there."""
        from pyiii.sdk import TriggerAction

        return await self.call(function_id, payload, action=TriggerAction.Enqueue(queue=queue), namespace=namespace)

    def register_function(self, function_id: str, handler: Handler,
                          description: str | None = None) -> Callable[[], None]:
        """Register ``function_id`` on the remote engine; ``handler`` runs on this engine's loop.
        Registered again after every reconnection. Returns its unregister callable."""
        client, loop = self._client, self._loop
        assert client is not None and loop is not None, "start() first"

        async def on_sdk_loop(data: Any) -> Any:
            # The handler's task is created from this thread's context, so the remote call's
            # trace (the SDK's contextvar) is what :func:`incoming_trace` reads there.
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(handler(data), loop))

        return client.register_function(function_id, on_sdk_loop, description=description).unregister

    def register_trigger(self, trigger_type: str, function_id: str, config: Any) -> Callable[[], None]:
        """Register a trigger on the remote engine (again after reconnections); returns its
        unregister callable."""
        assert self._client is not None, "start() first"
        trigger = self._client.register_trigger({"type": trigger_type, "function_id": function_id, "config": config})
        return trigger.unregister
