"""The legacy trigger shim (spec iii-0.23-0.25 §5.11): an old client's ``registertrigger`` of a
type no trigger-type provider serves becomes an observer of the function that declared
``observe.legacy_trigger_type`` for it.

The observer: id = the trigger id, source = the shim function, ``args`` = the trigger's config
(when it is an object), target = the trigger's function, observer ``metadata`` = the trigger's,
``legacy = {trigger_type, config}``; owned by the registering connection. The old client's only
channel is ``triggerregistrationresult``: a refusal or a later ``error`` goes there. It ends with
``unregistertrigger`` or the connection (no replay adoption: an old client registers again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyiii import protocol as p
from pyiii.core.namespaces import DEFAULT
from pyiii.core.observe.filters import compile_filter
from pyiii.core.observe.model import ObserveSpec
from pyiii.core.observe.request import ObserveRefusal

if TYPE_CHECKING:
    from pyiii.core.observe.service import ObserveService
    from pyiii.core.peer import Peer


@dataclass(frozen=True, slots=True)
class LegacyTrigger:
    id: str
    trigger_type: str
    function_id: str
    config: Any
    metadata: Any
    #: Where the target resolves (the binding's namespace).
    namespace: str
    #: Where the shim is looked up first (then ``default``).
    home: str


async def observe_legacy(service: ObserveService, peer: Peer, trigger: LegacyTrigger) -> bool:
    """Turn ``trigger`` into an observer if a shim function serves its type; False: none does
    (the binding takes its usual path)."""
    shim = service.shim_for(trigger.trigger_type, trigger.home) or service.shim_for(trigger.trigger_type, DEFAULT)
    if shim is None:
        return False
    known = service.registry.get(trigger.id)
    if known is not None and known.peer is peer:
        service.dispose(known, "REPLACED", "registered again", tell=False)
    config = trigger.config
    spec = ObserveSpec(
        id=trigger.id, source_ns=shim.namespace, source_id=shim.id, target_ns=trigger.namespace,
        target_id=trigger.function_id, filter=compile_filter({}), args=config if isinstance(config, dict) else {},
        metadata=trigger.metadata, has_metadata=trigger.metadata is not None,
        legacy={"trigger_type": trigger.trigger_type, "config": config},
    )
    try:
        if known is not None and known.peer is not peer and known.live:
            raise ObserveRefusal("INVALID_ARGS", f"trigger id {trigger.id!r} is already in use")
        service.create(peer, spec)
    except ObserveRefusal as exc:
        await refuse(peer, trigger.id, trigger.trigger_type, trigger.function_id, exc.code, exc.message)
    return True


async def refuse(peer: Peer, trigger_id: str, trigger_type: str, function_id: str, code: str, message: str) -> None:
    try:
        await peer.send_frame(p.encode(p.TriggerRegistrationResult(
            id=trigger_id, trigger_type=trigger_type, function_id=function_id,
            error=p.ErrorBody(code=code, message=message),
        )))
    except ConnectionError:
        pass
