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
    from pyiii.core.functions import FunctionEntry
    from pyiii.core.session import Session


def may_dispatch_locally(session: Session, entry: FunctionEntry, registered_id: str, http_invoked: bool) -> bool:
    """§3.2: may the worker run its own calls of ``entry`` (registered as ``registered_id``)
    without the engine?"""
    peer, access = session.peer, session.access
    if LOCAL_DISPATCH_V1 not in peer.shared_features or http_invoked:
        return False
    if access.middleware_function_id or access.function_registration_prefix or entry.id != registered_id:
        return False
    allowed, _ = access.may_call(entry.id, entry, namespace=entry.namespace)
    return allowed


async def acknowledge_function(session: Session, entry: FunctionEntry, registered_id: str, http_invoked: bool) -> None:
    """Send ``functionregistered`` for ``entry`` if the worker takes the observe family."""
    if OBSERVE_V1 not in session.peer.shared_features:
        return
    revision, observers = session.engine.observer_sets.snapshot(entry.namespace, entry.id)
    await session.send_quietly(p.FunctionRegistered(
        id=registered_id,
        namespace=entry.namespace,
        revision=revision,
        local_dispatch=may_dispatch_locally(session, entry, registered_id, http_invoked),
        observers=observers,
    ))
