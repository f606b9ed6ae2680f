"""``invocationsobserved`` (spec iii-0.23-0.25 §5.3.8): report matched local events to the engine.

Items are encoded once when pushed, batched (at most ``max_batch`` items and ``max_frame_bytes``
per frame) and flushed ``linger_s`` after the first one was buffered. An item leaves only once the
engine confirmed its function on the current connection (``functionregistered``) and advertises
observe.v1; until then it is held, at most ``max_items`` of them and ``max_buffer_bytes`` in all
(beyond that it is dropped and counted ``BUFFER_FULL``; one item over ``max_item_bytes`` is
``TOO_LARGE``). Loop thread only.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from .codec import dumps

log = logging.getLogger("pyiii.sdk.observe")

MAX_BATCH: Final = 256
LINGER_S: Final = 0.005
MAX_ITEMS: Final = 10_000
MAX_BUFFER_BYTES: Final = 8 * 1024 * 1024
MAX_ITEM_BYTES: Final = 8 * 1024 * 1024
#: The engine's frame limit (spec §2.4): a batch never exceeds it.
MAX_FRAME_BYTES: Final = 16 * 1024 * 1024
_HEAD: Final = b'{"type":"invocationsobserved","items":['
_TAIL: Final = b"]}"


class ReporterHost(Protocol):
    def deliverable(self, function_id: str) -> bool: ...

    def send_raw(self, frame: bytes) -> None: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> None: ...

    def dropped(self, function_id: str, reason: str, count: int) -> None: ...


@dataclass
class ReporterLimits:
    max_batch: int = MAX_BATCH
    linger_s: float = LINGER_S
    max_items: int = MAX_ITEMS
    max_buffer_bytes: int = MAX_BUFFER_BYTES
    max_item_bytes: int = MAX_ITEM_BYTES
    max_frame_bytes: int = MAX_FRAME_BYTES


@dataclass(frozen=True)
class _Item:
    function_id: str
    data: bytes


class Reporter:
    def __init__(self, host: ReporterHost, limits: ReporterLimits | None = None) -> None:
        self._host = host
        self.limits = limits or ReporterLimits()
        self._items: deque[_Item] = deque()
        self._bytes = 0
        self._scheduled = False

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: dict[str, Any]) -> bool:
        function_id = item["function_id"]
        try:
            data = dumps(item)
        except (TypeError, ValueError, OverflowError) as exc:
            log.warning("%s: an observed invocation could not be encoded, not reported: %s", function_id, exc)
            self._host.dropped(function_id, "TOO_LARGE", 1)
            return False
        limits = self.limits
        if len(data) > limits.max_item_bytes or len(data) + len(_HEAD) + len(_TAIL) > limits.max_frame_bytes:
            self._host.dropped(function_id, "TOO_LARGE", 1)
            return False
        if len(self._items) >= limits.max_items or self._bytes + len(data) > limits.max_buffer_bytes:
            self._host.dropped(function_id, "BUFFER_FULL", 1)
            return False
        self._items.append(_Item(function_id, data))
        self._bytes += len(data)
        if not self._scheduled:
            self._scheduled = True
            self._host.call_later(limits.linger_s, self._linger_done)
        return True

    def _linger_done(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        """Send every deliverable item, in order, in batches; keep the others."""
        ready: list[bytes] = []
        kept: deque[_Item] = deque()
        for item in self._items:
            if self._host.deliverable(item.function_id):
                ready.append(item.data)
            else:
                kept.append(item)
        self._items = kept
        self._bytes = sum(len(i.data) for i in kept)
        batch: list[bytes] = []
        size = len(_HEAD) + len(_TAIL)
        for data in ready:
            if batch and (len(batch) >= self.limits.max_batch or size + 1 + len(data) > self.limits.max_frame_bytes):
                self._send(batch)
                batch, size = [], len(_HEAD) + len(_TAIL)
            batch.append(data)
            size += len(data) + 1
        if batch:
            self._send(batch)

    def _send(self, batch: list[bytes]) -> None:
        self._host.send_raw(_HEAD + b",".join(batch) + _TAIL)

    def discard(self, function_id: str) -> None:
        """The function is no longer ours here: its held items are dropped (``INACTIVE``)."""
        kept = deque(i for i in self._items if i.function_id != function_id)
        lost = len(self._items) - len(kept)
        self._items = kept
        self._bytes = sum(len(i.data) for i in kept)
        if lost:
            self._host.dropped(function_id, "INACTIVE", lost)

    def clear(self) -> None:
        """The engine has no observe.v1: nobody will take the held items."""
        self._items.clear()
        self._bytes = 0
