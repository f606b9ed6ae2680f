"""A worker's ``invokefunction`` (spec/protocol.md §3.6-§3.7, §6.3-§6.4): the access gate, then one
of three routes: through the listener's middleware, onto a queue (an ``enqueue`` action), or to
the invoker (a sync or void call, the hot path: no allocation and no await beyond the invoker's).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

import msgspec

from pyiii import protocol as p
from pyiii.core import errors as E
from pyiii.core.access import refusal_message
from pyiii.core.errors import FunctionError
from pyiii.core.invoker import decode_payload
from pyiii.core.namespaces import DEFAULT, blank_message, is_blank
from pyiii.core.observe.owner_events import owner_call
from pyiii.ids import uuid4_text
from pyiii.w3c_trace import with_function_id

if TYPE_CHECKING:
    from pyiii.core.functions import FunctionEntry
    from pyiii.core.session import Session

log = logging.getLogger("pyiii.engine")

#: Where an enqueue goes: the queue worker's function (not registered: no queue worker).
ENQUEUE_FUNCTION = "engine::queue::enqueue"


async def on_invoke(session: Session, msg: p.InvokeFunction) -> None:
    if msg.activation and await owner_call(session.engine.observe, session.peer, msg):
        return  # an owner's obs.call (spec iii-0.23-0.25 §5.7): routed to the observer's target
    fid = msg.function_id
    namespace = msg.namespace
    if namespace is None:
        entry = session.functions.get(fid)
    elif is_blank(namespace):
        await _refuse_blank_namespace(session, msg)
        return
    else:  # strict: the named namespace only, never a fallback (spec iii-0.23-0.25 §1.5)
        entry = session.functions.get(fid, namespace)
    access = session.access
    allowed, remediation = access.may_call(fid, entry, namespace=namespace or DEFAULT)
    if not allowed:
        await session.send_quietly(
            p.InvocationResult(
                invocation_id=msg.invocation_id or uuid4_text(),
                function_id=fid,
                error=p.ErrorBody(code=E.FORBIDDEN, message=refusal_message(fid, remediation)),
            )
        )
        return
    middleware = access.middleware_function_id
    if middleware and not _engine_builtin(fid, entry):
        session.invoker.spawn(_via_middleware(session, msg, msg.invocation_id or uuid4_text(), middleware))
        return
    if isinstance(msg.action, p.EnqueueAction):
        session.invoker.spawn(_enqueue(session, msg, msg.action.queue))
        return
    data = msg.data if msg.data else p.NULL
    if not isinstance(msg.action, p.VoidAction) and msg.invocation_id is None:
        msg.action = p.VoidAction()  # an id-less call without action is a void call (§3.7)
    # Returns non-object payloads unchanged; no separate is_json_object() check (a 1 MB copy).
    data = p.with_caller_worker_id(data, session.peer.worker_id)
    await session.invoker.invoke_from_peer(session.peer, msg, data, entry)


def _engine_builtin(fid: str, entry: FunctionEntry | None) -> bool:
    """The middleware bypass covers only the engine's own ``engine::*`` functions, not a
    worker's ``engine::custom`` (spec iii-0.23-0.25 §1.8)."""
    return fid.startswith("engine::") and (entry is None or entry.owner is None)


async def _refuse_blank_namespace(session: Session, msg: p.InvokeFunction) -> None:
    """With an id: an INVALID_NAMESPACE result (no trace fields); without one: dropped."""
    if msg.invocation_id is None:
        log.warning("call of %s dropped: blank namespace", msg.function_id)
        return
    await session.send_quietly(p.InvocationResult(
        invocation_id=msg.invocation_id, function_id=msg.function_id,
        error=p.ErrorBody(code=E.INVALID_NAMESPACE, message=blank_message()),
    ))


async def _via_middleware(session: Session, msg: p.InvokeFunction, reply_id: str, middleware: str) -> None:
    """The listener's middleware runs instead of the function (spec §6.4); it gets the call and
    the session's context, and its answer is the caller's."""
    try:
        payload = {
            "function_id": msg.function_id,
            "payload": decode_payload(msg.data, msg.function_id),
            "action": msgspec.to_builtins(msg.action) if msg.action is not None else None,
            "context": session.access.context,
            "namespace": msg.namespace or DEFAULT,
        }
        result = await session.invoker.call(
            middleware,
            payload,
            namespace=msg.namespace or DEFAULT,
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
    await session.send_quietly(reply)


async def _enqueue(session: Session, msg: p.InvokeFunction, queue: str) -> None:
    """Hand the call to the queue worker; the caller (if it gave an id) gets the receipt."""
    receipt = str(uuid.uuid4())
    baggage = with_function_id(msg.baggage, msg.function_id) if (msg.traceparent or msg.baggage) else msg.baggage
    try:
        data = decode_payload(msg.data, msg.function_id)
    except FunctionError as exc:
        if msg.invocation_id is not None:
            await session.send_quietly(p.InvocationResult(
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
    if msg.namespace is not None and msg.namespace != DEFAULT:
        # Only when not default: older queue providers refuse unknown fields (spec §1.10).
        payload["namespace"] = msg.namespace
    try:
        await session.invoker.call(ENQUEUE_FUNCTION, payload, caller=session.peer)
        reply = p.InvocationResult(
            invocation_id=msg.invocation_id or receipt,
            function_id=msg.function_id,
            result=p.to_raw({"messageReceiptId": receipt}),
        )
    except FunctionError as exc:
        if exc.code == E.FUNCTION_NOT_FOUND and exc.message.endswith(f"{ENQUEUE_FUNCTION} not found"):
            message = (
                "no queue provider is installed: add the iii-queue worker to config.yaml "
                f"(Function {ENQUEUE_FUNCTION} not found)"
            )
        else:
            message = f"{exc.code}: {exc.message}"
        reply = p.InvocationResult(
            invocation_id=msg.invocation_id or receipt,
            function_id=msg.function_id,
            error=p.ErrorBody(code=E.ENQUEUE_ERROR, message=message),
        )
    if msg.invocation_id is not None:
        await session.send_quietly(reply)
