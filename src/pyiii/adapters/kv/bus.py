"""Where change events travel: inside the process (here), or over Redis pub/sub between
engines (:mod:`pyiii.adapters.kv.redis_bus`, imported only when a Redis store is configured).

Events are opaque bytes (an encoded JSON envelope): encoded once by the writer, handed as the
same bytes object to every listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("pyiii.kv.bus")

Listener = Callable[[bytes], None]


class EventBus:
    """In-process bus: :meth:`publish` calls every listener before it returns."""

    description = "in process"

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _deliver(self, event: bytes) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, event: bytes) -> None:
        self._deliver(event)
