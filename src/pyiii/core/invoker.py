"""Routing a call to a function's owner and the result back (spec/protocol.md §3.6-§3.8, §3.10).

Two kinds of callers: remote peers (frames in, frames out, payloads stay raw JSON bytes) and
in-process code (Python objects in and out, no serialisation for in-process targets).
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from pyiii import protocol as p
from pyiii.core import errors as E
from pyiii.core.caller import forwarded_fields
from pyiii.core.errors import FunctionError, bad_input
from pyiii.core.features import OBSERVE_V1
from pyiii.core.functions import CallContext, FunctionEntry, FunctionRegistry
from pyiii.core.message_size import too_large_message
from pyiii.core.namespaces import DEFAULT, not_found_message
from pyiii.core.observe.events import Event, read_caller, read_depth, wire_value
from pyiii.core.spans import Tracer, traced_builtin_call
from pyiii.ids import uuid4_text
from pyiii.w3c_trace import with_function_id

if TYPE_CHECKING:
    from pyiii.core.peer import Peer

log = logging.getLogger("pyiii.invoker")


@dataclass(slots=True)
class Pending:
    """A call forwarded to ``owner`` and not answered yet."""

    owner: Peer
    function_id: str
    caller: Peer | None = None
    caller_invocation_id: str | None = None
    future: asyncio.Future[p.InvocationResult] | None = None
    started: float = 0.0
    #: Whose share of the owner's quota this call uses: the calling peer, or IN_PROCESS.
    share_key: object = None
    #: The call of an observed function, completed and handed on when the result arrives.
    event: Event | None = None
    #: Called with the answer instead of a ``future`` (a void call that holds no task).
    on_result: Callable[[p.InvocationResult], None] | None = None


#: The share key of calls made by built-in workers (HTTP, cron, queue, ...) without a peer.
IN_PROCESS: Final = "in-process"


@dataclass(slots=True)
class InvokerLimits:
    #: Calls one peer may have waiting on it or made by it at once.
    max_pending_per_peer: int = 65536
    #: Calls one caller (a peer, or all in-process callers together) may have waiting on one
    #: target peer at once: a share of ``max_pending_per_peer``, so no caller starves the rest.
    max_pending_per_caller: int = 32768
    #: Default timeout of in-process callers, seconds.
    default_timeout: float = 30.0
    #: Longest string kept from a worker's ``caller`` (core/caller.py).
    max_caller_field_chars: int = 512


class Invoker:
    def __init__(self, functions: FunctionRegistry, limits: InvokerLimits | None = None) -> None:
        self.functions = functions
        self.limits = limits or InvokerLimits()
        self.pending: dict[str, Pending] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Called as ``(function_id, seconds, error_code_or_None)`` after every finished call.
        self.observers: list[Any] = []
        #: Called as ``(function_id, count, errors, seconds_sum)`` for calls a worker ran
        #: in-process and reported (``localinvocationstats``, spec iii-0.23-0.25 §3.4).
        self.local_observers: list[Any] = []
        #: Engine spans; a no-op until the observability worker installs a recorder.
        self.tracer = Tracer()
        #: Receives every completed routed call of an observed function (core/observe).
        self.on_observed: Callable[[Event], None] | None = None

    # ----------------------------------------------------------------- in-process callers

    async def call(
        self,
        function_id: str,
        data: Any,
        *,
        metadata: Any = None,
        traceparent: str | None = None,
        baggage: str | None = None,
        caller: Peer | None = None,
        timeout: float | None = None,
        namespace: str = DEFAULT,
    ) -> Any:
        """Call a function from inside the engine and return its result as a Python value;
        ``function_id`` resolves in ``namespace`` only.

        Raises :class:`FunctionError` (``function_not_found``, the target's error,
        ``invocation_stopped``, ``invocation_timeout``).
        """
        entry = self.functions.get(function_id, namespace)
        if entry is None:
            raise FunctionError(E.FUNCTION_NOT_FOUND, self.not_found(function_id, namespace))
        ctx = CallContext(function_id, metadata, caller, traceparent, baggage)
        if entry.handler is not None:
            return await self._run_local(entry, data, ctx)
        assert entry.owner is not None
        event = _start_event(entry, data, metadata, ctx) if entry.observed else None
        raw = await self._forward_and_wait(
            entry,
            p.to_raw(data),
            p.ABSENT if metadata is None else p.to_raw(metadata),
            ctx,
            timeout if timeout is not None else self.limits.default_timeout,
        )
        if event is not None:
            self._completed(event, raw.result, raw.error)
        if raw.error is not None:
            raise FunctionError(raw.error.code, raw.error.message, raw.error.stacktrace)
        return decode_payload(raw.result, entry.id, "result")

    async def call_entry(
        self,
        entry: FunctionEntry,
        data: Any,
        *,
        metadata: Any = None,
        depth: int = 0,
        caller_info: dict[str, Any] | None = None,
        activation: dict[str, Any] | None = None,
        observe_fields: bool = False,
        traceparent: str | None = None,
        baggage: str | None = None,
    ) -> Any:
        """Run ``entry`` for the engine with an observe context (an activation, spec
        iii-0.23-0.25 §5.8): ``caller`` / ``observe_depth`` / ``activation`` travel on the frame
        only when ``observe_fields`` (the target's connection declared ``observe.v1``)."""
        ctx = CallContext(entry.id, metadata, None, traceparent, baggage,
                          observe_depth=depth, observe_caller=caller_info)
        if entry.handler is not None:
            return await self._run_local(entry, data, ctx)
        extra: dict[str, Any] = {}
        if observe_fields:
            if caller_info:
                extra["caller"] = caller_info
            if depth > 0:
                extra["observe_depth"] = depth
            if activation is not None:
                extra["activation"] = activation
        event = _start_event(entry, data, metadata, ctx) if entry.observed else None
        raw = await self._forward_and_wait(
            entry, p.to_raw(data), p.ABSENT if metadata is None else p.to_raw(metadata), ctx,
            self.limits.default_timeout, extra,
        )
        if event is not None:
            self._completed(event, raw.result, raw.error)
        if raw.error is not None:
            raise FunctionError(raw.error.code, raw.error.message, raw.error.stacktrace)
        return decode_payload(raw.result, entry.id, "result")

    def elsewhere(self, function_id: str, namespace: str) -> list[str]:
        """The other namespaces ``function_id`` is registered in (only looked up on a miss)."""
        return [ns for ns in self.functions.namespaces_of(function_id) if ns != namespace]

    def not_found(self, function_id: str, namespace: str) -> str:
        return not_found_message(
            function_id, None if namespace == DEFAULT else namespace, self.elsewhere(function_id, namespace)
        )

    def call_void(self, function_id: str, data: Any, **kwargs: Any) -> None:
        """Fire and forget; failures are logged."""
        if not self._post_void(function_id, data, kwargs):
            self.spawn(self._void(function_id, data, kwargs))

    def _post_void(self, function_id: str, data: Any, kwargs: dict[str, Any]) -> bool:
        """:meth:`call_void` of a worker's function without a task: the call is sent now and its
        answer (or its timeout) handled by a callback, as ``_void`` would (a pub/sub publish
        makes one per subscriber). False: not that case (in-process or observed target, a
        refusal to raise, a peer that cannot post); ``_void`` then does it all."""
        if kwargs.keys() - _POSTABLE:
            return False
        entry = self.functions.get(function_id, kwargs.get("namespace", DEFAULT))
        if entry is None or entry.handler is not None or entry.observed:
            return False
        owner = entry.owner
        assert owner is not None
        caller = kwargs.get("caller")
        share_key = caller if caller is not None else IN_PROCESS
        if self._over_quota(owner, share_key) is not None:
            return False
        metadata = kwargs.get("metadata")
        try:
            raw = data if type(data) is msgspec.Raw else p.to_raw(data)  # a publish's body: as is
            raw_metadata = p.ABSENT if metadata is None else p.to_raw(metadata)
        except Exception:
            return False  # raised again by _void, as before
        invocation_id = uuid4_text()
        frame = self._forward_frame(
            entry, invocation_id, raw, raw_metadata, kwargs.get("traceparent"), kwargs.get("baggage")
        )
        if len(frame) > owner.max_message_bytes:
            return False
        timeout = kwargs.get("timeout")
        timeout = timeout if timeout is not None else self.limits.default_timeout
        done = _VoidDone(self, invocation_id, function_id, entry.id, timeout)
        self._track(invocation_id, Pending(owner, entry.id, None, None, None, time.perf_counter(), share_key,
                                           None, done))
        try:
            if not owner.post_frame(frame):
                self._forget(invocation_id)
                return False
        except ConnectionError:
            done(p.InvocationResult(invocation_id=invocation_id, error=p.ErrorBody(
                code=E.CHANNEL_SEND_FAILED, message=f"could not deliver the call to {entry.id}")))
            return True
        done.timer = asyncio.get_running_loop().call_later(timeout, done.expire)
        return True

    async def _void(self, function_id: str, data: Any, kwargs: dict[str, Any]) -> None:
        try:
            await self.call(function_id, data, **kwargs)
        except FunctionError as exc:
            log.warning("void call to %s failed: %s", function_id, exc)

    async def _forward_and_wait(
        self, entry: FunctionEntry, data: msgspec.Raw, metadata: msgspec.Raw, ctx: CallContext, timeout: float,
        extra: dict[str, Any] | None = None,
    ) -> p.InvocationResult:
        owner = entry.owner
        assert owner is not None
        loop = asyncio.get_running_loop()
        share_key = ctx.caller if ctx.caller is not None else IN_PROCESS
        refusal = self._over_quota(owner, share_key)
        if refusal is not None:
            raise FunctionError(E.LIMIT_EXCEEDED, refusal)
        invocation_id = uuid4_text()
        future: asyncio.Future[p.InvocationResult] = loop.create_future()
        self._track(invocation_id, Pending(owner, entry.id, future=future, started=time.perf_counter(),
                                           share_key=share_key))
        # One timer on the result future itself: asyncio.wait_for would add a second future and
        # two callbacks to every call that crosses to a worker. The send is covered too: a
        # worker that stops reading holds send_frame (flow control), and the timer cuts it.
        sending = _Sending(asyncio.current_task())
        timer = loop.call_later(timeout, _expire_call, future, sending)
        try:
            frame = self._invoke_frame(entry, invocation_id, data, metadata, ctx)
            if extra:
                frame = _with_fields(frame, extra)
            if len(frame) > owner.max_message_bytes:
                raise FunctionError(E.PAYLOAD_TOO_LARGE, too_large_message(
                    f"the call of {entry.id}", len(frame), owner.max_message_bytes, owner))
            await owner.send_frame(frame)
            sending.active = False
            return await future
        except (ConnectionError, TimeoutError, asyncio.CancelledError) as exc:
            if sending.cut and sending.task is not None:
                sending.task.uncancel()  # our own timer cut the send: not a cancel from outside
            elif isinstance(exc, asyncio.CancelledError):
                raise
            elif isinstance(exc, ConnectionError):
                raise FunctionError(E.CHANNEL_SEND_FAILED, f"could not deliver the call to {entry.id}") from None
            raise FunctionError(
                E.INVOCATION_TIMEOUT, f"Function {entry.id} did not answer within {timeout:g}s"
            ) from None
        finally:
            timer.cancel()
            self._forget(invocation_id)

    # ----------------------------------------------------------------- remote callers

    async def invoke_from_peer(
        self, caller: Peer, msg: p.InvokeFunction, data: msgspec.Raw, entry: FunctionEntry | None = None
    ) -> None:
        """Sync or void call from a worker, after RBAC/middleware; ``data`` is final. ``entry``:
        the target's registry entry when the caller already looked it up."""
        reply_id = msg.invocation_id if not isinstance(msg.action, p.VoidAction) else None
        if entry is None or entry.id != msg.function_id:
            entry = self.functions.get(msg.function_id, msg.namespace or DEFAULT)
        if entry is None:
            if reply_id is not None:
                message = not_found_message(
                    msg.function_id, msg.namespace, self.elsewhere(msg.function_id, msg.namespace or DEFAULT)
                )
                await self._reply_error(caller, reply_id, msg.function_id, E.FUNCTION_NOT_FOUND, message)
            return
        if entry.handler is not None:
            ctx = CallContext(msg.function_id, None, caller, msg.traceparent, msg.baggage, reply_id)
            if entry.observed:
                ctx.observe_depth, ctx.observe_caller = _context_of(msg, caller)
            self.spawn(self._local_for_peer(entry, caller, reply_id, data, msg.metadata, ctx))
            return
        # A remote target: no CallContext, the frame carries everything (the hot path).
        owner = entry.owner
        assert owner is not None
        # observe.v1 targets learn who called (spec iii-0.23-0.25 §5.9); nobody else pays for it.
        if OBSERVE_V1 in owner.shared_features:
            caller_info, depth = forwarded_fields(
                caller, msg.caller, msg.observe_depth, self.limits.max_caller_field_chars
            )
        else:
            caller_info = depth = p.ABSENT
        if reply_id is None:
            # Void: the target runs without an invocation id and sends nothing back.
            frame = self._forward_frame(
                entry, None, data, msg.metadata, msg.traceparent, msg.baggage, caller_info, depth
            )
            if len(frame) > owner.max_message_bytes:
                log.warning("void call dropped: %s", too_large_message(
                    f"the call of {entry.id}", len(frame), owner.max_message_bytes, owner))
                return
            try:
                await owner.send_frame(frame)
            except ConnectionError:
                log.info("void call to %s dropped: owner connection closing", entry.id)
            return
        refusal = self._over_quota(owner, caller)
        if refusal is not None:
            await self._reply_error(caller, reply_id, msg.function_id, E.LIMIT_EXCEEDED, refusal)
            return
        forward_id = reply_id if reply_id not in self.pending else uuid4_text()
        frame = self._forward_frame(
            entry, forward_id, data, msg.metadata, msg.traceparent, msg.baggage, caller_info, depth
        )
        if len(frame) > owner.max_message_bytes:
            message = too_large_message(f"the call of {entry.id}", len(frame), owner.max_message_bytes, owner)
            await self._reply_error(caller, reply_id, msg.function_id, E.PAYLOAD_TOO_LARGE, message)
            return
        pending = Pending(owner, entry.id, caller, reply_id, None, time.perf_counter(), caller)
        if entry.observed:
            pending.event = _peer_event(entry, forward_id, msg, caller)
        self._track(forward_id, pending)
        entry.invocations += 1
        try:
            await owner.send_frame(frame)
        except ConnectionError:
            self._forget(forward_id)
            await self._reply_error(
                caller,
                reply_id,
                msg.function_id,
                E.CHANNEL_SEND_FAILED,
                f"could not deliver the call to {entry.id}: its worker is disconnecting",
            )

    async def result_from_peer(self, peer: Peer, msg: p.InvocationResult, frame: bytes | None = None) -> None:
        """An owner answered. Results for unknown ids, or from a peer that was not asked, are
        dropped: a worker can only answer the invocations it received. ``frame``: the owner's
        frame as received; forwarded unchanged when the caller would get the same ids."""
        invocation_id = msg.invocation_id
        pending = self.pending.get(invocation_id)
        if pending is None or pending.owner is not peer:  # a foreign result leaves the call waiting
            log.debug("ignoring result for unknown or foreign invocation %s from %s", invocation_id, peer.worker_id)
            return
        self._forget(invocation_id)
        caller = pending.caller
        if pending.event is not None:
            self._completed(pending.event, msg.result, msg.error)
        if self.observers:
            self._observe(pending.function_id, time.perf_counter() - pending.started, msg.error)
        if pending.future is not None:
            if not pending.future.done():
                pending.future.set_result(msg)
            return
        if pending.on_result is not None:
            pending.on_result(msg)
            return
        if caller is None or not caller.connected or pending.caller_invocation_id is None:
            return
        if frame is not None and len(frame) > caller.max_message_bytes:
            await self._result_too_large(caller, pending.caller_invocation_id, pending.function_id, len(frame))
            return
        if (
            frame is not None
            and (msg.error is None or not msg.error.normalised)
            and pending.caller_invocation_id == invocation_id
            and msg.function_id == pending.function_id
        ):
            # Same invocation id and function id as the caller's: the frame the caller must get
            # is the owner's, byte for byte (no re-encoding of a possibly large result).
            try:
                await caller.send_frame(frame)
            except ConnectionError:
                pass
            return
        reply = p.InvocationResult(
            invocation_id=pending.caller_invocation_id,
            function_id=pending.function_id,
            result=msg.result,
            error=msg.error,
            traceparent=msg.traceparent,
            baggage=msg.baggage,
        )
        encoded = p.encode(reply)
        if len(encoded) > caller.max_message_bytes:
            await self._result_too_large(caller, pending.caller_invocation_id, pending.function_id, len(encoded))
            return
        try:
            await caller.send_frame(encoded)
        except ConnectionError:
            pass

    async def _result_too_large(self, caller: Peer, invocation_id: str, function_id: str, size: int) -> None:
        """The target answered more than ``caller`` reads: the result is discarded and the caller
        gets ``payload_too_large`` instead of a message that would drop its connection."""
        message = too_large_message(f"the result of {function_id}", size, caller.max_message_bytes, caller)
        log.warning("result discarded: %s", message)
        await self._reply_error(caller, invocation_id, function_id, E.PAYLOAD_TOO_LARGE, message)

    def drop_peer(self, peer: Peer) -> int:
        """Fail every call ``peer`` was executing with ``invocation_stopped``; forget the
        reply path of calls it made. Returns how many callers were failed."""
        failed = 0
        stopped = p.ErrorBody(code=E.INVOCATION_STOPPED, message="Invocation stopped")
        for invocation_id in list(peer.inflight):
            pending = self.pending.get(invocation_id)
            if pending is None:
                continue
            if pending.owner is peer:
                self._forget(invocation_id)
                failed += 1
                result = p.InvocationResult(invocation_id=invocation_id, function_id=pending.function_id, error=stopped)
                if pending.future is not None:
                    if not pending.future.done():
                        pending.future.set_result(result)
                elif pending.on_result is not None:
                    pending.on_result(result)
                elif pending.caller is not None and pending.caller.connected and pending.caller_invocation_id:
                    result.invocation_id = pending.caller_invocation_id
                    self.spawn(_send_quietly(pending.caller, p.encode(result)))
            else:
                # The caller left: the target keeps running, its late result is discarded.
                self._forget(invocation_id)
        peer.inflight.clear()
        return failed

    # ----------------------------------------------------------------- helpers

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` for in-process work started by calls to finish."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def fail_all(self, code: str, message: str) -> int:
        """Engine shutdown: every caller still waiting gets an error now. Returns how many."""
        body = p.ErrorBody(code=code, message=message)
        waiting = list(self.pending.items())
        for invocation_id, pending in waiting:
            self._forget(invocation_id)
            if pending.future is not None:
                if not pending.future.done():
                    pending.future.set_result(p.InvocationResult(invocation_id=invocation_id, error=body))
            elif pending.on_result is not None:
                pending.on_result(p.InvocationResult(invocation_id=invocation_id, error=body))
            elif pending.caller is not None and pending.caller.connected and pending.caller_invocation_id:
                reply = p.InvocationResult(
                    invocation_id=pending.caller_invocation_id, function_id=pending.function_id, error=body
                )
                await _send_quietly(pending.caller, p.encode(reply))
        return len(waiting)

    def _over_quota(self, owner: Peer, share_key: Any) -> str | None:
        """Why a new call from ``share_key`` to ``owner`` must be refused, or None."""
        limit = self.limits.max_pending_per_peer
        if len(owner.inflight) >= limit or (
            share_key is not IN_PROCESS and len(share_key.inflight) >= limit
        ):
            return f"too many pending invocations (limit {limit})"
        share = self.limits.max_pending_per_caller
        if owner.pending_by_caller.get(share_key, 0) >= share:
            return (
                f"this caller already has {share} pending invocations on worker {owner.display_name} "
                f"(max_pending_caller_share of max_pending_per_worker={limit})"
            )
        return None

    def _track(self, invocation_id: str, pending: Pending) -> None:
        self.pending[invocation_id] = pending
        owner = pending.owner
        owner.inflight.add(invocation_id)
        if pending.caller is not None:
            pending.caller.inflight.add(invocation_id)
        counts = owner.pending_by_caller
        counts[pending.share_key] = counts.get(pending.share_key, 0) + 1

    def _forget(self, invocation_id: str) -> None:
        pending = self.pending.pop(invocation_id, None)
        if pending is None:
            return
        owner = pending.owner
        owner.inflight.discard(invocation_id)
        if pending.caller is not None:
            pending.caller.inflight.discard(invocation_id)
        counts = owner.pending_by_caller
        left = counts.get(pending.share_key, 0) - 1
        if left > 0:
            counts[pending.share_key] = left
        else:
            counts.pop(pending.share_key, None)

    def _completed(self, event: Event, result: msgspec.Raw, error: p.ErrorBody | None) -> None:
        """A routed call of an observed function got its answer from the owner."""
        if error is not None:
            event.values["error"] = error.to_wire()
        else:
            event.raw["output"] = result  # an absent result reads as null (spec §5.7)
        self._finish(event)

    def _finish(self, event: Event) -> None:
        event.status = "error" if "error" in event.values else "success"
        event.duration_ms = round((time.time() * 1000 - event.started_at_ms), 3)
        hook = self.on_observed
        if hook is not None:
            try:
                hook(event)
            except Exception:  # an observer must never break the call it watches
                log.exception("observers of %s failed", event.function_id)
    def observe_local(self, function_id: str, count: int, errors: int, seconds_sum: float) -> None:
        for observer in self.local_observers:
            try:
                observer(function_id, count, errors, seconds_sum)
            except Exception:
                log.exception("local invocation observer failed")

    def _observe(self, function_id: str, seconds: float, error: p.ErrorBody | None) -> None:
        for observer in self.observers:
            observer(function_id, seconds, error.code if error else None)

    def _invoke_frame(
        self,
        entry: FunctionEntry,
        invocation_id: str | None,
        data: msgspec.Raw,
        metadata: msgspec.Raw,
        ctx: CallContext,
    ) -> bytes:
        return self._forward_frame(entry, invocation_id, data, metadata, ctx.traceparent, ctx.baggage)

    @staticmethod
    def _forward_frame(
        entry: FunctionEntry,
        invocation_id: str | None,
        data: msgspec.Raw,
        metadata: msgspec.Raw,
        traceparent: str | None,
        baggage: str | None,
        caller: msgspec.Raw = p.ABSENT,
        depth: msgspec.Raw = p.ABSENT,
    ) -> bytes:
        if traceparent or baggage:
            baggage = with_function_id(baggage, entry.id)
        return p.encode(
            p.InvokeFunction(
                function_id=entry.local_id or entry.id,
                data=data if data else p.NULL,
                invocation_id=invocation_id,
                traceparent=traceparent,
                baggage=baggage,
                metadata=metadata,
                caller=caller,
                observe_depth=depth,
            )
        )

    async def _run_local(self, entry: FunctionEntry, data: Any, ctx: CallContext, in_span: bool = False) -> Any:
        """Run an in-process handler with Python values; errors become FunctionError."""
        tracer = self.tracer
        if tracer.enabled and not in_span and tracer.wants_builtin_span(entry.id, ctx.traceparent):
            return await traced_builtin_call(tracer, ctx, lambda: self._run_local(entry, data, ctx, True))
        started = time.perf_counter()
        entry.invocations += 1
        code: str | None = None
        event = _start_event(entry, data, ctx.metadata, ctx) if entry.observed else None
        try:
            if entry.input_type is not None:
                try:
                    data = msgspec.convert(data, entry.input_type)
                except msgspec.ValidationError as exc:
                    raise bad_input(entry.id, exc) from None
            assert entry.handler is not None
            result = await entry.handler(data, ctx)
            if event is not None:
                event.values["output"] = result
            return result
        except FunctionError as exc:
            code = exc.code
            if event is not None:
                event.values["error"] = _error_dict(exc.code, exc.message, exc.stacktrace)
            raise
        except Exception as exc:
            code = E.INVOCATION_FAILED
            if event is not None:
                event.values["error"] = _error_dict(code, str(exc) or type(exc).__name__, None)
            log.exception("in-process function %s failed", entry.id)
            raise FunctionError(E.INVOCATION_FAILED, str(exc) or type(exc).__name__, traceback.format_exc()) from exc
        finally:
            if code is not None:
                entry.errors += 1
            if event is not None and ("output" in event.values or "error" in event.values):
                self._finish(event)
            for observer in self.observers:
                observer(entry.id, time.perf_counter() - started, code)

    async def _local_for_peer(
        self,
        entry: FunctionEntry,
        caller: Peer,
        reply_id: str | None,
        data: msgspec.Raw,
        metadata: msgspec.Raw,
        ctx: CallContext,
    ) -> None:
        try:
            ctx.metadata = decode_payload(metadata, entry.id, "metadata")
            value = await self._run_local(entry, decode_payload(data, entry.id), ctx)
            if reply_id is None:
                return
            try:
                raw = p.to_raw(value) if value is not None else p.ABSENT
            except (TypeError, msgspec.EncodeError) as exc:
                raise FunctionError(E.SERIALIZATION_ERROR, f"result of {entry.id} is not JSON: {exc}") from None
            frame = p.encode(
                p.InvocationResult(
                    invocation_id=reply_id,
                    function_id=ctx.function_id,
                    result=raw,
                    traceparent=ctx.traceparent,
                    baggage=ctx.baggage,
                )
            )
        except FunctionError as exc:
            if reply_id is None:
                log.info("void call to %s failed: %s", entry.id, exc)
                return
            frame = p.encode(
                p.InvocationResult(
                    invocation_id=reply_id,
                    function_id=ctx.function_id,
                    error=p.ErrorBody(code=exc.code, message=exc.message, stacktrace=exc.stacktrace),
                )
            )
        if len(frame) > caller.max_message_bytes:
            assert reply_id is not None
            await self._result_too_large(caller, reply_id, ctx.function_id, len(frame))
            return
        await _send_quietly(caller, frame)

    async def _reply_error(self, caller: Peer, invocation_id: str, function_id: str, code: str, message: str) -> None:
        await _send_quietly(caller, p.error_result(invocation_id, function_id, code, message))


def _context_of(msg: p.InvokeFunction, caller: Peer) -> tuple[int, dict[str, Any]]:
    """A worker call's ``observe_depth`` and ``caller`` (its frame's, with the calling
    connection's identity stamped on; spec iii-0.23-0.25 §5.9), read only for observed calls."""
    depth = wire_value(msg.observe_depth)
    info = read_caller(wire_value(msg.caller)) or {}
    info["worker_id"] = caller.worker_id
    if caller.metadata.name:
        info["worker_name"] = caller.metadata.name
    return read_depth(depth), info


def _peer_event(entry: FunctionEntry, invocation_id: str, msg: p.InvokeFunction, caller: Peer) -> Event:
    """The event of a worker's routed call, its payloads kept raw (the caller's ``data``
    before the ``_caller_worker_id`` injection: the frame still holds it)."""
    depth, info = _context_of(msg, caller)
    event = Event(entry.id, entry.namespace, invocation_id, "", int(time.time() * 1000), 0.0, depth,
                  msg.traceparent, msg.baggage, caller=info)
    event.raw["input"] = msg.data if msg.data else p.NULL
    if msg.metadata:
        event.raw["metadata"] = msg.metadata
    return event


def _start_event(entry: FunctionEntry, data: Any, metadata: Any, ctx: CallContext) -> Event:
    """The event of a call with Python values (in-process caller, or an in-process handler)."""
    if ctx.caller is not None and isinstance(data, dict) and "_caller_worker_id" in data:
        data = {k: v for k, v in data.items() if k != "_caller_worker_id"}  # the engine's, not the caller's
    event = Event(entry.id, entry.namespace, ctx.invocation_id or uuid4_text(), "", int(time.time() * 1000), 0.0,
                  ctx.observe_depth, ctx.traceparent, ctx.baggage, caller=ctx.observe_caller)
    event.values["input"] = data
    if metadata is not None:
        event.values["metadata"] = metadata
    return event


def _with_fields(frame: bytes, extra: dict[str, Any]) -> bytes:
    """``frame`` (an encoded object) with ``extra`` members appended (names never collide)."""
    tail = b"".join(b',"' + name.encode() + b'":' + bytes(p.to_raw(value)) for name, value in extra.items())
    return frame[:-1] + tail + b"}"


def _error_dict(code: str, message: str, stacktrace: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if stacktrace:
        body["stacktrace"] = stacktrace
    return body


def decode_payload(raw: msgspec.Raw, function_id: str, what: str = "input") -> Any:
    """Parse a payload that came from outside for in-process code. Valid JSON can still be
    unusable here (``1E400`` overflows a float, nesting beyond the decoder's stack): that is a
    typed error for the caller, never an exception that ends a task without an answer."""
    try:
        return p.from_raw(raw)
    except RecursionError:
        raise FunctionError(
            E.PAYLOAD_TOO_DEEP, f"{what} of {function_id} is nested too deeply to decode (over ~900 levels)"
        ) from None
    except (msgspec.DecodeError, UnicodeError) as exc:
        raise FunctionError(E.DESERIALIZATION_ERROR, f"Failed to deserialize {what} for {function_id}: {exc}") from None


async def _send_quietly(peer: Peer, frame: bytes) -> None:
    try:
        await peer.send_frame(frame)
    except ConnectionError:
        pass


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


#: The keyword arguments of :meth:`Invoker.call_void` its task-less path handles.
_POSTABLE: Final = frozenset(("metadata", "traceparent", "baggage", "caller", "timeout", "namespace"))


class _VoidDone:
    """The end of a task-less void call (``Invoker._post_void``): what ``_void`` does after
    ``call`` returns or raises, called with the answer (``Pending.on_result``) or by the timer."""

    __slots__ = ("entry_id", "function_id", "invocation_id", "invoker", "timeout", "timer")

    def __init__(self, invoker: Invoker, invocation_id: str, function_id: str, entry_id: str, timeout: float) -> None:
        self.invoker, self.invocation_id, self.function_id = invoker, invocation_id, function_id
        self.entry_id, self.timeout = entry_id, timeout
        self.timer: asyncio.TimerHandle | None = None

    def __call__(self, result: p.InvocationResult) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.invoker._forget(self.invocation_id)
        if result.error is not None:
            error = FunctionError(result.error.code, result.error.message, result.error.stacktrace)
        else:
            try:
                decode_payload(result.result, self.entry_id, "result")
                return
            except FunctionError as exc:
                error = exc
        log.warning("void call to %s failed: %s", self.function_id, error)

    def expire(self) -> None:
        self.invoker._forget(self.invocation_id)  # a late answer is then ignored
        error = FunctionError(E.INVOCATION_TIMEOUT, f"Function {self.entry_id} did not answer within {self.timeout:g}s")
        log.warning("void call to %s failed: %s", self.function_id, error)


class _Sending:
    """A call's send in progress: its timer cancels the calling task while it is still sending."""

    __slots__ = ("active", "cut", "task")

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.active = True
        self.cut = False


def _expire_call(future: asyncio.Future[Any], sending: _Sending) -> None:
    if sending.active and sending.task is not None:
        sending.cut = True
        sending.task.cancel()
        # The result future is never awaited now; mark it retrieved so asyncio does not log it.
        future.cancel()
        return
    _expire(future)
