"""``functionregistered``: the acknowledgement of one accepted ``registerfunction`` to a worker
that declared ``observe.v1`` (spec iii-0.23-0.25 §3.1), and whether it may run its own calls to
that function in-process (``local_dispatch``, §3.2).

A local call bypasses everything the engine does on a routed one, and a ``true`` cannot be taken
back (there is no revoke message), so the engine allows it only when nothing on the routed path
would have changed the outcome: no listener middleware, no registration prefix or hook remap (the
id the worker calls is not the id stored), an RBAC grant that lets the worker call the function,
and a function the worker runs itself (not an HTTP-invoked one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiii import protocol as p
from pyiii.core.features import LOCAL_DISPATCH_V1, OBSERVE_V1

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyiii.core.functions import FunctionEntry
    from pyiii.core.observer_sets import ObserverSets
    from pyiii.core.peer import Peer
    from pyiii.core.session import Session


def may_dispatch_locally(peer: Peer, entry: FunctionEntry, registered_id: str, http_invoked: bool) -> bool:
    """§3.2: may ``peer`` run its own calls of ``entry`` (registered as ``registered_id``)
    without the engine?"""
    access = peer.access
    if LOCAL_DISPATCH_V1 not in peer.shared_features or http_invoked:
        return False
    if access.middleware_function_id or access.function_registration_prefix or entry.id != registered_id:
        return False
    allowed, _ = access.may_call(entry.id, entry, namespace=entry.namespace)
    return allowed


def function_ack(
    observer_sets: ObserverSets, peer: Peer, entry: FunctionEntry, registered_id: str, http_invoked: bool
) -> bytes | None:
    """The ``functionregistered`` frame for ``entry``, or None when ``peer`` does not take the
    observe family."""
    if OBSERVE_V1 not in peer.shared_features:
        return None
    revision, observers = observer_sets.snapshot(entry.namespace, entry.id)
    return p.encode(p.FunctionRegistered(
        id=registered_id,
        namespace=entry.namespace,
        revision=revision,
        local_dispatch=may_dispatch_locally(peer, entry, registered_id, http_invoked),
        observers=observers,
    ))


async def acknowledge_function(session: Session, entry: FunctionEntry, registered_id: str, http_invoked: bool) -> None:
    """Send ``functionregistered`` for a registration the session just applied."""
    frame = function_ack(session.engine.observer_sets, session.peer, entry, registered_id, http_invoked)
    if frame is not None:
        await send_quietly(session.peer, frame)


async def acknowledge_owned(observer_sets: ObserverSets, peer: Peer, entries: Iterable[FunctionEntry]) -> None:
    """Acknowledge what ``peer`` registered before it declared ``observe.v1`` (a connection
    whose registrations were applied before its ``engine::workers::register``): the SDK keeps
    every function it registered and takes a late acknowledgement like a prompt one."""
    for entry in entries:
        frame = function_ack(observer_sets, peer, entry, entry.local_id or entry.id, entry.handler is not None)
        if frame is not None:
            await send_quietly(peer, frame)


async def send_quietly(peer: Peer, frame: bytes) -> None:
    try:
        await peer.send_frame(frame)
    except ConnectionError:
        pass
