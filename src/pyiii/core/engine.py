"""The engine core: registries, the invoker and the in-process API (spec/protocol.md §2-§4).

No sockets, no storage and no frames here. The transport gives each connection a
:class:`~pyiii.core.peer.Peer` to send on, announces it with :meth:`Engine.connect_peer` and hands
its frames to a :class:`~pyiii.core.session.Session`, which acts for it on these registries.
Built-in workers use the same registries through :meth:`register_function`,
:meth:`register_trigger_type` and :meth:`call`, so callers cannot tell built-in and remote
functions apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyiii import protocol as p
from pyiii.core import errors as E
from pyiii.core.channels import ChannelRegistry
from pyiii.core.errors import FunctionError, TriggerRegistrationError
from pyiii.core.features import OBSERVE_V1, advertised, shared
from pyiii.core.function_ack import acknowledge_owned
from pyiii.core.functions import CallContext, FunctionEntry, FunctionRegistry, InProcessHandler
from pyiii.core.health import HealthBoard, HealthCheck
from pyiii.core.invoker import Invoker, InvokerLimits
from pyiii.core.message_size import message_limit
from pyiii.core.namespaces import DEFAULT, blank_message, is_blank
from pyiii.core.observe.filters import FilterLimits
from pyiii.core.observe.service import ObserveLimits, ObserveService
from pyiii.core.observer_sets import ObserverSets
from pyiii.core.peer import Peer
from pyiii.core.triggers import Binding, BindingKey, TriggerProvider, TriggerRegistry, TriggerType

log = logging.getLogger("pyiii.engine")

#: Feature strings kept from one register payload (the engine knows two; unknown ones are ignored).
MAX_DECLARED_FEATURES = 64

#: ``(event, worker_id)``: worker_connected | worker_disconnected | worker_metadata_updated
WorkerEventListener = Callable[[str, str], None]
#: Builds the in-process handler of an HTTP-invoked function; raises ValueError to refuse it.
HttpFunctionFactory = Callable[[str, p.HttpInvocationRef], Awaitable[InProcessHandler]]
#: Receives ``(prefix, payload)`` of OTLP / MTRC / LOGS telemetry frames.
TelemetrySink = Callable[[bytes, bytes], None]


@dataclass(slots=True)
class EngineLimits:
    """Every limit is configurable (config.yaml ``engine:`` block; docs/limits.md)."""

    max_functions_per_worker: int = 50_000
    max_triggers_per_worker: int = 50_000
    max_trigger_types_per_worker: int = 1_000
    max_pending_per_worker: int = 65_536
    #: The part of a worker's ``max_pending_per_worker`` one caller may hold (a connection; all
    #: built-in callers count as one): one greedy caller cannot starve the others.
    max_pending_caller_share: float = 0.5
    invocation_timeout_ms: int = 30_000
    reattach_wait_ms: int = 5_000
    #: A health check (e.g. a Redis PING) answering later than this is "down".
    health_check_timeout_ms: int = 1_000
    #: How long one check's answer is reused: probes cannot hammer a dependency.
    health_check_cache_ms: int = 1_000
    #: How long a connection's registrations wait for ``engine::workers::register`` to name its
    #: namespace before they go to ``default`` (top-level ``registration_namespace_grace_ms``,
    #: env ``III_NAMESPACE_GRACE_MS``; spec iii-0.23-0.25 §1.2).
    registration_namespace_grace_ms: int = 5_000
    #: pyiii: a connection that sends nothing for this long without naming a namespace is an
    #: old client (0.22.1 browser SDK, raw clients): its held registrations go to default at
    #: once instead of after the whole grace (docs/compatibility.md, namespaces).
    namespace_hold_quiet_ms: int = 250
    #: Observers (iii 0.25 observe; docs/observe.md): one connection may own at most this many…
    max_observers_per_worker: int = 1_000
    #: …and the engine at most this many.
    max_observers: int = 100_000
    #: An activation deeper than this many observe hops is dropped (loop protection).
    max_observe_depth: int = 8
    #: A source's owner (observe.v1 worker) must accept a new observer within this time.
    observer_ack_timeout_ms: int = 35_000
    #: Activations one observer may hold waiting for a ``max_in_flight`` slot (more: dropped).
    observer_queue_max: int = 1_000
    #: A disconnected worker's observers keep running this long for it to reconnect and replay.
    observer_orphan_grace_ms: int = 30_000
    #: Limits of observer filters (``max_depth``, ``max_nodes``…; docs/observe.md); missing keys
    #: keep the spec's values.
    observe_filter_limits: dict[str, int] = field(default_factory=dict)
    #: The features ``workerregistered`` advertises (spec iii-0.23-0.25 §2; core/features.py).
    #: None: every feature the engine implements; ``[]``: none (a 0.24-like engine: 0.25 SDKs
    #: then report ``observe()`` as UNSUPPORTED and route every call through the engine).
    features: list[str] | None = None
    #: The largest message sent to a worker that may read only 1 MiB (an official Python SDK
    #: before 0.24.6, or a connection that reported nothing yet, without ``large-messages.v1``);
    #: a bigger call or result is answered with ``payload_too_large``. 0: no such limit.
    legacy_max_message_bytes: int = 1024 * 1024
    #: Longest string kept from a worker's ``caller`` (function and invocation ids, spec §5.9).
    max_caller_field_chars: int = 512
    #: Most functions (and dropped-report rows) one ``localinvocationstats`` may list (spec §3.4).
    max_local_stats_rows: int = 1024

    def __post_init__(self) -> None:
        FilterLimits.from_config(self.observe_filter_limits)  # a bad key fails at config load
        if not 0 < self.max_pending_caller_share <= 1:
            raise ValueError("max_pending_caller_share must be > 0 and <= 1")
        advertised(self.features)  # raises ValueError for a feature the engine does not have
        if self.legacy_max_message_bytes < 0 or self.max_caller_field_chars < 1 or self.max_local_stats_rows < 1:
            raise ValueError(
                "legacy_max_message_bytes must be >= 0, max_caller_field_chars and max_local_stats_rows >= 1"
            )

    @property
    def max_pending_per_caller(self) -> int:
        return max(1, int(self.max_pending_per_worker * self.max_pending_caller_share))


@dataclass(slots=True)
class InProcessWorker:
    """A built-in worker as ``engine::workers::list`` shows it."""

    id: str
    name: str
    description: str = ""
    functions: set[str] = field(default_factory=set)


class Engine:
    """What every connection shares (registries, invoker, peers, worker events) and the
    in-process API built-in workers use; one connection's frames are its Session's."""

    def __init__(self, limits: EngineLimits | None = None, version: str = "0.0.0") -> None:
        self.limits = limits or EngineLimits()
        self.version = version
        #: What ``workerregistered.features`` lists (core/features.py).
        self.features: tuple[str, ...] = advertised(self.limits.features)
        self.functions = FunctionRegistry()
        self.triggers = TriggerRegistry(max_per_owner=self.limits.max_triggers_per_worker)
        self.channels = ChannelRegistry()
        self.invoker = Invoker(
            self.functions,
            InvokerLimits(
                max_pending_per_peer=self.limits.max_pending_per_worker,
                max_pending_per_caller=self.limits.max_pending_per_caller,
                default_timeout=self.limits.invocation_timeout_ms / 1000,
                max_caller_field_chars=self.limits.max_caller_field_chars,
            ),
        )
        #: Engine spans (pyiii.core.spans); the observability worker installs the recorder.
        self.tracer = self.invoker.tracer
        lim = self.limits
        self.observe = ObserveService(self.functions, self.invoker, ObserveLimits(
            lim.max_observers_per_worker, lim.max_observers, lim.max_observe_depth, lim.observer_ack_timeout_ms,
            lim.observer_queue_max, lim.observer_orphan_grace_ms, FilterLimits.from_config(lim.observe_filter_limits),
        ))
        #: Where ``functionregistered`` finds a function's observer set (spec §3.1).
        self.observer_sets: ObserverSets = self.observe.registry
        self.peers: dict[str, Peer] = {}
        self.in_process_workers: dict[str, InProcessWorker] = {}
        #: ``(namespace, worker name)`` -> the live connection holding it (0.23+ workers, D1).
        self.worker_names: dict[tuple[str, str], Peer] = {}
        self.http_function_factory: HttpFunctionFactory | None = None
        self.telemetry_sink: TelemetrySink | None = None
        self._worker_listeners: list[WorkerEventListener] = []
        self._cleanups: dict[str, asyncio.Task[None]] = {}
        self._pending_trigger_acks: dict[str, asyncio.Future[p.TriggerRegistrationResult]] = {}
        self.stopping = False
        #: Awaited with the grace (s) when shutdown begins, while workers are still connected:
        #: front doors (the HTTP server) stop accepting and drain their in-flight requests.
        self.before_shutdown: list[Callable[[float], Awaitable[None]]] = []
        self.started_at_ms = int(time.time() * 1000)
        #: Set once every configured worker started (``/readyz``); workers add named checks of
        #: their connections (e.g. Redis) that must also hold for the engine to be ready.
        self.ready = False
        self.health_checks: dict[str, HealthCheck] = {}
        self.health = HealthBoard(
            self.health_checks, self.limits.health_check_timeout_ms / 1000, self.limits.health_check_cache_ms / 1000
        )

    # ================================================================= in-process API

    def add_in_process_worker(self, worker_id: str, name: str, description: str = "") -> InProcessWorker:
        worker = InProcessWorker(worker_id, name, description)
        self.in_process_workers[worker_id] = worker
        return worker

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
        namespace: str = DEFAULT,
    ) -> FunctionEntry:
        """Register an in-process function in ``namespace`` (overwrites any registration of the id there)."""
        entry = FunctionEntry(
            id=function_id,
            description=description,
            metadata=metadata,
            request_format=request_format,
            response_format=response_format,
            handler=handler,
            worker_name=worker,
            input_type=input_type,
            namespace=namespace,
        )
        self.functions.put(entry)
        if worker is not None and worker in self.in_process_workers:
            self.in_process_workers[worker].functions.add(function_id)
        return entry

    def unregister_function(self, function_id: str, worker: str | None = None, namespace: str = DEFAULT) -> bool:
        """Remove an in-process function; with ``worker``, also from that worker's listing (the
        counterpart of ``register_function(worker=...)``)."""
        removed = self.functions.remove(function_id, None, namespace)
        record = self.in_process_workers.get(worker) if worker is not None else None
        if record is not None:
            record.functions.discard(function_id)
        return removed

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
        """``binding_key`` makes the type serve one binding per key (see core/triggers.py)."""
        await self.triggers.add_type(
            TriggerType(
                type_id, description, trigger_request_format, call_request_format, provider, None, worker, binding_key
            )
        )

    async def register_trigger(
        self,
        trigger_type: str,
        function_id: str,
        config: Any = None,
        *,
        metadata: Any = None,
        trigger_id: str | None = None,
        namespace: str = DEFAULT,
        trigger_namespace: str | None = None,
    ) -> str:
        """Create an ownerless binding of ``function_id`` in ``namespace`` (its provider: in
        ``trigger_namespace``, else home then default); raises TriggerRegistrationError if refused."""
        binding = Binding(trigger_id or str(uuid.uuid4()), trigger_type, function_id, config, metadata,
                          namespace=namespace, trigger_namespace=trigger_namespace)
        await self.triggers.add_binding(binding)
        return binding.id

    async def unregister_trigger(self, trigger_id: str) -> bool:
        return await self.triggers.remove_binding(trigger_id)

    async def call(self, function_id: str, data: Any, **kwargs: Any) -> Any:
        """Call any function with Python values; see :meth:`Invoker.call`."""
        return await self.invoker.call(function_id, data, **kwargs)

    def call_void(self, function_id: str, data: Any, **kwargs: Any) -> None:
        self.invoker.call_void(function_id, data, **kwargs)

    async def fire(self, binding: Binding, payload: Any, **kwargs: Any) -> Any:
        """Run a binding's function with an event payload and the binding's metadata."""
        if binding.grant is not None:
            self._check_grant(binding, binding.function_id)
        return await self.invoker.call(
            binding.function_id, payload, metadata=binding.metadata, namespace=binding.namespace, **kwargs
        )

    async def call_for(self, binding: Binding, function_id: str, data: Any, **kwargs: Any) -> Any:
        """Call a function on behalf of a binding (its condition or middleware), in the
        binding's namespace."""
        if binding.grant is not None:
            self._check_grant(binding, function_id)
        return await self.invoker.call(function_id, data, namespace=binding.namespace, **kwargs)

    def _check_grant(self, binding: Binding, function_id: str) -> None:
        """A session's binding is checked on every run: the function under an id may have
        changed (owner, metadata) since it was bound."""
        assert binding.grant is not None
        entry = self.functions.get(function_id, binding.namespace)
        reason = binding.grant.call_refusal(function_id, entry, binding.owner, binding.namespace)
        if reason is not None:
            log.warning("trigger %s not fired: %s", binding.id, reason)
            raise FunctionError(E.FORBIDDEN, reason)

    def on_worker_event(self, listener: WorkerEventListener) -> None:
        self._worker_listeners.append(listener)

    def _worker_event(self, event: str, worker_id: str) -> None:
        for listener in self._worker_listeners:
            try:
                listener(event, worker_id)
            except Exception:
                log.exception("worker event listener failed")

    def worker_metadata_updated(self, peer: Peer) -> None:
        self.refresh_message_limit(peer)
        self._worker_event("worker_metadata_updated", peer.worker_id)

    def refresh_message_limit(self, peer: Peer) -> None:
        """What ``peer`` reads changed (its metadata, its features, its hold ran out)."""
        peer.max_message_bytes = message_limit(peer, self.limits.legacy_max_message_bytes)

    def accept_features(self, peer: Peer, declared: Sequence[str]) -> None:
        """The features a worker declared in ``engine::workers::register`` (spec §2.1): what
        both sides list decides the frames and fields it gets from now on."""
        peer.features = tuple(f for f in declared[:MAX_DECLARED_FEATURES] if isinstance(f, str))
        peer.shared_features = shared(self.features, peer.features)
        self.refresh_message_limit(peer)

    # ================================================================= namespaces

    async def declare_namespace(
        self, peer: Peer, declared: str | None, name: str | None, *, aware: bool,
        features: Sequence[str] | None = None,
    ) -> bool:
        """``engine::workers::register`` named the connection's namespace (None: default).
        Claims the worker name in it for a 0.23+ worker (``aware``; decision D1), then fixes
        the namespace and applies the held registrations. False: the name is taken by another
        live worker; the claimant got ``registrationrejected`` and is closed. ``features``: what
        the worker declared (0.25), known before its held registrations are applied so that they
        are acknowledged; ignored when the grace timer fixed the namespace first (spec §2.1)."""
        if aware:
            peer.namespace_aware = True
        gate = peer.namespace_gate
        fixed = gate is None or gate.namespace_fixed
        namespace = peer.namespace if fixed else (declared or DEFAULT)
        if fixed and declared is not None and declared != peer.namespace:
            log.warning(
                "late engine::workers::register from %s: namespace %r ignored, it stays in %r",
                peer.display_name, declared, peer.namespace,
            )
        if aware and name:
            holder = self.worker_names.get((namespace, name))
            if holder is not None and holder is not peer and holder.connected and holder.worker_id in self.peers:
                await self._reject_worker(peer, namespace, name, holder)
                return False
            self.worker_names[(namespace, name)] = peer
        if features is not None:  # after the name claim: a refused register call declares nothing
            await self._declare_features(peer, features)
        if gate is not None and not fixed:
            await gate.resolve_namespace(namespace)
        return True

    async def _declare_features(self, peer: Peer, features: Sequence[str]) -> None:
        """Take the features of a register call, before the held registrations are applied (so
        they are acknowledged); what was registered before gets its acknowledgements now."""
        if peer.namespace_timed_out:
            log.info("features of %s ignored: the grace timer fixed its namespace first", peer.display_name)
            return
        observed_before = OBSERVE_V1 in peer.shared_features
        self.accept_features(peer, features)
        if not observed_before and peer.functions:
            found = (self.functions.get(fid, peer.namespace) for fid in sorted(peer.functions))
            owned = [e for e in found if e is not None and e.owner is peer]
            await acknowledge_owned(self.observer_sets, peer, owned)

    async def _reject_worker(self, peer: Peer, namespace: str, name: str, holder: Peer) -> None:
        if peer.namespace_gate is not None:
            peer.namespace_gate.drop_held()
        log.warning("worker %s refused: the name is taken in namespace %r by %s", name, namespace, holder.worker_id)
        try:
            await peer.send_frame(p.encode(p.RegistrationRejected(
                code=E.WORKER_NAMESPACE_CONFLICT, namespace=namespace, owner_worker_id=holder.worker_id,
                worker_name=name,
            )))
        except ConnectionError:
            return
        # Only 0.23+ workers get here (D1): they stop reconnecting on this frame.
        self.invoker.spawn(peer.close(1000, "worker name taken in this namespace"))

    # ================================================================= peers

    async def connect_peer(self, peer: Peer) -> None:
        """A connection passed authentication: greet it and announce it."""
        self.peers[peer.worker_id] = peer
        self.refresh_message_limit(peer)
        await peer.send_frame(p.encode(p.WorkerRegistered(
            worker_id=peer.worker_id, reattach_token=peer.reattach_token, features=list(self.features) or None,
        )))
        self._worker_event("worker_connected", peer.worker_id)

    async def disconnect_peer(self, peer: Peer) -> None:
        """Run the cleanup of spec §3.11 exactly once; concurrent callers wait for it."""
        task = self._cleanups.get(peer.worker_id)
        if task is None:
            task = asyncio.ensure_future(self._cleanup(peer))
            self._cleanups[peer.worker_id] = task
        await asyncio.shield(task)

    async def _cleanup(self, peer: Peer) -> None:
        peer.connected = False
        if peer.namespace_gate is not None:
            peer.namespace_gate.drop_held()
        name = peer.metadata.name
        if name and self.worker_names.get((peer.namespace, name)) is peer:
            del self.worker_names[(peer.namespace, name)]
        try:
            self.observe.peer_gone(peer)
            for function_id in list(peer.functions):
                self.functions.remove(function_id, peer)
            peer.functions.clear()
            failed = self.invoker.drop_peer(peer)
            if failed:
                log.info("worker %s left: %d waiting call(s) failed with invocation_stopped", peer.display_name, failed)
            await self.triggers.drop_peer(peer)
        finally:
            self.peers.pop(peer.worker_id, None)
            self._worker_event("worker_disconnected", peer.worker_id)
            loop = asyncio.get_running_loop()
            loop.call_later(60, self._cleanups.pop, peer.worker_id, None)

    # ================================================================= engine::register_trigger

    async def register_trigger_for(
        self,
        caller: Peer | None,
        trigger_type: str,
        function_id: str,
        config: Any,
        metadata: Any,
        ack_timeout: float = 10.0,
        *,
        trigger_namespace: str | None = None,
    ) -> str:
        """``engine::register_trigger``: an ownerless binding; waits for a worker provider's
        answer up to ``ack_timeout`` seconds (spec §4.10). An RBAC session's binding is its own
        instead: it goes with the session, which alone may remove it."""
        if is_blank(trigger_namespace):
            raise FunctionError(E.INVALID_NAMESPACE, blank_message("trigger_namespace"))
        access = caller.access if caller is not None else None
        denied = access.bind_refusal(trigger_type) if access is not None else None
        if denied is not None:
            raise FunctionError(E.FORBIDDEN, denied)
        binding = Binding(
            str(uuid.uuid4()), trigger_type, access.prefixed(function_id) if access else function_id, config, metadata,
            owner=caller if access is not None and access.rbac else None,
            grant=access if access is not None and access.restricted else None,
            # Target, home and provider namespace default (spec iii-0.23-0.25 §1.6).
            trigger_namespace=trigger_namespace,
        )
        if binding.grant is not None:
            reason = binding.grant.targets_refusal(binding.targets(), self.functions, caller)
            if reason is not None:
                raise FunctionError(E.FORBIDDEN, reason)
        tt = self.triggers.resolve(binding)
        waiter: asyncio.Future[p.TriggerRegistrationResult] | None = None
        if tt is not None and tt.owner is not None:
            waiter = asyncio.get_running_loop().create_future()
            self._pending_trigger_acks[binding.id] = waiter
        try:
            try:
                await self.triggers.add_binding(binding)
            except TriggerRegistrationError as exc:
                code = exc.code if exc.code in (E.FORBIDDEN, E.LIMIT_EXCEEDED) else E.TRIGGER_REGISTRATION_FAILED
                raise FunctionError(code, exc.message) from None
            if waiter is not None:
                try:
                    answer = await asyncio.wait_for(waiter, ack_timeout)
                except TimeoutError:
                    return binding.id
                if answer.error is not None:
                    await self.triggers.remove_binding(binding.id)
                    raise FunctionError(E.TRIGGER_REGISTRATION_FAILED, f"{answer.error.code}: {answer.error.message}")
            return binding.id
        finally:
            self._pending_trigger_acks.pop(binding.id, None)

    def take_trigger_ack(self, provider: Peer, answer: p.TriggerRegistrationResult) -> bool:
        """A worker ``provider`` answered a binding :meth:`register_trigger_for` waits on: hand
        the answer over (True). False: nobody waits for it, or ``provider`` is not who provides
        its type."""
        waiter = self._pending_trigger_acks.get(answer.id)
        if waiter is None or waiter.done():
            return False
        binding = self.triggers.live.get(answer.id)
        tt = self.triggers.provider_of(binding) if binding else None
        if tt is not None and tt.owner is not provider:
            return False
        waiter.set_result(answer)
        return True

    async def unregister_trigger_for(self, caller: Peer | None, trigger_id: str) -> bool:
        """``engine::unregister_trigger``: a session may remove only bindings it owns."""
        binding = self.triggers.find(trigger_id)
        if binding is not None and caller is not None and not caller.access.may_remove(binding, caller):
            raise FunctionError(E.FORBIDDEN, f"trigger '{trigger_id}' is owned by another worker")
        return await self.triggers.remove_binding(trigger_id)

    # ================================================================= shutdown

    async def shutdown(self, grace: float = 5.0) -> None:
        """Drain in-flight calls for up to ``grace`` seconds, answer every caller still waiting
        with ``engine_shutdown``, then close every worker connection (1012, service restart)."""
        self.stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        if self.before_shutdown:
            await asyncio.gather(*(hook(grace) for hook in self.before_shutdown), return_exceptions=True)
        while self.invoker.pending and loop.time() < deadline:  # noqa: ASYNC110 - shutdown only
            await asyncio.sleep(0.05)
        await self.invoker.drain(max(0.0, deadline - loop.time()))
        failed = await self.invoker.fail_all("engine_shutdown", "the engine is shutting down")
        if failed:
            log.info("%d call(s) still in flight at shutdown were answered with engine_shutdown", failed)
        for peer in list(self.peers.values()):
            try:
                # Not 1000/1001: the official Python SDK iterates its socket with ``async for``,
                # which ends *silently* on a normal close, so it would never reconnect. 1012
                # (service restart) reaches every SDK as an abnormal close, and they reconnect.
                await asyncio.wait_for(peer.close(1012, "engine shutting down"), 2)
            except (TimeoutError, ConnectionError):
                pass
            await self.disconnect_peer(peer)


__all__ = ["CallContext", "Engine", "EngineLimits", "FunctionError", "InProcessWorker"]
