"""What a built-in worker may do with the engine it runs in (ARCHITECTURE rule 10).

:class:`Host` is a thin facade: every method delegates to :class:`~pyiii.core.engine.Engine`'s
in-process API or to its registries, and keeps no state of its own. A worker receives one host,
never the engine: it registers and calls through the same API a remote worker has, reads the
registries through read-only views, and installs its hooks through named methods instead of
assigning engine attributes. Data a worker owns is served through its functions.
"""

from __future__ import annotations

from dataclasses import fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from pyiii.core.namespaces import DEFAULT as DEFAULT_NAMESPACE
from pyiii.core.spans import in_span

T = TypeVar("T")

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
    from typing import Protocol

    from pyiii import protocol as p
    from pyiii.core.channels import Channel
    from pyiii.core.engine import Engine, InProcessWorker
    from pyiii.core.functions import FunctionEntry, InProcessHandler
    from pyiii.core.health import HealthCheck, HealthStatus
    from pyiii.core.peer import Peer, WorkerMetadata
    from pyiii.core.spans import PassThroughSpan, Span, Tracer
    from pyiii.core.triggers import Binding, BindingKey, TriggerProvider, TriggerType

    # Types of the hooks (annotations only: nothing here costs at import time).
    #: ``(event, worker_id)``: worker_connected | worker_disconnected | worker_metadata_updated
    WorkerEventListener = Callable[[str, str], None]
    #: Receives ``(prefix, payload)`` of the OTLP / MTRC / LOGS telemetry frames workers send.
    FrameSink = Callable[[bytes, bytes], None]
    #: Builds the in-process handler of an HTTP-invoked function; raises ValueError to refuse it.
    HttpFunctionFactory = Callable[[str, "p.HttpInvocationRef"], Awaitable["InProcessHandler"]]
    #: Called as ``(function_id, seconds, error_code_or_None)`` after every finished call.
    CallObserver = Callable[[str, float, "str | None"], None]
    #: Called as ``(function_id, count, errors, seconds_sum)`` for reported in-process calls.
    LocalStatsObserver = Callable[[str, int, int, float], None]
    #: Awaited with the grace (s) when shutdown begins, while remote workers are still connected.
    ShutdownStep = Callable[[float], Awaitable[None]]

    class FunctionsView(Protocol):
        """The function registry, read-only."""

        def get(self, function_id: str, namespace: str = ...) -> FunctionEntry | None:
            """``function_id`` in ``namespace`` (default: ``default``)."""

        def all(self) -> list[FunctionEntry]:
            """Every namespace's functions."""

        def namespaces_of(self, function_id: str) -> list[str]:
            """Sorted namespaces in which ``function_id`` is registered."""

        def __contains__(self, function_id: object) -> bool: ...

        def __len__(self) -> int: ...


