"""``invocationsobserved`` (spec iii-0.23-0.25 §5.3.8): report matched local events to the engine.

Items are batched (at most ``max_batch`` per frame) and flushed ``linger_s`` after the first one
was buffered. An item leaves only once the engine confirmed its function on the current connection
(``functionregistered``) and advertises observe.v1; until then it is held, at most ``max_items``
of them (beyond that it is dropped and counted ``BUFFER_FULL``). Loop thread only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

MAX_BATCH: Final = 256
LINGER_S: Final = 0.005
MAX_ITEMS: Final = 10_000


class ReporterHost(Protocol):
    def deliverable(self, function_id: str) -> bool: ...

    def send(self, frame: dict[str, Any]) -> None: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None: ...

    def dropped(self, function_id: str, reason: str, count: int) -> None: ...


@dataclass
class ReporterLimits:
    max_batch: int = MAX_BATCH
    linger_s: float = LINGER_S
    max_items: int = MAX_ITEMS


class Reporter:
    def __init__(self, host: ReporterHost, limits: ReporterLimits | None = None) -> None:
        self._host = host
        self.limits = limits or ReporterLimits()
        self._items: deque[dict[str, Any]] = deque()
        self._scheduled = False

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: dict[str, Any]) -> bool:
        if len(self._items) >= self.limits.max_items:
            self._host.dropped(item["function_id"], "BUFFER_FULL", 1)
            return False
        self._items.append(item)
        if not self._scheduled:
            self._scheduled = True
            self._host.call_later(self.limits.linger_s, self._linger_done)
        return True

    def _linger_done(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        """Send every deliverable item, in order, in batches; keep the others."""
        ready: list[dict[str, Any]] = []
        kept: deque[dict[str, Any]] = deque()
        for item in self._items:
            (ready if self._host.deliverable(item["function_id"]) else kept).append(item)
        self._items = kept
        size = max(1, self.limits.max_batch)
        for start in range(0, len(ready), size):
            self._host.send({"type": "invocationsobserved", "items": ready[start : start + size]})

    def discard(self, function_id: str) -> None:
        """The function is no longer ours here: its held items are dropped (``INACTIVE``)."""
        kept = deque(i for i in self._items if i["function_id"] != function_id)
        lost = len(self._items) - len(kept)
        self._items = kept
        if lost:
            self._host.dropped(function_id, "INACTIVE", lost)

    def clear(self) -> None:
        """The engine has no observe.v1: nobody will take the held items."""
        self._items.clear()
