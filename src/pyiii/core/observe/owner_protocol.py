"""The owner protocol (spec iii-0.23-0.25 §5.6): a source hosted by a worker that declared
``observe.v1`` must accept each observer with an ``observerack`` before it is active.

Per source ``(namespace, function)`` a revision counter (the registry's) grows with every
``observeradded`` / ``observerremoved``; ``functionregistered`` carries the current value and the
full set (the registry's snapshot). Acks are taken only from the connection hosting the source;
an ack with ``error`` (also a late one) refuses the observer; no ack within the timeout is
``OWNER_TIMEOUT``. Hosts that cannot be asked (in-process, HTTP-invoked, pre-0.25 workers) accept
every observer at once (§5.4 step 10).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyiii import protocol as p
from pyiii.core.features import OBSERVE_V1
from pyiii.core.observe import model as m
from pyiii.core.observe.model import Observer

if TYPE_CHECKING:
    from pyiii.core.functions import FunctionEntry, FunctionRegistry
    from pyiii.core.observe.registry import ObserverRegistry
    from pyiii.core.peer import Peer

log = logging.getLogger("pyiii.observe")

#: ``(observer)``: the owner accepted it.
Accepted = Callable[[Observer], None]
#: ``(observer, code, message)``: the owner refused it, or never answered.
Refused = Callable[[Observer, str, str], None]
#: ``(peer, frame)``: send without waiting.
Send = Callable[["Peer", p.Message], None]


def v1_owner(entry: FunctionEntry) -> Peer | None:
    """The connection hosting ``entry`` if it speaks the owner protocol (declared observe.v1)."""
    owner = entry.owner
    if owner is None or entry.handler is not None or OBSERVE_V1 not in owner.shared_features:
        return None
    return owner


class OwnerProtocol:
    def __init__(
        self, registry: ObserverRegistry, functions: FunctionRegistry, send: Send, ack_timeout_s: float,
        accepted: Accepted, refused: Refused,
    ) -> None:
        self.registry = registry
        self.functions = functions
        self._send = send
        self.ack_timeout_s = ack_timeout_s
        self._accepted = accepted
        self._refused = refused

    def offer(self, observer: Observer, source: FunctionEntry) -> None:
        """A new observer of ``source``: ``observeradded`` to a v1 owner, else accepted."""
        owner = v1_owner(source)
        if owner is None:
            observer.acked = True
            return
        observer.acked, observer.offered = False, True
        observer.revision = self.registry.bump(observer.source)
        self._start_timer(observer)
        self._send(owner, p.ObserverAdded(
            function_id=source.local_id or source.id, namespace=source.namespace, revision=observer.revision,
            observer=observer.info(),
        ))

    def reoffer(self, observer: Observer, source: FunctionEntry) -> None:
        """``source`` (re)registered: a v1 owner finds the observer in its ``functionregistered``
        set (the registry's snapshot) and must ack it again; other hosts accept it."""
        if v1_owner(source) is None:
            observer.acked = True
            return
        observer.acked, observer.offered = False, True
        observer.revision = self.registry.revision(observer.source)
        self._start_timer(observer)

    def forget(self, observer: Observer) -> None:
        """The owner left: what it accepted no longer counts."""
        observer.acked = observer.offered = False
        self.stop_timer(observer)

    def ack(self, peer: Peer, msg: p.ObserverAck) -> None:
        observer = self.registry.get(msg.id)
        if observer is None or observer.state in (m.ERROR, m.DISPOSED):
            return
        source = self.functions.get(observer.spec.source_id, observer.spec.source_ns)
        if source is None or source.owner is not peer or source.handler is not None:
            log.warning("observerack for %s from %s ignored: not the source's owner", msg.id, peer.display_name)
            return
        if msg.error is not None:
            self._refused(observer, msg.error.code, msg.error.message)
            return
        if msg.revision < observer.revision:
            return  # an answer to an older offer
        observer.acked = True
        self.stop_timer(observer)
        self._accepted(observer)

    def removed(self, observer: Observer) -> None:
        """``observerremoved`` to the source's v1 owner, if it holds the observer."""
        source = self.functions.get(observer.spec.source_id, observer.spec.source_ns)
        owner = v1_owner(source) if source is not None else None
        if owner is None or source is None or not observer.offered:
            return
        observer.offered = False
        self._send(owner, p.ObserverRemoved(
            function_id=source.local_id or source.id, namespace=source.namespace,
            revision=self.registry.bump(observer.source), id=observer.id,
        ))

    def stop_timer(self, observer: Observer) -> None:
        if observer.ack_timer is not None:
            observer.ack_timer.cancel()
            observer.ack_timer = None

    def _start_timer(self, observer: Observer) -> None:
        self.stop_timer(observer)
        observer.ack_timer = asyncio.get_running_loop().call_later(self.ack_timeout_s, self._timed_out, observer)

    def _timed_out(self, observer: Observer) -> None:
        observer.ack_timer = None
        if observer.state in (m.PENDING, m.SUSPENDED) and not observer.acked:
            self._refused(observer, m.OWNER_TIMEOUT, "the source's owner did not accept the observer in time")