class Host:
    """The engine as one built-in worker sees it. Built by the engine runner, one per engine."""

    __slots__ = ("_engine",)

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # ------------------------------------------------------------------ identity

    @property
    def version(self) -> str:
        """The engine's version (shown in worker rows, expanded in configuration values)."""
        return self._engine.version

    @property
    def started_at_ms(self) -> int:
        """Wall clock (ms since the epoch) at which the engine was created."""
        return self._engine.started_at_ms

    # ------------------------------------------------------------------ workers

    def add_in_process_worker(self, worker_id: str, name: str, description: str = "") -> None:
        """List a built-in worker in ``engine::workers::list`` (``BuiltinWorker`` does it)."""
        self._engine.add_in_process_worker(worker_id, name, description)

    @property
    def in_process_workers(self) -> Mapping[str, InProcessWorker]:
        """Built-in workers by entry id, read-only."""
        return MappingProxyType(self._engine.in_process_workers)

    @property
    def connected_workers(self) -> Mapping[str, Peer]:
        """Remote worker connections by worker id, read-only."""
        return MappingProxyType(self._engine.peers)

    def update_worker_metadata(self, peer: Peer, reported: WorkerMetadata) -> None:
        """Record what a remote worker reports about itself (``engine::workers::register``) and
        announce it (``worker_metadata_updated``)."""
        for item in fields(reported):
            setattr(peer.metadata, item.name, getattr(reported, item.name))
        self._engine.worker_metadata_updated(peer)

    async def declare_namespace(
        self, peer: Peer, declared: str | None, name: str | None, *, aware: bool,
        features: Sequence[str] | None = None,
    ) -> bool:
        """``engine::workers::register`` names the connection's namespace (None: default):
        claims ``name`` in it for a 0.23+ worker, fixes it and applies the held registrations.
        False: the name is taken there; the worker was sent ``registrationrejected`` and closed.
        ``features``: what the worker declared (0.25), which decides the frames it gets."""
        return await self._engine.declare_namespace(peer, declared, name, aware=aware, features=features)

    def on_worker_event(self, listener: WorkerEventListener) -> None:
        """Be told when a remote worker connects, disconnects or reports its metadata."""
        self._engine.on_worker_event(listener)

    # ------------------------------------------------------------------ functions

    def register_function(
        self,
        function_id: str,
        handler: InProcessHandler,
        *,
        description: str | None = None,
        metadata: Any = None,
        request_format: Any = None,
        response_format: Any = None,
        worker: str | None = None,
        input_type: Any = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> FunctionEntry:
        """Register an in-process function in ``namespace`` (overwrites any registration of the
        id there); ``worker`` is the registering worker's entry id, ``input_type`` a msgspec type
        the payload is converted to before ``handler`` sees it."""
        return self._engine.register_function(
            function_id, handler, description=description, metadata=metadata, request_format=request_format,
            response_format=response_format, worker=worker, input_type=input_type, namespace=namespace,
        )

    def unregister_function(self, function_id: str, worker: str | None = None,
                            namespace: str = DEFAULT_NAMESPACE) -> bool:
        """Remove an in-process function; with ``worker``, also from that worker's listing."""
        return self._engine.unregister_function(function_id, worker, namespace)

    @property
    def functions(self) -> FunctionsView:
        """Every registered function (built-in and remote), read-only."""
        return self._engine.functions

    def observer_rows(self) -> list[dict[str, Any]]:
        """Every observer (iii 0.25 observe) as ``engine::observers::list`` shows it: a copy."""
        return self._engine.observe.rows()

    def on_functions_changed(self, listener: Callable[[], None]) -> None:
        """Be told (synchronously) whenever a function is registered or removed."""
        self._engine.functions.on_change(listener)

    # ------------------------------------------------------------------ trigger types, bindings

    async def register_trigger_type(
        self,
        type_id: str,
        provider: TriggerProvider,
        *,
        description: str = "",
        trigger_request_format: Any = None,
        call_request_format: Any = None,
        worker: str | None = None,
        binding_key: BindingKey | None = None,
    ) -> None:
        """Provide a trigger type: ``provider`` is told of every binding of it (those parked
        while no provider existed included). ``binding_key``: one live binding per key."""
        await self._engine.register_trigger_type(
            type_id, provider, description=description, trigger_request_format=trigger_request_format,
            call_request_format=call_request_format, worker=worker, binding_key=binding_key,
        )

    @property
    def trigger_types(self) -> Mapping[tuple[str, str], TriggerType]:
        """Trigger-type providers by ``(namespace, type id)``, read-only (built-ins serve
        ``default``; one type id may have a provider in several namespaces)."""
        return MappingProxyType(self._engine.triggers.providers)

    def trigger_provider(self, binding: Binding) -> TriggerType | None:
        """The provider serving ``binding`` now (None while it waits for one)."""
        return self._engine.triggers.provider_of(binding)

    @property
    def bindings(self) -> Mapping[str, Binding]:
        """Live bindings (registered triggers that reached their provider) by id, read-only."""
        return MappingProxyType(self._engine.triggers.live)

    async def register_trigger(self, trigger_type: str, function_id: str, config: Any = None, *,
                               metadata: Any = None, trigger_id: str | None = None,
                               namespace: str = DEFAULT_NAMESPACE, trigger_namespace: str | None = None) -> str:
        """Bind ``function_id`` (in ``namespace``) to a trigger (ownerless; its provider in
        ``trigger_namespace``, else home then default); raises TriggerRegistrationError if refused."""
        return await self._engine.register_trigger(trigger_type, function_id, config, metadata=metadata,
                                                   trigger_id=trigger_id, namespace=namespace,
                                                   trigger_namespace=trigger_namespace)

    async def unregister_trigger(self, trigger_id: str) -> bool:
        """Remove a binding; False if there was none."""
        return await self._engine.unregister_trigger(trigger_id)

    async def register_trigger_for(self, caller: Peer | None, trigger_type: str, function_id: str, config: Any,
                                   metadata: Any, trigger_namespace: str | None = None) -> str:
        """``engine::register_trigger`` on behalf of ``caller``: its access rules apply, and an
        RBAC session's binding is its own. ``trigger_namespace``: its provider's namespace
        (strict); None: ``default``."""
        return await self._engine.register_trigger_for(
            caller, trigger_type, function_id, config, metadata, trigger_namespace=trigger_namespace
        )

    async def unregister_trigger_for(self, caller: Peer | None, trigger_id: str) -> bool:
        """``engine::unregister_trigger`` on behalf of ``caller`` (a session removes only its own)."""
        return await self._engine.unregister_trigger_for(caller, trigger_id)

    # ------------------------------------------------------------------ calls

    async def call(self, function_id: str, data: Any, **kwargs: Any) -> Any:
        """Call any function with Python values (``metadata``, ``traceparent``, ``baggage``,
        ``caller``, ``timeout``); raises FunctionError."""
        return await self._engine.call(function_id, data, **kwargs)

    def call_void(self, function_id: str, data: Any, **kwargs: Any) -> None:
        """Call and do not wait; a failure is logged."""
        self._engine.call_void(function_id, data, **kwargs)

    def fire(self, binding: Binding, payload: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
        """Run a binding's function with an event payload and the binding's metadata (a
        session's binding is checked against its grant on every run). Await it: it is the
        engine's coroutine itself, without a frame of its own (every HTTP request fires one)."""
        return self._engine.fire(binding, payload, **kwargs)

    async def call_for(self, binding: Binding, function_id: str, data: Any, **kwargs: Any) -> Any:
        """Call a function on behalf of a binding (its condition or middleware)."""
        return await self._engine.call_for(binding, function_id, data, **kwargs)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` in the background; shutdown waits for it within the grace period."""
        return self._engine.invoker.spawn(work)

    def spawn_in_span(self, span: Span | PassThroughSpan, work: Callable[[str | None], Awaitable[T]],
                      failed: Callable[[T], str | None] | None = None) -> asyncio.Task[T]:
        """:meth:`spawn` ``work(traceparent)`` inside ``span`` (from ``tracer.start_span``): the
        span ends ok, or as an error when ``work`` raises or ``failed(result)`` names a failure."""
        return self._engine.invoker.spawn(in_span(span, work, failed))

    def add_call_observer(self, observer: CallObserver) -> None:
        """Be told the duration and outcome of every finished call (the metrics)."""
        self._engine.invoker.observers.append(observer)

    def remove_call_observer(self, observer: CallObserver) -> None:
        if observer in self._engine.invoker.observers:
            self._engine.invoker.observers.remove(observer)

    def add_local_stats_observer(self, observer: LocalStatsObserver) -> None:
        """Be told of the calls workers ran in-process (local dispatch) and reported: the
        engine never saw them, so call observers did not either."""
        self._engine.invoker.local_observers.append(observer)

    def remove_local_stats_observer(self, observer: LocalStatsObserver) -> None:
        if observer in self._engine.invoker.local_observers:
            self._engine.invoker.local_observers.remove(observer)

    # ------------------------------------------------------------------ tracing

    @property
    def tracer(self) -> Tracer:
        """The engine tracer: ``enabled``, ``start_span``; a no-op until the observability
        worker installs its recorder (``install``/``uninstall``, ``untraced``, ``open_trigger``)."""
        return self._engine.tracer

    # ------------------------------------------------------------------ hooks

    def add_health_check(self, name: str, check: HealthCheck) -> None:
        """A dependency ``/readyz`` and ``engine::health::check`` report (e.g. a Redis PING):
        a callable returning a bool or an awaitable that raises when it is down."""
        self._engine.health_checks[name] = check

    async def health_report(self) -> dict[str, HealthStatus]:
        """The status of every health check (each answer cached briefly)."""
        return await self._engine.health.report()

    def add_shutdown_step(self, step: ShutdownStep) -> None:
        """Awaited with the grace (s) when shutdown begins, before calls are drained: a front
        door stops accepting and drains its in-flight requests."""
        self._engine.before_shutdown.append(step)

    def set_frame_sink(self, sink: FrameSink) -> None:
        """Receive every telemetry frame (OTLP / MTRC / LOGS) a worker connection sends."""
        self._engine.telemetry_sink = sink

    def clear_frame_sink(self, sink: FrameSink) -> None:
        """Stop receiving telemetry frames, if ``sink`` is still the one installed."""
        if self._engine.telemetry_sink == sink:
            self._engine.telemetry_sink = None

    def set_http_function_factory(self, factory: HttpFunctionFactory) -> None:
        """Serve HTTP-invoked functions (a ``registerfunction`` with an ``invocation`` block):
        ``factory`` builds the in-process handler that makes the HTTP request."""
        self._engine.http_function_factory = factory

    def clear_http_function_factory(self, factory: HttpFunctionFactory) -> None:
        """Stop serving HTTP-invoked functions, if ``factory`` is still the one installed."""
        if self._engine.http_function_factory == factory:
            self._engine.http_function_factory = None

    # ------------------------------------------------------------------ data channels

    def create_channel(self, buffer_size: int | None = None) -> Channel:
        """A new data channel (its ``refs()`` are what a worker attaches to over WebSocket)."""
        return self._engine.channels.create(buffer_size)

    def abort_channel(self, channel: Channel) -> None:
        """The stream this worker writes into ``channel`` broke off: its reader gets an error
        (now, or when it attaches within the grace), never a clean end."""
        self._engine.channels.abort(channel)

    def finish_channel(self, channel: Channel, side: str) -> None:
        """Mark one side (``"read"``/``"write"``) done; a channel both sides finished is forgotten."""
        self._engine.channels.finish(channel, side)

    def sweep_channels(self) -> int:
        """Forget channels a side never attached to within their TTL; returns how many."""
        return self._engine.channels.sweep()

    # ------------------------------------------------------------------ transport only

    @property
    def engine_for_transport(self) -> Engine:
        """The engine itself, for ``iii-worker-manager`` only: its listeners are the transport,
        which feeds frames into the engine and connects peers. Workers never use it (the import
        contract test fails on any use outside ``pyiii.transport``)."""
        return self._engine


__all__ = ["Host"]
