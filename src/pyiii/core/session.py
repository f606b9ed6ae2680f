"""One worker connection's frames: decoded here and acted on for that peer (spec/protocol.md §1-§3).

The engine (core/engine.py) holds what every connection shares: the registries, the invoker and
the in-process API. A :class:`Session` is one connection's side of it. The transport creates one
per accepted connection and hands it every frame, in arrival order; the session decodes the frame
and acts for its peer under the peer's grant (:class:`~pyiii.core.access.Access`, which also
names the listener's middleware and registration hooks). The handlers of the two big frame
families live next to it, as functions of the session: ``invokefunction`` in
core/session_calls.py, ``register*`` / ``unregister*`` in core/session_registrations.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from pyiii import protocol as p
from pyiii.core import errors as E
from pyiii.core.local_stats import on_local_invocation_stats
from pyiii.core.namespace_hold import NamespaceHold
from pyiii.core.namespaces import DEFAULT
from pyiii.core.observe.handlers import on_invocations_observed, on_observe, on_observer_ack, on_unobserve
from pyiii.core.session_calls import on_invoke
from pyiii.core.session_registrations import (
    on_register_function,
    on_register_trigger,
    on_register_trigger_type,
    on_trigger_registration_result,
    on_unregister_function,
    on_unregister_trigger,
    on_unregister_trigger_type,
)

if TYPE_CHECKING:
    from pyiii.core.engine import Engine
    from pyiii.core.peer import Peer

log = logging.getLogger("pyiii.engine")

#: First characters of a frame that may be all blanks (bytes and str frames).
_BLANK: Final = frozenset((b" ", b"\t", b"\r", b"\n", " ", "\t", "\r", "\n"))
#: Frames answered with a typed refusal (``triggerregistrationresult``) when they are refused.
_REGISTRATION_FRAMES: Final = frozenset(("registerfunction", "registertriggertype", "registertrigger"))


#: How the calls and results of the hot path start (the engine, pyiii.sdk and the Node SDK put
#: ``type`` first) or end (the official Python SDK puts it last). A last member can only be a
#: top-level one: whatever closes a nested value would stand before the final brace.
_CALL_FRAME_HEADS: Final = (b'{"type":"invokefunction"', b'{"type":"invocationresult"')
_CALL_FRAME_TAILS: Final = (b'"type":"invokefunction"}', b'"type":"invocationresult"}')


def is_call_frame(frame: bytes) -> bool:
    """A call or a result, recognised without decoding: the frames the transport may hand over
    as they arrive (``wsio`` ``Connection.serve``'s ``inline``). Everything else is handled by the
    connection's task, as it always was: handing every frame over in the socket callback broke
    the durable:subscriber backlog delivery (tests/integration/queue/test_topics.py; still broken
    with registerfunction and registertrigger excluded, so another frame type is involved, not
    yet found), and only calls and results are the hot path."""
    return frame.startswith(_CALL_FRAME_HEADS) or frame.endswith(_CALL_FRAME_TAILS)


class Session:
    """The frames of one connected worker. Holds no state of its own beyond what it acts with:
    what the peer owns is on the :class:`~pyiii.core.peer.Peer` (the disconnect cleanup walks
    it), everything shared is on the engine."""

    __slots__ = ("access", "engine", "functions", "hold", "invoker", "peer")

    def __init__(
        self, engine: Engine, peer: Peer, *, hold_grace_ms: int | None = None, hold_quiet_ms: int = 0
    ) -> None:
        """``hold_grace_ms``: hold registrations until the namespace is known, at most that
        long, or until the connection is quiet for ``hold_quiet_ms`` (the transport's
        connections; spec iii-0.23-0.25 §1.2). None or 0: the namespace is ``default`` from the
        start (in-process and test peers)."""
        self.engine = engine
        self.peer = peer
        #: The peer's grant, decided once at connect (frozen).
        self.access = peer.access
        # Read on every frame: kept here, one attribute away.
        self.invoker = engine.invoker
        self.functions = engine.functions
        self.hold: NamespaceHold | None = None
        if hold_grace_ms:  # None or 0: no hold
            self.hold = NamespaceHold(self._apply_held, hold_grace_ms / 1000, hold_quiet_ms / 1000, self._hold_expired)
            peer.namespace_gate = self

    # ------------------------------------------------------------------ the namespace

    @property
    def namespace_fixed(self) -> bool:
        return self.hold is None or self.hold.resolved

    async def resolve_namespace(self, namespace: str) -> bool:
        hold = self.hold
        if hold is None or not hold.claim():
            return False
        self.peer.namespace = namespace
        await hold.drain()
        self.hold = None  # nothing is held any more: the frame path skips the check
        return True

    def drop_held(self) -> None:
        if self.hold is not None:
            self.hold.cancel()

    async def _apply_held(self, msg: Any) -> None:
        if self.peer.connected:  # held frames of a connection that left are discarded
            await _DISPATCH[type(msg)](self, msg)

    def _hold_expired(self, why: str) -> None:
        if self.hold is not None and not self.hold.resolved and self.peer.connected:
            log.info(
                "worker %s named no namespace (%s): its registrations go to default", self.peer.display_name, why
            )
            self.peer.namespace_timed_out = True
            self.engine.refresh_message_limit(self.peer)
            self.invoker.spawn(self.resolve_namespace(DEFAULT))

    async def handle_frame(self, frame: bytes) -> None:
        """Process one text/binary frame from the peer, strictly in arrival order."""
        if frame[:1] != b"{":  # every JSON frame an SDK sends starts so: skip the checks below
            if frame[:4] in p.TELEMETRY_PREFIXES:
                sink = self.engine.telemetry_sink
                if sink is not None:
                    sink(frame[:4], frame[4:])
                return
            if not frame or (frame[:1] in _BLANK and not frame.strip()):  # no copy of every frame
                return
        try:
            msg = p.decode(frame)
        except p.FrameError as exc:
            await self._bad_frame(exc)
            return
        if type(msg) is p.InvocationResult:  # the hot path: hand the raw frame on for pass-through
            await self.invoker.result_from_peer(self.peer, msg, frame if isinstance(frame, bytes) else None)
            return
        hold = self.hold
        if hold is not None:
            hold.touch()
            if not hold.resolved and _proves_default(msg):
                await self.resolve_namespace(DEFAULT)  # applies what was held, then this frame
            elif type(msg) in _HELD and hold.holding:
                hold.hold(msg)
                return
        handler = _DISPATCH.get(type(msg))
        if handler is None:
            log.debug("ignoring %s frame from %s", type(msg).__name__, self.peer.worker_id)
            return
        await handler(self, msg)

    # ------------------------------------------------------------------ replies

    async def send_quietly(self, msg: p.Message) -> None:
        """Send to the peer; a peer that is gone misses nothing its cleanup does not handle."""
        try:
            await self.peer.send_frame(p.encode(msg))
        except ConnectionError:
            pass

    async def refuse_registration(
        self, kind: str, reg_id: str, code: str, reason: str, *, function_id: str = ""
    ) -> None:
        """A registration was denied (RBAC gate, hook, quota). The protocol has no reply for
        it; pyiii sends a ``triggerregistrationresult`` error, the one frame every SDK accepts
        unsolicited and only logs (docs/compatibility.md, Security). ``kind`` is the trigger type
        for bindings and the frame type (``registerfunction``/``registertriggertype``) otherwise."""
        message = f"{kind} '{reg_id}' refused: {reason}"
        log.warning("worker %s (%s): %s", self.peer.display_name, self.peer.listener, message)
        await self.send_quietly(
            p.TriggerRegistrationResult(
                id=reg_id,
                trigger_type=kind,
                function_id=function_id or reg_id,
                error=p.ErrorBody(code=code, message=message),
            )
        )

    # ------------------------------------------------------------------ small frames

    async def _on_ping(self, _msg: p.Ping) -> None:
        await self.send_quietly(p.Pong())

    async def _on_reattach(self, msg: p.Reattach) -> None:
        engine = self.engine
        old = engine.peers.get(msg.previous_worker_id)
        if old is None:
            # Already cleaned up (the socket died first): its observers wait as orphans; the
            # token proves this is the worker that owned them (spec iii-0.23-0.25 §5.14).
            engine.observe.reattached(msg.previous_worker_id, msg.reattach_token, self.peer)
            return
        if old is self.peer:
            return
        if not msg.reattach_token or msg.reattach_token != old.reattach_token:
            log.warning("reattach to %s refused: bad token", msg.previous_worker_id)
            return
        # Its observers go with the worker, not with the old socket (spec iii-0.23-0.25 §5.14).
        engine.observe.transfer(old, self.peer)
        # Tear the old connection down before the replayed registrations that follow are read,
        # so its cleanup cannot remove what the new connection re-registers.
        try:
            await asyncio.wait_for(engine.disconnect_peer(old), engine.limits.reattach_wait_ms / 1000)
        except TimeoutError:
            log.warning("cleanup of %s did not finish in time during reattach", old.worker_id)
        self.invoker.spawn(old.close(1000, "replaced by a reattached connection"))

    async def _ignore(self, _msg: Any) -> None:
        return None

    # ------------------------------------------------------------------ bad frames

    async def _bad_frame(self, exc: p.FrameError) -> None:
        """Log it; answer wherever a call waits on it, so nobody waits for a timeout: an
        invokefunction with an id gets a typed error, and an owner's undecodable
        invocationresult fails the call it answers."""
        peer = self.peer
        log.warning("dropped frame from %s: %s", peer.display_name, exc.message)
        raw = exc.raw
        code = E.PAYLOAD_TOO_DEEP if exc.kind == "too_deep" else E.INVALID_FRAME
        if exc.kind == "too_deep" and raw and raw.get("type") in _REGISTRATION_FRAMES and isinstance(
            raw.get("id"), str
        ):
            # Valid JSON the engine cannot read: refused, typed. (A frame with wrong fields stays
            # dropped silently, as spec §1.6 says and tests/integration/core/test_bad_input.py checks.)
            await self._refuse_undecodable_registration(raw, code, exc.message)
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

    async def _refuse_undecodable_registration(self, raw: dict[str, Any], code: str, reason: str) -> None:
        """A registration frame whose envelope is nested too deeply to decode: the typed refusal
        every registration gets, addressed from its top-level strings."""
        frame_type, reg_id = raw["type"], raw["id"]
        kind = frame_type
        function_id = ""
        if frame_type == "registertrigger":
            kind = raw["trigger_type"] if isinstance(raw.get("trigger_type"), str) else frame_type
            function_id = raw["function_id"] if isinstance(raw.get("function_id"), str) else ""
        await self.refuse_registration(kind, reg_id, code, reason, function_id=function_id)


#: The call that names the connection's namespace.
REGISTER_WORKER: Final = "engine::workers::register"

#: Registrations whose effect depends on the connection's namespace, and those that must keep
#: their order relative to them: held until the namespace is known (spec iii-0.23-0.25 §1.2).
_HELD: Final = frozenset((
    p.RegisterFunction, p.UnregisterFunction, p.RegisterService, p.RegisterTrigger, p.UnregisterTrigger,
    p.RegisterTriggerType, p.UnregisterTriggerType,
    # A 0.25 SDK replays its observers after its registrations: held with them, they find the
    # worker's name (replay adoption) and its registered functions (spec iii-0.23-0.25 §5.14).
    p.Observe, p.Unobserve,
))


def _proves_default(msg: Any) -> bool:
    """A frame that shows, before ``engine::workers::register``, that the connection's
    namespace is ``default``: a 0.23+ SDK puts its namespace on every call and binding (spec
    iii-0.23-0.25 §1.4), so one without it comes from a worker in default or from an old client;
    an old client's JSON ping or call is its barrier ("all I sent is applied") and must find its
    registrations applied (docs/compatibility.md, namespaces)."""
    kind = type(msg)
    if kind is p.InvokeFunction:
        return msg.namespace is None and msg.function_id != REGISTER_WORKER
    if kind is p.RegisterTrigger:
        return msg.namespace is None
    return kind is p.Ping


#: Frame type -> its handler, called as ``handler(session, msg)`` (``invocationresult`` is handled
#: inline, before this lookup).
_DISPATCH: Final[dict[type, Callable[[Session, Any], Awaitable[None]]]] = {
    p.Ping: Session._on_ping,
    p.Pong: Session._ignore,
    p.RegisterFunction: on_register_function,
    p.UnregisterFunction: on_unregister_function,
    p.RegisterTriggerType: on_register_trigger_type,
    p.UnregisterTriggerType: on_unregister_trigger_type,
    p.RegisterTrigger: on_register_trigger,
    p.UnregisterTrigger: on_unregister_trigger,
    p.TriggerRegistrationResult: on_trigger_registration_result,
    p.InvokeFunction: on_invoke,
    p.Reattach: Session._on_reattach,
    p.RegisterService: Session._ignore,
    p.RegistrationRejected: Session._ignore,
    p.FunctionRegistered: Session._ignore,
    p.LocalInvocationStats: on_local_invocation_stats,
    p.WorkerRegistered: Session._ignore,
    p.ErrorFrame: Session._ignore,
    p.Observe: on_observe,
    p.Unobserve: on_unobserve,
    p.ObserverAck: on_observer_ack,
    p.InvocationsObserved: on_invocations_observed,
    # Engine -> worker frames a worker has no reason to send.
    p.ObserveResult: Session._ignore,
    p.ObserverStateChanged: Session._ignore,
    p.ObserverAdded: Session._ignore,
    p.ObserverRemoved: Session._ignore,
}

__all__ = ["Session", "is_call_frame"]
