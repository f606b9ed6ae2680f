"""Every observer, indexed by id, by source ``(namespace, function)``, by target and by observing
connection, plus the owner-side revision counter of each source (spec iii-0.23-0.25 §5.6).

It implements :class:`~pyiii.core.observer_sets.ObserverSets`: ``functionregistered`` asks it for
a function's set. It also keeps each source's :attr:`FunctionEntry.observed` flag, the one thing
the call path reads (a function nobody observes pays one attribute read per call).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pyiii.core.observe.descriptor import AUTO, descriptor_of
from pyiii.core.observe.model import ACTIVE, DISPOSED, ERROR, Observer

if TYPE_CHECKING:
    from pyiii.core.functions import FunctionEntry, FunctionRegistry

Key = tuple[str, str]


class ObserverRegistry:
    def __init__(self, functions: FunctionRegistry) -> None:
        self.functions = functions
        self.by_id: dict[str, Observer] = {}
        self.by_source: dict[Key, dict[str, Observer]] = {}
        self.by_target: dict[Key, dict[str, Observer]] = {}
        #: Observing connection's worker id -> ids of the observers it owns.
        self.by_peer: dict[str, set[str]] = {}
        self.revisions: dict[Key, int] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Observer]:
        return iter(list(self.by_id.values()))

    def get(self, observer_id: str) -> Observer | None:
        return self.by_id.get(observer_id)

    def count_of(self, worker_id: str) -> int:
        return len(self.by_peer.get(worker_id, ()))

    def of_source(self, key: Key) -> list[Observer]:
        return list(self.by_source.get(key, {}).values())

    def of_target(self, key: Key) -> list[Observer]:
        return list(self.by_target.get(key, {}).values())

    def of_peer(self, worker_id: str) -> list[Observer]:
        return [self.by_id[i] for i in self.by_peer.get(worker_id, ()) if i in self.by_id]

    def add(self, observer: Observer) -> None:
        oid = observer.id
        self.by_id[oid] = observer
        self.by_source.setdefault(observer.source, {})[oid] = observer
        self.by_target.setdefault(observer.target, {})[oid] = observer
        if observer.peer is not None:
            self.by_peer.setdefault(observer.peer.worker_id, set()).add(oid)

    def remove(self, observer: Observer) -> None:
        oid = observer.id
        if self.by_id.get(oid) is not observer:
            return
        del self.by_id[oid]
        for index, key in ((self.by_source, observer.source), (self.by_target, observer.target)):
            bucket = index.get(key)
            if bucket is not None:
                bucket.pop(oid, None)
                if not bucket:
                    del index[key]
        if observer.peer is not None:  # the observer keeps its peer: it is still told it ended
            ids = self.by_peer.get(observer.peer.worker_id)
            if ids is not None:
                ids.discard(oid)
                if not ids:
                    del self.by_peer[observer.peer.worker_id]
        self.refresh_flag(observer.source)

    def rehome(self, observer: Observer, peer: Any) -> None:
        """Move ``observer`` to another observing connection (reattach, adoption)."""
        if observer.peer is not None:
            ids = self.by_peer.get(observer.peer.worker_id)
            if ids is not None:
                ids.discard(observer.id)
                if not ids:
                    del self.by_peer[observer.peer.worker_id]
        observer.peer = peer
        if peer is not None and self.by_id.get(observer.id) is observer:
            self.by_peer.setdefault(peer.worker_id, set()).add(observer.id)

    # ------------------------------------------------------------------ owner side

    def bump(self, key: Key) -> int:
        revision = self.revisions.get(key, 0) + 1
        self.revisions[key] = revision
        return revision

    def revision(self, key: Key) -> int:
        return self.revisions.get(key, 0)

    def owner_set(self, key: Key) -> list[Observer]:
        """The observers the owner of ``key`` must know: every live one not refused."""
        return [o for o in self.by_source.get(key, {}).values() if o.state not in (ERROR, DISPOSED)]

    def snapshot(self, namespace: str, function_id: str) -> tuple[int, list[dict[str, Any]]]:
        key = (namespace, function_id)
        return self.revision(key), [o.info() for o in self.owner_set(key)]

    # ------------------------------------------------------------------ the call path's flag

    def refresh_flag(self, key: Key, entry: FunctionEntry | None = None) -> None:
        """``entry.observed``: routed calls of it are events for at least one active observer."""
        entry = entry if entry is not None else self.functions.get(key[1], key[0])
        if entry is None:
            return
        auto = descriptor_of(entry).delivery == AUTO
        entry.observed = auto and any(o.state == ACTIVE for o in self.by_source.get(key, {}).values())
