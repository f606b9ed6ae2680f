"""Events an owner reports (spec iii-0.23-0.25 §5.3.8, §5.7): ``invocationsobserved`` items
(local calls, ``obs.emit``) and ``obs.call`` (an ``invokefunction`` with ``activation``).

Anti-spoofing: an item or a call counts only from the connection that hosts the source, and
only for observers of that source that are active; everything else is ignored or refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, Final

import msgspec

from pyiii import protocol as p
from pyiii.core import errors as E
from pyiii.core.errors import FunctionError
from pyiii.core.observe import model as m
from pyiii.core.observe.descriptor import OWNER, descriptor_of
from pyiii.core.observe.events import Event, read_caller, read_depth, wire_value
from pyiii.core.observe.service import ObserveService
from pyiii.ids import uuid4_text

if TYPE_CHECKING:
    from pyiii.core.functions import FunctionEntry
    from pyiii.core.peer import Peer

log = logging.getLogger("pyiii.observe")

OBSERVER_NOT_ACTIVE: Final = "OBSERVER_NOT_ACTIVE"
NOT_OWNER_DELIVERED: Final = "NOT_OWNER_DELIVERED"
_PARTS: Final = ("input", "output", "error", "metadata")


def ingest_reports(service: ObserveService, peer: Peer, msg: p.InvocationsObserved) -> int:
    """Activate the observers the owner's items name; returns how many activations started."""
    started = 0
    remapped: dict[tuple[str, str], FunctionEntry] | None = None  # built once per frame, on a miss
    for raw in msg.items:
        try:
            item = p.from_raw(raw)
        except (msgspec.DecodeError, RecursionError, UnicodeError):
            continue
        if not isinstance(item, dict):
            continue
        function_id, namespace = item.get("function_id"), item.get("namespace")
        source = _owned_source(service, peer, function_id, namespace)
        if source is None and isinstance(function_id, str) and peer.functions:
            if remapped is None:  # a registration hook may have remapped ids: the worker reports its own
                remapped = _registered_ids(service, peer)
            source = remapped.get((namespace if isinstance(namespace, str) else peer.namespace, function_id))
        matched = item.get("matched")
        if source is None or not isinstance(matched, list):
            continue
        bucket = service.registry.by_source.get((source.namespace, source.id), {})
        event: Event | None = None
        for oid in matched:
            observer = bucket.get(oid) if isinstance(oid, str) else None
            if observer is None or observer.state != m.ACTIVE:
                continue
            event = event or _item_event(source, item)
            started += service.activations.offer(observer, event)
    return started


def _owned_source(service: ObserveService, peer: Peer, function_id: Any, namespace: Any) -> FunctionEntry | None:
    if not isinstance(function_id, str):
        return None
    ns = namespace if isinstance(namespace, str) else peer.namespace
    entry = service.functions.get(peer.access.prefixed(function_id), ns)
    if entry is None or entry.owner is not peer or entry.handler is not None:
        return None
    return entry


def _registered_ids(service: ObserveService, peer: Peer) -> dict[tuple[str, str], FunctionEntry]:
    """``(namespace, id as the worker registered it)`` -> its entry, for the peer's functions."""
    out: dict[tuple[str, str], FunctionEntry] = {}
    for fid in peer.functions:
        entry = service.functions.get(fid, peer.namespace)
        if entry is not None and entry.owner is peer and entry.handler is None and entry.local_id:
            out[(entry.namespace, entry.local_id)] = entry
    return out


def _item_event(source: FunctionEntry, item: dict[str, Any]) -> Event:
    invocation_id = item.get("invocation_id")
    started = item.get("started_at_ms")
    duration = item.get("duration_ms")
    tp, bg = item.get("traceparent"), item.get("baggage")
    event = Event(
        source.id, source.namespace, invocation_id if isinstance(invocation_id, str) else uuid4_text(),
        "error" if item.get("status") == "error" else "success",
        started if isinstance(started, int) and not isinstance(started, bool) else int(time.time() * 1000),
        float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else 0.0,
        read_depth(item.get("observe_depth")),
        tp if isinstance(tp, str) else None, bg if isinstance(bg, str) else None,
        caller=read_caller(item.get("caller")),
    )
    for part in _PARTS:
        if part in item:
            event.values[part] = item[part]
    return event


