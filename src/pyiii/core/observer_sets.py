"""Who observes a function, as ``functionregistered`` tells its owner (spec iii-0.23-0.25 §3.1,
§5.3.7). The observer registry (the observe feature) implements :class:`ObserverSets`; until one
is installed, :class:`NoObservers` answers that nobody observes anything."""

from __future__ import annotations

from typing import Any, Protocol


class ObserverSets(Protocol):
    def snapshot(self, namespace: str, function_id: str) -> tuple[int, list[dict[str, Any]]]:
        """``(revision, observers)``: the current observer-set revision of ``(namespace,
        function_id)`` and its observers as ObserverInfo objects (the full set, not a delta).
        ``function_id`` is the id as the registry stores it (``FunctionEntry.id``)."""
        ...


class NoObservers:
    """No observer registry: revision 0, nobody observes."""

    def snapshot(self, namespace: str, function_id: str) -> tuple[int, list[dict[str, Any]]]:
        return 0, []
