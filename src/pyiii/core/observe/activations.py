"""Running activations: one invocation of an observer's target per matched event (spec
iii-0.23-0.25 §5.8, §5.10).

Per observer: at most ``max_in_flight`` activations run at once and the rest wait in a bounded
FIFO queue (overflow is dropped and counted); ``max_fires`` counts started activations and the
observer is disposed once the last of them finished; an event whose activation would be deeper
than ``max_depth`` is dropped, counted and logged (loop protection), the observer unchanged.
A target error fails that activation only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyiii import protocol as p
from pyiii.core.errors import FunctionError
from pyiii.core.features import OBSERVE_V1
from pyiii.core.observe.events import Event, activation_caller, activation_data
from pyiii.core.observe.model import ACTIVE, Observer
from pyiii.core.spans import SpanKind
from pyiii.ids import uuid4_text

if TYPE_CHECKING:
    from pyiii.core.functions import FunctionEntry, FunctionRegistry
    from pyiii.core.invoker import Invoker

log = logging.getLogger("pyiii.observe")

#: ``(observer)``: the target was not registered when an activation was due.
TargetMissing = Callable[[Observer], None]
#: ``(observer)``: the observer's last activation finished after ``max_fires`` was reached.
Exhausted = Callable[[Observer], None]



class Activations:
    def __init__(
        self, invoker: Invoker, functions: FunctionRegistry, *, max_depth: int, max_queue: int,
        target_missing: TargetMissing, exhausted: Exhausted,
    ) -> None:
        self.invoker = invoker
        self.functions = functions
        self.max_depth = max_depth
        self.max_queue = max_queue
        self._target_missing = target_missing
        self._exhausted = exhausted
        #: Events dropped by loop protection, engine-wide.
        self.depth_drops = 0
        self.started = 0
        self.failed = 0

    def offer(self, observer: Observer, event: Event, reply: asyncio.Future[Any] | None = None) -> bool:
        """Start (or queue) an activation of ``observer`` for ``event``; False: dropped.
        ``reply``: an owner's ``obs.call`` waiting for the target's answer."""
        if observer.state != ACTIVE or observer.exhausted:
            _fail(reply, "OBSERVER_NOT_ACTIVE", f"observer {observer.id} is not active")
            return False
        if event.depth + 1 > self.max_depth:
            self.depth_drops += 1
            log.warning(
                "observer %s: activation dropped, observe depth %d would exceed max_observe_depth=%d (a loop?)",
                observer.id, event.depth + 1, self.max_depth,
            )
            _fail(reply, "OBSERVE_DEPTH_EXCEEDED", f"observe depth limit {self.max_depth} reached")
            return False
        limit = observer.spec.max_in_flight
        if limit is not None and observer.in_flight >= limit:
            if len(observer.queue) >= self.max_queue:
                observer.dropped += 1
                log.warning("observer %s: activation dropped, queue full (%d)", observer.id, self.max_queue)
                _fail(reply, "QUEUE_FULL", f"observer {observer.id}: {self.max_queue} activations already wait")
                return False
            observer.queue.append((event, reply))
            return True
        self._start(observer, event, reply)
        return True

    def _start(self, observer: Observer, event: Event, reply: asyncio.Future[Any] | None) -> None:
        observer.fires += 1
        observer.in_flight += 1
        self.started += 1
        limit = observer.spec.max_fires
        if limit is not None and observer.fires >= limit:
            observer.exhausted = True
        self.invoker.spawn(self._run(observer, event, reply))

    async def _run(self, observer: Observer, event: Event, reply: asyncio.Future[Any] | None) -> None:
        try:
            entry = self.functions.get(observer.spec.target_id, observer.spec.target_ns)
            if entry is None:
                _fail(reply, "TARGET_UNAVAILABLE", f"target {observer.spec.target_id} is not registered")
                self._target_missing(observer)
                return
            try:
                result = await self._invoke(observer, entry, event)
            except FunctionError as exc:
                self.failed += 1
                log.info("activation of %s by observer %s failed: %s", entry.id, observer.id, exc)
                _fail(reply, exc.code, exc.message)
                return
            if reply is not None and not reply.done():
                reply.set_result(result)
        except Exception:
            log.exception("activation of observer %s failed", observer.id)
            _fail(reply, "INVOCATION_FAILED", "activation failed")
        finally:
            observer.in_flight -= 1
            self._next(observer)

    def resume(self, observer: Observer) -> None:
        """Start what waits in the queue (the observer is active again)."""
        self._next(observer)

    def _next(self, observer: Observer) -> None:
        while observer.queue and observer.state == ACTIVE and not observer.exhausted:
            limit = observer.spec.max_in_flight
            if limit is not None and observer.in_flight >= limit:
                return
            event, reply = observer.queue.popleft()
            self._start(observer, event, reply)
        if observer.exhausted and observer.in_flight == 0:
            for _event, reply in observer.queue:
                _fail(reply, "OBSERVER_NOT_ACTIVE", f"observer {observer.id} reached max_fires")
            observer.queue.clear()
            self._exhausted(observer)

    async def _invoke(self, observer: Observer, entry: FunctionEntry, event: Event) -> Any:
        spec = observer.spec
        activation_id = uuid4_text()
        remote = entry.handler is None
        observe_v1 = remote and entry.owner is not None and OBSERVE_V1 in entry.owner.shared_features
        source = self.functions.get(event.function_id, event.namespace)
        owner = source.owner if source is not None else None
        caller = activation_caller(event, owner.worker_id if owner else None, owner.metadata.name if owner else None)
        if event.owner_payload is not None:  # obs.call: the owner's payload as is (spec §5.7)
            data: Any = event.owner_payload if remote else p.from_raw(event.owner_payload)
        else:
            data = activation_data(observer, event, activation_id, wire=remote)
        tracer = self.invoker.tracer
        if not tracer.enabled:
            return await self.invoker.call_entry(
                entry, data, metadata=spec.metadata if spec.has_metadata else None, depth=event.depth + 1,
                caller_info=caller, activation={"observer_id": spec.id, "activation_id": activation_id},
                observe_fields=observe_v1, traceparent=event.traceparent, baggage=event.baggage,
            )
        # One span per activation, in the source invocation's trace (spec §5.8 traceparent).
        with tracer.start_span(f"observe {spec.id}", SpanKind.PRODUCER, parent=event.traceparent, attributes={
            "iii.observer.id": spec.id, "iii.observer.activation_id": activation_id,
            "iii.observer.source": event.function_id, "iii.observer.target": entry.id,
            "iii.observe_depth": event.depth + 1,
        }) as span:
            return await self.invoker.call_entry(
                entry, data, metadata=spec.metadata if spec.has_metadata else None, depth=event.depth + 1,
                caller_info=caller, activation={"observer_id": spec.id, "activation_id": activation_id},
                observe_fields=observe_v1, traceparent=span.traceparent, baggage=event.baggage,
            )


def _fail(reply: asyncio.Future[Any] | None, code: str, message: str) -> None:
    if reply is not None and not reply.done():
        reply.set_exception(FunctionError(code, message))
