"""One provider for every event trigger type (state, stream, configuration, ...): a worker says
what changed, and the bindings that asked for it hear about it.

The rules they share (spec/workers.md §3.3, §6.3, §7.4): a binding's config is validated when it
is registered (a bad one is refused with a clear error); an event goes to the matching bindings
one after another, in registration order, in one background task, fire-and-forget, in the trace
of the write that caused it; a binding's condition function runs first and only an explicit
``false`` skips the binding; a failing binding is logged and does not stop the others.

A worker subclasses :class:`EventTriggers` with only what is its own: the config struct, the key
a binding is indexed under (``index_key``, None: every key) and the key of an event
(``event_key``), the rest of the match (``matches``), and, when its deliveries get a span of
their own, the span's name and attributes.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import msgspec

from pyiii.core import Binding, FunctionError, Host, SpanKind, TriggerRegistrationError

log = logging.getLogger("pyiii.triggers")


class EventTriggerConfig(Protocol):
    @property
    def condition_function_id(self) -> str | None: ...


C = TypeVar("C", bound=EventTriggerConfig)
Targets = list[tuple[Binding, C]]


class EventTriggers(Generic[C]):
    """Provider of one event trigger type. Live bindings are indexed by ``index_key`` so an event
    looks at the bindings under its key and the wildcard ones, never at all of them."""

    #: The trigger type id (``state``, ``stream``, ``configuration``).
    kind: ClassVar[str]
    #: The msgspec struct a binding's config must convert to.
    config_type: type[C]
    #: The span each delivery runs in when tracing is on; None: deliveries get no span of their own.
    span_name: ClassVar[str | None] = None

    def __init__(self, host: Host) -> None:
        self.host = host
        #: binding id -> (registration number, binding, config); the number orders deliveries.
        self._bindings: dict[str, tuple[int, Binding, C]] = {}
        #: index key (None: every key) -> ids of the bindings under it, in registration order
        #: (merging a key's ids with the wildcard ones then only needs a sort when both have some).
        self._index: dict[str | None, dict[str, None]] = {}
        self._registered = 0

    # ------------------------------------------------------------------ what a worker supplies

    def index_key(self, config: C) -> str | None:
        """The event key a binding listens to, or None for every key."""
        return None

    def event_key(self, event: Any) -> str | None:
        """The key an event is looked up under (the bindings with that ``index_key``)."""
        return None

    def matches(self, config: C, event: Any) -> bool:
        """Whether a binding under the event's key (or a wildcard one) wants ``event``."""
        return True

    def span_attributes(self, event: Any) -> dict[str, Any]:
        """The span attributes particular to this trigger type (only asked when traced)."""
        return {}

    # ------------------------------------------------------------------ the engine's side

    async def register(self, worker: str, description: str, request_format: dict[str, Any] | None = None) -> None:
        """Offer this trigger type to the engine, owned by ``worker``."""
        await self.host.register_trigger_type(self.kind, self, worker=worker, description=description,
                                                trigger_request_format=request_format)

    async def register_trigger(self, binding: Binding) -> None:
        try:
            config = msgspec.convert(binding.config or {}, self.config_type)
        except msgspec.ValidationError as exc:
            raise TriggerRegistrationError(f"invalid {self.kind} trigger config: {exc}") from None
        previous = self._bindings.get(binding.id)
        if previous is not None:  # re-registered: keeps its place in the delivery order
            self._unindex(binding.id, previous[2])
            number = previous[0]
        else:
            self._registered += 1
            number = self._registered
        self._bindings[binding.id] = (number, binding, config)
        key = self.index_key(config)
        ids = self._index.setdefault(key, {})
        ids[binding.id] = None
        if previous is not None and len(ids) > 1:  # each key's ids stay in registration order
            bindings = self._bindings
            self._index[key] = dict.fromkeys(sorted(ids, key=lambda binding_id: bindings[binding_id][0]))

    async def unregister_trigger(self, binding: Binding) -> None:
        gone = self._bindings.pop(binding.id, None)
        if gone is not None:
            self._unindex(binding.id, gone[2])

    def _unindex(self, binding_id: str, config: C) -> None:
        key = self.index_key(config)
        ids = self._index.get(key)
        if ids is not None:
            ids.pop(binding_id, None)
            if not ids:
                del self._index[key]

    # ------------------------------------------------------------------ views

    def __len__(self) -> int:
        return len(self._bindings)

    def config_of(self, binding_id: str) -> C | None:
        entry = self._bindings.get(binding_id)
        return entry[2] if entry is not None else None

    def has_key(self, key: str) -> bool:
        """Whether a live binding listens to exactly ``key``."""
        return key in self._index

    def matching(self, event: Any) -> Targets[C]:
        """The bindings ``event`` goes to, in registration order."""
        index = self._index
        if not index:
            return []
        key = self.event_key(event)
        exact = index.get(key, ()) if key is not None else ()
        wildcard = index.get(None, ())
        bindings = self._bindings
        ids = [*exact, *wildcard]
        if exact and wildcard:
            ids.sort(key=lambda binding_id: bindings[binding_id][0])
        targets: Targets[C] = []
        for binding_id in ids:
            _, binding, config = bindings[binding_id]
            if self.matches(config, event):
                targets.append((binding, config))
        return targets

    # ------------------------------------------------------------------ delivery

    def fire(self, event: Any, traceparent: str | None = None, baggage: str | None = None) -> None:
        """Fire-and-forget: the matching bindings run one after another in one background task,
        in the trace of the write (``traceparent``/``baggage`` of the call that caused it)."""
        if not self._index:  # no binding at all, the common case: not even a list
            return
        targets = self.matching(event)
        if not targets:
            return
        tracer = self.host.tracer
        name = self.span_name
        if name is None or not tracer.enabled:
            self.host.spawn(self.deliver(targets, event, traceparent, baggage))
            return
        span = tracer.start_span(name, SpanKind.INTERNAL, traceparent, {
            "iii.trigger.type": self.kind, "faas.trigger": "datasource", **self.span_attributes(event),
            "iii.trigger.count": len(targets)})

        async def traced(parent: str | None) -> str | None:
            return await self.deliver(targets, event, parent, baggage)

        self.host.spawn_in_span(span, traced, failed=lambda failure: failure)

    async def deliver(self, targets: Targets[C], event: Any, traceparent: str | None = None,
                      baggage: str | None = None) -> str | None:
        """Deliver ``event`` to each target in turn. Returns the last failure's message, if any."""
        host = self.host
        failed = None
        for binding, config in targets:
            try:
                condition = config.condition_function_id
                if condition:
                    verdict = await host.call_for(binding, condition, event, traceparent=traceparent,
                                                    baggage=baggage)
                    if verdict is False:
                        continue
                await host.fire(binding, event, traceparent=traceparent, baggage=baggage)
            except FunctionError as exc:
                failed = f"{binding.function_id}: {exc.message}"
                log.warning("%s trigger %s -> %s failed: %s", self.kind, binding.id, binding.function_id, exc)
        return failed
