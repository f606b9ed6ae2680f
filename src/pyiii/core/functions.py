"""The function registry: id -> where the function runs (spec/protocol.md §3.1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyiii.core.namespaces import DEFAULT

if TYPE_CHECKING:
    from pyiii.core.peer import Peer


@dataclass(slots=True)
class CallContext:
    """What an in-process handler knows about the call besides its payload."""

    function_id: str
    metadata: Any = None
    caller: Peer | None = None
    traceparent: str | None = None
    baggage: str | None = None
    invocation_id: str | None = None
    #: 0.25 causal context of the call (spec iii-0.23-0.25 §5.9-§5.10); filled only for calls
    #: of an observed function (the observers need them), else left at "unknown".
    observe_depth: int = 0
    observe_caller: dict[str, Any] | None = None


InProcessHandler = Callable[[Any, CallContext], Awaitable[Any]]


@dataclass(slots=True)
class FunctionEntry:
    """A registered function. Exactly one of ``handler`` / ``owner`` routes the call:
    ``handler`` runs in this process (built-ins, HTTP-invoked functions), otherwise the call is
    forwarded to ``owner``. ``owner`` is also set for HTTP-invoked functions so that the
    registering worker's disconnect removes them."""

    id: str
    description: str | None = None
    request_format: Any = None
    response_format: Any = None
    metadata: Any = None
    handler: InProcessHandler | None = None
    owner: Peer | None = None
    #: In-process worker name (``iii-http``...) for built-ins.
    worker_name: str | None = None
    #: msgspec type the payload is converted to before an in-process handler sees it.
    input_type: Any = None
    #: Id the owner registered it under (without an RBAC registration prefix).
    local_id: str | None = None
    invocations: int = 0
    errors: int = 0
    #: Calls its owner ran in-process (local dispatch) and reported (``localinvocationstats``).
    local_invocations: int = 0
    local_errors: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    #: The namespace the id is registered in (its owner's connection namespace).
    namespace: str = DEFAULT
    #: Some active observer wants its routed calls as events (core/observe keeps it): the one
    #: thing the call path reads, so an unobserved function pays nothing more.
    observed: bool = False

    @property
    def internal(self) -> bool:
        return isinstance(self.metadata, dict) and self.metadata.get("internal") is True


class FunctionRegistry:
    """Functions keyed by ``(namespace, id)``; removal only by the current owner (ownership
    rule). Who may take an id over is the session's decision, not the registry's.

    ``default`` is the dict every 0.22.1 call reads (one lookup on the hot path); other
    namespaces get a dict each when their first function arrives."""

    def __init__(self) -> None:
        self._entries: dict[str, FunctionEntry] = {}
        self._spaces: dict[str, dict[str, FunctionEntry]] = {DEFAULT: self._entries}
        self._listeners: list[Callable[[], None]] = []
        #: Called as ``(entry, added)`` when an entry is stored (True) or removed (False).
        self._entry_listeners: list[Callable[[FunctionEntry, bool], None]] = []

    def __len__(self) -> int:
        return sum(len(space) for space in self._spaces.values())

    def __contains__(self, function_id: object) -> bool:
        return function_id in self._entries

    def get(self, function_id: str, namespace: str = DEFAULT) -> FunctionEntry | None:
        if namespace == DEFAULT:
            return self._entries.get(function_id)
        space = self._spaces.get(namespace)
        return space.get(function_id) if space is not None else None

    def all(self) -> list[FunctionEntry]:
        """Every namespace's functions."""
        if len(self._spaces) == 1:
            return list(self._entries.values())
        return [entry for space in self._spaces.values() for entry in space.values()]

    def namespaces_of(self, function_id: str) -> list[str]:
        """Sorted namespaces in which ``function_id`` is registered."""
        return sorted(ns for ns, space in self._spaces.items() if function_id in space)

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def on_entry(self, listener: Callable[[FunctionEntry, bool], None]) -> None:
        self._entry_listeners.append(listener)

    def _entry_event(self, entry: FunctionEntry, added: bool) -> None:
        for listener in self._entry_listeners:
            listener(entry, added)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def put(self, entry: FunctionEntry) -> FunctionEntry | None:
        """Insert or overwrite under ``(entry.namespace, entry.id)``; returns the entry it replaced."""
        space = self._spaces.get(entry.namespace)
        if space is None:
            space = self._spaces[entry.namespace] = {}
        previous = space.get(entry.id)
        space[entry.id] = entry
        if previous is not None and previous.owner is not None and previous.owner is not entry.owner:
            previous.owner.functions.discard(entry.id)
        if entry.owner is not None:
            entry.owner.functions.add(entry.id)
        if previous is not None and previous is not entry:
            self._entry_event(previous, False)
        self._entry_event(entry, True)
        self._changed()
        return previous

    def remove(self, function_id: str, owner: Peer | None, namespace: str | None = None) -> bool:
        """Remove ``function_id`` if ``owner`` still owns it (``None`` = in-process). The
        namespace defaults to the owner's (a connection registers in its own only)."""
        ns = namespace if namespace is not None else (owner.namespace if owner is not None else DEFAULT)
        space = self._spaces.get(ns)
        entry = space.get(function_id) if space is not None else None
        if space is None or entry is None or entry.owner is not owner:
            return False
        del space[function_id]
        if not space and ns != DEFAULT:
            del self._spaces[ns]
        if owner is not None:
            owner.functions.discard(function_id)
        self._entry_event(entry, False)
        self._changed()
        return True
