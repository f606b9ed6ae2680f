"""A worker's ``register*`` / ``unregister*`` frames (spec/protocol.md §3.2-§3.5, §6.5-§6.6).

Each registration passes, in order: the session's gate (``allow_*_registration``,
``allowed_trigger_types``), the decoding of its JSON fields, the listener's hook (which may remap
it or deny it), the access rules that need the registries (who owns a function id, what a
binding may call) and the worker's quota. A refusal is a typed ``triggerregistrationresult``
(:meth:`Session.refuse_registration`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypeVar

from pyiii import protocol as p
from pyiii.core import errors as E
from pyiii.core.errors import FunctionError, TriggerRegistrationError
from pyiii.core.function_ack import acknowledge_function
from pyiii.core.functions import FunctionEntry
from pyiii.core.invoker import decode_payload
from pyiii.core.namespaces import DEFAULT, blank_message, is_blank
from pyiii.core.observe.descriptor import parse_descriptor
from pyiii.core.observe.legacy import LegacyTrigger, observe_legacy
from pyiii.core.registration_hooks import (
    FunctionRegistration,
    Registration,
    TriggerRegistration,
    TriggerTypeRegistration,
)
from pyiii.core.triggers import Binding, TriggerType

if TYPE_CHECKING:
    from pyiii.core.session import Session

log = logging.getLogger("pyiii.engine")

R = TypeVar("R", bound=Registration)


async def pass_hook(
    session: Session, hook_id: str | None, registration: R, kind: str, reg_id: str, what: str,
    *, function_id: str = "",
) -> R | None:
    """``registration`` as the listener's hook leaves it: unchanged when there is no hook,
    remapped by it, or None when it denies, the refusal sent (``kind``, ``reg_id``,
    ``function_id``: see :meth:`Session.refuse_registration`; ``what`` names it in the reason)."""
    if hook_id is None:
        return registration
    mapped = await _ask_hook(session, hook_id, registration)
    if mapped is None:
        await session.refuse_registration(
            kind, reg_id, E.FORBIDDEN, f"denied by the {what} registration hook", function_id=function_id
        )
    return mapped


async def _ask_hook(session: Session, hook_id: str, registration: R) -> R | None:
    """The listener's hook on ``registration``: the (possibly remapped) registration, or None
    when it denies (any answer but an object, an error, a timeout)."""
    try:
        answer = await session.invoker.call(
            hook_id,
            registration.hook_payload(session.access.context),
            timeout=session.access.hooks.timeout_ms / 1000,
        )
    except FunctionError as exc:
        log.info("registration hook %s denied: %s", hook_id, exc.message)
        return None
    return registration.remapped(answer) if isinstance(answer, dict) else None


# ---------------------------------------------------------------------- functions


async def on_register_function(session: Session, msg: p.RegisterFunction) -> None:
    peer, access, engine = session.peer, session.access, session.engine
    if not access.allow_function_registration:
        await session.refuse_registration(
            "registerfunction", msg.id, E.FORBIDDEN, "this session may not register functions"
        )
        return
    try:  # valid JSON can still be undecodable here (1E400, too deep): refuse, typed
        metadata = decode_payload(msg.metadata, msg.id, "metadata")
        request_format = decode_payload(msg.request_format, msg.id, "request_format")
        response_format = decode_payload(msg.response_format, msg.id, "response_format")
        observe = decode_payload(msg.observe, msg.id, "observe") if msg.observe else None
    except FunctionError as exc:
        await session.refuse_registration("registerfunction", msg.id, exc.code, exc.message)
        return
    registration = await pass_hook(
        session, access.hooks.on_function_registration,
        FunctionRegistration(msg.id, msg.description, metadata, peer.namespace), "registerfunction", msg.id, "function",
    )
    if registration is None:
        return
    function_id = access.prefixed(registration.function_id)
    namespace = peer.namespace
    if namespace != DEFAULT and function_id.startswith("engine::"):
        await _reject_function(session, function_id, "")  # engine::* belongs to default
        return
    existing = session.functions.get(function_id, namespace)
    owner = existing.owner if existing is not None else None
    if peer.namespace_aware and owner is not None and owner is not peer and owner.connected:
        # First live owner wins (0.23+ workers; a 0.22.1 worker keeps last-writer-wins, D2).
        await _reject_function(session, function_id, owner.worker_id)
        return
    taken = access.takeover_refusal(function_id, existing, peer)
    if taken is not None:
        await session.refuse_registration("registerfunction", msg.id, E.FORBIDDEN, taken)
        return
    limit = engine.limits.max_functions_per_worker
    if (existing is None or existing.owner is not peer) and len(peer.functions) >= limit:
        await session.refuse_registration(
            "registerfunction", msg.id, E.LIMIT_EXCEEDED, f"max_functions_per_worker={limit} reached"
        )
        return
    entry = FunctionEntry(
        id=function_id,
        description=registration.description,
        request_format=request_format,
        response_format=response_format,
        metadata=registration.metadata,
        owner=peer,
        # Invocations go out under the id the worker registered (before a hook remap or the
        # prefix), so its SDK finds the handler (the reference strips only the prefix).
        local_id=msg.id if msg.id != function_id else None,
        namespace=namespace,
    )
    if observe is not None:
        entry.extra["observe"] = parse_descriptor(observe, function_id)
    if msg.invocation is not None:
        factory = engine.http_function_factory
        if factory is None:
            log.warning("HTTP functions worker not loaded: %s (with an `invocation`) ignored", function_id)
            return
        try:
            entry.handler = await factory(function_id, msg.invocation)
        except ValueError as exc:
            log.warning("HTTP function %s refused: %s", function_id, exc)
            return
    if existing is not None and existing.owner is not peer:
        log.info("function %s re-registered by %s (last writer wins, a 0.22.1 worker)", function_id, peer.display_name)
    session.functions.put(entry)
    await acknowledge_function(session, entry, msg.id, msg.invocation is not None)


async def _reject_function(session: Session, function_id: str, owner_worker_id: str) -> None:
    """``registrationrejected`` (spec iii-0.23-0.25 §4): nothing is registered, the connection
    stays open; the incumbent keeps the id."""
    peer = session.peer
    log.warning(
        "function %s of %s refused in namespace %r: owned by %s",
        function_id, peer.display_name, peer.namespace, owner_worker_id or "the engine",
    )
    await session.send_quietly(p.RegistrationRejected(
        code=E.FUNCTION_NAMESPACE_CONFLICT, namespace=peer.namespace, owner_worker_id=owner_worker_id,
        function_id=function_id,
    ))


async def on_unregister_function(session: Session, msg: p.UnregisterFunction) -> None:
    peer = session.peer
    stored = session.access.prefixed(msg.id)
    if stored not in peer.functions:
        # A hook may have remapped the id: find what this worker registered as ``msg.id``.
        for candidate in peer.functions:
            entry = session.functions.get(candidate, peer.namespace)
            if entry is not None and entry.local_id == msg.id:
                stored = candidate
                break
    session.functions.remove(stored, peer)


# ---------------------------------------------------------------------- trigger types


async def on_register_trigger_type(session: Session, msg: p.RegisterTriggerType) -> None:
    peer, access = session.peer, session.access
    if is_blank(msg.namespace):  # logged and dropped: the frame has no reply (spec iii-0.23-0.25 §1.4)
        log.warning("registertriggertype %s from %s dropped: blank namespace", msg.id, peer.display_name)
        return
    if not access.allow_trigger_type_registration:
        await session.refuse_registration(
            "registertriggertype", msg.id, E.FORBIDDEN, "this session may not register trigger types"
        )
        return
    try:
        trigger_request_format = decode_payload(msg.trigger_request_format, msg.id, "trigger_request_format")
        call_request_format = decode_payload(msg.call_request_format, msg.id, "call_request_format")
    except FunctionError as exc:
        await session.refuse_registration("registertriggertype", msg.id, exc.code, exc.message)
        return
    registration = await pass_hook(
        session, access.hooks.on_trigger_type_registration, TriggerTypeRegistration(msg.id, msg.description),
        "registertriggertype", msg.id, "trigger type",
    )
    if registration is None:
        return
    type_id = registration.type_id
    limit = session.engine.limits.max_trigger_types_per_worker
    if type_id not in peer.trigger_types and len(peer.trigger_types) >= limit:
        await session.refuse_registration(
            "registertriggertype", msg.id, E.LIMIT_EXCEEDED, f"max_trigger_types_per_worker={limit} reached"
        )
        return
    await session.engine.triggers.add_type(
        TriggerType(type_id, registration.description, trigger_request_format, call_request_format, owner=peer)
    )


async def on_unregister_trigger_type(session: Session, msg: p.UnregisterTriggerType) -> None:
    # The 0.22.1 engine ignores this frame; honouring it is what a user expects. Its 0.25
    # ``namespace`` names the provider key; every provider serves default for now, so only a
    # blank one (dropped, no reply exists) changes anything.
    if is_blank(msg.namespace):
        log.warning("unregistertriggertype %s from %s dropped: blank namespace", msg.id, session.peer.display_name)
        return
    await session.engine.triggers.remove_type(msg.id, session.peer)


# ---------------------------------------------------------------------- triggers (bindings)


async def on_register_trigger(session: Session, msg: p.RegisterTrigger) -> None:
    peer, access = session.peer, session.access
    for field, value in (("namespace", msg.namespace), ("trigger_namespace", msg.trigger_namespace)):
        if is_blank(value):
            await session.send_quietly(p.TriggerRegistrationResult(
                id=msg.id, trigger_type=msg.trigger_type, function_id=msg.function_id,
                error=p.ErrorBody(code=E.INVALID_NAMESPACE, message=blank_message(field)),
            ))
            return
    denied = access.bind_refusal(msg.trigger_type)
    if denied is not None:
        await session.refuse_registration(msg.trigger_type, msg.id, E.FORBIDDEN, denied, function_id=msg.function_id)
        return
    try:
        config = decode_payload(msg.config, msg.id, "config")
        metadata = decode_payload(msg.metadata, msg.id, "metadata")
    except FunctionError as exc:
        await session.refuse_registration(
            msg.trigger_type, msg.id, exc.code, exc.message, function_id=msg.function_id
        )
        return
    reg = await pass_hook(
        session, access.hooks.on_trigger_registration,
        TriggerRegistration(
            msg.id, msg.trigger_type, msg.function_id, config, metadata, msg.namespace or DEFAULT
        ),
        msg.trigger_type, msg.id, "trigger", function_id=msg.function_id,
    )
    if reg is None:
        return
    binding = Binding(
        reg.trigger_id, reg.trigger_type, access.prefixed(reg.function_id), reg.config, reg.metadata, owner=peer,
        grant=access if access.restricted else None, namespace=msg.namespace or DEFAULT,
    )
    if binding.grant is not None:
        reason = access.targets_refusal(binding.targets(), session.functions, peer, binding.namespace)
        if reason is not None:
            await session.refuse_registration(
                reg.trigger_type, reg.trigger_id, E.FORBIDDEN, reason, function_id=binding.function_id
            )
            return
    if reg.trigger_type not in session.engine.triggers.types and await observe_legacy(
        session.engine.observe, peer, LegacyTrigger(
            reg.trigger_id, reg.trigger_type, binding.function_id, reg.config, reg.metadata, binding.namespace,
            msg.trigger_namespace or peer.namespace,
        ),
    ):
        return  # no provider, but a 0.25 function serves the type: an observer (spec iii-0.23-0.25 §5.11)
    try:
        # The quota (max_triggers_per_worker) is the registry's: it counts engine calls too.
        await session.engine.triggers.add_binding(binding)
    except TriggerRegistrationError as exc:
        log.warning(
            "trigger %s (%s -> %s) refused: %s", reg.trigger_id, reg.trigger_type, binding.function_id, exc.message
        )
        await session.send_quietly(
            p.TriggerRegistrationResult(
                id=reg.trigger_id,
                trigger_type=reg.trigger_type,
                function_id=binding.function_id,
                error=p.ErrorBody(code=exc.code, message=exc.message),
            )
        )


async def on_unregister_trigger(session: Session, msg: p.UnregisterTrigger) -> None:
    triggers = session.engine.triggers
    binding = triggers.find(msg.id)
    if binding is None:
        session.engine.observe.unobserve_legacy(session.peer, msg.id)
    if binding is not None and not session.access.may_remove(binding, session.peer):
        await session.refuse_registration(
            binding.trigger_type, msg.id, E.FORBIDDEN, "owned by another worker", function_id=binding.function_id
        )
        return
    await triggers.remove_binding(msg.id)


async def on_trigger_registration_result(session: Session, msg: p.TriggerRegistrationResult) -> None:
    """A worker that provides a trigger type answered a binding it was handed: an answer an
    ``engine::register_trigger`` call waits for, or a late refusal passed on to the binding's
    owner."""
    peer, engine = session.peer, session.engine
    if engine.take_trigger_ack(peer, msg) or msg.error is None:
        return
    binding = engine.triggers.provider_rejected(peer, msg)
    if binding is None:
        return
    log.warning("trigger %s refused by provider %s: %s", msg.id, peer.display_name, msg.error.message)
    owner = binding.owner
    if owner is not None and owner.connected:
        try:
            await owner.send_frame(p.encode(p.TriggerRegistrationResult(
                id=binding.id, trigger_type=binding.trigger_type, function_id=binding.function_id, error=msg.error,
            )))
        except ConnectionError:
            pass
