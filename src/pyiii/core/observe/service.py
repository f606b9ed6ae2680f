"""The observers of one engine: their lifecycle from ``observe`` to disposal, the owner protocol
and the events that activate them (spec iii-0.23-0.25 §5.4-§5.8, §5.14-§5.15).

Frames reach it through core/observe/handlers.py; the call path reaches it through
``Invoker.on_observed`` (routed calls of functions whose ``observed`` flag is set), and the
function registry tells it when a source or target comes or goes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyiii import protocol as p
from pyiii.core import errors as E
from pyiii.core.access import refusal_message
from pyiii.core.errors import FunctionError
from pyiii.core.observe import model as m
from pyiii.core.observe.activations import Activations
from pyiii.core.observe.descriptor import ObserveDescriptor, descriptor_of
from pyiii.core.observe.events import Event, matches
from pyiii.core.observe.filters import FilterLimits
from pyiii.core.observe.model import Observer, ObserveSpec
from pyiii.core.observe.owner_protocol import OwnerProtocol
from pyiii.core.observe.registry import ObserverRegistry
from pyiii.core.observe.request import INVALID_ARGS, ObserveRefusal, observer_id, parse_observe

if TYPE_CHECKING:
    from pyiii.core.access import Access
    from pyiii.core.functions import FunctionEntry, FunctionRegistry
    from pyiii.core.invoker import Invoker
    from pyiii.core.peer import Peer

log = logging.getLogger("pyiii.observe")

NOT_OBSERVABLE = "NOT_OBSERVABLE"
#: Upper case like every observe code (the engine's own ``limit_exceeded`` is a call error).
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"


@dataclass(frozen=True, slots=True)
class ObserveLimits:
    """Set from the engine config (EngineLimits; docs/configuration.md)."""

    max_observers_per_worker: int = 1_000
    max_observers: int = 100_000
    max_observe_depth: int = 8
    observer_ack_timeout_ms: int = 35_000
    observer_queue_max: int = 1_000
    observer_orphan_grace_ms: int = 30_000
    filter_limits: FilterLimits = field(default_factory=FilterLimits)


class ObserveService:
    def __init__(self, functions: FunctionRegistry, invoker: Invoker, limits: ObserveLimits | None = None) -> None:
        self.functions = functions
        self.invoker = invoker
        self.limits = limits or ObserveLimits()
        self.registry = ObserverRegistry(functions)
        self.activations = Activations(
            invoker, functions, max_depth=self.limits.max_observe_depth, max_queue=self.limits.observer_queue_max,
            target_missing=self._settle, exhausted=lambda o: self.dispose(o, m.MAX_FIRES, "max_fires reached"),
        )
        self._orphans: dict[str, asyncio.TimerHandle] = {}
        self.owner = OwnerProtocol(
            self.registry, functions, self._send, self.limits.observer_ack_timeout_ms / 1000,
            accepted=self._settle, refused=self._refused,
        )
        #: ``(namespace, legacy trigger type)`` -> the shim function's id (spec §5.11).
        self._shims: dict[tuple[str, str], str] = {}
        functions.on_entry(self._on_entry)
        invoker.on_observed = self.on_event

    # ================================================================== observing side

    async def observe(self, peer: Peer, msg: p.Observe) -> None:
        """An ``observe`` frame, in the order of spec §5.4; every outcome is answered."""
        oid = observer_id(msg)
        if oid is None:
            log.warning("observe from %s dropped: no usable id", peer.display_name)
            return
        known = self.registry.get(oid)
        if known is not None:
            if known.peer is peer or self._adopt(known, peer):
                await self._answer(peer, oid, known.state, known.reason)  # a replay: nothing changes
            else:
                await self._answer(peer, oid, m.ERROR, (INVALID_ARGS, f"observer id {oid!r} is already in use"))
            return
        try:
            spec, warnings = parse_observe(msg, oid, self.limits.filter_limits)
            observer = self.create(peer, spec)
        except ObserveRefusal as exc:
            log.info("observe %s from %s refused: %s %s", oid, peer.display_name, exc.code, exc.message)
            await self._answer(peer, oid, m.ERROR, (exc.code, exc.message))
            return
        await self._answer(peer, oid, observer.state, observer.reason, warnings)

    def create(self, peer: Peer | None, spec: ObserveSpec, access: Access | None = None) -> Observer:
        """A new observer (steps 4-10 of spec §5.4); raises ObserveRefusal."""
        limits = self.limits
        if peer is not None and self.registry.count_of(peer.worker_id) >= limits.max_observers_per_worker:
            raise ObserveRefusal(
                LIMIT_EXCEEDED, f"max_observers_per_worker={limits.max_observers_per_worker} reached"
            )
        if len(self.registry) >= limits.max_observers:
            raise ObserveRefusal(LIMIT_EXCEEDED, f"max_observers={limits.max_observers} reached")
        access = access if access is not None else (peer.access if peer is not None else None)
        if access is not None:  # spec §5.15: the observing session must be allowed to call both
            for ns, fid in ((spec.target_ns, spec.target_id), (spec.source_ns, spec.source_id)):
                allowed, remediation = access.may_call(fid, self.functions.get(fid, ns), namespace=ns)
                if not allowed:
                    raise ObserveRefusal(E.FORBIDDEN, refusal_message(fid, remediation))
        source = self.functions.get(spec.source_id, spec.source_ns)
        if source is not None:
            refusal = _source_refusal(descriptor_of(source), spec)
            if refusal is not None:
                raise ObserveRefusal(*refusal)
        observer = Observer(spec, peer, created_at_ms=int(time.time() * 1000))
        self.registry.add(observer)
        if spec.expires_in_ms is not None:
            observer.expiry = asyncio.get_running_loop().call_later(
                spec.expires_in_ms / 1000, lambda: self.dispose(observer, m.EXPIRED, "expires_in_ms elapsed")
            )
        if source is not None:
            self.owner.offer(observer, source)
        self._settle(observer, quiet=True)
        return observer

    def unobserve(self, peer: Peer, observer_id: str) -> None:
        observer = self.registry.get(observer_id)
        if observer is not None and observer.peer is peer:
            self.dispose(observer, "UNOBSERVED", "disposed by the observing worker", tell=False)

    def unobserve_legacy(self, peer: Peer, trigger_id: str) -> None:
        """``unregistertrigger`` of a trigger the legacy shim made an observer."""
        observer = self.registry.get(trigger_id)
        if observer is not None and observer.peer is peer and observer.spec.legacy is not None:
            self.dispose(observer, "UNOBSERVED", "the trigger was unregistered", tell=False)

    def _adopt(self, observer: Observer, peer: Peer) -> bool:
        """A replay from a new connection of the worker whose connection left (spec §5.14):
        same listener and namespace, and the same worker name (or, unnamed, the same address)."""
        old = observer.peer
        if old is None or old.connected or old.listener != peer.listener or old.namespace != peer.namespace:
            return False
        same = old.metadata.name == peer.metadata.name if old.metadata.name else old.ip_address == peer.ip_address
        if not same:
            return False
        self.registry.rehome(observer, peer)
        timer = self._orphans.pop(observer.id, None)
        if timer is not None:
            timer.cancel()
        return True

    def transfer(self, old: Peer, new: Peer) -> None:
        """``reattach``: the retired connection's observers now belong to the new one."""
        for observer in self.registry.of_peer(old.worker_id):
            self.registry.rehome(observer, new)

    def reattached(self, previous_worker_id: str, token: str | None, peer: Peer) -> None:
        """A ``reattach`` naming a connection already gone: its orphaned observers move to
        ``peer`` when the token is that connection's."""
        for observer in self.registry.of_peer(previous_worker_id):
            old = observer.peer
            if old is None or old.connected or not token or old.reattach_token != token:
                continue
            self.registry.rehome(observer, peer)
            timer = self._orphans.pop(observer.id, None)
            if timer is not None:
                timer.cancel()

    def peer_gone(self, peer: Peer) -> None:
        """The observing connection closed: its observers keep running for a grace period in
        which a reconnecting worker adopts them by replaying ``observe``; then they end."""
        grace = self.limits.observer_orphan_grace_ms / 1000
        loop = asyncio.get_running_loop()
        for observer in self.registry.of_peer(peer.worker_id):
            if grace <= 0 or observer.spec.legacy is not None:  # an old client registers again
                self.dispose(observer, m.OBSERVER_GONE, "the observing worker disconnected", tell=False)
                continue
            self._orphans[observer.id] = loop.call_later(grace, self._orphan_expired, observer)

    def _orphan_expired(self, observer: Observer) -> None:
        self._orphans.pop(observer.id, None)
        if observer.peer is None or not observer.peer.connected:
            self.dispose(observer, m.OBSERVER_GONE, "the observing worker disconnected", tell=False)

    def dispose(self, observer: Observer, code: str, message: str, *, tell: bool = True) -> None:
        if observer.state == m.DISPOSED:
            return
        observer.state, observer.reason = m.DISPOSED, (code, message)
        for timer in (observer.expiry, observer.ack_timer, self._orphans.pop(observer.id, None)):
            if timer is not None:
                timer.cancel()
        for _event, reply in observer.queue:
            if reply is not None and not reply.done():
                reply.set_exception(FunctionError("OBSERVER_NOT_ACTIVE", f"observer {observer.id} was disposed"))
        observer.queue.clear()
        self.registry.remove(observer)
        self.owner.removed(observer)  # only if its owner holds it
        if tell:
            self._tell(observer)

    # ================================================================== owner side

    def ack(self, peer: Peer, msg: p.ObserverAck) -> None:
        """``observerack``: only the connection hosting the observer's source may answer."""
        self.owner.ack(peer, msg)

    def _refused(self, observer: Observer, code: str, message: str) -> None:
        """Refused by the owner (or it never answered): ``error``, and the owner forgets it."""
        self.owner.stop_timer(observer)
        self._set(observer, m.ERROR, (code, message))
        self.owner.removed(observer)

    def shim_for(self, trigger_type: str, namespace: str) -> FunctionEntry | None:
        """The function serving old ``registertrigger`` calls of ``trigger_type`` (spec §5.11)."""
        function_id = self._shims.get((namespace, trigger_type))
        return self.functions.get(function_id, namespace) if function_id is not None else None

    def _on_entry(self, entry: FunctionEntry, added: bool) -> None:
        """A function came or went: re-run steps 5-10 for its observers (spec §5.4 end)."""
        key = (entry.namespace, entry.id)
        if not added and self.functions.get(entry.id, entry.namespace) is not None:
            return  # replaced, not gone: the new entry's event follows
        legacy = descriptor_of(entry).legacy_trigger_type
        if legacy is not None:
            if added:
                self._shims[(entry.namespace, legacy)] = entry.id
            elif self._shims.get((entry.namespace, legacy)) == entry.id:
                del self._shims[(entry.namespace, legacy)]
        for observer in self.registry.of_source(key):
            if observer.state in (m.ERROR, m.DISPOSED):
                continue
            if added:
                refusal = _source_refusal(descriptor_of(entry), observer.spec)
                if refusal is not None:
                    self._set(observer, m.ERROR, refusal)
                    continue
                self.owner.reoffer(observer, entry)
            else:
                self.owner.forget(observer)
            self._settle(observer)
        for observer in self.registry.of_target(key):
            self._settle(observer)
        if added:
            self.registry.refresh_flag(key, entry)

    # ================================================================== state

    def _settle(self, observer: Observer, *, quiet: bool = False) -> None:
        """The state its source and target imply now (pending, active or suspended)."""
        if observer.state in (m.ERROR, m.DISPOSED):
            return
        source = self.functions.get(observer.spec.source_id, observer.spec.source_ns)
        target = self.functions.get(observer.spec.target_id, observer.spec.target_ns)
        was_running = observer.state in (m.ACTIVE, m.SUSPENDED)
        if source is not None and target is not None and observer.acked:
            state, reason = m.ACTIVE, None
        elif source is None and was_running:
            state, reason = m.SUSPENDED, (m.SOURCE_GONE, "the source function is not registered")
        elif target is None and was_running:
            state, reason = m.SUSPENDED, (m.TARGET_GONE, "the target function is not registered")
        else:
            state, reason = m.PENDING, None
        if quiet:
            observer.state, observer.reason = state, reason
            self.registry.refresh_flag(observer.source)
        else:
            self._set(observer, state, reason)

    def _set(self, observer: Observer, state: str, reason: tuple[str, str] | None) -> None:
        if observer.state == state and observer.reason == reason:
            return
        observer.state, observer.reason = state, reason
        self.registry.refresh_flag(observer.source)
        self._tell(observer)
        if state == m.ACTIVE and observer.queue:
            self.activations.resume(observer)

    def _tell(self, observer: Observer) -> None:
        peer = observer.peer
        if peer is None or not peer.connected:
            return
        reason = observer.reason
        legacy = observer.spec.legacy
        if legacy is not None:  # an old client: only a refusal, in the one frame it reads
            if observer.state == m.ERROR and reason is not None:
                self._send(peer, p.TriggerRegistrationResult(
                    id=observer.id, trigger_type=legacy["trigger_type"], function_id=observer.spec.target_id,
                    error=p.ErrorBody(code=reason[0], message=reason[1]),
                ))
            return
        self._send(peer, p.ObserverStateChanged(
            id=observer.id, state=observer.state, fires=observer.fires,
            reason=p.ErrorBody(code=reason[0], message=reason[1]) if reason else None,
        ))

    async def _answer(
        self, peer: Peer, oid: str, state: str, reason: tuple[str, str] | None, warnings: list[str] | None = None
    ) -> None:
        error = p.ErrorBody(code=reason[0], message=reason[1]) if reason and state == m.ERROR else None
        try:
            frame = p.encode(p.ObserveResult(id=oid, state=state, error=error, warnings=warnings or None))
            await peer.send_frame(frame)
        except ConnectionError:
            pass

    def _send(self, peer: Peer, msg: p.Message) -> None:
        if peer.connected:
            self.invoker.spawn(_send_quietly(peer, p.encode(msg)))

    # ================================================================== events

    def on_event(self, event: Event) -> None:
        """A routed call of an observed function completed (spec §5.7)."""
        bucket = self.registry.by_source.get((event.namespace, event.function_id))
        if not bucket:
            return
        for observer in list(bucket.values()):
            if observer.state == m.ACTIVE and matches(observer, event):
                self.activations.offer(observer, event)

    def rows(self) -> list[dict[str, Any]]:
        return [o.row() for o in self.registry]


def _source_refusal(descriptor: ObserveDescriptor, spec: ObserveSpec) -> tuple[str, str] | None:
    """Steps 6-7: the source's descriptor refuses the observer."""
    if not descriptor.allow:
        return NOT_OBSERVABLE, f"{spec.source_id} does not allow observers"
    reason = descriptor.args_refusal(spec.args)
    return (INVALID_ARGS, reason) if reason is not None else None


async def _send_quietly(peer: Peer, frame: bytes) -> None:
    try:
        await peer.send_frame(frame)
    except ConnectionError:
        pass


__all__ = ["NOT_OBSERVABLE", "ObserveLimits", "ObserveService"]