async def owner_call(service: ObserveService, peer: Peer, msg: p.InvokeFunction) -> bool:
    """``obs.call``: run the observer's stored target with the owner's payload and answer the
    owner's invocation with the target's result. False: not an owner call (no ``observer_id``)."""
    activation = wire_value(msg.activation)
    oid = activation.get("observer_id") if isinstance(activation, dict) else None
    if not isinstance(oid, str):
        return False
    reply_id = msg.invocation_id if not isinstance(msg.action, p.VoidAction) else None
    try:
        event = _call_event(service, peer, msg, oid)
    except FunctionError as exc:
        log.info("obs.call of observer %s from %s refused: %s", oid, peer.display_name, exc.message)
        if reply_id is not None:
            await _answer(peer, reply_id, msg.function_id, error=exc)
        return True
    observer = service.registry.by_id[oid]
    reply: asyncio.Future[Any] | None = asyncio.get_running_loop().create_future() if reply_id else None
    service.activations.offer(observer, event, reply)
    if reply is not None and reply_id is not None:
        service.invoker.spawn(_relay(peer, reply_id, msg.function_id, reply))
    return True


def _call_event(service: ObserveService, peer: Peer, msg: p.InvokeFunction, oid: str) -> Event:
    observer = service.registry.get(oid)
    if observer is None or observer.state != m.ACTIVE:
        raise FunctionError(OBSERVER_NOT_ACTIVE, f"observer {oid} is not active")
    source = service.functions.get(observer.spec.source_id, observer.spec.source_ns)
    if source is None or source.owner is not peer:
        raise FunctionError(E.FORBIDDEN, f"observer {oid} observes a function this worker does not host")
    if descriptor_of(source).delivery != OWNER:
        raise FunctionError(NOT_OWNER_DELIVERED, f"{source.id} is not owner-delivered: its calls are the events")
    spec = observer.spec
    allowed, _ = peer.access.may_call(spec.target_id, service.functions.get(spec.target_id, spec.target_ns),
                                      namespace=spec.target_ns)
    if not allowed:  # spec §5.15: checked like an invocation by the owner's session
        raise FunctionError(E.FORBIDDEN, f"this session may not call {spec.target_id}")
    depth = wire_value(msg.observe_depth)
    caller = read_caller(wire_value(msg.caller)) or {}
    caller["worker_id"] = peer.worker_id
    if peer.metadata.name:
        caller["worker_name"] = peer.metadata.name
    event = Event(source.id, source.namespace, msg.invocation_id or uuid4_text(), "success",
                  int(time.time() * 1000), 0.0, read_depth(depth), msg.traceparent, msg.baggage, caller=caller)
    event.owner_payload = msg.data if msg.data else p.NULL
    return event


async def _relay(peer: Peer, reply_id: str, function_id: str, reply: asyncio.Future[Any]) -> None:
    try:
        result = await reply
    except FunctionError as exc:
        await _answer(peer, reply_id, function_id, error=exc)
        return
    await _answer(peer, reply_id, function_id, result=result)


async def _answer(peer: Peer, reply_id: str, function_id: str, *, result: Any = None,
                  error: FunctionError | None = None) -> None:
    if error is not None:
        msg = p.InvocationResult(invocation_id=reply_id, function_id=function_id,
                                 error=p.ErrorBody(code=error.code, message=error.message))
    else:
        msg = p.InvocationResult(invocation_id=reply_id, function_id=function_id,
                                 result=p.to_raw(result) if result is not None else p.ABSENT)
    try:
        await peer.send_frame(p.encode(msg))
    except ConnectionError:
        pass
