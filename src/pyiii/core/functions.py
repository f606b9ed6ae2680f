"""The function registry: id -> where the function runs (spec/protocol.md §3.1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def internal(self) -> bool:
        return isinstance(self.metadata, dict) and self.metadata.get("internal") is True


class FunctionRegistry:
    """Last writer wins on register; removal only by the current owner (ownership rule)."""

    def __init__(self) -> None:
        self._entries: dict[str, FunctionEntry] = {}
        self._listeners: list[Callable[[], None]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, function_id: object) -> bool:
        return function_id in self._entries

    def get(self, function_id: str) -> FunctionEntry | None:
        return self._entries.get(function_id)

    def all(self) -> list[FunctionEntry]:
        return list(self._entries.values())

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def put(self, entry: FunctionEntry) -> FunctionEntry | None:
        """Insert or overwrite; returns the entry it replaced."""
        previous = self._entries.get(entry.id)
        self._entries[entry.id] = entry
        if previous is not None and previous.owner is not None and previous.owner is not entry.owner:
            previous.owner.functions.discard(entry.id)
        if entry.owner is not None:
            entry.owner.functions.add(entry.id)
        self._changed()
        return previous

    def remove(self, function_id: str, owner: Peer | None) -> bool:
        """Remove ``function_id`` if ``owner`` still owns it (``None`` = in-process)."""
        entry = self._entries.get(function_id)
        if entry is None or entry.owner is not owner:
            return False
        del self._entries[function_id]
        if owner is not None:
            owner.functions.discard(function_id)
        self._changed()
        return True
