"""Where ``functionregistered`` finds a function's observer set (spec iii-0.23-0.25 §3.1, §5.6).

The engine answers every accepted registration of an ``observe.v1`` worker with the function's
full observer set; it asks ``engine.observer_sets`` for it. :class:`NoObservers` is the set of an
engine without observers; core/observe's registry is the real one.
"""

from __future__ import annotations

from typing import Any, Protocol


class ObserverSets(Protocol):
    def snapshot(self, namespace: str, function_id: str) -> tuple[int, list[dict[str, Any]]]:
        """``(revision, ObserverInfo dicts)`` of the observers of ``(namespace, function_id)``."""


class NoObservers:
    def snapshot(self, namespace: str, function_id: str) -> tuple[int, list[dict[str, Any]]]:
        return 0, []
