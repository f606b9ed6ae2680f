"""The engine core: registries, the invoker and the per-frame rules (spec/protocol.md §1-§3).

No sockets and no storage here. The transport hands frames in through :meth:`Engine.handle_frame`
and gives each connection a :class:`~pyiii.core.peer.Peer` to send on. Built-in workers use the
same registries through :meth:`register_function`, :meth:`register_trigger_type` and
:meth:`call`, so callers cannot tell built-in and remote functions apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec

from pyiii import protocol as p
from pyiii.core import errors as E
from pyiii.core.access import Access
from pyiii.core.channels import ChannelRegistry
from pyiii.core.errors import FunctionError, TriggerRegistrationError
from pyiii.core.functions import CallContext, FunctionEntry, FunctionRegistry, InProcessHandler
from pyiii.core.health import HealthBoard, HealthCheck
from pyiii.core.invoker import Invoker, InvokerLimits, decode_payload
from pyiii.core.peer import Peer
from pyiii.core.triggers import Binding, BindingKey, TriggerProvider, TriggerRegistry, TriggerType
from pyiii.ids import uuid4_text

log = logging.getLogger("pyiii.engine")
#: first characters of a frame that may be all blanks (bytes and str frames)
_BLANK = frozenset((b" ", b"\t", b"\r", b"\n", " ", "\t", "\r", "\n"))

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

    def __post_init__(self) -> None:
        if not 0 < self.max_pending_caller_share <= 1:
            raise ValueError("max_pending_caller_share must be > 0 and <= 1")

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
    def __init__(self, limits: EngineLimits | None = None, version: str = "0.0.0") -> None:
        self.limits = limits or EngineLimits()
        self.version = version
        self.functions = FunctionRegistry()
        self.triggers = TriggerRegistry(max_per_owner=self.limits.max_triggers_per_worker)
        self.channels = ChannelRegistry()
        self.invoker = Invoker(
            self.functions,
            InvokerLimits(
                max_pending_per_peer=self.limits.max_pending_per_worker,
                max_pending_per_caller=self.limits.max_pending_per_caller,
                default_timeout=self.limits.invocation_timeout_ms / 1000,
            ),
        )
        #: Engine spans (pyiii.core.spans); the observability worker installs the recorder.
        self.tracer = self.invoker.tracer
        self.peers: dict[str, Peer] = {}
        self.in_process_workers: dict[str, InProcessWorker] = {}
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
    ) -> FunctionEntry:
        """Register an in-process function (overwrites any registration of the id)."""
        entry = FunctionEntry(
            id=function_id,
            description=description,
            metadata=metadata,
            request_format=request_format,
            response_format=response_format,
            handler=handler,
            worker_name=worker,
            input_type=input_type,
        )
        self.functions.put(entry)
        if worker is not None and worker in self.in_process_workers:
            self.in_process_workers[worker].functions.add(function_id)
        return entry

    def unregister_function(self, function_id: str) -> bool:
        return self.functions.remove(function_id, None)

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
    ) -> str:
        """Create an ownerless binding; raises TriggerRegistrationError if refused."""
        binding = Binding(trigger_id or str(uuid.uuid4()), trigger_type, function_id, config, metadata)
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
        return await self.invoker.call(binding.function_id, payload, metadata=binding.metadata, **kwargs)

    async def call_for(self, binding: Binding, function_id: str, data: Any, **kwargs: Any) -> Any:
        """Call a function on behalf of a binding (its condition or middleware)."""
        if binding.grant is not None:
            self._check_grant(binding, function_id)
        return await self.invoker.call(function_id, data, **kwargs)

    def _check_grant(self, binding: Binding, function_id: str) -> None:
        """A session's binding is checked on every run: the function under an id may have
        changed (owner, metadata) since it was bound."""
        assert binding.grant is not None
        reason = self._target_denied(binding.grant, [function_id], binding.owner)
        if reason is not None:
            log.warning("trigger %s not fired: %s", binding.id, reason)
            raise FunctionError(E.FORBIDDEN, reason)

    def _target_denied(self, access: Access, function_ids: list[str], registrant: Peer | None) -> str | None:
        """Why a binding of this session may not run one of ``function_ids`` (None: it may)."""
        for function_id in function_ids:
            allowed, remediation = access.may_call(function_id, self.functions.get(function_id), registrant)
            if not allowed:
                return f"function '{function_id}' not allowed ({remediation})"
        return None

    def on_worker_event(self, listener: WorkerEventListener) -> None:
        self._worker_listeners.append(listener)

    def _worker_event(self, event: str, worker_id: str) -> None:
        for listener in self._worker_listeners:
            try:
                listener(event, worker_id)
            except Exception:
                log.exception("worker event listener failed")

    def worker_metadata_updated(self, peer: Peer) -> None:
        self._worker_event("worker_metadata_updated", peer.worker_id)

    # ================================================================= peers

    async def connect_peer(self, peer: Peer) -> None:
        """A connection passed authentication: greet it and announce it."""
        self.peers[peer.worker_id] = peer
        await peer.send_frame(
            p.encode(p.WorkerRegistered(worker_id=peer.worker_id, reattach_token=peer.reattach_token))
        )
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
        try:
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

    # ================================================================= frames

    async def handle_frame(self, peer: Peer, frame: bytes) -> None:
        """Process one text/binary frame from ``peer``, strictly in arrival order."""
        if frame[:4] in p.TELEMETRY_PREFIXES:
            if self.telemetry_sink is not None:
                self.telemetry_sink(frame[:4], frame[4:])
            return
        if not frame or (frame[:1] in _BLANK and not frame.strip()):  # no copy of every frame
            return
        try:
            msg = p.decode(frame)
        except p.FrameError as exc:
            await self._bad_frame(peer, exc)
            return
        if type(msg) is p.InvocationResult:  # the hot path: hand the raw frame on for pass-through
            await self.invoker.result_from_peer(peer, msg, frame if isinstance(frame, bytes) else None)
            return
        handler = self._dispatch.get(type(msg))
        if handler is None:
            log.debug("ignoring %s frame from %s", type(msg).__name__, peer.worker_id)
            return
        await handler(self, peer, msg)

    async def _bad_frame(self, peer: Peer, exc: p.FrameError) -> None:
        """Log it; answer wherever a call waits on it, so nobody waits for a timeout: an
        invokefunction with an id gets a typed error, and an owner's undecodable
        invocationresult fails the call it answers."""
        log.warning("dropped frame from %s: %s", peer.display_name, exc.message)
        raw = exc.raw
        code = E.PAYLOAD_TOO_DEEP if exc.kind == "too_deep" else E.INVALID_FRAME
        if exc.kind == "too_deep" and raw and raw.get("type") in _REGISTRATION_FRAMES and isinstance(
            raw.get("id"), str
        ):
            # Valid JSON the engine cannot read: refused, typed. (A frame with wrong fields stays
            # dropped silently, as spec §1.6 says and tests/integration/core/test_bad_input.py checks.)
            await self._refuse_undecodable_registration(peer, raw, code, exc.message)
            return
        if not raw or not isinstance(raw.get("invocation_id"), str):
            return
        fid = raw.get("function_id")
        fid = fid if isinstance(fid, str) else ""
        if raw.get("type") == "invokefunction":
            try:
                await peer.send_frame(p.error_result(raw["invocation_id"], fid, code, exc.message))
            except ConnectionError:
                pass
        elif raw.get("type") == "invocationresult":
            # Only the call's owner can fail it (result_from_peer checks who answers).
            failed = p.InvocationResult(
                invocation_id=raw["invocation_id"],
                function_id=fid,
                error=p.ErrorBody(code=code, message=f"the worker's result was refused: {exc.message}"),
            )
            await self.invoker.result_from_peer(peer, failed)

    async def _refuse_undecodable_registration(self, peer: Peer, raw: dict[str, Any], code: str, reason: str) -> None:
        """A registration frame whose envelope is nested too deeply to decode: the typed refusal
        every registration gets, addressed from its top-level strings."""
        frame_type, reg_id = raw["type"], raw["id"]
        kind = frame_type
        function_id = ""
        if frame_type == "registertrigger":
            kind = raw["trigger_type"] if isinstance(raw.get("trigger_type"), str) else frame_type
            function_id = raw["function_id"] if isinstance(raw.get("function_id"), str) else ""
        await self._refuse_registration(peer, kind, reg_id, code, reason, function_id=function_id)

    async def _on_ping(self, peer: Peer, _msg: p.Ping) -> None:
        try:
            await peer.send_frame(p.encode(p.Pong()))
        except ConnectionError:
            pass

    async def _on_register_function(self, peer: Peer, msg: p.RegisterFunction) -> None:
        access = peer.access
        if not access.allow_function_registration:
            await self._refuse_registration(
                peer, "registerfunction", msg.id, E.FORBIDDEN, "this session may not register functions"
            )
            return
        try:  # valid JSON can still be undecodable here (1E400, too deep): refuse, typed
            metadata = decode_payload(msg.metadata, msg.id, "metadata")
            request_format = decode_payload(msg.request_format, msg.id, "request_format")
            response_format = decode_payload(msg.response_format, msg.id, "response_format")
        except FunctionError as exc:
            await self._refuse_registration(peer, "registerfunction", msg.id, exc.code, exc.message)
            return
        if peer.hook_function is not None:
            mapped = await peer.hook_function((msg.id, msg.description, metadata))
            if mapped is None:
                await self._refuse_registration(
                    peer, "registerfunction", msg.id, E.FORBIDDEN, "denied by the function registration hook"
                )
                return
            local_id, description, metadata = mapped
        else:
            local_id, description = msg.id, msg.description
        function_id = access.prefixed(local_id)
        existing = self.functions.get(function_id)
        if (
            access.rbac
            and existing is not None
            and existing.owner is not peer
            and (existing.owner is None or existing.owner.connected)
        ):
            # Last writer wins only among trusted workers: an RBAC session must not take over
            # a function another live worker or a built-in serves (e.g. the auth function).
            await self._refuse_registration(
                peer, "registerfunction", msg.id, E.FORBIDDEN, f"'{function_id}' is owned by another worker"
            )
            return
        if (existing is None or existing.owner is not peer) and len(
            peer.functions
        ) >= self.limits.max_functions_per_worker:
            await self._refuse_registration(
                peer,
                "registerfunction",
                msg.id,
                E.LIMIT_EXCEEDED,
                f"max_functions_per_worker={self.limits.max_functions_per_worker} reached",
            )
            return
        entry = FunctionEntry(
            id=function_id,
            description=description,
            request_format=request_format,
            response_format=response_format,
            metadata=metadata,
            owner=peer,
            # Invocations go out under the id the worker registered (before a hook remap or the
            # prefix), so its SDK finds the handler (the reference strips only the prefix).
            local_id=msg.id if msg.id != function_id else None,
        )
        if msg.invocation is not None:
            if self.http_function_factory is None:
                log.warning("HTTP functions worker not loaded: %s (with an `invocation`) ignored", function_id)
                return
            try:
                entry.handler = await self.http_function_factory(function_id, msg.invocation)
            except ValueError as exc:
                log.warning("HTTP function %s refused: %s", function_id, exc)
                return
        if existing is not None and existing.owner is not peer:
            log.info("function %s re-registered by %s (last writer wins)", function_id, peer.display_name)
        self.functions.put(entry)

    async def _on_unregister_function(self, peer: Peer, msg: p.UnregisterFunction) -> None:
        stored = peer.access.prefixed(msg.id)
        if stored not in peer.functions:
            # A hook may have remapped the id: find what this worker registered as ``msg.id``.
            for candidate in peer.functions:
                entry = self.functions.get(candidate)
                if entry is not None and entry.local_id == msg.id:
                    stored = candidate
                    break
        self.functions.remove(stored, peer)

    async def _on_register_trigger_type(self, peer: Peer, msg: p.RegisterTriggerType) -> None:
        if not peer.access.allow_trigger_type_registration:
            await self._refuse_registration(
                peer, "registertriggertype", msg.id, E.FORBIDDEN, "this session may not register trigger types"
            )
            return
        try:
            trigger_request_format = decode_payload(msg.trigger_request_format, msg.id, "trigger_request_format")
            call_request_format = decode_payload(msg.call_request_format, msg.id, "call_request_format")
        except FunctionError as exc:
            await self._refuse_registration(peer, "registertriggertype", msg.id, exc.code, exc.message)
            return
        type_id, description = msg.id, msg.description
        if peer.hook_trigger_type is not None:
            mapped = await peer.hook_trigger_type((type_id, description))
            if mapped is None:
                await self._refuse_registration(
                    peer, "registertriggertype", msg.id, E.FORBIDDEN, "denied by the trigger type registration hook"
                )
                return
            type_id, description = mapped
        if type_id not in peer.trigger_types and len(peer.trigger_types) >= self.limits.max_trigger_types_per_worker:
            await self._refuse_registration(
                peer,
                "registertriggertype",
                msg.id,
                E.LIMIT_EXCEEDED,
                f"max_trigger_types_per_worker={self.limits.max_trigger_types_per_worker} reached",
            )
            return
        await self.triggers.add_type(
            TriggerType(
                type_id,
                description,
                trigger_request_format,
                call_request_format,
                owner=peer,
            )
        )

    async def _on_unregister_trigger_type(self, peer: Peer, msg: p.UnregisterTriggerType) -> None:
        # The 0.22.1 engine ignores this frame; honouring it is what a user expects.
        await self.triggers.remove_type(msg.id, peer)

    async def _on_register_trigger(self, peer: Peer, msg: p.RegisterTrigger) -> None:
        access = peer.access
        denied = access.bind_refusal(msg.trigger_type)
        if denied is not None:
            await self._refuse_registration(
                peer, msg.trigger_type, msg.id, E.FORBIDDEN, denied, function_id=msg.function_id
            )
            return
        trigger_id, trigger_type, function_id = msg.id, msg.trigger_type, msg.function_id
        try:
            config = decode_payload(msg.config, trigger_id, "config")
            metadata = decode_payload(msg.metadata, trigger_id, "metadata")
        except FunctionError as exc:
            await self._refuse_registration(
                peer, trigger_type, trigger_id, exc.code, exc.message, function_id=function_id
            )
            return
        if peer.hook_trigger is not None:
            mapped = await peer.hook_trigger((trigger_id, trigger_type, function_id, config, metadata))
            if mapped is None:
                await self._refuse_registration(
                    peer,
                    trigger_type,
                    trigger_id,
                    E.FORBIDDEN,
                    "denied by the trigger registration hook",
                    function_id=function_id,
                )
                return
            trigger_id, trigger_type, function_id, config = mapped
        binding = Binding(
            trigger_id, trigger_type, access.prefixed(function_id), config, metadata, owner=peer,
            grant=access if access.restricted else None,
        )
        if binding.grant is not None:
            reason = self._target_denied(access, binding.targets(), peer)
            if reason is not None:
                await self._refuse_registration(
                    peer, trigger_type, trigger_id, E.FORBIDDEN, reason, function_id=binding.function_id
                )
                return
        try:
            await self.triggers.add_binding(binding)
        except TriggerRegistrationError as exc:
            log.warning("trigger %s (%s -> %s) refused: %s", trigger_id, trigger_type, binding.function_id, exc.message)
            await self._send_quietly(
                peer,
                p.TriggerRegistrationResult(
                    id=trigger_id,
                    trigger_type=trigger_type,
                    function_id=binding.function_id,
                    error=p.ErrorBody(code=exc.code, message=exc.message),
                ),
            )

    async def _on_unregister_trigger(self, peer: Peer, msg: p.UnregisterTrigger) -> None:
        binding = self.triggers.find(msg.id)
        if binding is not None and not _may_remove(peer.access, peer, binding):
            # The reference engine lets anyone remove anyone's binding; only the owner may here.
            await self._refuse_registration(
                peer, binding.trigger_type, msg.id, E.FORBIDDEN, "owned by another worker",
                function_id=binding.function_id,
            )
            return
        await self.triggers.remove_binding(msg.id)

    async def _on_trigger_registration_result(self, peer: Peer, msg: p.TriggerRegistrationResult) -> None:
        waiter = self._pending_trigger_acks.get(msg.id)
        if waiter is not None and not waiter.done():
            tt_binding = self.triggers.live.get(msg.id)
            tt = self.triggers.types.get(tt_binding.trigger_type) if tt_binding else None
            if tt is None or tt.owner is peer:
                waiter.set_result(msg)
                return
        if msg.error is None:
            return
        binding = self.triggers.provider_rejected(peer, msg)
        if binding is None:
            return
        log.warning("trigger %s refused by provider %s: %s", msg.id, peer.display_name, msg.error.message)
        if binding.owner is not None and binding.owner.connected:
            await self._send_quietly(
                binding.owner,
                p.TriggerRegistrationResult(
                    id=binding.id,
                    trigger_type=binding.trigger_type,
                    function_id=binding.function_id,
                    error=msg.error,
                ),
            )

    async def _on_invoke(self, peer: Peer, msg: p.InvokeFunction) -> None:
        fid = msg.function_id
        reply_id = msg.invocation_id or uuid4_text()
        entry = self.functions.get(fid)
        access = peer.access
        allowed, remediation = access.may_call(fid, entry)
        if not allowed:
            await self._send_quietly(
                peer,
                p.InvocationResult(
                    invocation_id=reply_id,
                    function_id=fid,
                    error=p.ErrorBody(code=E.FORBIDDEN, message=f"function '{fid}' not allowed ({remediation})"),
                ),
            )
            return
        middleware = access.middleware_function_id
        if middleware and not fid.startswith("engine::"):
            self.invoker.spawn(self._via_middleware(peer, msg, reply_id, middleware))
            return
        if isinstance(msg.action, p.EnqueueAction):
            self.invoker.spawn(self._enqueue(peer, msg, msg.action.queue))
            return
        data = msg.data if msg.data else p.NULL
        if not isinstance(msg.action, p.VoidAction) and msg.invocation_id is None:
            msg.action = p.VoidAction()  # an id-less call without action is a void call (§3.7)
        # Returns non-object payloads unchanged; no separate is_json_object() check (a 1 MB copy).
        data = p.with_caller_worker_id(data, peer.worker_id)
        await self.invoker.invoke_from_peer(peer, msg, data, entry)

    async def _via_middleware(self, peer: Peer, msg: p.InvokeFunction, reply_id: str, middleware: str) -> None:
        try:
            payload = {
                "function_id": msg.function_id,
                "payload": decode_payload(msg.data, msg.function_id),
                "action": msgspec.to_builtins(msg.action) if msg.action is not None else None,
                "context": peer.access.context,
            }
            result = await self.invoker.call(
                middleware,
                payload,
                metadata=decode_payload(msg.metadata, msg.function_id, "metadata"),
                traceparent=msg.traceparent,
                baggage=msg.baggage,
                timeout=None,
            )
            reply = p.InvocationResult(
                invocation_id=reply_id,
                function_id=msg.function_id,
                result=p.to_raw(result) if result is not None else p.ABSENT,
            )
        except FunctionError as exc:
            reply = p.InvocationResult(
                invocation_id=reply_id,
                function_id=msg.function_id,
                error=p.ErrorBody(code=exc.code, message=exc.message, stacktrace=exc.stacktrace),
            )
        await self._send_quietly(peer, reply)

    async def _enqueue(self, peer: Peer, msg: p.InvokeFunction, queue: str) -> None:
        receipt = str(uuid.uuid4())
        from pyiii.core.tracecontext import with_function_id

        baggage = with_function_id(msg.baggage, msg.function_id) if (msg.traceparent or msg.baggage) else msg.baggage
        try:
            data = decode_payload(msg.data, msg.function_id)
        except FunctionError as exc:
            if msg.invocation_id is not None:
                await self._send_quietly(peer, p.InvocationResult(
                    invocation_id=msg.invocation_id, function_id=msg.function_id,
                    error=p.ErrorBody(code=exc.code, message=exc.message)))
            return
        payload = {
            "queue": queue,
            "function_id": msg.function_id,
            "data": data,
            "messageReceiptId": receipt,
            "traceparent": msg.traceparent,
            "baggage": baggage,
        }
        try:
            await self.invoker.call("engine::queue::enqueue", payload, caller=peer)
            reply = p.InvocationResult(
                invocation_id=msg.invocation_id or receipt,
                function_id=msg.function_id,
                result=p.to_raw({"messageReceiptId": receipt}),
            )
        except FunctionError as exc:
            if exc.code == E.FUNCTION_NOT_FOUND and exc.message.endswith("engine::queue::enqueue not found"):
                message = (
                    "no queue provider is installed: add the iii-queue worker to config.yaml "
                    "(Function engine::queue::enqueue not found)"
                )
            else:
                message = f"{exc.code}: {exc.message}"
            reply = p.InvocationResult(
                invocation_id=msg.invocation_id or receipt,
                function_id=msg.function_id,
                error=p.ErrorBody(code=E.ENQUEUE_ERROR, message=message),
            )
        if msg.invocation_id is not None:
            await self._send_quietly(peer, reply)

    async def _on_result(self, peer: Peer, msg: p.InvocationResult) -> None:
        await self.invoker.result_from_peer(peer, msg)

    async def _on_reattach(self, peer: Peer, msg: p.Reattach) -> None:
        old = self.peers.get(msg.previous_worker_id)
        if old is None or old is peer:
            return
        if not msg.reattach_token or msg.reattach_token != old.reattach_token:
            log.warning("reattach to %s refused: bad token", msg.previous_worker_id)
            return
        # Tear the old connection down before the replayed registrations that follow are read,
        # so its cleanup cannot remove what the new connection re-registers.
        try:
            await asyncio.wait_for(self.disconnect_peer(old), self.limits.reattach_wait_ms / 1000)
        except TimeoutError:
            log.warning("cleanup of %s did not finish in time during reattach", old.worker_id)
        self.invoker.spawn(old.close(1000, "replaced by a reattached connection"))

    async def _noop(self, peer: Peer, msg: Any) -> None:
        return None

    _dispatch: ClassVar[dict[type, Callable[[Engine, Peer, Any], Awaitable[None]]]] = {
        p.Ping: _on_ping,
        p.Pong: _noop,
        p.RegisterFunction: _on_register_function,
        p.UnregisterFunction: _on_unregister_function,
        p.RegisterTriggerType: _on_register_trigger_type,
        p.UnregisterTriggerType: _on_unregister_trigger_type,
        p.RegisterTrigger: _on_register_trigger,
        p.UnregisterTrigger: _on_unregister_trigger,
        p.TriggerRegistrationResult: _on_trigger_registration_result,
        p.InvokeFunction: _on_invoke,
        p.InvocationResult: _on_result,
        p.Reattach: _on_reattach,
        p.RegisterService: _noop,
        p.WorkerRegistered: _noop,
        p.ErrorFrame: _noop,
    }

    # ================================================================= engine::register_trigger

    async def register_trigger_for(
        self,
        caller: Peer | None,
        trigger_type: str,
        function_id: str,
        config: Any,
        metadata: Any,
        ack_timeout: float = 10.0,
    ) -> str:
        """``engine::register_trigger``: an ownerless binding; waits for a worker provider's
        answer up to ``ack_timeout`` seconds (spec §4.10). An RBAC session's binding is its own
        instead: it goes with the session, which alone may remove it."""
        access = caller.access if caller is not None else None
        denied = access.bind_refusal(trigger_type) if access is not None else None
        if denied is not None:
            raise FunctionError(E.FORBIDDEN, denied)
        binding = Binding(
            str(uuid.uuid4()), trigger_type, access.prefixed(function_id) if access else function_id, config, metadata,
            owner=caller if access is not None and access.rbac else None,
            grant=access if access is not None and access.restricted else None,
        )
        if binding.grant is not None:
            reason = self._target_denied(binding.grant, binding.targets(), caller)
            if reason is not None:
                raise FunctionError(E.FORBIDDEN, reason)
        tt = self.triggers.types.get(trigger_type)
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

    async def unregister_trigger_for(self, caller: Peer | None, trigger_id: str) -> bool:
        """``engine::unregister_trigger``: a session may remove only bindings it owns."""
        binding = self.triggers.find(trigger_id)
        if binding is not None and caller is not None and not _may_remove(caller.access, caller, binding):
            raise FunctionError(E.FORBIDDEN, f"trigger '{trigger_id}' is owned by another worker")
        return await self.triggers.remove_binding(trigger_id)

    async def _refuse_registration(
        self, peer: Peer, kind: str, reg_id: str, code: str, reason: str, *, function_id: str = ""
    ) -> None:
        """A registration was denied (RBAC gate, hook, quota). The protocol has no reply for
        it; pyiii sends a ``triggerregistrationresult`` error, the one frame every SDK accepts
        unsolicited and only logs (docs/compatibility.md, Security). ``kind`` is the trigger type
        for bindings and the frame type (``registerfunction``/``registertriggertype``) otherwise."""
        message = f"{kind} '{reg_id}' refused: {reason}"
        log.warning("worker %s (%s): %s", peer.display_name, peer.listener, message)
        await self._send_quietly(
            peer,
            p.TriggerRegistrationResult(
                id=reg_id,
                trigger_type=kind,
                function_id=function_id or reg_id,
                error=p.ErrorBody(code=code, message=message),
            ),
        )

    async def _send_quietly(self, peer: Peer, msg: p.Message) -> None:
        try:
            await peer.send_frame(p.encode(msg))
        except ConnectionError:
            pass

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


#: Frames answered with a typed refusal (``triggerregistrationresult``) when they are refused.
_REGISTRATION_FRAMES = frozenset(("registerfunction", "registertriggertype", "registertrigger"))


def _may_remove(access: Access, peer: Peer, binding: Binding) -> bool:
    """Trusted workers may remove their own and ownerless bindings; a session only its own."""
    if binding.owner is peer:
        return True
    return binding.owner is None and not access.rbac


__all__ = ["CallContext", "Engine", "EngineLimits", "FunctionError", "InProcessWorker"]
